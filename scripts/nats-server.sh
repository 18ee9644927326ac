#!/usr/bin/env bash
# Makes sure nats-server (with JetStream: 2.9 or later) is installed, then prints its path.
# The fleet tests (crates/mcu/tests/cluster.rs) run it when nats-server is missing; it
# installs Debian's package (needs root, or sudo without a password).
set -euo pipefail

if command -v nats-server >/dev/null 2>&1; then
    command -v nats-server
    exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
    if sudo -n true 2>/dev/null; then
        as_root=(sudo -n)
    else
        echo "nats-server is missing and installing it needs root: apt-get install nats-server" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq >&2
"${as_root[@]}" apt-get install -y -qq --no-install-recommends nats-server >&2
command -v nats-server
