#!/usr/bin/env bash
# Installs what is missing, then configures, builds and runs the whole suite twice:
# optimised (release) and under AddressSanitizer + UndefinedBehaviorSanitizer (asan).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
for preset in release asan; do
  echo "== $preset =="
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
  ctest --preset "$preset" -j2
done
