"""Reads a results.json with Python's json module (strict: it raises on
invalid UTF-8 or a bare control character) and checks that a run of
`fake_workload bytes VALUE` kept its output exactly: the stdout tail's
base64 holds every byte value and the NULs, the text has U+FFFD for them.
usage: check_results_bytes.py RESULTS_JSON"""
import base64
import json
import sys

with open(sys.argv[1], "rb") as f:
    raw = f.read()
doc = json.loads(raw.decode("utf-8"))      # strict UTF-8, strict JSON
runs = [r for r in doc["runs"] if r["variant"] == "bytes"]
assert runs, "no run of variant 'bytes'"
for r in runs:
    assert r["status"] == "ok", r["failure"]
    exact = base64.b64decode(r["stdout_tail_base64"], validate=True)
    expected = b"\0" + bytes(range(256)) + b"\0\n"
    assert exact.startswith(expected), exact[:40]
    assert exact.endswith(b'"tok_s": 2.5, "runs": [1, 2]}}\n'), exact[-40:]
    assert r["stdout_bytes"] == len(exact), (r["stdout_bytes"], len(exact))
    text = r["stdout_tail"]
    assert "\ufffd" in text and "\0" not in text
    assert text.endswith('"tok_s": 2.5, "runs": [1, 2]}}\n')
    err = base64.b64decode(r["stderr_tail_base64"], validate=True)
    assert err == bytes(range(255, -1, -1)), err[:20]
    assert r["metrics"]["tok_s"] == 2.5
print("ok: %d run(s), %d bytes of results.json" % (len(runs), len(raw)))
