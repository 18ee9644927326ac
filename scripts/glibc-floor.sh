#!/usr/bin/env bash
# glibc floor: builds libconference_sdk.so and conference-mcu against an old glibc with
# cargo-zigbuild (zig cc links against glibc 2.17 stubs; libopus is built by cmake with the
# same zig cc) and reports the highest GLIBC_ symbol version each needs (objdump -T).
#
# Usage: scripts/glibc-floor.sh [--glibc 2.17] [--profile release|dev] [--check-only]
#   --glibc V       the glibc to link against (default 2.17, Rust's own minimum)
#   --profile P     cargo profile (default release; tests/release.rs uses dev: the same
#                   symbols, a faster build)
#   --check-only    only report the floors of the native and the zigbuild artifacts
# First run: installs ziglang and cargo-zigbuild from PyPI into $CARGO_TARGET_DIR/zig-pypi.
# Artifacts: $CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/{libconference_sdk.so,conference-mcu}
# (tests/release.rs checks them against the floor when they exist).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
export CARGO_TARGET_DIR="$target_dir"
glibc=2.17
profile=release
check_only=0
while [ $# -gt 0 ]; do
    case "$1" in
        --glibc) glibc="$2"; shift 2 ;;
        --check-only) check_only=1; shift ;;
        --profile) profile="$2"; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "glibc-floor.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

floor() {
    objdump -T "$1" | grep -o 'GLIBC_[0-9][0-9.]*' | sort -uV | tail -1
}

if [ "$check_only" = 0 ]; then
    # shellcheck source=zig-tools.sh
    . "$root/scripts/zig-tools.sh"
    start=$(date +%s)
    (cd "$root" && cargo zigbuild --profile "$profile" --target "x86_64-unknown-linux-gnu.$glibc" \
        -p conference_sdk -p conference-mcu)
    echo "zigbuild took $(( $(date +%s) - start )) s"
fi

status=0
for artifact in libconference_sdk.so conference-mcu; do
    dir=$profile
    [ "$profile" = dev ] && dir=debug
    native="$target_dir/$dir/$artifact"
    zig="$target_dir/x86_64-unknown-linux-gnu/$dir/$artifact"
    [ -f "$native" ] && echo "native  $artifact needs $(floor "$native")"
    if [ -f "$zig" ]; then
        need="$(floor "$zig")"
        echo "zig-$glibc $artifact needs $need"
        if [ "$(printf '%s\n%s\n' "$need" "GLIBC_$glibc" | sort -V | tail -1)" != "GLIBC_$glibc" ]; then
            echo "glibc-floor.sh: $artifact needs $need > GLIBC_$glibc" >&2
            status=1
        fi
    fi
done
exit $status
