#!/usr/bin/env bash
# Builds libconference_sdk.so (release) and a small C program against include/conference_sdk.h,
# then runs it: the ABI sizes of the vendor document and the return codes of the lifecycle.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
lib_dir="$target_dir/release"
out_dir="$target_dir/demo"

echo "== building libconference_sdk.so (cargo build --release -p conference_sdk)"
cargo build --release -p conference_sdk
mkdir -p "$out_dir"

echo "== compiling examples/lifecycle_demo.c against include/conference_sdk.h"
"${CC:-cc}" -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude examples/lifecycle_demo.c \
    -L"$lib_dir" -lconference_sdk -Wl,-rpath,"$lib_dir" -o "$out_dir/lifecycle_demo"

echo "== exported symbols and soname"
echo "  $(nm -D --defined-only "$lib_dir/libconference_sdk.so" | awk '$2 == "T"' | wc -l) functions exported"
readelf -d "$lib_dir/libconference_sdk.so" | grep SONAME | sed 's/^ */  /'

echo "== running"
"$out_dir/lifecycle_demo"
