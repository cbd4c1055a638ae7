#!/usr/bin/env bash
# The GPU decode figures of docs/PERFORMANCE.md on an OpenCL GPU: the
# llama3-8B preset in f16 and q8_0 at batch 1 and 8 (ROUNDS rounds,
# interleaved), the 1B preset in f32, f16 and q8_0 at batch 1, each as
# bench --json (one line per run in OUT/decode.jsonl, a summary line each
# in OUT/decode.txt), then the per-kernel microbenchmark at both presets'
# shapes when its binary is there (OUT/kernels.txt). About five minutes
# on an H100 with 2 rounds.
#   scripts/gpu-decode.sh [OUT] [ROUNDS]      THERMABENCH=..., BENCH_OPENCL=path/to/bench_engine_opencl
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/gpu-env.sh
OUT=${1:-results/gpu-decode}
ROUNDS=${2:-2}
mkdir -p "$OUT"
one() {   # preset dtype batch input output
  if ! timeout 90 "$TB" bench --backend opencl --preset "$1" --dtype "$2" --batch-size "$3" --input-len "$4" \
       --output-len "$5" --json > "$OUT/run.json"; then
    echo "$1 $2 batch $3: bench failed"; return 0
  fi
  cat "$OUT/run.json" >> "$OUT/decode.jsonl"
  python3 - "$OUT/run.json" "$1" <<'PY' | tee -a "$OUT/decode.txt" || true
import json, sys
j = json.load(open(sys.argv[1]))
print("%s %s bs%d: decode step %.3f ms, %.1f tokens/s, %.1f GB/s (%.1f %% of 3.35 TB/s), hash %s" % (
    sys.argv[2], j["model"]["dtype"], j["config"]["batch_size"], j["decode_step_median_ms"], j["decode_tokens_per_s"],
    j["decode_gb_per_s"], j["decode_gb_per_s"] / 33.5, j["output_tokens_hash"]))
PY
}
for r in $(seq "$ROUNDS"); do
  for dt in f16 q8_0; do
    for bs in 1 8; do one llama3-8B "$dt" "$bs" 32 32; done
  done
  for dt in f32 f16 q8_0; do one 1B "$dt" 1 128 32; done
done
rm -f "$OUT/run.json"
BO=${BENCH_OPENCL:-build/release/tests/bench_engine_opencl}
if [ -x "$BO" ]; then
  for p in llama3-8B 1B; do
    for dt in f16 q8_0; do timeout 60 "$BO" "$dt" NVIDIA "$p" | tee -a "$OUT/kernels.txt"; done
  done
fi
