#!/bin/sh
# Set up what `make test-hub` needs, outside the checkout and outside /root:
#   HUB_DIR/venv    the environment of the hub *and* of every student's server and kernel:
#                   a plain venv of a system Python, with this checkout installed (not editable)
#   HUB_DIR/proxy   configurable-http-proxy from npm, installed here (never globally)
# Students must be able to read and run all of it. A Python under /root (pyenv's, for
# example) fails for them with "Permission denied", so the venv is made from a system Python.
# constraints.txt is not applied: it pins the versions of the project's own extras, and with the
# hub's dependencies (aiohttp, pydantic, ...) pip backtracks for many minutes.
# Usage: tools/hub_env.sh HUB_PYTHON HUB_DIR
set -eu
HUB_PYTHON=$1
HUB_DIR=$2
PROXY_VERSION=5.3.0
cd "$(dirname "$0")/.."

real_python=$(readlink -f "$(command -v "$HUB_PYTHON" || echo "$HUB_PYTHON")")
case "$real_python:$(readlink -m "$HUB_DIR")" in
    /root/*|*:/root/*)
        echo "make test-hub: $HUB_PYTHON ($real_python) or $HUB_DIR is under /root, which students cannot read."
        echo "  Use a system Python outside /root:  make test-hub HUB_PYTHON=/usr/bin/python3"
        exit 1 ;;
esac
if [ ! -x "$real_python" ]; then
    echo "make test-hub: no Python at $HUB_PYTHON (Debian: apt-get install python3 python3-venv)"; exit 1
fi
if ! "$real_python" -c 'import ensurepip, venv' 2>/dev/null; then
    echo "make test-hub: $HUB_PYTHON has no venv/ensurepip; installing python3-venv with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
fi

mkdir -p "$HUB_DIR"
chmod 755 "$HUB_DIR"
VENV=$HUB_DIR/venv
want=$("$real_python" -c 'import sys; print(sys.version)')
have=$("$VENV/bin/python" -c 'import sys; print(sys.version)' 2>/dev/null || true)
if [ "$want" != "$have" ]; then
    echo "Creating $VENV with $real_python"
    rm -rf "$VENV"
    "$real_python" -m venv "$VENV"
fi

# Reinstall when the project's files changed (or another checkout installed itself here).
stamp=$( (pwd; cat pyproject.toml ipc_*/*.py) | sha256sum | cut -c1-16)
if [ "$(cat "$VENV/.installed-hub" 2>/dev/null)" != "$stamp" ]; then
    echo "Installing this checkout (with the hub and test extras) into $VENV"
    src=$(mktemp -d)
    trap 'rm -rf "$src"' EXIT
    cp -r pyproject.toml README.md LICENSE* ipc_* "$src"/      # what the package build reads
    rm -rf "$src"/ipc_*/__pycache__
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$src[hub,test]"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall "$src"
    echo "$stamp" > "$VENV/.installed-hub"
fi

PROXY=$HUB_DIR/proxy/node_modules/.bin/configurable-http-proxy
if [ "$("$PROXY" --version 2>/dev/null || true)" != "$PROXY_VERSION" ]; then
    command -v npm >/dev/null || { echo "make test-hub: npm is missing (Debian: apt-get install npm)"; exit 1; }
    echo "Installing configurable-http-proxy $PROXY_VERSION into $HUB_DIR/proxy (npm, local)"
    mkdir -p "$HUB_DIR/proxy"
    npm install --prefix "$HUB_DIR/proxy" --no-audit --no-fund --loglevel=error "configurable-http-proxy@$PROXY_VERSION"
fi
chmod -R a+rX "$HUB_DIR/venv" "$HUB_DIR/proxy"
