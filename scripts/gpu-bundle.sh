#!/usr/bin/env bash
# Packs what the GPU experiments need into one folder to copy to a GPU host
# that has no build tools or package registry: the release binaries (built
# with the OpenCL option), the shared libraries they load that a bare host
# may lack (libOpenCL is loaded at run time, so ldd does not list it), the
# scripts and configs, and the test models of ../shared for the GPU
# byte-exactness tests. On the host: DIR/scripts/gpu-all.sh DIR OUT.
#   scripts/gpu-bundle.sh DIR
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:?usage: scripts/gpu-bundle.sh DIR}
B=build/release
rm -rf "$DIR"
mkdir -p "$DIR/bin" "$DIR/lib" "$DIR/shared"
cp "$B/thermabench" "$B/tests/bench_engine_opencl" "$B/tests/test_engine_opencl" "$B/tests/test_engine_opencl_cli" "$DIR/bin/"
for l in libsensors.so.5 libpfm.so.4 libcjson.so.1 libOpenCL.so.1; do
  p=$(ldconfig -p | awk -v l="$l" '$1 == l && /x86-64/ {print $NF; exit}')
  [ -n "$p" ] && cp -L "$p" "$DIR/lib/" || echo "gpu-bundle: $l not found here; the host must have it" >&2
done
cp -r scripts configs "$DIR/"
SHARED=$(sed -n 's/^THERMABENCH_SHARED_DIR:PATH=//p' "$B/CMakeCache.txt")
cp -r "$SHARED/models" "$DIR/shared/"
# The tests look for the binary and the models where they were built.
echo "$(cd "$B" && pwd)/thermabench" > "$DIR/built-binary-path"
echo "$(cd "$SHARED" && pwd)" > "$DIR/built-shared-path"
du -sh "$DIR"
