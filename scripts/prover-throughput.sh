#!/usr/bin/env bash
# A prover node's rate against proving alone (issue 10's target: < 10 %
# overhead). Proving alone: `lineage attribute --repeat N` proves the first N
# held-out queries back to back. The node: a dev chain, the model
# registered by its owner (dev account 0), one `lineage prover` (dev account
# 2), and `lineage query` (dev account 1) posting the same N queries at once
# and waiting until every one is settled (claim paid on chain).
# Every accept locks the chain's acceptStake (100 OPEN on a dev chain) for
# the challenge window (a day), so the stake budget must cover N of them.
#   N=20 EXAMPLES=1438 BLOCK_MS=500 BUDGET=2048 STAKE=5000 scripts/prover-throughput.sh
# BIN=path/to/lineage uses that binary instead of building one (the GPU kit
# carries one built with the `gpu` feature); GPU=1 proves on the GPU, both
# alone (`lineage attribute --gpu`) and in the node (`lineage prover --gpu`).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-20}; EXAMPLES=${EXAMPLES:-1438}; BLOCK_MS=${BLOCK_MS:-500}; BUDGET=${BUDGET:-2048}; STAKE=${STAKE:-5000}
if [ -z "${BIN:-}" ]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lineage-target}"
  cargo build --release -q -p lineage
  BIN="$CARGO_TARGET_DIR/release/lineage"
fi
GPU_FLAG=(); if [ "${GPU:-0}" = 1 ]; then GPU_FLAG=(--gpu); fi
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
OWNER=0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266   # dev account 0

"$BIN" attribute "${GPU_FLAG[@]}" --examples "$EXAMPLES" --repeat "$N" --json > "$dir/alone.out"
alone_ms=$(tail -1 "$dir/alone.out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["repeat_ms"])')

"$BIN" node --dev --http-addr 127.0.0.1:0 --block-time-ms "$BLOCK_MS" --datadir "$dir/chain" > "$dir/node.log" 2>&1 &
for _ in $(seq 100); do grep -q http:// "$dir/node.log" && break; sleep 0.2; done
URL=$(grep -o 'http://[0-9.:]*' "$dir/node.log" | head -1)
"$BIN" register --rpc "$URL" --key dev:0 --examples "$EXAMPLES" > "$dir/register.log"
"$BIN" prover "${GPU_FLAG[@]}" --rpc "$URL" --key dev:2 --owner "$OWNER" --examples "$EXAMPLES" --data-dir "$dir/prover" \
  --listen 127.0.0.1:0 --memory-budget-mib "$BUDGET" --stake-budget-open "$STAKE" > "$dir/prover.log" 2>&1 &
for _ in $(seq 600); do grep -q "prover node:" "$dir/prover.log" 2>/dev/null && break; sleep 0.5; done
grep "prover node:" "$dir/prover.log"
"$BIN" query --rpc "$URL" --key dev:1 --owner "$OWNER" --count "$N" --wait-secs 3600 --json > "$dir/query.out"
settled_s=$(tail -1 "$dir/query.out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["settled_s"])')
python3 - "$N" "$alone_ms" "$settled_s" <<'PY'
import sys
n, alone_ms, settled_s = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
alone = n * 60000 / alone_ms
node = n * 60 / settled_s
print(f"proving alone: {n} proofs in {alone_ms/1000:.1f} s = {alone:.2f}/min")
print(f"prover node:   {n} requests settled in {settled_s:.1f} s from posting = {node:.2f}/min")
print(f"overhead:      {(alone/node - 1)*100:.1f} %")
PY
