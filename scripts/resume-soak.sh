#!/usr/bin/env bash
# The long forms of the resume tests (docs/RELIABILITY.md): the randomized soak for two
# minutes with a cut every 5-20 s, and the figures of 20 cuts each of 2, 10, 30 and 59 s.
# `cargo test --workspace` runs the short forms. Usage: scripts/resume-soak.sh [seed]
set -euo pipefail
cd "$(dirname "$0")/.."
seed="${1:-0x5eed2026}"
export CONFERENCE_SOAK_SECS=120 CONFERENCE_SOAK_SEED="$seed" CONFERENCE_RELIABILITY=full
cargo test -p conference-session --test soak --test reliability --test cut_sweep -- --nocapture \
  --test-threads 1 2>&1 | grep -E '^(soak|cut|[0-9]+ cut points)|test result|panicked'
