#!/usr/bin/env bash
# Runs configs/gpu-heat.json on a GPU host: large-batch prefill, back to back,
# f16 against f32, about six minutes on an H100. Writes results.json,
# telemetry.csv and the report into OUT (default results/gpu-heat), plus
# nvidia-smi.csv, nvidia-smi's own samples over the same time.
#   scripts/gpu-heat.sh [OUT]          THERMABENCH=path/to/thermabench to use another binary
#   MAX_S=N scripts/gpu-heat.sh ...    stop after N seconds (SIGINT: finished runs are kept)
# Elsewhere (no GPU needed): thermabench report OUT/results.json -o DIR
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/gpu-env.sh
OUT=${1:-results/gpu-heat}
mkdir -p "$OUT"
"$TB" doctor || true
smi_log_start "$OUT/nvidia-smi.csv"
rc=0
if [ -n "${MAX_S:-}" ]; then
  timeout -s INT "$MAX_S" "$TB" run configs/gpu-heat.json --out "$OUT" --quiet || rc=$?
else
  "$TB" run configs/gpu-heat.json --out "$OUT" --quiet || rc=$?
fi
smi_log_stop
echo "gpu-heat: exit $rc, results in $OUT"
exit $rc
