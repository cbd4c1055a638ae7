#!/bin/sh
# Build provenance follows the checkout without a reconfigure: in a clone of
# this repository, build, commit, rebuild with `cmake --build` only, and the
# new commit is what `thermabench --version` and a fresh results.json name;
# an uncommitted edit makes the next build say "dirty".
# usage: test_build_provenance.sh SOURCE_DIR   (exit 77: skipped)
set -eu
src=$1
command -v git >/dev/null 2>&1 || { echo "skip: no git"; exit 77; }
git -C "$src" rev-parse HEAD >/dev/null 2>&1 || { echo "skip: $src is not a git checkout"; exit 77; }
tmp=$(mktemp -d /tmp/tb_provenance_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

git clone -q "$src" "$tmp/src"
cd "$tmp/src"
git config user.email test@example.invalid
git config user.name "provenance test"
# Debug (-O0) and no OpenCL: the quickest build of the binary.
cmake -S . -B "$tmp/build" -DCMAKE_BUILD_TYPE=Debug -DTHERMABENCH_OPENCL=OFF >"$tmp/configure.log" 2>&1 ||
    { cat "$tmp/configure.log"; fail "configure"; }
build() { cmake --build "$tmp/build" --target thermabench -j 2 >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; fail "build"; }; }
tb="$tmp/build/thermabench"

build
first=$(git rev-parse --short=12 HEAD)
"$tb" --version >"$tmp/v1"
grep -q "^commit: *$first\$" "$tmp/v1" || { cat "$tmp/v1"; fail "--version does not name $first as a clean commit"; }
grep -q "^build type: Debug\$" "$tmp/v1" || { cat "$tmp/v1"; fail "--version does not say Debug"; }

echo "provenance test" >>README.md
git commit -q -am "provenance test commit"
second=$(git rev-parse --short=12 HEAD)
[ "$first" != "$second" ] || fail "the commit did not change"
build
"$tb" --version >"$tmp/v2"
grep -q "^commit: *$second\$" "$tmp/v2" || { cat "$tmp/v2"; fail "--version after the commit: expected $second"; }

cat >"$tmp/c.json" <<'CFG'
{"name": "provenance", "workload": {"type": "engine", "preset": "tiny", "threads": 1, "input_len": 4, "output_len": 2},
 "repetitions": 1, "warmup": 0, "probes": {"enabled": false}}
CFG
"$tb" run "$tmp/c.json" --out "$tmp/results" --quiet --no-report >/dev/null 2>&1 || fail "run"
grep -q "\"git_commit\":[[:space:]]*\"$second\"" "$tmp/results/results.json" || fail "results.json does not name $second"
grep -q "\"git_dirty\":[[:space:]]*false" "$tmp/results/results.json" || fail "results.json: git_dirty is not false"
grep -q "\"build_type\":[[:space:]]*\"Debug\"" "$tmp/results/results.json" || fail "results.json: build_type is not Debug"

echo "uncommitted" >>README.md
build
"$tb" --version >"$tmp/v3"
grep -q "^commit: *$second (dirty" "$tmp/v3" || { cat "$tmp/v3"; fail "--version after an edit does not say dirty"; }
echo "ok: $first -> $second -> $second (dirty)"
