#!/usr/bin/env bash
# The llama3-8B decode kernels side by side on an OpenCL GPU, from a folder
# made by scripts/gpu-bundle.sh, in one call of about four minutes (builds
# nothing):
#  1. bench_engine_opencl (each matrix kernel against a plain read of its
#     bytes) for f16 and q8_0, for every variant below, round-robin;
#  2. per dtype, the variant whose kernels sum to the shortest step (batch
#     1 and batch 8 separately) against "base" in `bench --preset
#     llama3-8B`, interleaved, rounds until the time budget is spent
#     (batch 8 of base too with BASE8=1).
# Variants are process environments: base (THERMABENCH_OPENCL_RG_BASE=1,
# the previous kernels), nN (THERMABENCH_OPENCL_RG_ROWS=N rows per warp;
# the batch kernel's rows vary too), nNp (THERMABENCH_OPENCL_RG_PIPE=1:
# the next pass's loads before this pass's arithmetic). VARIANTS="base n2"
# picks some.
# Results into OUT: summary.txt (the tables), kernels/*.txt, decode.jsonl,
# decode.txt, log.txt.
#   BUNDLE/scripts/gpu-decode-variants.sh BUNDLE OUT      BUDGET_S=N (default 220), KERNELS_S=N (default 70)
set -uo pipefail
BUNDLE=$(cd "${1:?usage: gpu-decode-variants.sh BUNDLE OUT}" && pwd)
OUT=${2:?usage: gpu-decode-variants.sh BUNDLE OUT}
mkdir -p "$OUT/kernels"
OUT=$(cd "$OUT" && pwd)
exec > >(tee "$OUT/log.txt") 2>&1
export LD_LIBRARY_PATH="$BUNDLE/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" THERMABENCH="$BUNDLE/bin/thermabench"
cd "$BUNDLE"
. scripts/gpu-env.sh
T0=$(date +%s)
BUDGET=${BUDGET_S:-220}
left() { echo $((BUDGET - ($(date +%s) - T0))); }
smi() {
  nvidia-smi --query-gpu=name,driver_version,temperature.gpu,power.draw,power.limit,clocks.sm,clocks.mem \
    --format=csv,noheader 2>/dev/null || true
}
echo "start $(date -u +%FT%TZ): $(smi)"

rows() { echo "THERMABENCH_OPENCL_RG_ROWS=$1 THERMABENCH_OPENCL_RG_BATCH_ROWS=$2 THERMABENCH_OPENCL_RG_PIPE=$3"; }
declare -A ENV=(
  [base]="THERMABENCH_OPENCL_RG_BASE=1"
  [n1]=$(rows 1 4 0) [n2]=$(rows 2 2 0) [n1p]=$(rows 1 8 1) [n2p]=$(rows 2 4 1)
)
VARIANTS=${VARIANTS:-"base n1 n2 n1p n2p"}
KERNELS_S=${KERNELS_S:-70}   # seconds for the microbenchmark

# 1. per-kernel microbenchmark, two rounds when time allows
for round in 1 2; do
  for v in $VARIANTS; do
    for dt in f16 q8_0; do
      [ $(($(date +%s) - T0)) -lt "$KERNELS_S" ] || { echo "kernels: skipping the rest of round $round (time)"; break 3; }
      s=$(date +%s)
      env ${ENV[$v]} timeout 90 bin/bench_engine_opencl "$dt" NVIDIA llama3-8B > "$OUT/kernels/$v-$dt-$round.txt" 2>&1 ||
        echo "kernels $v $dt: exit $?"
      echo "kernels round $round $dt $v: $(($(date +%s) - s)) s"
    done
  done
done

# Per dtype, the variant with the shortest step of kernel times (median
# over rounds): batch 1 from the single-token kernels, batch 8 from the
# batch kernel.
read -r F16_1 F16_8 Q8_1 Q8_8 < <(python3 - "$OUT/kernels" <<'PY' 2>/dev/null || echo "n2 n2 n2 n2"
import glob, os, re, statistics, sys
t = {}
for f in glob.glob(os.path.join(sys.argv[1], "*.txt")):
    v, dt, _ = os.path.basename(f)[:-4].rsplit("-", 2)
    for line in open(f):
        m = re.match(r"(.+?)\s+\d+ x \d+\s+([\d.]+) us", line)
        if m:
            t.setdefault((v, dt, m.group(1).strip()), []).append(float(m.group(2)))
med = {k: statistics.median(x) for k, x in t.items()}
def step(v, dt, batch):
    k = {name: us for (vv, d, name), us in med.items() if vv == v and d == dt}
    if batch:
        parts = [n for n in k if "matvec_rowgroup_batch" in n]
    else:
        parts = [n for n in k if ("norm" in n or "swiglu" in n or "(default)" in n) and "batch" not in n]
    if len(parts) < 5:
        return float("inf")
    return sum(k[n] * (1 if n.startswith("classifier") else 32) for n in parts)
vs = sorted({k[0] for k in med} - {"base"})
print(" ".join(min(vs, key=lambda v: step(v, dt, b)) for dt in ("f16", "q8_0") for b in (False, True)))
PY
)
declare -A BEST=([f16-1]=$F16_1 [f16-8]=$F16_8 [q8_0-1]=$Q8_1 [q8_0-8]=$Q8_8)
echo "fastest by kernel times: f16 batch 1 $F16_1, batch 8 $F16_8; q8_0 batch 1 $Q8_1, batch 8 $Q8_8"

# 2. end to end, interleaved: base and the fastest, batch 1 and 8, rounds while time is left
: > "$OUT/decode.jsonl"
run_bench() {   # variant dtype batch round
  local v=$1 dt=$2 bs=$3 r=$4 j="$OUT/run.json"
  if env ${ENV[$v]} timeout 45 "$TB" bench --backend opencl --preset llama3-8B --dtype "$dt" --batch-size "$bs" \
       --input-len 32 --output-len 32 --json > "$j" 2> "$OUT/run.err"; then
    python3 - "$j" "$v" "$r" >> "$OUT/decode.txt" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print("%s %s %s bs%d step_ms %.3f tokens_s %.1f GB_s %.1f pct %.1f hash %s" % (
    sys.argv[3], sys.argv[2], j["model"]["dtype"], j["config"]["batch_size"], j["decode_step_median_ms"],
    j["decode_tokens_per_s"], j["decode_gb_per_s"], j["decode_gb_per_s"] / 33.5, j["output_tokens_hash"]))
PY
    tail -1 "$OUT/decode.txt"
    python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); j["variant"]=sys.argv[2]; print(json.dumps(j))' \
      "$j" "$v" >> "$OUT/decode.jsonl"
  else
    echo "bench $v $dt bs$bs: failed: $(tail -c 300 "$OUT/run.err")"
  fi
}
round=0
while [ "$(left)" -gt 30 ]; do
  round=$((round + 1))
  for dt in f16 q8_0; do
    for pair in "base 1" "${BEST[$dt-1]} 1" ${BASE8:+"base 8"} "${BEST[$dt-8]} 8"; do
      set -- $pair
      [ "$(left)" -gt 25 ] || break 3
      run_bench "$1" "$dt" "$2" "$round"
    done
  done
done
echo "end $(date -u +%FT%TZ): $(smi)"

python3 - "$OUT" "$F16_1" "$F16_8" "$Q8_1" "$Q8_8" > "$OUT/summary.txt" <<'PY'
import glob, os, re, statistics, sys
out = sys.argv[1]
t = {}
for f in sorted(glob.glob(os.path.join(out, "kernels", "*.txt"))):
    v, dt, _ = os.path.basename(f)[:-4].rsplit("-", 2)
    for line in open(f):
        m = re.match(r"(.+?)\s+(\d+) x (\d+)\s+([\d.]+) us\s+(\d+) GB/s\s+([\d.]+)x read\s+cached\s+([\d.]+) us", line)
        if m:
            t.setdefault((dt, m.group(1).strip(), v), []).append((float(m.group(4)), float(m.group(5)),
                                                                  float(m.group(6)), float(m.group(7))))
print("Per kernel, llama3-8B shapes: median over rounds of DRAM us / GB/s / x plain read (cached us)")
last = None
for (dt, name, v) in sorted(t):
    if (dt, name) != last:
        print("%s %s" % (dt, name))
        last = (dt, name)
    x = t[(dt, name, v)]
    print("    %-5s %9.2f us %6.0f GB/s %5.2fx  (%.2f us)  n=%d" % (
        v, statistics.median(a[0] for a in x), statistics.median(a[1] for a in x),
        statistics.median(a[2] for a in x), statistics.median(a[3] for a in x), len(x)))
runs = {}
for line in open(os.path.join(out, "decode.txt")) if os.path.exists(os.path.join(out, "decode.txt")) else []:
    f = line.split()
    runs.setdefault((f[2], f[3]), {}).setdefault(f[1], {})[f[0]] = (float(f[5]), float(f[7]), float(f[11]), f[13])
print("\nDecode, llama3-8B, input 32, output 32: median step ms [range] (tokens/s, % of 3.35 TB/s), per-round ratio to base")
for (dt, bs), vs in sorted(runs.items()):
    base = vs.get("base", {})
    for v, rs in sorted(vs.items()):
        steps = [a[0] for a in rs.values()]
        ratios = [rs[r][0] / base[r][0] for r in rs if r in base and v != "base"]
        print("%s %s %-5s %.3f [%.3f-%.3f] ms (%.1f tokens/s, %.1f %%) n=%d%s hashes %s" % (
            dt, bs, v, statistics.median(steps), min(steps), max(steps),
            statistics.median(a[1] for a in rs.values()), statistics.median(a[2] for a in rs.values()), len(steps),
            " ratio %.3f [%.3f-%.3f]" % (statistics.median(ratios), min(ratios), max(ratios)) if ratios else "",
            ",".join(sorted({a[3] for a in rs.values()}))))
print("\nBatch 8 tokens/s over batch 1 tokens/s (medians)")
for dt, best in (("f16", sys.argv[2:4]), ("q8_0", sys.argv[4:6])):
    for v1, v8 in (("base", "base"), best):
        a, b = runs.get((dt, "bs1"), {}).get(v1), runs.get((dt, "bs8"), {}).get(v8)
        if a and b:
            print("%s %s/%s: %.2fx" % (dt, v1, v8, statistics.median(x[1] for x in b.values()) /
                                       statistics.median(x[1] for x in a.values())))
PY
cat "$OUT/summary.txt"
rm -f "$OUT/run.json" "$OUT/run.err"
