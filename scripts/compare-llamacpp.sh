#!/bin/bash
# Side-by-side CPU speed of thermabench's engine and llama.cpp on the same
# GGUF files: alternating rounds (which engine goes first alternates too),
# then per row the median of the per-round ratios thermabench/llama.cpp
# with their min and max. Nothing is fetched or built: point --llama-bin at
# an existing llama.cpp build's bin folder.
#
# Rows (tokens/s, higher is better; a ratio > 1 means thermabench is faster):
#   pp128  prefill of 128 tokens      thermabench bench --input-len 128 (prefill)
#                                     llama-bench -p 128 -n 0
#   tg32   decode, empty cache        thermabench bench --input-len 1 --output-len 32
#                                     llama-bench -p 0 -n 32
#   tg32x4 decode of 4 sequences      thermabench bench --batch-size 4 --input-len 128
#                                     llama-batched-bench -npp 128 -ntg 32 -npl 4
#                                     (only where --llama-bin has llama-batched-bench)
#
# Usage: scripts/compare-llamacpp.sh --llama-bin DIR [--thermabench EXE] [--rounds N]
#          [--threads N] [--workdir DIR] (--model FILE.gguf ... | --preset P [--untied]
#          [--dtypes "f32 q8_0 q4_0"])
# Exit codes: 0 done, 2 bad arguments or a missing program, 1 a run failed.
set -euo pipefail

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "compare-llamacpp: $*" >&2; exit 2; }

llama_bin="" tb="" rounds=8 threads=2 workdir="" preset="" untied="" dtypes="f32 q8_0 q4_0"
models=()
while [ $# -gt 0 ]; do
    case "$1" in
    --llama-bin) llama_bin="${2:?--llama-bin needs a folder}"; shift 2 ;;
    --thermabench) tb="${2:?--thermabench needs a path}"; shift 2 ;;
    --rounds) rounds="${2:?--rounds needs a number}"; shift 2 ;;
    --threads) threads="${2:?--threads needs a number}"; shift 2 ;;
    --workdir) workdir="${2:?--workdir needs a folder}"; shift 2 ;;
    --model) models+=("${2:?--model needs a file}"); shift 2 ;;
    --preset) preset="${2:?--preset needs a name}"; shift 2 ;;
    --untied) untied="--untied"; shift ;;
    --dtypes) dtypes="${2:?--dtypes needs a list}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
    esac
done
[ -n "$llama_bin" ] || die "--llama-bin DIR is required (a llama.cpp build's bin folder)"
[ -x "$llama_bin/llama-bench" ] || die "$llama_bin/llama-bench: not an executable"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "--rounds: expected a positive integer, got '$rounds'"
[[ "$threads" =~ ^[1-9][0-9]*$ ]] || die "--threads: expected a positive integer, got '$threads'"
if [ -z "$tb" ]; then
    tb="$(cd "$(dirname "$0")/.." && pwd)/build/release/thermabench"
fi
[ -x "$tb" ] || die "$tb: not an executable (build it, or give --thermabench)"
command -v python3 >/dev/null || die "python3 is needed for the JSON and the statistics"
batched="$llama_bin/llama-batched-bench"
[ -x "$batched" ] || batched=""

if [ -z "$workdir" ]; then
    workdir=$(mktemp -d)
    trap 'rm -rf "$workdir"' EXIT
fi
mkdir -p "$workdir"
if [ ${#models[@]} -eq 0 ]; then
    [ -n "$preset" ] || die "give --model FILE.gguf or --preset P"
    for d in $dtypes; do
        f="$workdir/$preset${untied:+-untied}-$d.gguf"
        [ -f "$f" ] || "$tb" model synth --preset "$preset" --dtype "$d" $untied -o "$f" >/dev/null
        models+=("$f")
    done
fi
for f in "${models[@]}"; do
    [ -r "$f" ] || die "$f: cannot read"
done

log="$workdir/runs.tsv"   # round, model, row, engine, tokens/s
: >"$log"

tb_run() { # model row -> tokens/s
    local args=(--batch-size 1 --input-len 128 --output-len 32) field=prefill_tokens_per_s
    case "$2" in
    tg32) args=(--batch-size 1 --input-len 1 --output-len 32); field=decode_tokens_per_s ;;
    tg32x4) args=(--batch-size 4 --input-len 128 --output-len 32); field=decode_tokens_per_s ;;
    esac
    "$tb" bench --model "$1" "${args[@]}" --threads "$threads" --json 2>/dev/null |
        python3 -c "import json,sys; print(json.load(sys.stdin)['$field'])"
}

llama_run() { # model row -> tokens/s
    case "$2" in
    pp128) "$llama_bin/llama-bench" -m "$1" -p 128 -n 0 -t "$threads" -r 1 -o jsonl 2>/dev/null |
        python3 -c "import json,sys; print([json.loads(l) for l in sys.stdin if l.strip()][-1]['avg_ts'])" ;;
    tg32) "$llama_bin/llama-bench" -m "$1" -p 0 -n 32 -t "$threads" -r 1 -o jsonl 2>/dev/null |
        python3 -c "import json,sys; print([json.loads(l) for l in sys.stdin if l.strip()][-1]['avg_ts'])" ;;
    tg32x4) "$batched" -m "$1" -npp 128 -ntg 32 -npl 4 -t "$threads" -c 1024 --output-format jsonl 2>/dev/null |
        python3 -c "import json,sys; r=[json.loads(l) for l in sys.stdin if l.strip().startswith('{')]; print(r[-1]['speed_tg'])" ;;
    esac
}

rows="pp128 tg32"
[ -n "$batched" ] && rows="$rows tg32x4"
rows_tb_only=""
[ -z "$batched" ] && rows_tb_only="tg32x4"

for r in $(seq 1 "$rounds"); do
    for f in "${models[@]}"; do
        for row in $rows $rows_tb_only; do
            order="tb llama"
            [ $((r % 2)) -eq 0 ] && order="llama tb"
            for e in $order; do
                [ "$e" = llama ] && [ "$row" = "$rows_tb_only" ] && continue
                if [ "$e" = tb ]; then v=$(tb_run "$f" "$row") || { echo "thermabench failed on $f $row" >&2; exit 1; }
                else v=$(llama_run "$f" "$row") || { echo "llama.cpp failed on $f $row" >&2; exit 1; }
                fi
                printf '%s\t%s\t%s\t%s\t%s\n' "$r" "$(basename "$f")" "$row" "$e" "$v" >>"$log"
            done
        done
    done
    echo "round $r of $rounds done (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
done

python3 - "$log" "$threads" "$batched" <<'EOF'
import statistics, sys
from collections import defaultdict
log, threads, batched = sys.argv[1], sys.argv[2], sys.argv[3]
v = defaultdict(dict)  # (model, row) -> {(round, engine): tokens/s}
for line in open(log):
    r, model, row, eng, ts = line.rstrip("\n").split("\t")
    v[(model, row)][(int(r), eng)] = float(ts)
print(f"threads {threads}; ratio = thermabench / llama.cpp tokens/s, median of per-round ratios [min, max]")
print(f"{'model':<28} {'row':<7} {'thermabench t/s':>16} {'llama.cpp t/s':>14} {'ratio':>6}  {'[min, max]':<14} rounds")
for (model, row), d in v.items():
    rounds = sorted({r for r, _ in d})
    tb = [d[(r, 'tb')] for r in rounds if (r, 'tb') in d]
    ll = [d[(r, 'llama')] for r in rounds if (r, 'llama') in d]
    ratios = [d[(r, 'tb')] / d[(r, 'llama')] for r in rounds if (r, 'tb') in d and (r, 'llama') in d]
    if ratios:
        print(f"{model:<28} {row:<7} {statistics.median(tb):16.1f} {statistics.median(ll):14.1f} "
              f"{statistics.median(ratios):6.2f}  [{min(ratios):.2f}, {max(ratios):.2f}]{'':<2} {len(ratios)}")
    else:
        print(f"{model:<28} {row:<7} {statistics.median(tb):16.1f} {'n/a':>14} {'n/a':>6}  "
              f"(no llama-batched-bench in the llama.cpp folder) {len(tb)}")
EOF
