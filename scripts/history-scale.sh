#!/usr/bin/env bash
# Scale benchmark of the results history (docs/HISTORY.md, "Scale"):
# fills a store with 10 years of nightly experiments of 50 benchmarks on 5
# machines (912,500 experiments, 2 measured runs each: 1,825,000 runs, with
# metrics, telemetry columns and tags), then times the queries a user and a
# CI gate run against it, each 5 times (median and range printed).
#   scripts/history-scale.sh THERMABENCH STORE [NIGHTS]
# STORE: a new SQLite path (needs the sqlite3 shell) or a postgresql:// URI of
# an empty database (needs psql). NIGHTS defaults to 3650. With
# HISTORY_SCALE_REUSE=1 a store filled before is only timed.
set -euo pipefail
tb=${1:?path to the thermabench binary}
store=${2:?SQLite path or postgresql:// URI}
nights=${3:-3650}
machines=5 configs=50

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fill=1
[ "${HISTORY_SCALE_REUSE:-0}" = 1 ] && fill=0

# The schema comes from thermabench itself: import one small experiment.
cat >"$work/results.json" <<JSON
{"schema": "thermabench-results", "schema_version": 1, "name": "scale-seed", "status": "complete",
 "created_utc": "2016-01-01T00:00:00Z", "environment": {"hostname": "scale-seed"},
 "primary_metric": {"name": "decode_tokens_per_s", "unit": "tokens/s", "higher_is_better": true},
 "variants": [{"name": "A"}], "runs": [{"index": 0, "variant": "A", "warmup": false, "status": "ok",
 "metrics": {"decode_tokens_per_s": 100}}]}
JSON
[ $fill = 1 ] && "$tb" history import --history "$store" "$work/results.json" >/dev/null

t0=$(date +%s.%N)
case "$store" in
postgresql://*|postgres://*)
  run_sql() { psql -q -v ON_ERROR_STOP=1 "$store"; }
  series="generate_series"
  cat >"$work/fill.sql" <<SQL
INSERT INTO machines (machine_key, hostname, cpu_model, cpus_online)
  SELECT 'scale' || lpad(i::text, 7, '0'), 'scale-host-' || i, 'Scale CPU', 16 FROM generate_series(1, $machines) i;
INSERT INTO experiments (uid, name, status, created_utc, created_unix, machine_id, metric_name, metric_unit,
                         higher_is_better, git_commit, git_branch, results_path)
  SELECT 'scale-' || m.id || '-' || c || '-' || d, 'bench-' || c, 'complete',
         to_char(to_timestamp(1451700000 + d * 86400 + c * 60) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
         1451700000 + d * 86400 + c * 60, m.id, 'decode_tokens_per_s', 'tokens/s', 1, lpad(to_hex(d), 8, '0'),
         'main', '/nightly/' || m.id || '/' || c || '/' || d || '/results.json'
  FROM machines m, generate_series(0, $configs - 1) c, generate_series(0, $nights - 1) d
  WHERE m.machine_key LIKE 'scale%';
INSERT INTO tags (experiment_id, key, value) SELECT id, 'branch', 'main' FROM experiments WHERE uid LIKE 'scale-%';
INSERT INTO tags (experiment_id, key, value) SELECT id, 'commit', git_commit FROM experiments WHERE uid LIKE 'scale-%';
INSERT INTO runs (experiment_id, variant, run_index, warmup, ok, temp_start_c, clock_mean_mhz, throttle)
  SELECT e.id, 'A', r, 0, 1, 45 + 10 * random(), 3000, 'no' FROM experiments e, generate_series(0, 1) r
  WHERE e.uid LIKE 'scale-%';
INSERT INTO run_metrics (run_id, name, value)
  SELECT r.id, 'decode_tokens_per_s', 100 * (1 + 0.02 * (random() - 0.5)) FROM runs r
  JOIN experiments e ON e.id = r.experiment_id WHERE e.uid LIKE 'scale-%';
ANALYZE;
SQL
  ;;
*)
  command -v sqlite3 >/dev/null || { echo "history-scale: needs the sqlite3 shell (apt-get install sqlite3)" >&2; exit 1; }
  run_sql() { sqlite3 -bail "$store"; }
  cat >"$work/fill.sql" <<SQL
PRAGMA journal_mode = WAL;
.output /dev/null
BEGIN;
WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < $machines)
INSERT INTO machines (machine_key, hostname, cpu_model, cpus_online)
  SELECT printf('scale%07d', n), 'scale-host-' || n, 'Scale CPU', 16 FROM i;
WITH RECURSIVE c(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM c WHERE n < $configs - 1),
     d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < $nights - 1)
INSERT INTO experiments (uid, name, status, created_utc, created_unix, machine_id, metric_name, metric_unit,
                         higher_is_better, git_commit, git_branch, results_path)
  SELECT 'scale-' || m.id || '-' || c.n || '-' || d.n, 'bench-' || c.n, 'complete',
         strftime('%Y-%m-%dT%H:%M:%SZ', 1451700000 + d.n * 86400 + c.n * 60, 'unixepoch'),
         1451700000 + d.n * 86400 + c.n * 60, m.id, 'decode_tokens_per_s', 'tokens/s', 1, printf('%08x', d.n),
         'main', '/nightly/' || m.id || '/' || c.n || '/' || d.n || '/results.json'
  FROM machines m, c, d WHERE m.machine_key LIKE 'scale%';
INSERT INTO tags (experiment_id, key, value) SELECT id, 'branch', 'main' FROM experiments WHERE uid LIKE 'scale-%';
INSERT INTO tags (experiment_id, key, value) SELECT id, 'commit', git_commit FROM experiments WHERE uid LIKE 'scale-%';
INSERT INTO runs (experiment_id, variant, run_index, warmup, ok, temp_start_c, clock_mean_mhz, throttle)
  SELECT e.id, 'A', r.n, 0, 1, 45 + (abs(random()) % 1000) / 100.0, 3000, 'no'
  FROM experiments e, (SELECT 0 AS n UNION ALL SELECT 1) r WHERE e.uid LIKE 'scale-%';
INSERT INTO run_metrics (run_id, name, value)
  SELECT r.id, 'decode_tokens_per_s', 100 * (1 + 0.02 * ((abs(random()) % 10001) / 10000.0 - 0.5)) FROM runs r
  JOIN experiments e ON e.id = r.experiment_id WHERE e.uid LIKE 'scale-%';
COMMIT;
ANALYZE;
SQL
  ;;
esac
if [ $fill = 1 ]; then
  run_sql <"$work/fill.sql"
  t1=$(date +%s.%N)
  echo "filled $store in $(echo "$t1 - $t0" | bc) s"
fi
"$tb" history list --history "$store" --config bench-7 --machine scale-host-3 --last 1

# Median and range of 5 timings of a command (stdout to a file, checked non-empty).
timed() {
  local label=$1; shift
  local times=()
  for r in 1 2 3 4 5; do
    local a b
    a=$(date +%s.%N)
    "$@" >"$work/out.txt" 2>&1 || [ $? -le 3 ] || { cat "$work/out.txt" >&2; exit 1; }
    b=$(date +%s.%N)
    times+=("$(echo "$b - $a" | bc)")
  done
  [ -s "$work/out.txt" ] || { echo "$label: no output" >&2; exit 1; }
  printf '%s\n' "${times[@]}" | sort -n | awk -v l="$label" '{t[NR]=$1} END {printf "%-58s median %.3f s (%.3f to %.3f)\n", l, t[3], t[1], t[5]}'
}

timed "history show (one series, all $nights points)" \
  "$tb" history show --history "$store" --config bench-7 --machine scale-host-3
timed "history show --last 30" \
  "$tb" history show --history "$store" --config bench-7 --machine scale-host-3 --last 30
timed "history list --tag branch=main --last 5 (a gate's baseline query)" \
  "$tb" history list --history "$store" --config bench-7 --machine scale-host-3 --tag branch=main --last 5
timed "history changes (one series, $nights points)" \
  "$tb" history changes --history "$store" --config bench-7 --machine scale-host-3 --fail-on none
if "$tb" gate --help 2>&1 | grep -q baseline-from-history; then
  # A candidate on the same machine and config as the series.
  cat >"$work/cand.json" <<JSON
{"schema": "thermabench-results", "schema_version": 1, "name": "bench-7", "status": "complete",
 "created_utc": "2026-12-07T00:00:00Z", "environment": {"hostname": "scale-host-3", "cpu_model": "Scale CPU",
 "cpus_online": 16}, "primary_metric": {"name": "decode_tokens_per_s", "unit": "tokens/s", "higher_is_better": true},
 "variants": [{"name": "A"}], "runs": [
 {"index": 0, "variant": "A", "warmup": false, "status": "ok", "metrics": {"decode_tokens_per_s": 100.1}},
 {"index": 1, "variant": "A", "warmup": false, "status": "ok", "metrics": {"decode_tokens_per_s": 99.8}},
 {"index": 2, "variant": "A", "warmup": false, "status": "ok", "metrics": {"decode_tokens_per_s": 100.4}}]}
JSON
  timed "gate --baseline-from-history 'tag:branch=main,last=5'" \
    "$tb" gate --history "$store" --candidate "$work/cand.json" --baseline-from-history \
    "tag:branch=main,last=5,machine=scale-host-3" --allow-env-mismatch
fi
