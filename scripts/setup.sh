#!/usr/bin/env bash
# Installs the system packages Lineage builds against (Debian/Ubuntu):
#   librocksdb-dev  — RocksDB 7.8, linked dynamically (see .cargo/config.toml)
#   libclang-dev    — bindgen, used by librocksdb-sys at build time
# Rust (stable ≥ 1.91) must already be installed (rustup).
set -euo pipefail
need=()
for pkg in librocksdb-dev libclang-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
command -v cargo >/dev/null || { echo "cargo not found: install Rust from https://rustup.rs" >&2; exit 1; }
echo "setup: system packages present"
