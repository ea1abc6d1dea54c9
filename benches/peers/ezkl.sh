#!/usr/bin/env bash
# Peer benchmark: EZKL and Lineage prove the same 64-16-10 MLP (same
# weights, same held-out query) in one run, and the ratios are printed.
# Run by hand (it installs ezkl from PyPI into a local venv), not by CI.
#
#   benches/peers/ezkl.sh [WORKDIR]      (default: target/peers)
#
# Lineage's figures are the criterion `inference` bench's (no separate
# hand-timed path); EZKL's are timed around its Python API calls.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mkdir -p "${1:-$root/target/peers}" && cd "${1:-$root/target/peers}" && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
cd "$root"

if [ ! -x "$work/venv/bin/python" ]; then
  python3 -m venv "$work/venv"
fi
"$work/venv/bin/pip" install -q "ezkl==23.0.5" "onnx==1.*" numpy

echo "== export the demo's model and query"
cargo run --release -q -p lineage-benches --example export_peer -- "$work"

echo "== EZKL $("$work/venv/bin/python" -c 'import ezkl; print(ezkl.__version__)')"
"$work/venv/bin/python" benches/peers/ezkl_run.py "$work"

echo "== Lineage (criterion: cargo bench -p lineage-benches --bench inference)"
LINEAGE_PEER_MODEL="$work/model.json" LINEAGE_PEER_INPUT="$work/input.json" LINEAGE_PEER_OUT="$work/lineage.json" \
  cargo bench -q -p lineage-benches --bench inference

echo "== side by side ($(nproc) cores, $(date -u +%F))"
python3 benches/peers/compare.py "$work" "$target/criterion"
