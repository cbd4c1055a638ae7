#!/usr/bin/env python3
"""thermabench cmd side by side with hyperfine on the same commands.

For each command, ROUNDS rounds; in each round hyperfine (-N, no shell) and
`thermabench cmd` (no shell, output discarded, no probes) each run the
command RUNS times after one warm-up, in alternating order from round to
round. Per round: the ratio thermabench / hyperfine of the median wall time
and of the mean user and system CPU times. Printed: each tool's median wall
time over all its runs, the median of each per-round ratio over the rounds
with its range, and thermabench's own time per run (harness_overhead in
results.json).

usage: scripts/compare-hyperfine.py [--rounds N] [--runs N] [--thermabench PATH]
                                    [--hyperfine PATH] [--only 0,1,2,3] [--same-env] [--work DIR]
                                    [--markdown FILE]
Commands are built on files it writes under --work (default /tmp/tb-vs-hf).
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--rounds", type=int, default=5)
ap.add_argument("--runs", type=int, default=10)
ap.add_argument("--thermabench", default="build/release/thermabench")
ap.add_argument("--work", default="/tmp/tb-vs-hf")
ap.add_argument("--markdown", help="also write the table as Markdown to this file")
ap.add_argument("--hyperfine", default=None, help="hyperfine binary (default: the one on PATH)")
ap.add_argument("--same-env", action="store_true",
                help="run each command through `env -i PATH=...`, so both tools' children get the same environment "
                     "(hyperfine adds a variable of random length to its children's, which moves their stack)")
ap.add_argument("--only", default=None,
                help="comma-separated indices (0-3, shortest first) of the commands to compare")
ap.add_argument("--nice", type=int, default=None,
                help="run both tools at this niceness (e.g. -20 as root, ahead of other jobs on a shared machine)")
args = ap.parse_args()

hyperfine = args.hyperfine or shutil.which("hyperfine")
if not hyperfine:
    sys.exit("hyperfine is not installed (Debian package hyperfine; scripts/install-deps.sh)")
os.makedirs(args.work, exist_ok=True)
files = {}
for name, lines in (("tiny.txt", 5000), ("small.txt", 20000), ("mid.txt", 80000)):
    files[name] = os.path.join(args.work, name)
    with open(files[name], "w") as f:
        f.write("".join("%d %x line of text\n" % (i, i * 7919) for i in range(lines)))

commands = [
    "gzip -1 -c " + files["tiny.txt"],       # ~2 ms
    "xz -1 -T1 -c " + files["small.txt"],    # ~20 ms
    "gzip -9 -c " + files["mid.txt"],        # ~200 ms
    "xz -6 -T1 -c " + files["mid.txt"],      # ~2 s
]
if args.only:
    commands = [commands[int(i)] for i in args.only.split(",")]
if args.same_env:
    commands = ["env -i PATH=/usr/bin:/bin " + c for c in commands]


NICE = ["nice", "-n", str(args.nice)] if args.nice is not None else []


def run_hyperfine(cmd, out):
    subprocess.run(NICE + [hyperfine, "-N", "--style", "none", "--warmup", "1", "--runs", str(args.runs),
                    "--export-json", out, cmd], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r = json.load(open(out))["results"][0]
    return statistics.median(r["times"]) * 1e3, r["user"] * 1e3, r["system"] * 1e3, None, [t * 1e3 for t in r["times"]]


def run_thermabench(cmd, out_dir):
    shutil.rmtree(out_dir, ignore_errors=True)
    subprocess.run(NICE + [args.thermabench, "cmd", "--no-probes", "-q", "--warmup", "1", "--runs", str(args.runs),
                    "--out", out_dir, cmd], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    d = json.load(open(os.path.join(out_dir, "results.json")))
    runs = [r for r in d["runs"] if not r["warmup"] and r["status"] == "ok"]
    m = lambda k: [r["metrics"][k] for r in runs]
    return (statistics.median(m("wall_ms")), statistics.mean(m("user_ms")), statistics.mean(m("sys_ms")),
            d["harness_overhead"], m("wall_ms"))


LOAD = open("/proc/loadavg").read().split()[0]
rows = []
for cmd in commands:
    ratios = {"wall": [], "user": [], "sys": [], "cpu": []}
    walls_tb, walls_hf, overhead = [], [], []
    all_tb, all_hf = [], []
    for rnd in range(args.rounds):
        order = [0, 1] if rnd % 2 == 0 else [1, 0]
        got = {}
        for who in order:
            if who == 0:
                got[0] = run_hyperfine(cmd, os.path.join(args.work, "hf.json"))
            else:
                got[1] = run_thermabench(cmd, os.path.join(args.work, "tb"))
        hf, tb = got[0], got[1]
        all_hf += hf[4]
        all_tb += tb[4]
        walls_hf.append(hf[0])
        walls_tb.append(tb[0])
        ratios["wall"].append(tb[0] / hf[0])
        if hf[1] > 0:
            ratios["user"].append(tb[1] / hf[1])
        ratios["cpu"].append((tb[1] + tb[2]) / (hf[1] + hf[2]))
        if hf[2] > 0.5:         # below half a millisecond the ratio is noise of the tick
            ratios["sys"].append(tb[2] / hf[2])
        overhead.append(tb[3])
    med = lambda x: statistics.median(x) if x else float("nan")
    rng = lambda x: "%.3f-%.3f" % (min(x), max(x)) if x else "-"
    ov = lambda k: med([o[k] for o in overhead])
    rows.append((cmd.replace(args.work + "/", ""), med(all_hf), med(all_tb), med(ratios["wall"]), rng(ratios["wall"]),
                 med(ratios["user"]), rng(ratios["user"]), med(ratios["sys"]), rng(ratios["sys"]),
                 ov("spawn_ms_median"), ov("reap_ms_median"), ov("bookkeeping_ms_median"),
                 med(ratios["cpu"]), rng(ratios["cpu"])))

header = ("| command | hyperfine median wall, all runs (ms) | thermabench median wall, all runs (ms) | wall ratio tb/hf (range over rounds) "
          "| user ratio (range) | sys ratio (range) | user+sys ratio (range) | spawn / reap / bookkeeping per run (ms) |\n"
          "|:--|--:|--:|--:|--:|--:|--:|--:|\n")
lines = []
for r in rows:
    lines.append("| `%s` | %.2f | %.2f | %.4f (%s) | %.3f (%s) | %s | %.3f (%s) | %.3f / %.3f / %.2f |" % (
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], "%.3f (%s)" % (r[7], r[8]) if r[8] != "-" else "- (sys < 0.5 ms)",
        r[12], r[13], r[9], r[10], r[11]))
table = header + "\n".join(lines) + "\n"
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
info = "%s, %d CPUs, %s; %s; %d rounds x %d runs (+1 warm-up) per tool and command%s; load average before: %s; %s" % (
    cpu, os.cpu_count(), platform.platform(),
    subprocess.run([hyperfine, "--version"], capture_output=True, text=True).stdout.strip(),
    args.rounds, args.runs, "" if args.nice is None else ", niceness %d" % args.nice, LOAD,
    time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
print(info)
print(table)
if args.markdown:
    with open(args.markdown, "w") as f:
        f.write(info + "\n\n" + table)
