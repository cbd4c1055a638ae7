"""Runs every command line of README.md and docs/*.md as a reader would,
from the repository root after the README's set-up, and names each one
that fails: file, line, command, exit status and the end of its output.

usage: check_docs_commands.py SOURCE_DIR BUILD_DIR SHARED_DIR [FILTER]

The commands run in a scratch copy of the repository (the files git knows,
committed or not), whose build/release is BUILD_DIR and whose ../shared is
SHARED_DIR, so results/ and friends start empty and the checkout is left
alone. The README's install step is done too (cmake --install into a
scratch prefix, first on PATH and MANPATH), so `thermabench` works bare. Blocks fenced as ```sh, ```bash or ```shell are read; a line ending
in a backslash continues on the next; commands run in document order, each
in its own bash (so a later command may read what an earlier one wrote).

Not run, and listed as such:
- the set-up itself (scripts/install-deps.sh, cmake, ctest, scripts/test.sh,
  apt-get, .ci/run): the test runs on a build that went through it;
- lines holding a marked placeholder, <LIKE_THIS>: a path that cannot exist
  on this machine.
A line whose comment says "until Ctrl-C" runs for 3 s, gets SIGINT, and
must then exit with status 0 or 130. A line whose comment names exit
statuses ("# exit 0 pass, 1 regression, 3 inconclusive") may end with any
of them; every other line must exit 0. FILTER, if given, keeps only the
commands whose "FILE:LINE: COMMAND" contains it (e.g. docs/EXPORTS.md).
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

src, build, shared = sys.argv[1], sys.argv[2], sys.argv[3]
only = sys.argv[4] if len(sys.argv) > 4 else None
SETUP = re.compile(r"^(scripts/install-deps\.sh|cmake|ctest|scripts/test\.sh|apt-get|sudo|\.ci/run)\b")
PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*>")
FENCE = re.compile(r"^\s*```\s*(sh|bash|shell)\s*$")
TIMEOUT_S = 900
EXITS = re.compile(r"#.*?\bexit\b(.*)$")


def allowed_exits(cmd):
    m = EXITS.search(cmd)
    codes = {int(x) for x in re.findall(r"\b(\d+)\b", m.group(1))} if m else set()
    return codes or {0}


def blocks(path):
    """(first line number, [(line number, command)]) of every shell block."""
    out, cur, start, pending, pending_line = [], None, 0, "", 0
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if cur is None:
                if FENCE.match(line):
                    cur, start = [], n
                continue
            if line.strip().startswith("```"):
                out.append((start, cur))
                cur = None
                continue
            if not pending:
                pending_line = n
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            cmd = (pending + line).strip()
            pending = ""
            if cmd and not cmd.startswith("#"):
                cur.append((pending_line, cmd))
    return out


def scratch_copy():
    root = tempfile.mkdtemp(prefix="tb-docs-")
    repo = os.path.join(root, "repo")
    files = subprocess.run(["git", "-C", src, "ls-files", "-co", "--exclude-standard", "-z"], capture_output=True,
                           check=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        s = os.path.join(src, rel)
        if not os.path.isfile(s):
            continue
        d = os.path.join(repo, rel)
        os.makedirs(os.path.dirname(d), exist_ok=True)
        shutil.copy2(s, d)
    os.makedirs(os.path.join(repo, "build"), exist_ok=True)
    os.symlink(os.path.abspath(build), os.path.join(repo, "build", "release"))
    os.symlink(os.path.abspath(shared), os.path.join(root, "shared"))
    prefix = os.path.join(root, "prefix")
    subprocess.run(["cmake", "--install", os.path.abspath(build), "--prefix", prefix], check=True,
                   stdout=subprocess.DEVNULL)
    os.environ["PATH"] = os.path.join(prefix, "bin") + os.pathsep + os.environ.get("PATH", "")
    os.environ["MANPATH"] = os.path.join(prefix, "share", "man") + os.pathsep
    return root, repo


def run(repo, commands):
    """Runs one block's commands in one bash; returns [(index, status, output)]."""
    results = []
    for i, (line, cmd) in enumerate(commands):
        interrupt = "until Ctrl-C" in cmd
        p = subprocess.Popen(["bash", "-c", cmd], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)
        try:
            out, _ = p.communicate(timeout=3 if interrupt else TIMEOUT_S)
        except subprocess.TimeoutExpired:
            if interrupt:
                os.killpg(p.pid, signal.SIGINT)
                try:
                    out, _ = p.communicate(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    out, _ = p.communicate()
                    results.append((line, cmd, "did not end 30 s after SIGINT", out))
                    continue
                ok = p.returncode in (0, 130, -signal.SIGINT)
                results.append((line, cmd, None if ok else "exit status %d after SIGINT" % p.returncode, out))
                continue
            os.killpg(p.pid, signal.SIGKILL)
            out, _ = p.communicate()
            results.append((line, cmd, "still running after %d s" % TIMEOUT_S, out))
            continue
        ok = p.returncode in allowed_exits(cmd)
        results.append((line, cmd, None if ok else "exit status %d" % p.returncode, out))
    return results


docs = [os.path.join(src, "README.md")] + sorted(
    os.path.join(src, "docs", f) for f in os.listdir(os.path.join(src, "docs")) if f.endswith(".md"))
root, repo = scratch_copy()
failed, ran, skipped = [], 0, []
try:
    for doc in docs:
        rel = os.path.relpath(doc, src)
        for start, cmds in blocks(doc):
            todo = []
            for line, cmd in cmds:
                if SETUP.match(cmd):
                    skipped.append("%s:%d: set-up: %s" % (rel, line, cmd))
                elif PLACEHOLDER.search(cmd):
                    skipped.append("%s:%d: placeholder: %s" % (rel, line, cmd))
                elif only and only not in "%s:%d: %s" % (rel, line, cmd):
                    continue
                else:
                    todo.append((line, cmd))
            for line, cmd, why, out in run(repo, todo):
                ran += 1
                status = "FAIL" if why else "ok"
                print("%s %s:%d: %s" % (status, rel, line, cmd), flush=True)
                if why:
                    tail = out.decode("utf-8", "replace").strip().splitlines()[-8:]
                    failed.append("%s:%d: %s\n    %s\n      %s" % (rel, line, cmd, why, "\n      ".join(tail)))
finally:
    shutil.rmtree(root, ignore_errors=True)
for s in skipped:
    print("not run: " + s)
print("%d commands run, %d failed, %d not run" % (ran, len(failed), len(skipped)))
if failed:
    print("\nfailed:\n" + "\n".join(failed))
    sys.exit(1)
