#!/usr/bin/env bash
# Regenerates include/conference_sdk.h from src/ffi/ (build.rs + cbindgen.toml). Commit the
# result: tests/header.rs fails while the committed header differs from the generated one.
set -euo pipefail
cd "$(dirname "$0")/.."
CONFERENCE_SDK_BLESS_HEADER=1 cargo build -p conference_sdk
echo "include/conference_sdk.h regenerated"
