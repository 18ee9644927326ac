#!/usr/bin/env bash
# The demo: a short lesson through the real library and the real MCU, each endpoint its own
# process. Builds libconference_sdk.so and conference-mcu (release), compiles the C endpoints
# of examples/harness/ against include/conference_sdk.h, starts conference-mcu with its
# built-in demo configuration on a free loopback port, runs the lesson among the teacher
# (master) and two listening classrooms (class1, class2), prints what each endpoint saw, stops
# everything and exits 0 (non-zero, with the logs, if anything went wrong). Nothing it starts
# outlives it, whatever happens.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
bin_dir="$target_dir/release"
out_dir="$target_dir/demo"
room=1001
bound=60 # seconds any one endpoint may run

pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building libconference_sdk.so and conference-mcu (cargo build --release)"
cargo build --release -p conference_sdk -p conference-mcu

echo "== compiling the C endpoints (examples/harness) against include/conference_sdk.h"
mkdir -p "$out_dir"
shared=()
for file in harness expect checks roster text lesson demo; do
    shared+=("examples/harness/$file.c")
done
for program in master listener; do
    "${CC:-cc}" -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude \
        "examples/harness/$program.c" "${shared[@]}" -o "$out_dir/$program" \
        -L"$bin_dir" -lconference_sdk -Wl,-rpath,"$bin_dir" -pthread
done

echo "== starting conference-mcu with its built-in demo configuration"
rm -f "$out_dir/mcu.out" "$out_dir/mcu.log"
"$bin_dir/conference-mcu" --listen 127.0.0.1:0 >"$out_dir/mcu.out" 2>"$out_dir/mcu.log" &
mcu=$!
pids+=("$mcu")
addr=""
for _ in $(seq 300); do
    addr="$(sed -n 's/^listening on //p' "$out_dir/mcu.out")"
    [ -n "$addr" ] && break
    kill -0 "$mcu" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$addr" ]; then
    echo "conference-mcu did not start; its log:" >&2
    cat "$out_dir/mcu.log" >&2
    exit 1
fi
host="${addr%:*}"
port="${addr##*:}"
echo "   listening on $addr: room $room \"Demo Classroom\", accounts teacher (chair), class1..class8"

echo "== the lesson: teacher (master), class1 and class2, three processes"
names=(teacher class1 class2)
commands=(
    "$out_dir/master demo $host $port $room"
    "$out_dir/listener demo $host $port $room A"
    "$out_dir/listener demo $host $port $room B"
)
endpoint_pids=()
for i in 0 1 2; do
    # shellcheck disable=SC2086 # the command line is split on purpose
    timeout "$bound" ${commands[$i]} >"$out_dir/${names[$i]}.txt" 2>&1 &
    endpoint_pids+=("$!")
    pids+=("$!")
done
failed=0
for i in 0 1 2; do
    if ! wait "${endpoint_pids[$i]}"; then
        failed=1
        echo "   ${names[$i]} failed" >&2
    fi
done

for name in "${names[@]}"; do
    echo
    echo "---- what $name saw ----"
    grep -v '^PASS$' "$out_dir/$name.txt" || true
done
echo

kill -TERM "$mcu" 2>/dev/null || true
wait "$mcu" 2>/dev/null || true
if [ "$failed" -ne 0 ]; then
    echo "== the demo FAILED; conference-mcu's log:" >&2
    cat "$out_dir/mcu.log" >&2
    exit 1
fi
echo "== done: the lesson is over, conference-mcu stopped"
