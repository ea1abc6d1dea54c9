#!/usr/bin/env bash
# Installs the real Ethereum clients the JSON-RPC tests drive, outside the
# tree (default ~/.cache/lineage-clients, override with LINEAGE_CLIENTS):
#   web3.py 8 + eth-account (PyPI) in a virtual environment;
#   ethers 6 and solc-js 0.8.37 (npm).
# Prints the directory. Safe to re-run: installs only what is missing.
set -euo pipefail
dir="${LINEAGE_CLIENTS:-$HOME/.cache/lineage-clients}"
mkdir -p "$dir"
if ! "$dir/venv/bin/python" -c "import web3, eth_account; assert web3.__version__.startswith('8.')" 2>/dev/null; then
  python3 -m venv "$dir/venv"
  "$dir/venv/bin/pip" install --quiet --disable-pip-version-check "web3==8.0.0" "eth-account==0.14.0" >&2
fi
if [ ! -f "$dir/node_modules/ethers/package.json" ] || [ ! -f "$dir/node_modules/solc/package.json" ]; then
  command -v npm >/dev/null || { echo "npm not found: install Node.js 20+" >&2; exit 1; }
  (cd "$dir" && [ -f package.json ] || echo '{"private":true}' > "$dir/package.json")
  (cd "$dir" && npm install --silent --no-audit --no-fund "ethers@6.17.0" "solc@0.8.37" >&2)
fi
echo "$dir"
