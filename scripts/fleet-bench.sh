#!/usr/bin/env bash
# Issue 16's capacity figure: the classroom workload (one room per lesson, L listeners each)
# served by one MCU, then by a fleet of three MCUs on one nats-server, on this machine, with
# the SDK clients of the load generator entering every lesson through the fleet's first node
# (they follow the redirects to each room's node).
#
#   scripts/fleet-bench.sh
#
# Environment (all optional):
#   FLEET_ROOMS      lessons at once (default 3)
#   FLEET_LISTENERS  space-separated listeners per lesson to try (default "100 200 300")
#   FLEET_DURATION   seconds of media per run (default 10)
#   FLEET_OUT        directory for the reports and logs (default target/fleet-bench/<time>)
#
# The load generator runs on the same cores as the servers: on a 2-core machine the figure
# says what a fleet costs or saves here, not what three machines would serve.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOMS=${FLEET_ROOMS:-3}
LISTENERS=${FLEET_LISTENERS:-100 200 300}
DURATION=${FLEET_DURATION:-10}
OUT=${FLEET_OUT:-target/fleet-bench/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"

log() { printf '\n== %s\n' "$*" >&2; }

log "building (release): conference-loadgen, conference-mcu"
cargo build --release --quiet -p conference-loadgen -p conference-mcu
LOADGEN=$PWD/target/release/conference-loadgen
MCU=$PWD/target/release/conference-mcu
NATS=$(scripts/nats-server.sh)

PIDS=()
stop_all() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
}
trap stop_all EXIT

# wait_for FILE TEXT: until FILE contains TEXT (10 s at most).
wait_for() {
    for _ in $(seq 200); do
        if grep -q "$2" "$1" 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "timed out waiting for '$2' in $1:" >&2
    cat "$1" >&2
    exit 1
}

# fleet L: nats-server and three MCUs serving ROOMS lessons of L listeners; sets ENTRY and
# ENTRY_PID (the load generator reports that node's CPU and memory only).
fleet() {
    local listeners=$1 dir=$OUT/fleet-$1 port
    mkdir -p "$dir/js"
    port=$($LOADGEN free-port)
    "$NATS" -js -sd "$dir/js" -a 127.0.0.1 -p "$port" >"$dir/nats.log" 2>&1 &
    PIDS+=($!)
    wait_for "$dir/nats.log" "Server is ready"
    $LOADGEN gen-config --rooms "$ROOMS" --listeners "$listeners" >"$dir/base.toml"
    for i in 0 1 2; do
        cat "$dir/base.toml" - >"$dir/mcu$i.toml" <<EOF

[cluster]
nats = ["nats://127.0.0.1:$port"]
node = "mcu$i"
replicas = 1
EOF
        local listen
        listen=127.0.0.1:$($LOADGEN free-port)
        CONFERENCE_MCU_LOG=info,async_nats=warn "$MCU" --listen "$listen" \
            --config "$dir/mcu$i.toml" >"$dir/mcu$i.log" 2>&1 &
        PIDS+=($!)
        if [ "$i" = 0 ]; then
            ENTRY=$listen
            ENTRY_PID=$!
        fi
    done
    for i in 0 1 2; do
        wait_for "$dir/mcu$i.log" "fleet: connected to NATS"
    done
    # Every node hears every other before the first join.
    sleep 2
}

summary() {
    jq -r '.classroom | "p99 \(.latency.p99_ms) ms, p50 \(.latency.p50_ms) ms, missing \(.frames.missing), gaps \(.frames.sequence_gaps), disconnects \(.correctness.disconnects)"' "$1"
}

for listeners in $LISTENERS; do
    log "one MCU: $ROOMS lessons of $listeners listeners"
    $LOADGEN --target mcu --scenario classroom --rooms "$ROOMS" --listeners "$listeners" \
        --duration "$DURATION" --json >"$OUT/one-$listeners.json"
    log "fleet of 3: $ROOMS lessons of $listeners listeners, entering through one node"
    fleet "$listeners"
    $LOADGEN --target mcu --addr "$ENTRY" --server-pid "$ENTRY_PID" --scenario classroom --rooms "$ROOMS" \
        --listeners "$listeners" --duration "$DURATION" --json >"$OUT/fleet-$listeners.json"
    grep -h "room placed" "$OUT"/fleet-"$listeners"/mcu*.log | sed 's/.*room placed/room placed/' \
        | sort -u >"$OUT/fleet-$listeners/placements.txt"
    stop_all
    printf 'L=%s one MCU:  %s\n' "$listeners" "$(summary "$OUT/one-$listeners.json")"
    printf 'L=%s 3 nodes:  %s (homes: %s)\n' "$listeners" "$(summary "$OUT/fleet-$listeners.json")" \
        "$(grep -o 'home=[^ ]*' "$OUT/fleet-$listeners/placements.txt" | sort | uniq -c | tr -s ' \n' ' ')"
done
log "reports in $OUT"
