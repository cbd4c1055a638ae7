#!/usr/bin/env bash
# Runs the whole suite (scripts/test.sh: release and asan) N times in a row
# while stress-ng keeps every CPU busy, and prints one line per pass with its
# duration and ctest's failures. The suite's timing expectations must hold on
# a loaded machine; this is how that is shown.
#   scripts/test-under-load.sh [N] [LOG_DIR]      (default 10, results/test-under-load)
set -uo pipefail
cd "$(dirname "$0")/.."
N=${1:-10}
LOG=${2:-results/test-under-load}
command -v stress-ng >/dev/null || { echo "stress-ng is not installed (Debian package stress-ng)" >&2; exit 2; }
mkdir -p "$LOG"
CPUS=$(nproc)
stress-ng --cpu "$CPUS" --timeout 0 --quiet &
STRESS=$!
trap 'kill $STRESS 2>/dev/null; wait $STRESS 2>/dev/null' EXIT
echo "stress-ng --cpu $CPUS (pid $STRESS); $N passes of scripts/test.sh; $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo +changes); $(date -u '+%F %T UTC')"
failed=0
for i in $(seq "$N"); do
  t0=$(date +%s)
  scripts/test.sh > "$LOG/pass-$i.log" 2>&1
  rc=$?
  t1=$(date +%s)
  summary=$(grep -E "tests passed|tests failed" "$LOG/pass-$i.log" | tr '\n' ';')
  echo "pass $i: exit $rc, $((t1 - t0)) s, load $(cut -d' ' -f1 /proc/loadavg); $summary"
  [ "$rc" -eq 0 ] || { failed=$((failed + 1)); grep -E "\*\*\*Failed|Timeout|\(Failed\)" "$LOG/pass-$i.log"; }
done
echo "$((N - failed)) of $N passes green; $(date -u '+%F %T UTC')"
[ "$failed" -eq 0 ]
