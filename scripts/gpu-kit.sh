#!/usr/bin/env bash
# The GPU kit: build on a CPU machine everything a GPU run needs into one
# folder (target/gpu-kit, ≤ 64 MiB), then run it on a GPU machine that has an
# NVIDIA driver but no Rust and no network.
#
#   scripts/gpu-kit.sh build   # here: needs a CUDA 13.0 toolkit (nvcc) on PATH, CUDA_HOME set
#   scripts/gpu-kit.sh run     # there: writes gpu-kit.json and summary.txt to $OUT (or target/gpu-kit/out)
#   scripts/gpu-kit.sh check   # anywhere, no CUDA: the kit's programs on the CPU path (CI runs this)
#   KIT_NODE=1 scripts/gpu-kit.sh build   # the prover-node kit instead (see below)
#
# What it measures: the DualHal test (one witness proven on the CPU and on the
# GPU, both proofs verified with one key); candle CPU vs CUDA inference and
# influence over the whole datanet (checked against the native fixed-point
# reference); CPU vs GPU prove time of the attribution circuit at
# k = 16, 18, 20, 22 (as many as fit the budget), with peak GPU memory.
#
# The prover-node kit (KIT_NODE=1) carries the `lineage` binary built with the
# `gpu` feature in place of gpu_bench and gpu_infer (all three exceed the
# carry limit): `run` then does the two DualHal tests and
# scripts/prover-throughput.sh with GPU=1 (a dev chain, `lineage register`,
# `lineage prover --gpu`, `lineage query`, against `lineage attribute --gpu
# --repeat N`) and, as time allows, the same on the CPU.
set -euo pipefail
SELF=$(cd "$(dirname "$0")" && pwd)   # where this script lives (scripts/ or the kit folder)
cd "$SELF/.."
KIT=${KIT:-target/gpu-kit}
BUDGET_S=${BUDGET_S:-460}   # the whole run; the device allows 8 minutes

# Copy into $KIT/lib the libraries the given binaries need that a bare GPU
# machine lacks.
carry_libs() {
  local bin
  for bin in "$@"; do
    LD_LIBRARY_PATH="${CUDA_HOME:+$CUDA_HOME/lib64:}${LD_LIBRARY_PATH:-}" ldd "$bin" | awk '/=>/ {print $1, $3}' | while read -r name path; do
      case "$name" in
        # cuBLAS (540 MB with cublasLt), cuRAND and NVRTC are too large to carry:
        # candle dlopens them from the GPU machine's CUDA 13 (LD_LIBRARY_PATH in `run`)
        libcudart.so*|librocksdb.so*|libgflags.so*|libsnappy.so*|liblz4.so*|libzstd.so*|libbz2.so*)
          if [ -f "$path" ] && [ ! -e "$KIT/lib/$name" ]; then cp -L "$path" "$KIT/lib/$name"; fi ;;
      esac
    done
  done
}

build() {
  command -v nvcc >/dev/null || {
    echo "gpu-kit build: nvcc not found. Put a CUDA 13.0 toolkit on PATH and set CUDA_HOME" >&2
    echo "  (without a system CUDA, NVIDIA's PyPI wheels work: see README, GPU builds)." >&2
    exit 2
  }
  export CUDA_ARCH=${CUDA_ARCH:-90} CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}
  local target=${CARGO_TARGET_DIR:-target}
  local log
  log=$(mktemp)
  local node_bin="" bench_bin="" infer_bin="" test_bin
  if [ "${KIT_NODE:-0}" = 1 ]; then
    cargo build -p lineage -p lineage-prover --features lineage/gpu,lineage-prover/gpu --bin lineage --test prove_verify \
      --message-format=json-render-diagnostics > "$log"
    node_bin=$(grep -o '"executable":"[^"]*/lineage"' "$log" | tail -1 | cut -d'"' -f4 || true)
    [ -x "$node_bin" ] || { echo "gpu-kit build: lineage not found" >&2; exit 1; }
  else
    cargo build -p lineage-prover --features gpu --example gpu_bench --tests --message-format=json-render-diagnostics > "$log"
    bench_bin=$(grep -o '"executable":"[^"]*examples/gpu_bench[^"]*"' "$log" | tail -1 | cut -d'"' -f4 || true)
    [ -x "$bench_bin" ] || { echo "gpu-kit build: gpu_bench not found" >&2; exit 1; }
  fi
  test_bin=$(grep -o '"executable":"[^"]*prove_verify-[^"]*"' "$log" | tail -1 | cut -d'"' -f4 || true)
  rm -f "$log"
  [ -x "$test_bin" ] || { echo "gpu-kit build: prove_verify not found" >&2; exit 1; }
  # candle with CUDA (inference and influence), in its own target dir: the
  # cuda feature rebuilds candle, and nothing else needs it
  if [ -z "$node_bin" ]; then
    log=$(mktemp)
    CARGO_TARGET_DIR="${GPU_KIT_CUDA_TARGET:-$target/cuda}" \
      cargo build -p lineage-inference --features cuda --example gpu_infer --message-format=json-render-diagnostics > "$log"
    infer_bin=$(grep -o '"executable":"[^"]*examples/gpu_infer[^"]*"' "$log" | tail -1 | cut -d'"' -f4 || true)
    rm -f "$log"
    [ -x "$infer_bin" ] || { echo "gpu-kit build: gpu_infer not found" >&2; exit 1; }
  fi
  rm -rf "$KIT" && mkdir -p "$KIT/lib" "$KIT/cache"
  cp "$test_bin" "$KIT/prove_verify"
  if [ -n "$bench_bin" ]; then cp "$bench_bin" "$KIT/gpu_bench"; fi
  if [ -n "$infer_bin" ]; then cp "$infer_bin" "$KIT/gpu_infer"; fi
  if [ -n "$node_bin" ]; then cp "$node_bin" "$KIT/lineage"; cp scripts/prover-throughput.sh "$KIT/"; fi
  local bins=()
  for b in prove_verify gpu_bench gpu_infer lineage; do [ -f "$KIT/$b" ] && bins+=("$KIT/$b"); done
  strip "${bins[@]}"
  # shared libraries a bare GPU machine lacks: the CUDA runtime (the driver's
  # libcuda stays theirs) and, for `lineage`, the system RocksDB it links
  # with its compression libraries (a second pass reads the copied ones' needs)
  carry_libs "${bins[@]}"
  carry_libs "$KIT"/lib/*
  # the k = 15 SRS of the DualHal test, if this machine has it cached (4 MiB).
  # SRSs for k ≥ 19 are 64 MiB and more: too large to carry, so gpu_bench
  # generates them on the device (and reports the time as srs_ms).
  local srs_src=${LINEAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lineage}
  if [ -f "$srs_src/dev-srs-k15.bin" ]; then cp "$srs_src/dev-srs-k15.bin" "$KIT/cache/"; fi
  cp scripts/gpu-kit.sh "$KIT/"
  local size
  size=$(du -sm "$KIT" | cut -f1)
  echo "gpu-kit build: $KIT is ${size} MiB"
  ls -la "$KIT" "$KIT/lib" "$KIT/cache"
  [ "$size" -le 64 ] || { echo "gpu-kit build: over the 64 MiB carry limit" >&2; exit 1; }
}

run() {
  local here out
  here=$SELF
  if [ ! -x "$here/prove_verify" ]; then
    case "$KIT" in /*) here=$KIT ;; *) here="$(pwd)/$KIT" ;; esac
  fi
  out=${OUT:-$here/out}
  mkdir -p "$out"
  local t0=$SECONDS
  if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
    echo '{"error":"GpuUnavailable","reason":"no NVIDIA driver or device (nvidia-smi failed)"}' | tee "$out/gpu-kit.json"
    echo "gpu-kit run: GpuUnavailable: no NVIDIA driver or device" >&2
    exit 3
  fi
  local cuda_libs=""
  for d in /usr/local/cuda/lib64 /usr/local/cuda-13.0/targets/x86_64-linux/lib; do
    if [ -d "$d" ]; then cuda_libs="$cuda_libs:$d"; fi
  done
  export LD_LIBRARY_PATH="$here/lib$cuda_libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export LINEAGE_CACHE="$here/cache"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$out/device.txt"
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 > "$out/memory.log" 2>/dev/null &
  KIT_POLLER=$!
  trap 'kill "$KIT_POLLER" 2>/dev/null || true' EXIT
  local dual=failed
  if timeout 120 "$here/prove_verify" cpu_and_gpu_proofs_both_verify --exact --nocapture > "$out/dualhal.log" 2>&1; then dual=passed; fi
  # the same for the whole-datanet per-query circuit (what `lineage prover --gpu` proves)
  local dual_query=failed
  if timeout 150 "$here/prove_verify" cpu_and_gpu_per_query_proofs_both_verify --exact --nocapture > "$out/dualhal-query.log" 2>&1; then dual_query=passed; fi
  : > "$out/infer.jsonl"; : > "$out/bench.jsonl"
  if [ -x "$here/gpu_infer" ]; then
    timeout 120 "$here/gpu_infer" --reps 5 --copies 8 > "$out/infer.jsonl" 2> "$out/infer.log" || true
  fi
  local left
  if [ -x "$here/gpu_bench" ]; then
    left=$((BUDGET_S - (SECONDS - t0) - 20))
    timeout $((left + 15)) "$here/gpu_bench" --budget-s "$left" > "$out/bench.jsonl" 2> "$out/bench.log" || true
  fi
  # the prover-node kit: requests settled per minute by `lineage prover --gpu`
  # against `lineage attribute --gpu --repeat N`, then the same on the CPU
  if [ -x "$here/lineage" ]; then
    left=$((BUDGET_S - (SECONDS - t0) - 10))
    BIN="$here/lineage" GPU=1 timeout "$left" bash "$here/prover-throughput.sh" > "$out/node-gpu.txt" 2> "$out/node-gpu.log" || true
    left=$((BUDGET_S - (SECONDS - t0) - 10))
    if [ "$left" -gt 60 ]; then
      BIN="$here/lineage" GPU=0 timeout "$left" bash "$here/prover-throughput.sh" > "$out/node-cpu.txt" 2> "$out/node-cpu.log" || true
    fi
  fi
  kill "$KIT_POLLER" 2>/dev/null || true
  local peak
  peak=$(sort -n "$out/memory.log" | tail -1)
  python3 - "$out" "$dual" "${peak:-0}" "$((SECONDS - t0))" "$dual_query" <<'PY'
import json, sys, pathlib
out, dual, peak, secs, dual_query = pathlib.Path(sys.argv[1]), sys.argv[2], int(sys.argv[3] or 0), int(sys.argv[4]), sys.argv[5]
name, mem, driver = [s.strip() for s in (out / "device.txt").read_text().split(",")]
rows = [json.loads(l) for l in (out / "bench.jsonl").read_text().splitlines() if l.startswith("{")]
infer = [json.loads(l) for l in (out / "infer.jsonl").read_text().splitlines() if l.startswith("{")]
node = {b: (out / f"node-{b}.txt").read_text() for b in ("gpu", "cpu") if (out / f"node-{b}.txt").exists()}
doc = {"device": name, "memory": mem, "driver": driver, "dualhal_test": dual, "dualhal_query_test": dual_query,
       "peak_gpu_memory_mib": peak, "seconds": secs, "prove": rows, "inference": infer, "prover_node": node}
(out / "gpu-kit.json").write_text(json.dumps(doc, indent=2))
lines = [f"{name} ({mem}, driver {driver}); DualHal test {dual}; per-query DualHal test {dual_query}; peak GPU memory {peak} MiB; {secs} s"]
for r in rows:
    g = r.get("gpu_prove_ms")
    lines.append(f"k={r['k']:>2} batch={r['batch']:>4}: keygen {r['keygen_ms']/1e3:6.1f} s, CPU prove {r['cpu_prove_ms']/1e3:6.1f} s, "
                 + (f"GPU prove {g/1e3:6.2f} s, speedup {r['speedup']:.1f}x" if g is not None else "no GPU proof"))
for r in infer:
    if "scores_per_s" in r:
        lines.append(f"influence on {r['device']}: {r['scores_per_s']/1e6:,.0f} M scores/s, predictions equal native: "
                     f"{r['predictions_equal_native']}, max relative score error {r['max_rel_score_error']:.1e}")
    elif "influence_speedup" in r:
        lines.append(f"influence speedup GPU/CPU: {r['influence_speedup']:.1f}x")
    else:
        lines.append(f"influence on {r.get('device')}: {r.get('error')}")
for b, text in node.items():
    lines.append(f"prover node, {b.upper()} proofs:")
    lines += ["    " + l for l in text.splitlines()]
(out / "summary.txt").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
PY
}

# The CPU half of what `run` measures, with the default (CPU-only) build:
# proving and its verification at k = 16, and the candle CPU forward pass
# and influence checked against the native reference.
check() {
  cargo run -q -p lineage-prover --example gpu_bench -- --ks 16 --cpu-only
  cargo run -q -p lineage-inference --example gpu_infer -- --reps 1 --copies 1
}

case "${1:-}" in
  build) build ;;
  run) run ;;
  check) check ;;
  *) echo "usage: $0 build|run|check" >&2; exit 2 ;;
esac
