#!/usr/bin/env bash
# Packs what the GPU experiments need into one folder to copy to a GPU host
# that has no build tools or package registry: the release binaries (built
# with the OpenCL option), the shared libraries they link beyond glibc (libOpenCL is loaded at run time, so ldd does not list it), the
# scripts and configs, and the test models of ../shared for the GPU
# byte-exactness tests. On the host: DIR/scripts/gpu-all.sh DIR OUT.
#   scripts/gpu-bundle.sh DIR
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:?usage: scripts/gpu-bundle.sh DIR}
B=build/release
rm -rf "$DIR"
mkdir -p "$DIR/bin" "$DIR/lib" "$DIR/shared"
cp "$B/thermabench" "$B/tests/bench_engine_opencl" "$B/tests/test_engine_opencl" "$B/tests/test_engine_opencl_cli" \
   "$B/tests/test_engine_model_oracles" "$DIR/bin/"
# Every library the binaries link (ldd) but glibc's own, and the ICD loader.
libs=$(ldd "$DIR"/bin/* | awk '$2 == "=>" && $3 ~ /^\// {print $3}' |
       grep -vE '/(libc|libm|libdl|librt|libpthread|ld-linux[^/]*)\.so' | sort -u)
for p in $libs; do cp -L "$p" "$DIR/lib/"; done
p=$(ldconfig -p | awk '$1 == "libOpenCL.so.1" && /x86-64/ {print $NF; exit}')
[ -n "$p" ] && cp -L "$p" "$DIR/lib/" || echo "gpu-bundle: libOpenCL.so.1 not found here; the host must have it" >&2
cp -r scripts configs "$DIR/"
SHARED=$(sed -n 's/^THERMABENCH_SHARED_DIR:PATH=//p' "$B/CMakeCache.txt")
cp -r "$SHARED/models" "$DIR/shared/"
# The Qwen oracle files scripts/gpu-families.sh checks (13 MB of the 106).
for f in qwen2-tiny/Q8_0 qwen2-tiny/Q4_K_M qwen3-tiny/Q8_0 qwen3-tiny/Q4_K_M; do
  mkdir -p "$DIR/shared/oracles/oracles/$f" "$DIR/shared/oracles/models"
  cp "$SHARED/oracles/oracles/$f/expected.json" "$DIR/shared/oracles/oracles/$f/"
  cp "$SHARED/oracles/models/${f%/*}-${f#*/}.gguf" "$DIR/shared/oracles/models/"
done
# The tests look for the binary and the models where they were built.
echo "$(cd "$B" && pwd)/thermabench" > "$DIR/built-binary-path"
echo "$(cd "$SHARED" && pwd)" > "$DIR/built-shared-path"
du -sh "$DIR"
