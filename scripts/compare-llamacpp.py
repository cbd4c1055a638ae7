#!/usr/bin/env python3
"""Side-by-side CPU speed of thermabench's engine and llama.cpp on the same
GGUF files: alternating rounds (which engine goes first alternates too), and
per row the median of the per-round ratios thermabench / llama.cpp with their
min and max, each engine's run-to-run CV, and decode's share of the read
bandwidth `thermabench roofline` measures in the same round. Nothing is
fetched or built: --llama-bin names an existing llama.cpp build's bin folder.

Rows (tokens/s; a ratio > 1 means thermabench is faster):
  pp128     prefill of 128 tokens     thermabench bench -b 1 -i 128 -o 32 (prefill)
                                      llama-bench -p 128 -n 32 (the pp128 result)
  tg32      decode, empty cache       thermabench bench -b 1 -i 1 -o 32
                                      llama-bench -p 128 -n 32 (the tg32 result)
  tg32@128  decode after 128 tokens   thermabench bench -b 1 -i 128 -o 32 (decode)
                                      llama-batched-bench -npp 128 -ntg 32 -npl 1,4 (pl 1)
  x4@128    4 sequences decoded together after 128 tokens each
                                      thermabench bench -b 4 -i 128 -o 32
                                      llama-batched-bench (pl 4)
Derived per engine: x4/x1 (x4@128 over tg32@128, per round) and the cost of
long positions (tg32@128 over tg32). With several --threads, each round runs
every count, and "2t/1t" compares decode on the largest count with 1 thread.

Exit codes: 0 done, 2 bad arguments or a missing program, 1 a run failed.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROWS = ("pp128", "tg32", "tg32@128", "x4@128")


def die(msg, code=2):
    print(f"compare-llamacpp: {msg}", file=sys.stderr)
    sys.exit(code)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--llama-bin", help="llama.cpp build's bin folder (llama-bench, llama-batched-bench)")
    ap.add_argument("--thermabench", help="thermabench executable (default: build/release/thermabench)")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--threads", default="2", help="thread counts, e.g. '2' or '1 2' (default 2)")
    ap.add_argument("--rows", default=" ".join(ROWS), help=f"rows to run (default: {' '.join(ROWS)})")
    ap.add_argument("--workdir", help="where synthesized models and the run log go (default: a temporary folder)")
    ap.add_argument("--model", action="append", default=[], help="a GGUF file (repeatable)")
    ap.add_argument("--preset", help="synthesize this preset's models with thermabench model synth")
    ap.add_argument("--untied", action="store_true")
    ap.add_argument("--dtypes", default="f32 q8_0 q4_0")
    ap.add_argument("--llama-env", action="append", default=[], metavar="VAR=VALUE",
                    help="environment for llama.cpp's runs only (e.g. OMP_WAIT_POLICY=passive)")
    ap.add_argument("--cpus", help="run both engines on these CPUs (taskset -c LIST)")
    ap.add_argument("--load-cpu", help="keep this CPU busy (a pinned busy loop) for the whole comparison")
    ap.add_argument("--load-procs", type=int, default=0,
                    help="run this many unpinned busy loops for the whole comparison (where pinning is not enforced)")
    ap.add_argument("--no-roofline", action="store_true", help="skip thermabench roofline in each round")
    ap.add_argument("--max-seconds", type=float,
                    help="start no round after this many seconds (the summary covers the rounds done)")
    ap.add_argument("--json-out", help="write every run and the summary as JSON here")
    a = ap.parse_args()
    if a.rounds < 1:
        die(f"--rounds: expected a positive integer, got {a.rounds}")
    try:
        a.threads = [int(t) for t in a.threads.split()]
    except ValueError:
        die(f"--threads: expected positive integers, got '{a.threads}'")
    if not a.threads or min(a.threads) < 1:
        die("--threads: expected positive integers")
    a.rows = a.rows.split()
    for r in a.rows:
        if r not in ROWS:
            die(f"--rows: unknown row '{r}' (known: {' '.join(ROWS)})")
    env = {}
    for kv in a.llama_env:
        if "=" not in kv:
            die(f"--llama-env: expected VAR=VALUE, got '{kv}'")
        k, v = kv.split("=", 1)
        env[k] = v
    a.llama_env = env
    return a


def run_json_lines(cmd, env=None, whole=False):
    """The JSON objects a command prints: one per line, or (whole) one in all."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()[-400:]}")
    if whole:
        return [json.loads(p.stdout)], p.stdout
    out = []
    for line in p.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    return out, p.stdout


def main():
    a = parse_args()
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    tb = a.thermabench or os.path.join(repo, "build", "release", "thermabench")
    if not os.access(tb, os.X_OK):
        die(f"{tb}: not an executable (build it, or give --thermabench)")
    if not a.llama_bin:
        die("--llama-bin DIR is required (a llama.cpp build's bin folder)")
    lb, lbb = os.path.join(a.llama_bin, "llama-bench"), os.path.join(a.llama_bin, "llama-batched-bench")
    if not os.access(lb, os.X_OK):
        die(f"{lb}: not an executable")
    batched = os.access(lbb, os.X_OK)
    if not batched and any(r in a.rows for r in ("tg32@128", "x4@128")):
        print(f"compare-llamacpp: {lbb} missing: tg32@128 and x4@128 run for thermabench only", file=sys.stderr)
    pin = []
    if a.cpus:
        if not shutil.which("taskset"):
            die("--cpus needs taskset (util-linux)")
        pin = ["taskset", "-c", a.cpus]
    workdir = a.workdir or tempfile.mkdtemp(prefix="compare-llamacpp-")
    os.makedirs(workdir, exist_ok=True)
    models = list(a.model)
    if not models:
        if not a.preset:
            die("give --model FILE.gguf or --preset P")
        for d in a.dtypes.split():
            f = os.path.join(workdir, f"{a.preset}{'-untied' if a.untied else ''}-{d}.gguf")
            if not os.path.exists(f):
                cmd = [tb, "model", "synth", "--preset", a.preset, "--dtype", d, "-o", f]
                if a.untied:
                    cmd.insert(5, "--untied")
                if subprocess.run(cmd, stdout=subprocess.DEVNULL).returncode != 0:
                    die(f"thermabench model synth failed for {d}", 1)
            models.append(f)
    for f in models:
        if not os.access(f, os.R_OK):
            die(f"{f}: cannot read")
    llama_env = dict(os.environ, **a.llama_env)

    loads = []
    if a.load_cpu is not None:
        loads.append(subprocess.Popen(["taskset", "-c", str(a.load_cpu), "sh", "-c", "while :; do :; done"]))
    for _ in range(a.load_procs):
        loads.append(subprocess.Popen(["sh", "-c", "while :; do :; done"]))

    runs = []          # dicts: round, model, row, threads, engine, tps
    bytes_per_token = {}
    roof = {}          # (round, threads) -> read GB/s

    def add(r, model, row, t, eng, tps):
        runs.append({"round": r, "model": os.path.basename(model), "row": row, "threads": t,
                     "engine": eng, "tokens_per_s": tps})

    def tb_bench(model, t, b, i):
        out, _ = run_json_lines(pin + [tb, "bench", "--model", model, "-b", str(b), "-i", str(i), "-o", "32",
                                       "-w", "1", "-t", str(t), "--json"], whole=True)
        d = out[-1]
        bytes_per_token[os.path.basename(model)] = d["model"]["decode_bytes_per_step"]
        return d

    def tb_round(r, model, t):
        if "pp128" in a.rows or "tg32@128" in a.rows:
            d = tb_bench(model, t, 1, 128)
            if "pp128" in a.rows:
                add(r, model, "pp128", t, "tb", d["prefill_tokens_per_s"])
            if "tg32@128" in a.rows:
                add(r, model, "tg32@128", t, "tb", d["decode_tokens_per_s"])
        if "tg32" in a.rows:
            add(r, model, "tg32", t, "tb", tb_bench(model, t, 1, 1)["decode_tokens_per_s"])
        if "x4@128" in a.rows:
            add(r, model, "x4@128", t, "tb", tb_bench(model, t, 4, 128)["decode_tokens_per_s"])

    def llama_round(r, model, t):
        if "pp128" in a.rows or "tg32" in a.rows:
            out, _ = run_json_lines(pin + [lb, "-m", model, "-p", "128" if "pp128" in a.rows else "0",
                                           "-n", "32" if "tg32" in a.rows else "0", "-t", str(t), "-r", "1",
                                           "-o", "jsonl"], llama_env)
            for d in out:
                if d.get("n_prompt", 0) > 0 and d.get("n_gen", 0) == 0 and "pp128" in a.rows:
                    add(r, model, "pp128", t, "llama", d["avg_ts"])
                elif d.get("n_gen", 0) > 0 and "tg32" in a.rows:
                    add(r, model, "tg32", t, "llama", d["avg_ts"])
        want = [n for n, row in ((1, "tg32@128"), (4, "x4@128")) if row in a.rows]
        if batched and want:
            out, _ = run_json_lines(pin + [lbb, "-m", model, "-npp", "128", "-ntg", "32",
                                           "-npl", ",".join(map(str, want)), "-t", str(t), "-c", "1024",
                                           "--output-format", "jsonl"], llama_env)
            for d in out:
                if "pl" in d:
                    add(r, model, "tg32@128" if d["pl"] == 1 else "x4@128", t, "llama", d["speed_tg"])

    class Stop(Exception):
        pass

    def on_term(signum, frame):
        raise Stop()

    signal.signal(signal.SIGTERM, on_term)
    t_start = time.time()
    done = 0
    try:
        for r in range(1, a.rounds + 1):
            if a.max_seconds is not None and time.time() - t_start > a.max_seconds:
                print(f"compare-llamacpp: --max-seconds {a.max_seconds:g} passed: {done} rounds done",
                      file=sys.stderr)
                break
            if not a.no_roofline:
                for t in a.threads:
                    out, _ = run_json_lines(pin + [tb, "roofline", "-t", str(t), "-r", "3", "--json"], whole=True)
                    for e in out[-1]["roofline"]:
                        if e["threads"] == t:
                            roof[(r, t)] = e["read_gb_per_s"]
            for model in models:
                for t in a.threads:
                    order = ("tb", "llama") if r % 2 else ("llama", "tb")
                    for eng in order:
                        (tb_round if eng == "tb" else llama_round)(r, model, t)
            done = r
            try:
                la = "load average " + " ".join(open("/proc/loadavg").read().split()[:3])
            except OSError:
                la = "no /proc/loadavg"
            print(f"round {r} of {a.rounds} done after {time.time() - t_start:.0f} s ({la})", file=sys.stderr)
    except Stop:
        print(f"compare-llamacpp: terminated: summary of the {done} rounds done", file=sys.stderr)
    except RuntimeError as e:
        die(str(e), 1)
    finally:
        for p in loads:
            p.kill()
            p.wait()

    # ---- summary ----
    val = {}
    for x in runs:
        val[(x["model"], x["row"], x["threads"], x["engine"], x["round"])] = x["tokens_per_s"]
    rounds = range(1, done + 1)

    def series(model, row, t, eng):
        return [val[k] for k in ((model, row, t, eng, r) for r in rounds) if k in val]

    def paired(model, row_a, t_a, eng_a, row_b, t_b, eng_b):
        return [val[(model, row_a, t_a, eng_a, r)] / val[(model, row_b, t_b, eng_b, r)] for r in rounds
                if (model, row_a, t_a, eng_a, r) in val and (model, row_b, t_b, eng_b, r) in val]

    def cv(s):
        return statistics.stdev(s) / statistics.mean(s) * 100 if len(s) > 1 else float("nan")

    def med(s):
        return statistics.median(s) if s else float("nan")

    def rng(s):
        return f"[{min(s):.2f}, {max(s):.2f}]" if s else "n/a"

    summary = []
    print(f"\nthermabench {tb}; llama.cpp {a.llama_bin}"
          + (f" with {' '.join(k + '=' + v for k, v in a.llama_env.items())}" if a.llama_env else "")
          + (f"; pinned to CPUs {a.cpus}" if a.cpus else "")
          + (f"; CPU {a.load_cpu} kept busy" if a.load_cpu is not None else "")
          + (f"; {a.load_procs} unpinned busy loops" if a.load_procs else ""))
    print(f"{done} alternating rounds; tokens/s medians; ratio = thermabench / llama.cpp, median of per-round"
          " ratios [min, max]; CV = run-to-run; roofline % = decode bytes per token x tokens/s over the round's"
          " `thermabench roofline` read bandwidth (median of per-round shares)")
    hdr = (f"{'model':<26} {'row':<9} {'thr':>3} {'tb t/s':>9} {'llama t/s':>9} {'ratio':>6} {'[min, max]':<13}"
           f" {'tb CV%':>6} {'ll CV%':>6} {'tb roof%':>8} {'ll roof%':>8}")
    print(hdr)
    for model in dict.fromkeys(x["model"] for x in runs):
        for row in a.rows:
            for t in a.threads:
                s_tb, s_ll = series(model, row, t, "tb"), series(model, row, t, "llama")
                if not s_tb and not s_ll:
                    continue
                ratios = paired(model, row, t, "tb", row, t, "llama")
                shares = {}
                if row in ("tg32", "tg32@128") and bytes_per_token.get(model):
                    for eng in ("tb", "llama"):
                        shares[eng] = [val[(model, row, t, eng, r)] * bytes_per_token[model] / 1e9 / roof[(r, t)]
                                       * 100 for r in rounds if (model, row, t, eng, r) in val and (r, t) in roof]
                e = {"model": model, "row": row, "threads": t, "tb_tokens_per_s": med(s_tb),
                     "llama_tokens_per_s": med(s_ll), "ratio": med(ratios),
                     "ratio_min": min(ratios) if ratios else None, "ratio_max": max(ratios) if ratios else None,
                     "tb_cv_pct": cv(s_tb), "llama_cv_pct": cv(s_ll) if s_ll else None,
                     "tb_roofline_pct": med(shares.get("tb", [])) if shares else None,
                     "llama_roofline_pct": med(shares.get("llama", [])) if shares else None}
                summary.append(e)
                fmt = lambda v, w, p: f"{v:{w}.{p}f}" if isinstance(v, float) and v == v else f"{'-':>{w}}"
                print(f"{model:<26} {row:<9} {t:>3} {fmt(med(s_tb), 9, 1)} {fmt(med(s_ll), 9, 1)}"
                      f" {fmt(med(ratios), 6, 2)} {rng(ratios):<13} {fmt(cv(s_tb), 6, 1)} {fmt(cv(s_ll), 6, 1)}"
                      f" {fmt(e['tb_roofline_pct'], 8, 1)} {fmt(e['llama_roofline_pct'], 8, 1)}")
    derived = []
    print("\nderived, per engine (median of per-round ratios [min, max]):")
    for model in dict.fromkeys(x["model"] for x in runs):
        for eng, name in (("tb", "thermabench"), ("llama", "llama.cpp")):
            parts = []
            for t in a.threads:
                s = paired(model, "x4@128", t, eng, "tg32@128", t, eng)
                if s:
                    parts.append(f"x4/x1 {t}t {med(s):.2f} {rng(s)}")
                    derived.append({"model": model, "engine": eng, "what": "x4/x1", "threads": t, "median": med(s),
                                    "min": min(s), "max": max(s)})
                s = paired(model, "tg32@128", t, eng, "tg32", t, eng)
                if s:
                    parts.append(f"tg32@128/tg32 {t}t {med(s):.2f} {rng(s)}")
                    derived.append({"model": model, "engine": eng, "what": "tg32@128/tg32", "threads": t,
                                    "median": med(s), "min": min(s), "max": max(s)})
            if len(a.threads) > 1 and 1 in a.threads:
                tmax = max(a.threads)
                s = paired(model, "tg32", tmax, eng, "tg32", 1, eng)
                if s:
                    parts.append(f"tg32 {tmax}t/1t {med(s):.2f} {rng(s)}")
                    derived.append({"model": model, "engine": eng, "what": f"tg32 {tmax}t/1t", "threads": tmax,
                                    "median": med(s), "min": min(s), "max": max(s)})
            if parts:
                print(f"  {model:<26} {name:<12} " + "; ".join(parts))
    if roof:
        for t in a.threads:
            s = [v for (r, tt), v in roof.items() if tt == t and r <= done]
            if s:
                print(f"roofline read GB/s, {t} thread(s): median {med(s):.1f} [{min(s):.1f}, {max(s):.1f}]")
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump({"runs": runs, "roofline": [{"round": r, "threads": t, "read_gb_per_s": v}
                                                                             for (r, t), v in roof.items()], "rounds": done,
                       "bytes_per_token": bytes_per_token, "summary": summary, "derived": derived,
                       "llama_env": a.llama_env, "cpus": a.cpus, "load_cpu": a.load_cpu,
                       "load_procs": a.load_procs}, f, indent=1)


if __name__ == "__main__":
    main()
