"""Reads every export of `thermabench cmd` the way its consumer does and checks
it against the results file it came from.

usage: check_exports.py DIR
DIR holds results.json and the exports: hyperfine.json, hyperfine.csv,
hyperfine.md, bmf.json, github.json, gbench.json, metrics.txt. The run
compared two commands named "fast" and "slow" (the second slower), with a
parameter "n".

Consumers:
- hyperfine's JSON, CSV and Markdown: the field names, types and header of
  hyperfine's own exports (hyperfine is run here to produce them), and the
  fields its scripts/ read (advanced_statistics.py, plot_whisker.py:
  results[i]["command"], ["times"], ["mean"], ["stddev"], ["user"],
  ["system"], ["median"], ["min"], ["max"], ["exit_codes"], ["parameters"]).
- Google Benchmark: its tools/compare.py (Debian libbenchmark-tools), run on
  the file in "filters" mode, fast against slow.
- OpenMetrics: prometheus_client's OpenMetrics parser (strict).
- Bencher Metric Format and github-action-benchmark: the shapes their
  documentation and the action's extractor require.
"""
import csv
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

d = sys.argv[1]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def load(name):
    with open(os.path.join(d, name), "rb") as f:
        return json.loads(f.read().decode("utf-8"))


results = load("results.json")
runs = {}
for r in results["runs"]:
    if r["status"] == "ok" and not r["warmup"]:
        runs.setdefault(r["variant"], []).append(r)
names = [v["name"] for v in results["variants"]]
check(names == ["fast", "slow"], "variants %r" % names)

# ---- hyperfine: its own exports as the reference -------------------------
hf = shutil.which("hyperfine")
check(hf is not None, "hyperfine not installed (scripts/install-deps.sh)")
tmp = tempfile.mkdtemp()
ref_json = ref_csv = ref_md = None
if hf:
    subprocess.run([hf, "-N", "--runs", "2", "--style", "none", "-P", "n", "1", "2", "--export-json",
                    os.path.join(tmp, "h.json"), "--export-csv", os.path.join(tmp, "h.csv"),
                    "--export-markdown", os.path.join(tmp, "h.md"), "true {n}"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(os.path.join(tmp, "h.json")) as f:
        ref_json = json.load(f)
    with open(os.path.join(tmp, "h.csv")) as f:
        ref_csv = next(csv.reader(f))
    with open(os.path.join(tmp, "h.md")) as f:
        ref_md = f.read().splitlines()
shutil.rmtree(tmp)

ours = load("hyperfine.json")
check(list(ours.keys()) == ["results"], "hyperfine.json top level %r" % list(ours.keys()))
res = ours["results"]
check([r["command"] for r in res] == names, "hyperfine.json commands")
if ref_json:
    ref = ref_json["results"][0]
    for key, value in ref.items():
        if key == "memory_usage_byte":
            continue
        check(key in res[0], "hyperfine.json lacks '%s' that hyperfine writes" % key)
        if key in res[0] and value is not None:
            check(type(res[0][key]) is type(value) or (isinstance(value, float) and isinstance(res[0][key], (int, float))),
                  "hyperfine.json '%s': %s, hyperfine writes %s" % (key, type(res[0][key]).__name__, type(value).__name__))
for r in res:
    mine = runs[r["command"]]
    times = r["times"]      # seconds, as plot_whisker.py and advanced_statistics.py read them
    check(len(times) == len(mine) == len(r["exit_codes"]), "times/exit_codes of %s" % r["command"])
    check(all(abs(t - m["metrics"]["wall_ms"] / 1e3) < 1e-12 for t, m in zip(times, mine)), "times are wall_ms / 1000")
    check(math.isclose(r["mean"], statistics.mean(times), rel_tol=1e-9), "mean")
    check(math.isclose(r["stddev"], statistics.stdev(times), rel_tol=1e-9), "stddev (sample)")
    check(math.isclose(r["median"], statistics.median(times), rel_tol=1e-9), "median")
    check(r["min"] == min(times) and r["max"] == max(times), "min/max")
    check(math.isclose(r["user"], statistics.mean(m["metrics"]["user_ms"] for m in mine) / 1e3, rel_tol=1e-9), "user")
    check(math.isclose(r["system"], statistics.mean(m["metrics"]["sys_ms"] for m in mine) / 1e3, rel_tol=1e-9, abs_tol=1e-12),
          "system")
    check(r["exit_codes"] == [0] * len(times), "exit codes")
    check(isinstance(r["parameters"], dict) and r["parameters"].get("n") in ("1", "2"), "parameters %r" % r.get("parameters"))
check(res[1]["mean"] > res[0]["mean"], "slow is slower in hyperfine.json")

with open(os.path.join(d, "hyperfine.csv"), newline="") as f:
    rows = list(csv.reader(f))
if ref_csv:
    check(rows[0] == ref_csv, "CSV header %r, hyperfine writes %r" % (rows[0], ref_csv))
with open(os.path.join(d, "hyperfine.csv"), newline="") as f:
    for row, r in zip(csv.DictReader(f), res):
        check(row["command"] == r["command"] and math.isclose(float(row["mean"]), r["mean"], rel_tol=1e-6), "CSV row")
md = open(os.path.join(d, "hyperfine.md")).read().splitlines()
if ref_md:
    check(md[0] == ref_md[0] and md[1] == ref_md[1], "Markdown header %r / %r" % (md[0], ref_md[0]))
check(len(md) == 2 + len(names) and md[2].startswith("| fast |") and md[3].startswith("| slow |"), "Markdown rows")

# ---- Google Benchmark: its compare.py ------------------------------------
gb = load("gbench.json")
check("context" in gb and isinstance(gb["benchmarks"], list), "gbench shape")
compare = "/usr/share/benchmark/compare.py"
check(os.path.exists(compare), "Google Benchmark's compare.py missing (libbenchmark-tools)")
if os.path.exists(compare):
    out = os.path.join(d, "compare-dump.json")
    p = subprocess.run([sys.executable, compare, "--no-color", "-d", out, "filters", os.path.join(d, "gbench.json"),
                        "fast", "slow"], capture_output=True, text=True)
    check(p.returncode == 0, "compare.py failed: %s" % p.stderr[-500:])
    if p.returncode == 0:
        dump = json.load(open(out))
        it = [e for e in dump if e["run_type"] == "iteration"]
        check(len(it) == 1 and len(it[0]["measurements"]) == len(runs["fast"]), "compare.py iterations")
        m = it[0]["measurements"][0]
        check(math.isclose(m["real_time"], runs["fast"][0]["metrics"]["wall_ms"], rel_tol=1e-9), "real_time in ms")
        mean = [e for e in dump if e.get("aggregate_name") == "mean"]
        check(len(mean) == 1 and mean[0]["measurements"][0]["time"] > 0, "compare.py: slow slower than fast")
        check(any("utest" in e and e["utest"] for e in dump), "compare.py ran its U test")

# ---- OpenMetrics: prometheus_client's parser -----------------------------
try:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
except ImportError:
    text_string_to_metric_families = None
    check(False, "prometheus_client missing (python3-prometheus-client)")
if text_string_to_metric_families:
    text = open(os.path.join(d, "metrics.txt")).read()
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    check("thermabench_wall_ms" in fams and "thermabench_runs" in fams, "OpenMetrics families %r" % list(fams))
    if "thermabench_wall_ms" in fams:
        med = {s.labels["variant"]: s.value for s in fams["thermabench_wall_ms"].samples if s.labels["stat"] == "median"}
        check(math.isclose(med["fast"], statistics.median(m["metrics"]["wall_ms"] for m in runs["fast"]), rel_tol=1e-12),
              "OpenMetrics median")

# ---- Bencher Metric Format -----------------------------------------------
bmf = load("bmf.json")
check(set(bmf) == set(names), "BMF benchmarks %r" % list(bmf))
for name, measures in bmf.items():
    check(isinstance(measures, dict) and "latency" in measures, "BMF %s measures" % name)
    for slug, m in measures.items():
        check(all(c.islower() or c.isdigit() or c == "-" for c in slug), "BMF slug %r" % slug)
        check(isinstance(m.get("value"), (int, float)), "BMF %s.%s value" % (name, slug))
        if "lower_value" in m:
            check(m["lower_value"] <= m["value"] <= m["upper_value"], "BMF %s.%s bounds" % (name, slug))
    lat = measures["latency"]["value"]
    check(math.isclose(lat, statistics.mean(m["metrics"]["wall_ms"] for m in runs[name]) * 1e6, rel_tol=1e-9), "BMF latency ns")

# ---- github-action-benchmark ---------------------------------------------
gh = load("github.json")
check(isinstance(gh, list) and len(gh) == len(names), "github-action-benchmark: a list, one entry per command")
for e in gh:
    check(isinstance(e["name"], str) and isinstance(e["unit"], str) and isinstance(e["value"], (int, float)),
          "github-action-benchmark entry %r" % e)
    check(isinstance(e.get("range", ""), str) and isinstance(e.get("extra", ""), str), "range/extra are strings")
    check(e["unit"] == "ms", "unit %r" % e["unit"])

if failures:
    print("FAILED:\n  " + "\n  ".join(failures))
    sys.exit(1)
print("ok: every export read as its consumer reads it")
