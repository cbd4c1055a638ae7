"""Every export of a run whose command names are hostile (formula, markup,
quotes, backslash, a line break, a pipe) parses with its consumer's parser
and gives each name back.

usage: check_exports_hostile.py DIR NAME1 NAME2
DIR holds results.json and hyperfine.json, hyperfine.csv, hyperfine.md,
bmf.json, github.json, gbench.json, metrics.txt."""
import csv
import json
import os
import re
import sys

d, names = sys.argv[1], sys.argv[2:]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def load(name):
    with open(os.path.join(d, name), "rb") as f:
        return json.loads(f.read().decode("utf-8"))


check([r["command"] for r in load("hyperfine.json")["results"]] == names, "hyperfine.json names")
check(sorted(load("bmf.json")) == sorted(names), "BMF names")
check([e["name"] for e in load("github.json")] == names, "github-action-benchmark names")
gb = [b for b in load("gbench.json")["benchmarks"] if b["run_type"] == "iteration"]
check(sorted({b["run_name"] for b in gb}) == sorted(names), "Google Benchmark run names")

with open(os.path.join(d, "hyperfine.csv"), newline="") as f:
    rows = list(csv.reader(f))
got = [r[0][1:] if r[0][:1] == "'" and r[0][1:2] in "=+-@" else r[0] for r in rows[1:]]
# The shared CSV writer replaces control characters (the line break) by U+FFFD.
want = [re.sub(r"[\x00-\x1f\x7f]", "\ufffd", n) for n in names]
check(got == want, "CSV names %r, expected %r" % (got, want))
check(all(not r[0][:1] in "=+-@" for r in rows[1:]), "CSV: a field starts a formula")

md = open(os.path.join(d, "hyperfine.md"), encoding="utf-8").read().splitlines()
check(len(md) == 2 + len(names), "Markdown: %d lines for %d rows (a name broke a row)" % (len(md), len(names)))
for line in md:
    cells = re.split(r"(?<!\\)\|", line)
    check(len(cells) == 7, "Markdown row with %d cells: %r" % (len(cells) - 2, line))
check(not any(re.search(r"(?<!\\)<script", l) for l in md), "Markdown: raw HTML")

from prometheus_client.openmetrics.parser import text_string_to_metric_families
fams = list(text_string_to_metric_families(open(os.path.join(d, "metrics.txt"), encoding="utf-8").read()))
labels = {s.labels.get("variant") for f in fams for s in f.samples}
check(labels == set(names), "OpenMetrics variant labels %r" % labels)

if failures:
    print("FAILED:\n  " + "\n  ".join(failures))
    sys.exit(1)
print("ok: hostile names survive every export")
