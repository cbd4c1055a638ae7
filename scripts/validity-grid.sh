#!/bin/sh
# The gate's Monte Carlo validity grid (docs/STATISTICS.md): every scenario,
# seeded, through the real report_gate_sides. Usage: scripts/validity-grid.sh [TRIALS] [BUILD_DIR]
set -eu
trials=${1:-2000}
build=${2:-build/release}
[ -x "$build/tests/test_reports_validity" ] || cmake --build "$build" --target test_reports_validity
exec "$build/tests/test_reports_validity" --grid --trials "$trials"
