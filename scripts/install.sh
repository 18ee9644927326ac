#!/usr/bin/env bash
# Installs libconference_sdk.so like a C library, in cargo-c's layout:
#   PREFIX/lib/libconference_sdk.so            (soname exactly libconference_sdk.so)
#   PREFIX/include/conference_sdk.h
#   PREFIX/lib/pkgconfig/conference_sdk.pc
#
# Usage: scripts/install.sh --prefix DIR [--libdir DIR] [--strip] [--no-build]
#   --prefix DIR   installation prefix (default /usr/local)
#   --libdir DIR   library directory (default PREFIX/lib)
#   --strip        install a stripped .so (debug info: see scripts/release.sh)
#   --no-build     install the existing release build instead of running cargo build
# DESTDIR is honoured as usual (the .pc file names PREFIX, not DESTDIR/PREFIX).
# The build is `cargo build --release -p conference_sdk` into $CARGO_TARGET_DIR (or target/).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
prefix=/usr/local
libdir=""
strip=0
build=1
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="$2"; shift 2 ;;
        --prefix=*) prefix="${1#*=}"; shift ;;
        --libdir) libdir="$2"; shift 2 ;;
        --libdir=*) libdir="${1#*=}"; shift ;;
        --strip) strip=1; shift ;;
        --no-build) build=0; shift ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
case "$prefix" in /*) ;; *) prefix="$(pwd)/$prefix" ;; esac
libdir="${libdir:-$prefix/lib}"
includedir="$prefix/include"
destdir="${DESTDIR:-}"

version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml")"
[ -n "$version" ] || { echo "install.sh: no version in Cargo.toml" >&2; exit 1; }

target_dir="${CARGO_TARGET_DIR:-$root/target}"
if [ "$build" = 1 ]; then
    (cd "$root" && cargo build --release -p conference_sdk)
fi
lib="$target_dir/release/libconference_sdk.so"
header="$root/include/conference_sdk.h"
[ -f "$lib" ] || { echo "install.sh: $lib not built" >&2; exit 1; }
grep -q "#define CONFERENCE_SDK_VERSION \"$version\"" "$header" || {
    echo "install.sh: $header is not the header of version $version (run scripts/update-header.sh)" >&2
    exit 1
}

install -d "$destdir$libdir/pkgconfig" "$destdir$includedir"
if [ "$strip" = 1 ]; then
    install -m 0755 "$lib" "$destdir$libdir/libconference_sdk.so.tmp"
    strip --strip-unneeded "$destdir$libdir/libconference_sdk.so.tmp"
    mv -f "$destdir$libdir/libconference_sdk.so.tmp" "$destdir$libdir/libconference_sdk.so"
else
    install -m 0755 "$lib" "$destdir$libdir/libconference_sdk.so"
fi
install -m 0644 "$header" "$destdir$includedir/conference_sdk.h"
cat > "$destdir$libdir/pkgconfig/conference_sdk.pc" <<PC
prefix=$prefix
exec_prefix=\${prefix}
libdir=$libdir
includedir=\${prefix}/include

Name: conference_sdk
Description: Classroom interactive module (drop-in libconference_sdk.so)
Version: $version
Libs: -L\${libdir} -lconference_sdk
Libs.private: -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
Cflags: -I\${includedir}
PC
echo "installed conference_sdk $version into $destdir$prefix"
