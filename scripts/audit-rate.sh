#!/usr/bin/env bash
# How fast `lineage audit` re-verifies paid claims (issue 10's target: ≥ 100
# claims per second). Builds a dev chain with N whole-datanet claims over
# the digits datanet's first EXAMPLES examples (two prover nodes answer N
# queries), then times the audit of the whole chain.
#   N=160 EXAMPLES=64 scripts/audit-rate.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-160}; EXAMPLES=${EXAMPLES:-64}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lineage-target}"
cargo build --release -q -p lineage
BIN="$CARGO_TARGET_DIR/release/lineage"
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
OWNER=0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266   # dev account 0
"$BIN" node --dev --http-addr 127.0.0.1:0 --block-time-ms 200 --datadir "$dir/chain" > "$dir/node.log" 2>&1 &
for _ in $(seq 100); do grep -q http:// "$dir/node.log" && break; sleep 0.2; done
URL=$(grep -o 'http://[0-9.:]*' "$dir/node.log" | head -1)
"$BIN" register --rpc "$URL" --key dev:0 --examples "$EXAMPLES" > "$dir/register.log"
for a in 2 3; do
  "$BIN" prover --rpc "$URL" --key dev:$a --owner "$OWNER" --examples "$EXAMPLES" --data-dir "$dir/prover$a" \
    --listen 127.0.0.1:0 --poll-ms 100 --stake-budget-open 9000 > "$dir/prover$a.log" 2>&1 &
done
for a in 2 3; do for _ in $(seq 600); do grep -q "prover node:" "$dir/prover$a.log" 2>/dev/null && break; sleep 0.5; done; done
"$BIN" query --rpc "$URL" --key dev:1 --owner "$OWNER" --count "$N" --wait-secs 3600 > "$dir/query.log"
tail -1 "$dir/query.log"
# the audit, timed: --dev-params are the dev genesis's (the cached dev SRS at k = 17)
start=$(date +%s.%N)
"$BIN" audit --rpc "$URL" --dev-params --json > "$dir/audit.out"
end=$(date +%s.%N)
python3 - "$start" "$end" "$dir/audit.out" <<'PY'
import json, sys
start, end, path = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
a = json.loads(open(path).read().splitlines()[-1])
n = len(a["claims"]); valid = sum(c["proof_valid"] for c in a["claims"])
print(f"audit: {n} paid claims ({valid} valid, {len(a['findings'])} findings) in {end-start:.2f} s = {n/(end-start):.0f} claims/s (the whole command: connect, parameters, key parse, every check)")
PY
