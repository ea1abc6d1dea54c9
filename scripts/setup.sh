#!/usr/bin/env bash
# Installs the system packages Lineage builds against (Debian/Ubuntu):
#   librocksdb-dev  — RocksDB 7.8, linked dynamically (see .cargo/config.toml)
#   libclang-dev    — bindgen, used by librocksdb-sys at build time
#   chromium        — the provenance report's rendering test (headless)
# and, through scripts/clients-setup.sh, the real Ethereum clients the
# JSON-RPC tests drive (web3.py from PyPI; ethers and solc-js from npm) in
# ~/.cache/lineage-clients. Rust (stable ≥ 1.91) must already be installed.
set -euo pipefail
need=()
for pkg in librocksdb-dev libclang-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
# the provenance report is rendered in headless Chromium by the tests
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || need+=(chromium)
# the test clients need Python with venv and Node.js with npm (any install)
python3 -c "import venv, ensurepip" >/dev/null 2>&1 || need+=(python3-venv)
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
command -v cargo >/dev/null || { echo "cargo not found: install Rust from https://rustup.rs" >&2; exit 1; }
"$(dirname "$0")/clients-setup.sh" >/dev/null
echo "setup: system packages and test clients present"
