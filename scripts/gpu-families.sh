#!/usr/bin/env bash
# The Llama 3 / Qwen3 presets on an OpenCL GPU, q4_k weights: bench of
# qwen3-0.6B and llama3.2-1B (batch 1, 128 prompt tokens, 64 decode steps;
# ROUNDS rounds, the two presets alternating), one bench --json line per run
# in OUT/families.jsonl with a summary line each; then, where the bundle has
# them (scripts/gpu-bundle.sh), the Qwen oracle files on the device against
# llama.cpp's outputs and the CPU reference (OUT/families-tests.txt).
# About two minutes on an H100. In a bundle folder it finds the binaries,
# libraries and oracle files there:
#   BUNDLE/scripts/gpu-families.sh [OUT] [ROUNDS]
#   scripts/gpu-families.sh [OUT] [ROUNDS]   THERMABENCH=..., ORACLE_TEST=path/to/test_engine_model_oracles
# LENS="--input-len I --output-len O" changes the lengths (a quick check off the GPU).
set -uo pipefail
cd "$(dirname "$0")/.."
if [ -x bin/thermabench ] && [ -d lib ]; then   # a folder made by scripts/gpu-bundle.sh
  export THERMABENCH=${THERMABENCH:-$PWD/bin/thermabench} LD_LIBRARY_PATH="$PWD/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  ORACLE_TEST=${ORACLE_TEST:-$PWD/bin/test_engine_model_oracles}
  [ -d shared/oracles ] && export TB_ORACLES_DIR="$PWD/shared/oracles"
fi
. scripts/gpu-env.sh
OUT=${1:-results/gpu-families}
ROUNDS=${2:-3}
mkdir -p "$OUT"
for r in $(seq "$ROUNDS"); do
  for preset in qwen3-0.6B llama3.2-1B; do
    if ! timeout 120 "$TB" bench --backend opencl --preset "$preset" --dtype q4_k ${LENS:---input-len 128 --output-len 64} \
         --json > "$OUT/run.json"; then
      echo "$preset q4_k: bench failed"; continue
    fi
    cat "$OUT/run.json" >> "$OUT/families.jsonl"
    python3 - "$OUT/run.json" "$preset" <<'PY' || true
import json, sys
j = json.load(open(sys.argv[1]))
print("%s q4_k: decode step %.3f ms, %.1f tokens/s, %.1f GB/s, prefill %.0f tokens/s, hash %s" % (
    sys.argv[2], j["decode_step_median_ms"], j["decode_tokens_per_s"], j["decode_gb_per_s"],
    j["prefill_tokens_per_s"], j["output_tokens_hash"]))
PY
  done
done
OT=${ORACLE_TEST:-build/release/tests/test_engine_model_oracles}
FILES=qwen2-tiny-Q8_0,qwen2-tiny-Q4_K_M,qwen3-tiny-Q8_0,qwen3-tiny-Q4_K_M
if [ -x "$OT" ]; then
  { timeout 300 "$OT" backend=opencl "files=$FILES"; echo "oracles, the device's default kernels: exit $?";
    timeout 300 "$OT" backend=opencl "files=$FILES" matmul=cl_rowitem attention=cl_attention;
    echo "oracles, cl_rowitem and cl_attention: exit $?"; } > "$OUT/families-tests.txt" 2>&1
  grep -E "matmul=|passed|exit" "$OUT/families-tests.txt"
else
  echo "no $OT: oracle files not checked on the device"
fi
