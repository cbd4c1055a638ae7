#!/usr/bin/env bash
# Packs what the CPU comparison with llama.cpp needs into one folder, for a
# host without build tools: thermabench (release build), the llama.cpp
# programs of the build folder given (with its libllama/libggml*.so, also
# the per-CPU libggml-cpu-*.so of a GGML_CPU_ALL_VARIANTS build), every other
# library they link beyond glibc, and the scripts. Models are synthesized on
# the host (the f32 file alone is 537 MB). On the host:
#   DIR/scripts/cpu-compare-run.sh DIR OUT
# Usage: scripts/cpu-compare-bundle.sh DIR LLAMA_BUILD_BIN_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:?usage: scripts/cpu-compare-bundle.sh DIR LLAMA_BUILD_BIN_DIR}
LL=${2:?usage: scripts/cpu-compare-bundle.sh DIR LLAMA_BUILD_BIN_DIR}
B=build/release
for p in "$B/thermabench" "$LL/llama-bench" "$LL/llama-batched-bench"; do
    [ -x "$p" ] || { echo "cpu-compare-bundle: $p: not an executable" >&2; exit 2; }
done
rm -rf "$DIR"
mkdir -p "$DIR/bin" "$DIR/llama" "$DIR/lib" "$DIR/scripts"
cp "$B/thermabench" "$DIR/bin/"
cp "$LL/llama-bench" "$LL/llama-batched-bench" "$DIR/llama/"
# llama.cpp's own libraries beside its programs: a GGML_BACKEND_DL build
# looks for its CPU variants in the programs' folder.
cp -L "$LL"/lib*.so "$DIR/llama/"
libs=$(ldd "$DIR"/bin/* "$DIR"/llama/* | awk '$2 == "=>" && $3 ~ /^\// {print $3}' |
       grep -vE '/(libc|libm|libdl|librt|libpthread|libresolv|ld-linux[^/]*)\.so' | grep -v "^$(cd "$LL" && pwd)/" | sort -u)
for p in $libs; do cp -L "$p" "$DIR/lib/"; done
cp scripts/compare-llamacpp.py scripts/cpu-compare-run.sh "$DIR/scripts/"
git -C . log -1 --format='thermabench %h %cs' > "$DIR/VERSIONS"
echo "llama.cpp $(cat "$LL/../llama-commit" 2>/dev/null || echo "(commit unknown: write it to $LL/../llama-commit)")" >> "$DIR/VERSIONS"
du -sh "$DIR"
