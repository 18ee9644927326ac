#!/usr/bin/env bash
# Cross builds of libconference_sdk.so for ARM recorders, and their test legs under qemu-user.
#
#   scripts/cross.sh aarch64|armv7 [--release] [--test]
#
# Builds the library for aarch64-unknown-linux-gnu or armv7-unknown-linux-gnueabihf with
# Debian's rustc-web (its standard library for the target installs by multi-arch: rustup
# cannot fetch targets here), libopus cross-built by its cmake build: aarch64 linked by
# cargo-zigbuild against glibc 2.17 (PyPI's ziglang, installed the first time), armv7 by the
# Debian cross gcc.
# The first run installs what it needs (root: dpkg --add-architecture, apt-get). Prints the
# path of the built .so on its last line. With --test it then runs that target's leg:
# tests/cross_arm.rs (ABI layout and exported symbols of the cross .so, and the C harness
# lesson under qemu against an x86-64 MCU on loopback). docs/SHIPPING.md has the figures.
set -euo pipefail
cd "$(dirname "$0")/.."

target_name=${1:-}
shift || true
profile=dev
run_test=0
for arg in "$@"; do
    case "$arg" in
        --release) profile=release ;;
        --test) run_test=1 ;;
        *) echo "unknown option $arg" >&2; exit 2 ;;
    esac
done

case "$target_name" in
    aarch64)
        triple=aarch64-unknown-linux-gnu
        gnu=aarch64-linux-gnu
        debarch=arm64
        qemu=qemu-aarch64
        # Linked by cargo-zigbuild against glibc 2.17 (Rust's own minimum): the library
        # loads on old recorder firmware. The test programs use the Debian cross gcc.
        glibc=2.17
        ;;
    armv7)
        triple=armv7-unknown-linux-gnueabihf
        gnu=arm-linux-gnueabihf
        debarch=armhf
        qemu=qemu-arm
        # libopus's ARM intrinsics need NEON, which the gnueabihf baseline (VFPv3-D16) does
        # not enable: build it for NEON (every Cortex-A7/A9/A53-class recorder has it).
        export CFLAGS_armv7_unknown_linux_gnueabihf="-mfpu=neon"
        # The Debian cross toolchain's glibc (docs/SHIPPING.md).
        glibc=
        ;;
    *)
        echo "usage: $0 aarch64|armv7 [--release] [--test]" >&2
        exit 2
        ;;
esac

# Debian's rustc (rustc-web 1.96) and the target's standard library; the cross gcc; qemu.
need=()
command -v "$gnu-gcc" > /dev/null || need+=("gcc-$gnu" "libc6-dev-$debarch-cross")
command -v "$qemu" > /dev/null || need+=(qemu-user)
[ -x /usr/bin/rustc ] && /usr/bin/rustc --version | grep -q '^rustc 1\.9[6-9]' || need+=(rustc-web)
[ -d "/usr/lib/rustlib/$triple/lib" ] || need+=("libstd-rust-web-dev:$debarch")
if [ ${#need[@]} -gt 0 ]; then
    echo "== installing ${need[*]}" >&2
    if ! dpkg --print-foreign-architectures | grep -qx "$debarch"; then
        dpkg --add-architecture "$debarch"
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >&2
fi

target_dir=${CARGO_TARGET_DIR:-$PWD/target}/cross
upper=$(echo "$triple" | tr 'a-z-' 'A-Z_')
lower=$(echo "$triple" | tr '-' '_')
export RUSTC=/usr/bin/rustc
flag=()
[ "$profile" = release ] && flag=(--release)
start=$(date +%s)
if [ -n "$glibc" ]; then
    # shellcheck source=zig-tools.sh
    . scripts/zig-tools.sh
    echo "== cargo zigbuild -p conference_sdk --target $triple.$glibc ($profile, $(/usr/bin/rustc --version))" >&2
    CARGO_TARGET_DIR=$target_dir cargo zigbuild -p conference_sdk --target "$triple.$glibc" "${flag[@]}" >&2
else
    export "CARGO_TARGET_${upper}_LINKER=$gnu-gcc"
    export "CC_${lower}=$gnu-gcc"
    export "AR_${lower}=$gnu-ar"
    echo "== cargo build -p conference_sdk --target $triple ($profile, $(/usr/bin/rustc --version))" >&2
    CARGO_TARGET_DIR=$target_dir cargo build -p conference_sdk --target "$triple" "${flag[@]}" >&2
fi
dir=debug
[ "$profile" = release ] && dir=release
lib=$target_dir/$triple/$dir/libconference_sdk.so
echo "== built in $(( $(date +%s) - start )) s: $(du -h "$lib" | cut -f1) $lib" >&2

if [ "$run_test" = 1 ]; then
    # The host side (test binary, MCU) builds with the usual toolchain, in the usual target
    # directory: none of the cross settings above.
    unset RUSTC "CARGO_TARGET_${upper}_LINKER" "CC_${lower}" "AR_${lower}" \
        CFLAGS_armv7_unknown_linux_gnueabihf
    CONFERENCE_CROSS_LIB=$lib cargo test --test cross_arm -- --include-ignored "$target_name" >&2
fi
echo "$lib"
