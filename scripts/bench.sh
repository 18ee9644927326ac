#!/usr/bin/env bash
# The classroom benchmark of issue 6: our MCU and nats-server, one after the other in one
# invocation, on this machine, with the ratios ours ÷ nats.
#
#   scripts/bench.sh                 # everything: L=100 classroom, join storm, max-L search
#                                    # (about 10 minutes)
#   BENCH_SEARCH=0 scripts/bench.sh  # without the max-L search
#
# Environment (all optional):
#   BENCH_DURATION   seconds of media per classroom run (default 20)
#   BENCH_LISTENERS  listeners of the side-by-side classroom run (default 100)
#   BENCH_USERS      users of the join storm (default 1000)
#   BENCH_SEARCH     1: search the largest L with zero drops and p99 <= BENCH_P99_MS (default 1)
#   BENCH_SEARCH_FROM, BENCH_SEARCH_STEP, BENCH_SEARCH_MAX  (default 200, 100, 1000)
#   BENCH_SEARCH_DURATION  seconds of media per search step (default 10)
#   BENCH_P99_MS     the p99 bound of the search (default 20)
#   BENCH_OUT        directory for the JSON reports and logs (default target/bench/<time>)
#   BENCH_WAIT_QUIET 1: first wait for load < 0.5 and no compiler running (other builds on the
#                    same two cores distort every figure)
#
# nats-server (Debian package `nats-server`) is installed with apt-get when missing, started
# on a free loopback port for each run and stopped after it. The MCU is started by the load
# generator itself with a generated configuration (SCRAM verifiers at 4,096 iterations) for
# each run.
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${BENCH_DURATION:-20}
LISTENERS=${BENCH_LISTENERS:-100}
USERS=${BENCH_USERS:-1000}
SEARCH=${BENCH_SEARCH:-1}
SEARCH_FROM=${BENCH_SEARCH_FROM:-200}
SEARCH_STEP=${BENCH_SEARCH_STEP:-100}
SEARCH_MAX=${BENCH_SEARCH_MAX:-1000}
SEARCH_DURATION=${BENCH_SEARCH_DURATION:-10}
P99_MS=${BENCH_P99_MS:-20}
OUT=${BENCH_OUT:-target/bench/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"

log() { printf '\n== %s\n' "$*" >&2; }

log "building (release): conference-loadgen, conference-mcu"
cargo build --release --quiet -p conference-loadgen -p conference-mcu
LOADGEN=target/release/conference-loadgen
export CONFERENCE_MCU_BIN=$PWD/target/release/conference-mcu

if ! command -v nats-server >/dev/null 2>&1; then
    log "installing nats-server (apt-get)"
    if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nats-server >/dev/null
fi
NATS_PID=

stop_nats() {
    if [ -n "$NATS_PID" ] && kill -0 "$NATS_PID" 2>/dev/null; then
        kill "$NATS_PID" 2>/dev/null || true
        wait "$NATS_PID" 2>/dev/null || true
    fi
    NATS_PID=
}
trap stop_nats EXIT

# Starts a fresh nats-server on free loopback ports; sets NATS_PID, NATS_ADDR, NATS_MON.
start_nats() {
    local port mon
    port=$($LOADGEN free-port)
    mon=$($LOADGEN free-port)
    nats-server -a 127.0.0.1 -p "$port" -m "$mon" >"$OUT/nats-$1.log" 2>&1 &
    NATS_PID=$!
    NATS_ADDR=127.0.0.1:$port
    NATS_MON=127.0.0.1:$mon
    for _ in $(seq 100); do
        if grep -q "Server is ready" "$OUT/nats-$1.log" 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "nats-server did not start:" >&2
    cat "$OUT/nats-$1.log" >&2
    exit 1
}

# run NAME TARGET ARGS...: one load run, JSON in $OUT/NAME.json, table on stderr.
run() {
    local name=$1 target=$2
    shift 2
    log "$name ($target): $*"
    if [ "$target" = nats ]; then
        start_nats "$name"
        local status=0
        $LOADGEN --target nats --addr "$NATS_ADDR" --server-pid "$NATS_PID" \
            --nats-monitor "$NATS_MON" --json "$@" >"$OUT/$name.json" || status=$?
        stop_nats
        return $status
    else
        $LOADGEN --target mcu --json "$@" >"$OUT/$name.json"
    fi
}

quiet_check() {
    log "machine: $(nproc) cores; $(uptime)"
    pgrep -a rustc >&2 || true
}

# With BENCH_WAIT_QUIET=1: wait (at most 30 min) for a quiet machine: 1-minute load below 0.5
# and no compiler running.
wait_quiet() {
    [ "${BENCH_WAIT_QUIET:-0}" = 1 ] || return 0
    for _ in $(seq 360); do
        if awk '{ exit !($1 < 0.5) }' /proc/loadavg && ! pgrep -x rustc >/dev/null \
            && ! pgrep -x cargo >/dev/null; then
            return 0
        fi
        sleep 5
    done
    log "the machine did not become quiet; measuring anyway"
}

wait_quiet
quiet_check
run classroom-mcu mcu --scenario classroom --listeners "$LISTENERS" --duration "$DURATION"
run classroom-nats nats --scenario classroom --listeners "$LISTENERS" --duration "$DURATION"
# Diagnostic: the MCU with protocol-level clients on one shared runtime (docs/PERFORMANCE.md).
run classroom-mcu-raw mcu --client raw --scenario classroom --listeners "$LISTENERS" \
    --duration "$DURATION"
# Diagnostic: the SDK clients send every stream, watched or not (the SDK before stream demand).
run classroom-mcu-sends-all mcu --sdk-sends-unwatched --scenario classroom \
    --listeners "$LISTENERS" --duration "$DURATION"
# Diagnostic: nats-server with the listeners nobody watches silent, as our SDK keeps them.
run classroom-nats-quiet nats --quiet-listeners --scenario classroom --listeners "$LISTENERS" \
    --duration "$DURATION"
run join-mcu mcu --scenario join --users "$USERS"
run join-nats nats --scenario join --users "$USERS"

# A run passes the search when nothing was lost or wrong and p99 is within the bound.
passes() {
    jq -e --argjson p99 "$P99_MS" \
        '.classroom | (.frames.missing == 0 and .frames.sequence_gaps == 0
          and .correctness.corrupt + .correctness.reordered + .correctness.cut
              + .correctness.unexpected + .correctness.disconnects == 0
          and .latency.p99_ms <= $p99)' "$1" >/dev/null
}

declare -A BEST
if [ "$SEARCH" = 1 ]; then
    for variant in mcu nats; do
        target=$variant
        extra=()
        BEST[$variant]="none (below $SEARCH_FROM)"
        for ((l = SEARCH_FROM; l <= SEARCH_MAX; l += SEARCH_STEP)); do
            if run "search-$variant-$l" "$target" "${extra[@]}" --scenario classroom \
                --listeners "$l" --duration "$SEARCH_DURATION" \
                && passes "$OUT/search-$variant-$l.json"; then
                BEST[$variant]=$l
            else
                break
            fi
        done
    done
fi

quiet_check
log "side by side: 1 room x $LISTENERS listeners (ours = mcu, peer = nats)"
$LOADGEN compare "$OUT/classroom-mcu.json" "$OUT/classroom-nats.json"
log "diagnostic: the MCU with raw protocol clients on one runtime (ours = mcu raw, peer = nats)"
$LOADGEN compare "$OUT/classroom-mcu-raw.json" "$OUT/classroom-nats.json"
log "diagnostic: SDK clients sending every stream (ours = mcu, peer = nats)"
$LOADGEN compare "$OUT/classroom-mcu-sends-all.json" "$OUT/classroom-nats.json"
log "diagnostic: unwatched streams stay home on both sides (ours = mcu, peer = nats quiet)"
$LOADGEN compare "$OUT/classroom-mcu.json" "$OUT/classroom-nats-quiet.json"
log "side by side: join storm of $USERS users"
$LOADGEN compare "$OUT/join-mcu.json" "$OUT/join-nats.json"
if [ "$SEARCH" = 1 ]; then
    log "largest L (1 room, zero drops, p99 <= $P99_MS ms, step $SEARCH_STEP)"
    echo "  mcu (sdk clients):  ${BEST[mcu]}"
    echo "  nats:               ${BEST[nats]}"
fi
log "reports in $OUT"
