#!/usr/bin/env bash
# Decode of the llama3-8B synthetic preset on an OpenCL GPU: f16 and q8_0 at
# batch 1 and 8, each as bench --json (one line per run in OUT/decode.jsonl),
# then the per-kernel microbenchmark when its binary is there.
#   scripts/gpu-decode.sh [OUT] [ROUNDS]      THERMABENCH=..., BENCH_OPENCL=path/to/bench_engine_opencl
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/gpu-env.sh
OUT=${1:-results/gpu-decode}
ROUNDS=${2:-2}
mkdir -p "$OUT"
for r in $(seq "$ROUNDS"); do
  for dt in f16 q8_0; do
    for bs in 1 8; do
      if ! "$TB" bench --backend opencl --preset llama3-8B --dtype "$dt" --batch-size "$bs" \
           --input-len 128 --output-len 64 --json > "$OUT/run.json"; then
        echo "llama3-8B $dt batch $bs: bench failed"; continue
      fi
      cat "$OUT/run.json" >> "$OUT/decode.jsonl"
      python3 - "$OUT/run.json" <<'PY' || true
import json, sys
j = json.load(open(sys.argv[1]))
print("%s bs%d: decode step %.3f ms, %.1f tokens/s, %.1f GB/s (%.1f %% of 3.35 TB/s), prefill %.0f tokens/s, hash %s" % (
    j["model"]["dtype"], j["config"]["batch_size"], j["decode_step_median_ms"], j["decode_tokens_per_s"],
    j["decode_gb_per_s"], j["decode_gb_per_s"] / 33.5, j["prefill_tokens_per_s"], j["output_tokens_hash"]))
PY
    done
  done
done
BO=${BENCH_OPENCL:-build/release/tests/bench_engine_opencl}
if [ -x "$BO" ]; then
  for dt in f16 q8_0; do "$BO" "$dt" NVIDIA llama3-8B | tee -a "$OUT/kernels.txt"; done
fi
