# Sourced by scripts/glibc-floor.sh and scripts/cross.sh: puts cargo-zigbuild and zig (from
# PyPI, installed into $CARGO_TARGET_DIR/zig-pypi the first time) on PATH. cargo-zigbuild links
# against the glibc version named in the target (`<triple>.2.17`) with zig's stubs.
zig_tools="${CARGO_TARGET_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target}/zig-pypi"
if [ ! -x "$zig_tools/bin/cargo-zigbuild" ] || [ ! -d "$zig_tools/ziglang" ]; then
    echo "== installing ziglang and cargo-zigbuild from PyPI into $zig_tools" >&2
    python3 -m pip install --quiet --target "$zig_tools" ziglang cargo-zigbuild >&2
fi
export PATH="$zig_tools/bin:$PATH"
export PYTHONPATH="$zig_tools${PYTHONPATH:+:$PYTHONPATH}"
