#!/usr/bin/env bash
# Release artifacts: stripped binaries with their debug info split into separate files.
#
# Usage: scripts/release.sh [--out DIR] [--no-build]
#   --out DIR    output directory (default $CARGO_TARGET_DIR/dist, or target/dist)
#   --no-build   use the existing release build (cargo build --release ...) as is
#
# Produces, for libconference_sdk.so and conference-mcu:
#   DIR/NAME          stripped (no .debug_*, no .symtab), with a .gnu_debuglink to NAME.debug
#   DIR/NAME.debug    the debug info (objcopy --only-keep-debug)
#   DIR/debug/.build-id/xx/yyyy.debug   the same file under its GNU build id, the layout gdb
#                     looks up via `set debug-file-directory DIR/debug` (or /usr/lib/debug)
# Symbolise a crash address ADDR (offset in the .so) with:
#   addr2line -f -C -e DIR/libconference_sdk.so.debug ADDR
#   gdb -batch -ex 'info line *ADDR' DIR/libconference_sdk.so   (finds the .debug by debuglink)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
out="$target_dir/dist"
build=1
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out="$2"; shift 2 ;;
        --out=*) out="${1#*=}"; shift ;;
        --no-build) build=0; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "release.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
if [ "$build" = 1 ]; then
    # Two builds: built together, cargo unifies features across both packages and the MCU's
    # (the fleet's NATS client among them) would grow the library by ~0.8 MB.
    (cd "$root" && cargo build --release -p conference_sdk && cargo build --release -p conference-mcu)
fi
mkdir -p "$out"
out="$(cd "$out" && pwd)"

split() {
    local built="$1" name
    name="$(basename "$built")"
    [ -f "$built" ] || { echo "release.sh: $built not built" >&2; exit 1; }
    rm -f "$out/$name" "$out/$name.debug"
    objcopy --only-keep-debug "$built" "$out/$name.debug"
    chmod 0644 "$out/$name.debug"
    objcopy --strip-debug --strip-unneeded "$built" "$out/$name.tmp"
    # --add-gnu-debuglink records the basename and a CRC of the debug file.
    (cd "$out" && objcopy --add-gnu-debuglink="$name.debug" "$name.tmp" && mv -f "$name.tmp" "$name")
    local id
    id="$(readelf -n "$out/$name" | sed -n 's/^ *Build ID: *\([0-9a-f]*\)$/\1/p')"
    if [ -n "$id" ]; then
        mkdir -p "$out/debug/.build-id/${id:0:2}"
        ln -f "$out/$name.debug" "$out/debug/.build-id/${id:0:2}/${id:2}.debug"
    else
        echo "release.sh: $name has no GNU build id" >&2
        exit 1
    fi
    printf '%-24s %9d bytes stripped, %10d bytes debug, build id %s\n' "$name" \
        "$(stat -c %s "$out/$name")" "$(stat -c %s "$out/$name.debug")" "$id"
}

split "$target_dir/release/libconference_sdk.so"
if [ -f "$target_dir/release/conference-mcu" ]; then
    split "$target_dir/release/conference-mcu"
fi
cp -f "$root/include/conference_sdk.h" "$out/"
echo "release artifacts in $out"
