#!/usr/bin/env bash
# Runs one libFuzzer target for a while: scripts/fuzz.sh TARGET SECONDS [libFuzzer options...]
# TARGET is a name from tests/fuzz.cmake (gguf, llama2c, tokenizer, config, results, metrics).
# Builds the fuzz preset (clang, ASan + UBSan) if needed, starts from the
# target's seed corpus (tests/fuzz/corpus/TARGET and the seeds fuzz.cmake names
# from ../shared), keeps what it finds in build/fuzz/corpus/TARGET, and writes
# crashing inputs to build/fuzz/crashes/TARGET/. Exit 0: no crash.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
  echo "usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer options...]" >&2
  exit 2
fi
target=$1 seconds=$2
shift 2
case $seconds in (''|*[!0-9]*) echo "scripts/fuzz.sh: SECONDS must be a whole number, got '$seconds'" >&2; exit 2;; esac
if ! grep -q "^tb_fuzz_target($target " tests/fuzz.cmake; then
  echo "scripts/fuzz.sh: no target '$target' (see tests/fuzz.cmake)" >&2
  exit 2
fi
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target "fuzz_$target"
work=build/fuzz/corpus/$target crashes=build/fuzz/crashes/$target
mkdir -p "$work" "$crashes"
# The seeds ctest replays: the test's command line after the program.
seeds=$(ctest --test-dir build/fuzz -R "^fuzz_replay_${target}\$" --show-only=json-v1 |
        python3 -c 'import json,sys; c=json.load(sys.stdin)["tests"][0]["command"]; print("\n".join(c[1:]))')
# libFuzzer reads corpus directories (a file argument would only be replayed):
# the seed files are copied into one.
seed_dir=build/fuzz/seeds/$target
rm -rf "$seed_dir"
mkdir -p "$seed_dir"
while IFS= read -r s; do
  [ -f "$s" ] && cp "$s" "$seed_dir"/
done <<<"$seeds"
exec "build/fuzz/tests/fuzz_$target" -max_total_time="$seconds" -artifact_prefix="$crashes/" -print_final_stats=1 \
  "$@" "$work" "$seed_dir"
