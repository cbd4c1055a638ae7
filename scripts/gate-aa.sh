#!/usr/bin/env bash
# A/A check of a CI gate on this machine: runs CONFIG once as the baseline,
# then N more times as unchanged candidates, and gates each candidate twice:
# against the baseline file, and against the results history of the
# experiments before it (--baseline-from-history 'tag:branch=aa,last=5', a
# history private to OUT). Every verdict of an unchanged candidate should be
# pass (a quiet machine) or inconclusive (a noisy one); a regression is a
# false alarm. Ends with plan-runs over all the experiments.
#   scripts/gate-aa.sh [CONFIG] [OUT] [N]     defaults: configs/ci-gate.json results/gate-aa 5
#   THERMABENCH=path/to/thermabench           default build/release/thermabench
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CONFIG=${1:-$ROOT/configs/ci-gate.json}
OUT=${2:-results/gate-aa}
N=${3:-5}
TB=${THERMABENCH:-$ROOT/build/release/thermabench}
[ -x "$TB" ] || { echo "gate-aa: no $TB (build first, or set THERMABENCH)" >&2; exit 2; }
rm -rf "$OUT"
mkdir -p "$OUT"
H="$OUT/history.db"
run() {  # run NAME: one experiment, imported into the private history afterwards
  "$TB" run "$CONFIG" --out "$OUT/$1" --quiet --no-report --no-history > "$OUT/$1.log" 2>&1 ||
    { echo "gate-aa: run $1 failed:"; cat "$OUT/$1.log"; exit 1; }
}
verdict() {  # the first verdict line of a gate output
  grep -m1 -E ': (pass|regression|improvement|inconclusive)' "$1" | sed 's/^[^:]*: [^:]*: //' | cut -c1-170
}
run base
"$TB" history import --history "$H" --tag branch=aa "$OUT/base/results.json" > /dev/null
printf 'load average at start: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$N"); do
  run "aa$i"
  "$TB" gate --baseline "$OUT/base/results.json" --candidate "$OUT/aa$i/results.json" > "$OUT/gate-file-$i.txt"
  rf=$?
  "$TB" gate --history "$H" --baseline-from-history 'tag:branch=aa,last=5' \
       --candidate "$OUT/aa$i/results.json" > "$OUT/gate-history-$i.txt"
  rh=$?
  echo "A/A $i against the baseline file: exit $rf, $(verdict "$OUT/gate-file-$i.txt")"
  echo "A/A $i against the history ($i experiments): exit $rh, $(verdict "$OUT/gate-history-$i.txt")"
  "$TB" history import --history "$H" --tag branch=aa "$OUT/aa$i/results.json" > /dev/null
done
printf 'load average at end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
"$TB" plan-runs "$OUT/base/results.json" "$OUT"/aa*/results.json
