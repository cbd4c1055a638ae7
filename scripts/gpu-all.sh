#!/usr/bin/env bash
# Every GPU measurement of docs/PROBES.md and docs/PERFORMANCE.md in one go,
# on a GPU host, from a folder made by scripts/gpu-bundle.sh (about fourteen
# minutes on an H100 with the default heating run): doctor, the OpenCL tests
# (byte-exact greedy outputs on the GPU), the heating experiment, llama3-8B
# decode and the per-kernel microbenchmark, the q4_k family presets and the
# Qwen oracle files (scripts/gpu-families.sh), and the CI gate's A/A on the
# host's CPUs (scripts/gate-aa.sh). Results into OUT (results.json, telemetry.csv,
# nvidia-smi.csv, decode.jsonl, kernels.txt, tests.txt, log.txt, families/, gate-aa.txt).
#   BUNDLE/scripts/gpu-all.sh BUNDLE OUT       HEAT_S=N caps the heating run (default 300 s)
set -uo pipefail
BUNDLE=$(cd "${1:?usage: gpu-all.sh BUNDLE OUT}" && pwd)
OUT=${2:?usage: gpu-all.sh BUNDLE OUT}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
exec > >(tee "$OUT/log.txt") 2>&1
export LD_LIBRARY_PATH="$BUNDLE/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" THERMABENCH="$BUNDLE/bin/thermabench"
cd "$BUNDLE"
. scripts/gpu-env.sh
nvidia-smi --query-gpu=name,driver_version,temperature.gpu,power.draw,power.limit,clocks.sm,clocks.mem --format=csv || true
"$TB" doctor
# the OpenCL tests find the binary and the models at their build-time paths
bin=$(cat built-binary-path) shared=$(cat built-shared-path)
mkdir -p "$(dirname "$bin")" "$shared" && ln -sf "$BUNDLE/bin/thermabench" "$bin" && ln -sfn "$BUNDLE/shared/models" "$shared/models"
{ timeout 120 bin/test_engine_opencl; echo "test_engine_opencl: exit $?";
  timeout 180 bin/test_engine_opencl_cli; echo "test_engine_opencl_cli: exit $?"; } > "$OUT/tests.txt" 2>&1
grep -E "passed|exit" "$OUT/tests.txt"
date -u
MAX_S=${HEAT_S:-300} scripts/gpu-heat.sh /tmp/gpu-heat
cp /tmp/gpu-heat/results.json /tmp/gpu-heat/telemetry.csv /tmp/gpu-heat/nvidia-smi.csv "$OUT/"
date -u
BENCH_OPENCL="$BUNDLE/bin/bench_engine_opencl" timeout 420 scripts/gpu-decode.sh /tmp/gpu-decode 1
THERMABENCH_OPENCL_BATCH_STAGED=1 timeout 60 "$TB" bench --backend opencl --preset llama3-8B --dtype f16 --batch-size 8 \
  --input-len 128 --output-len 64 --json >> /tmp/gpu-decode/decode.jsonl || echo "batch 8 through the per-token kernels: failed"
cp /tmp/gpu-decode/decode.jsonl /tmp/gpu-decode/kernels.txt "$OUT/" 2>/dev/null
date -u
# qwen3-0.6B and llama3.2-1B q4_k, and the Qwen oracle files on the device
timeout 300 scripts/gpu-families.sh "$OUT/families" 3
date -u
# The CI gate's A/A on the host's CPUs (docs/STATISTICS.md, "Real runs"), the GPU idle
timeout 300 scripts/gate-aa.sh configs/ci-gate.json /tmp/gate-aa 6 > "$OUT/gate-aa.txt" 2>&1
cat "$OUT/gate-aa.txt"
date -u
