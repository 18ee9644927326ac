#!/usr/bin/env bash
# Builds the conference-mcu Debian package (cargo-deb; metadata in crates/mcu/Cargo.toml):
#   /usr/bin/conference-mcu, /lib/systemd/system/conference-mcu.service,
#   /etc/conference-mcu/mcu.toml (conffile, mode 0600: password hashes).
# Usage: scripts/deb.sh [--no-build]   (--no-build: package the existing release build)
# The binary is stripped (debug info: scripts/release.sh).
# Installs cargo-deb with `cargo install cargo-deb --locked` when it is missing.
# Prints the path of the .deb on its last line.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if ! cargo deb --version >/dev/null 2>&1; then
    cargo install cargo-deb --locked
fi
target_dir="${CARGO_TARGET_DIR:-$root/target}"
out="$target_dir/debian"
mkdir -p "$out"
# The same build as scripts/release.sh (cargo deb's own `-p conference-mcu` build would
# resolve features differently and rebuild the dependencies).
# Two builds, as in release.sh: the library without the MCU's features.
[ "${1:-}" = "--no-build" ] || {
    cargo build --release -p conference_sdk >&2 && cargo build --release -p conference-mcu >&2
}
cargo deb -p conference-mcu --no-build --strip --output "$out" | tail -1
