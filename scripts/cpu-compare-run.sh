#!/usr/bin/env bash
# The CPU acceptance figures of docs/PERFORMANCE.md against llama.cpp, in one
# go (about 6 to 8 minutes on a 16-core host), from a folder made by
# scripts/cpu-compare-bundle.sh. Three sets, each of ROUNDS alternating
# rounds (default 8), on the 110M untied model in f32, q8_0 and q4_0:
#   table.txt     2 threads: pp128, tg32, tg32@128, x4@128, roofline share
#   one-thread.txt  1 thread: tg32 and its roofline share
#   loaded.txt    both engines on CPUs 0-1 while a busy loop holds CPU 1
#                 (where pinning is not enforced: all CPUs but one busy):
#                 tg32 on 1 and 2 threads (2t/1t ratio, CV); llama.cpp with
#                 OMP_WAIT_POLICY=passive (its spinning default stalls
#                 whenever a worker shares the busy core)
# plus *.json (every run), host.txt (CPU, memory, load) and log.txt.
#   BUNDLE/scripts/cpu-compare-run.sh BUNDLE OUT      ROUNDS=N to change the rounds
set -uo pipefail
BUNDLE=$(cd "${1:?usage: cpu-compare-run.sh BUNDLE OUT}" && pwd)
OUT=${2:?usage: cpu-compare-run.sh BUNDLE OUT}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
exec > >(tee "$OUT/log.txt") 2>&1
export LD_LIBRARY_PATH="$BUNDLE/lib:$BUNDLE/llama${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
TB="$BUNDLE/bin/thermabench" LL="$BUNDLE/llama" R=${ROUNDS:-8}
W=${WORKDIR:-/tmp/cpu-compare}
mkdir -p "$W"
{ date -u; cat "$BUNDLE/VERSIONS"; nproc; lscpu; free -g; cat /proc/loadavg; } > "$OUT/host.txt" 2>&1
"$TB" --version 2>/dev/null | head -1
for d in f32 q8_0 q4_0; do
    [ -f "$W/110M-untied-$d.gguf" ] || "$TB" model synth --preset 110M --untied --dtype $d -o "$W/110M-untied-$d.gguf" >/dev/null
done
M=(--model "$W/110M-untied-f32.gguf" --model "$W/110M-untied-q8_0.gguf" --model "$W/110M-untied-q4_0.gguf")
C="python3 $BUNDLE/scripts/compare-llamacpp.py --thermabench $TB --llama-bin $LL --rounds $R --workdir $W"
date -u
timeout 330 $C "${M[@]}" --threads 2 --max-seconds 230 --json-out "$OUT/table.json" > "$OUT/table.txt"
echo "table: exit $?"; cat "$OUT/table.txt"; date -u
timeout 90 $C "${M[@]}" --threads 1 --max-seconds 45 --rows tg32 --json-out "$OUT/one-thread.json" > "$OUT/one-thread.txt"
echo "one thread: exit $?"; cat "$OUT/one-thread.txt"; date -u
# Is pinning enforced (some sandboxes accept it and ignore it)? Two busy
# loops pinned to CPU 0 for 2 s: enforced, they share it (about 1 s each).
pinned_cpu_s=$(python3 - <<'PY'
import resource, subprocess, time
ps = [subprocess.Popen(["taskset", "-c", "0", "sh", "-c", "while :; do :; done"]) for _ in range(2)]
time.sleep(2)
for p in ps: p.kill()
for p in ps: p.wait()
print(f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime + resource.getrusage(resource.RUSAGE_CHILDREN).ru_stime:.2f}")
PY
)
echo "two busy loops pinned to CPU 0 for 2 s used $pinned_cpu_s s of CPU" | tee -a "$OUT/host.txt"
if python3 -c "import sys; sys.exit(0 if float('$pinned_cpu_s') < 3.0 else 1)"; then
    LOAD=(--cpus 0,1 --load-cpu 1)
else   # not enforced: all CPUs but one busy, so the engines share one free CPU with a busy loop
    LOAD=(--load-procs $(( $(nproc) - 1 )))
    echo "pinning not enforced: loaded set with $(( $(nproc) - 1 )) unpinned busy loops instead" | tee -a "$OUT/host.txt"
fi
timeout 150 $C "${M[@]}" --threads "1 2" --max-seconds 110 --rows tg32 "${LOAD[@]}" --no-roofline --llama-env OMP_WAIT_POLICY=passive \
    --json-out "$OUT/loaded.json" > "$OUT/loaded.txt"
echo "loaded: exit $?"; cat "$OUT/loaded.txt"; date -u
