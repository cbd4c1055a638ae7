#!/usr/bin/env python3
"""Every output of thermabench fed a results file whose every name, unit,
description and status is hostile (markup, quotes, formulas, control
characters, line breaks, bidirectional overrides, gnuplot quotes), each output
checked with a real parser:

  report.html   Python's html.parser (no script runs)
  report.md     cmark-gfm with GitHub's table extension, its HTML parsed
  runs.csv      Python's csv module
  gate JUnit    xmllint, then xml.etree
  gate Markdown cmark-gfm, as report.md
  compare, gate terminal text: no control or escape characters, no extra lines
  compare JSON  Python's json; every name comes back whole
  history export (JSON and CSV) of the file imported into a history store

The same file with every hostile string replaced by a plain word (the "twin")
gives the expected structure: the hostile outputs must have exactly the
twin's elements, table rows, cells, headings and CSV fields, and show each
hostile string whole as text.

usage: test_reports_hostile.py THERMABENCH_BINARY
Exit 0 pass, 1 fail, 77 skip (a checker is missing)."""
import csv
import io
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

BIN = sys.argv[1]
TMP = tempfile.mkdtemp(prefix="tb-h-", dir="/tmp")
MARKER = os.path.join(TMP, "pwned")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


# Each field's hostile value; the twin uses the key itself. Lengths fit the
# reader's limits (names 63 bytes, units and statuses 31).
HOSTILE = {
    "name": "# H1\n| a | b |\n<img src=x onerror=alert(1)> [l](javascript:x)",
    "status": "<script>alert(2)</script>",
    "metric": "<p><script>alert(1)</script> (",
    "unit": "=cmd|' /C calc'!A0",
    "variant_a": "x'; system 'touch " + MARKER + "'; '\"&amp;",
    "variant_b": "=HYPERLINK(\"http://x\",\"y\")|\n- [ ] `c` **b** @all",
    "variant_c": "+1\u202e\x01\x1b[31m ]]><!-- --> \t<b>&lt;",
    "cpu": "<svg onload=alert(3)>",
    "kernel": "Linux </td></tr></table><h1>x",
    "compiler": "gcc\"><script>alert(4)</script>",
    "commit": "1. abc\r\n> quote",
    "check": "<i>check</i>",
    "pf_status": "warn|x",
    "detail": "* item\n## heading & <u>",
    "probe": "nvml<br>",
    "reason": "$x$ ~~s~~ `code` <a href=javascript:alert(5)>",
    "kernels": "-matmul=<avx512>|",
    "model": "@model '<'",
    "throttle": "=1+1",
    "channel": "x'<script>temp_c",
}


def results_json(words):
    """words: field -> string. A 3-variant results file with 10 runs each."""
    rnd = random.Random(5)
    variants = [words["variant_a"], words["variant_b"], words["variant_c"]]
    means = [100.0, 104.0, 97.0]
    runs = []
    t = 0.0
    for k in range(31):
        v = 0 if k == 0 else (k - 1) % 3
        temp = 45 + 12 * (1 - math.exp(-k / 8.0))
        tp = means[v] * (1 + 0.01 * rnd.gauss(0, 1))
        wall = 64 / tp
        runs.append({
            "index": k, "variant": variants[v], "warmup": k == 0, "status": "ok", "failure": None,
            "started_s": t, "wall_ms": 1000 * wall, "exit_status": 0,
            "metrics": {words["metric"]: tp},
            "telemetry": {"temp_start_c": temp, "temp_end_c": temp + 1, "temp_peak_c": temp + 2,
                          "power_mean_w": 30.0, "energy_j": 30 * wall, "energy_per_token_j": 30 * wall / 64,
                          "clock_mean_mhz": 3000.0, "clock_min_mhz": 2900.0, "mem_psi_some_us": 100.0 * k,
                          "throttle": words["throttle"] if k % 5 == 0 else "no"},
        })
        t += wall + 1
    return {
        "schema": "thermabench-results", "schema_version": 1, "name": words["name"], "status": words["status"],
        "created_utc": "2026-12-07T08:00:00Z",
        "environment": {"cpu_model": words["cpu"], "cpus_online": 2, "kernel": words["kernel"],
                        "compiler": words["compiler"], "git_commit": words["commit"],
                        "probes": [{"name": words["probe"], "available": False, "reason": words["reason"]}]},
        "preflight": [{"check": words["check"], "status": words["pf_status"], "detail": words["detail"]}],
        "primary_metric": {"name": words["metric"], "unit": words["unit"], "higher_is_better": True},
        "variants": [{"name": n, "engine_kernels": words["kernels"],
                      "workload": {"threads": 2, "model": words["model"]}} for n in variants],
        "runs": runs,
    }


def write_case(label, words):
    d = os.path.join(TMP, label)
    os.makedirs(d)
    with open(os.path.join(d, "results.json"), "w", encoding="utf-8") as f:
        json.dump(results_json(words), f, ensure_ascii=False)
    with open(os.path.join(d, "telemetry.csv"), "w", encoding="utf-8") as f:
        f.write("t_s,tier,latency_ms,mark,%s,cpu.pkg.power_w\n" % words["channel"])
        for i in range(50):
            f.write("%.2f,fast,0.05,,%.1f,30\n" % (i * 0.5, 45 + i * 0.2))
    return d


def run(args, rcs=(0,)):
    p = subprocess.run([BIN] + args, capture_output=True)
    check(p.returncode in rcs, "%s exited %d: %s" % (" ".join(args[:1]), p.returncode, p.stderr[-400:]))
    return p.stdout


def outputs(d):
    """Runs every output for the case in d; returns {output: bytes}."""
    res = os.path.join(d, "results.json")
    run(["report", res, "-o", os.path.join(d, "rep")])
    gate = run(["gate", "--baseline", res, "--candidate", res, "--junit", os.path.join(d, "gate.xml"),
                "--markdown", os.path.join(d, "gate.md"), "--allow-throttle"], rcs=(0, 1, 3))
    out = {"gate": gate, "compare": run(["compare", res]), "compare_json": run(["compare", res, "--json"])}
    # The history store's exports: the file imported, then written as JSON and CSV.
    store = ["--history", os.path.join(d, "history.sqlite")]
    run(["history", "import"] + store + [res])
    out["export_json"] = run(["history", "export", "--format", "json"] + store)
    out["export_csv"] = run(["history", "export", "--format", "csv"] + store)
    for name in ("rep/report.html", "rep/report.md", "rep/runs.csv", "gate.xml", "gate.md"):
        with open(os.path.join(d, name), "rb") as f:
            out[name] = f.read()
    return out


def shown(s, keep_ws):
    """What a reader should see of s: the escapers turn control characters,
    surrogates and bidirectional overrides into U+FFFD."""
    o = []
    for c in s:
        cp = ord(c)
        bad = cp < 0x20 or 0x7F <= cp <= 0x9F or 0xD800 <= cp <= 0xDFFF or cp in (0xFFFE, 0xFFFF) \
            or 0x202A <= cp <= 0x202E or 0x2066 <= cp <= 0x2069
        o.append("\ufffd" if bad and not (keep_ws and c in "\n\t") else c)
    return "".join(o)


class Structure(HTMLParser):
    """Element structure (tags with attribute names and, outside text, values)
    and the text, of HTML; inside <svg> only what may run or load is kept."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.text, self.svg, self.danger = [], [], 0, []

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            # Links only to runs.csv or within the page (SVG <use xlink:href="#id">).
            link = k in ("src", "href", "xlink:href", "action", "formaction") and v not in ("runs.csv",) \
                and not (v or "").startswith("#")
            if k.startswith("on") or (v and "javascript:" in v.lower()) or link:
                self.danger.append((tag, k, v))
        if tag in ("script", "iframe", "object", "embed", "img", "foreignobject", "base", "link", "meta") \
                and not (tag == "meta" and attrs == [("charset", "utf-8")]):
            self.danger.append((tag,))
        if tag == "svg":
            self.svg += 1
        if not self.svg:
            self.tags.append((tag, tuple(sorted(k for k, _ in attrs))))

    def handle_endtag(self, tag):
        if not self.svg:
            self.tags.append(("/" + tag,))
        if tag == "svg":
            self.svg -= 1

    def handle_data(self, data):
        if not self.svg:
            self.text.append(data)

    def handle_comment(self, data):
        self.tags.append(("!--", data.strip()))


def html_structure(b):
    p = Structure()
    p.feed(b.decode("utf-8"))
    p.close()
    return p


def render_md(b):
    p = subprocess.run(["cmark-gfm", "--extension", "table", "--extension", "strikethrough",
                        "--extension", "autolink", "--extension", "tasklist", "--to", "html"],
                       input=b, capture_output=True)
    check(p.returncode == 0, "cmark-gfm failed")
    return p.stdout


def check_no_formulas(label, rows):
    """No CSV field a spreadsheet would run: one starting with = + - @ tab or
    CR must be a number."""
    for r in rows:
        for field in r:
            if field and field[0] in "=+-@\t\r":
                try:
                    float(field)
                except ValueError:
                    check(False, "%s: field starts a formula: %r" % (label, field))


def strings(words, keep_ws):
    return {k: shown(v, keep_ws) for k, v in words.items() if k not in ("throttle",)}


def compare_html(label, hb, tb, words, must_show):
    h, t = html_structure(hb), html_structure(tb)
    check(not h.danger, "%s: active content: %s" % (label, h.danger[:3]))
    check(h.tags == t.tags, "%s: element structure differs from the twin's (first difference at %s)" % (
        label, next((i for i, (a, b) in enumerate(zip(h.tags, t.tags)) if a != b), min(len(h.tags), len(t.tags)))))
    text = "".join(h.text)
    for k in must_show:
        check(words[k] in text, "%s: %s not shown whole as text: %r" % (label, k, words[k]))


def main():
    for tool in ("cmark-gfm", "xmllint"):
        if not shutil.which(tool):
            print("skip: %s not installed (scripts/install-deps.sh installs it)" % tool)
            return 77
    twin_words = {k: k.replace("_", "") for k in HOSTILE}
    twin_words["throttle"] = "odd"
    twin_words["channel"] = "xtemp_c"
    hd, td = write_case("hostile", HOSTILE), write_case("twin", twin_words)
    h, t = outputs(hd), outputs(td)
    check(not os.path.exists(MARKER), "gnuplot ran a command from a variant name")

    shown_html = strings(HOSTILE, keep_ws=True)
    shown_md = strings(HOSTILE, keep_ws=False)
    every = ["name", "status", "metric", "unit", "variant_a", "variant_b", "variant_c", "cpu", "kernel", "compiler",
             "commit", "probe", "reason", "kernels", "model"]
    compare_html("report.html", h["rep/report.html"], t["rep/report.html"], shown_html, every)
    compare_html("report.md", render_md(h["rep/report.md"]), render_md(t["rep/report.md"]), shown_md, every)
    compare_html("gate.md", render_md(h["gate.md"]), render_md(t["gate.md"]), shown_md,
                 ["variant_a", "variant_b", "variant_c", "metric", "unit"])

    # runs.csv: same rows and fields as the twin; text fields whole, formulas neutralised.
    def rows(b):
        return list(csv.reader(io.StringIO(b.decode("utf-8"), newline="")))
    hr, tr = rows(h["rep/runs.csv"]), rows(t["rep/runs.csv"])
    check(len(hr) == len(tr) == 32 and all(len(a) == len(b) == 17 for a, b in zip(hr, tr)),
          "runs.csv: rows or fields differ from the twin's")
    guarded = lambda s: ("'" + s) if s[:1] in "=+-@" else s
    check(hr and hr[0][6] == guarded(shown_md["metric"]), "runs.csv: metric column %r" % (hr[0][6:7],))
    names = {shown_md[k] for k in ("variant_a", "variant_b", "variant_c")}
    check(all(r[1] in {guarded(n) for n in names} for r in hr[1:]), "runs.csv: a variant name was changed")
    check_no_formulas("runs.csv", hr)

    # JUnit: xmllint accepts it, its structure is the twin's, names whole.
    for label, d in (("hostile", hd), ("twin", td)):
        p = subprocess.run(["xmllint", "--noout", os.path.join(d, "gate.xml")], capture_output=True)
        check(p.returncode == 0, "gate.xml (%s): xmllint: %s" % (label, p.stderr[:400]))
    try:
        hx, tx = ET.fromstring(h["gate.xml"]), ET.fromstring(t["gate.xml"])
        shape = lambda e: [(x.tag, tuple(sorted(x.attrib))) for x in e.iter()]
        check(shape(hx) == shape(tx), "gate.xml: structure differs from the twin's")
        cases = " ".join(c.get("name", "") for c in hx.iter("testcase"))
        for k in ("variant_a", "variant_b", "variant_c"):
            check(shown(HOSTILE[k], True) in cases, "gate.xml: %s not whole in a testcase name" % k)
    except ET.ParseError as e:
        check(False, "gate.xml: %s" % e)

    # history export: JSON that parses with every name whole; CSV with the twin's shape, formulas neutralised.
    try:
        ex = json.loads(h["export_json"].decode("utf-8"))
        exps = ex if isinstance(ex, list) else ex.get("experiments", [])
        got = {r["variant"] for e in exps for r in e["runs"]}
        check(got == {HOSTILE["variant_a"], HOSTILE["variant_b"], HOSTILE["variant_c"]},
              "history export json: variants %r" % got)
        check(any(e.get("name") == HOSTILE["name"] and e.get("metric") == HOSTILE["metric"] for e in exps),
              "history export json: name or metric not whole")
    except (ValueError, KeyError, TypeError) as e:
        check(False, "history export json: %s" % e)
    he, te = rows(h["export_csv"]), rows(t["export_csv"])
    check(len(he) == len(te) > 1 and all(len(a) == len(b) for a, b in zip(he, te)),
          "history export csv: rows or fields differ from the twin's")
    check_no_formulas("history export csv", he)
    check(any(r and guarded(shown_md["variant_b"]) in r for r in he), "history export csv: a variant name changed")

    # Terminal text: nothing that moves the cursor, colours or reorders text.
    for label in ("compare", "gate"):
        text = h[label].decode("utf-8")
        bad = [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F or 0x202A <= ord(c) <= 0x202E]
        check(not bad, "%s: control characters reach the terminal: %r" % (label, bad[:5]))
        check(text.count("\n") == t[label].decode().count("\n"), "%s: a name added or removed lines" % label)

    # JSON: parses, every variant name comes back exactly as written.
    try:
        js = json.loads(h["compare_json"].decode("utf-8"))
        got = {c["candidate"]["name"] for c in js["comparisons"]} | {c["baseline"]["name"] for c in js["comparisons"]}
        check(got == {HOSTILE["variant_a"], HOSTILE["variant_b"], HOSTILE["variant_c"]}, "compare --json: names %r" % got)
    except (ValueError, KeyError) as e:
        check(False, "compare --json: %s" % e)

    # A TMPDIR that would end a shell's quoted string: gnuplot still runs
    # (no shell between), nothing else does.
    odd = os.path.join(TMP, "t'; touch %s; '$(touch %s)`touch %s`" % (MARKER, MARKER, MARKER))
    os.makedirs(odd)
    p = subprocess.run([BIN, "report", os.path.join(td, "results.json"), "-o", os.path.join(td, "rep2")],
                       capture_output=True, env=dict(os.environ, TMPDIR=odd))
    check(p.returncode == 0 and not os.path.exists(MARKER), "TMPDIR with quotes: a shell ran (rc %d)" % p.returncode)
    if shutil.which("gnuplot"):
        with open(os.path.join(td, "rep2", "report.html"), encoding="utf-8") as f:
            check(f.read().count("<svg") == 4, "TMPDIR with quotes: plots missing")
    check(os.listdir(odd) == [], "TMPDIR with quotes: temporary files left behind")

    if failures:
        print("%d failed; files kept in %s" % (len(failures), TMP))
        return 1
    shutil.rmtree(TMP)
    print("all outputs parse and show every hostile string as text")
    return 0


sys.exit(main())
