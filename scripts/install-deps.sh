#!/usr/bin/env bash
# Installs the Debian packages thermabench needs, only those missing.
# Idempotent: with everything present it only runs dpkg-query (about a second).
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libcjson-dev            # config and result files
  libsensors-dev          # hwmon through lm-sensors
  libpfm4-dev             # perf event names -> perf_event_attr
  libutf8proc-dev         # Unicode categories for BPE tokenizers
  ocl-icd-opencl-dev opencl-headers  # OpenCL ICD loader and headers
  pocl-opencl-icd         # OpenCL on the CPU (tests, CI)
  gnuplot-nox             # plots in reports (run time)
  libsqlite3-dev          # results history (default store)
  libpq-dev               # results history on a PostgreSQL server (a fleet)
  postgresql              # a private server for the PostgreSQL history tests
  python3 cmark-gfm libxml2-utils  # tests: outputs checked with real parsers (html.parser, GitHub Markdown, xmllint)
  hyperfine               # tests: reference exports; docs: side-by-side timings
  libbenchmark-tools python3-scipy   # tests: Google Benchmark's compare.py reads our export
  python3-prometheus-client          # tests: the OpenMetrics parser reads our export
  clang libclang-rt-14-dev  # scripts/fuzz.sh: libFuzzer with ASan + UBSan (the fuzz preset)
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "thermabench: missing Debian packages: ${missing[*]}" >&2
  echo "run as root:  $cmd" >&2
  exit 1
fi
echo "thermabench: installing ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
