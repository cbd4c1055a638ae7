#!/bin/bash
# Side-by-side CPU speed of thermabench and llama.cpp on the same GGUF files
# (alternating rounds, medians of per-round ratios, CV, roofline share):
# scripts/compare-llamacpp.py does the work; --help lists the rows and options.
#   scripts/compare-llamacpp.sh --llama-bin DIR --preset 110M --untied [--threads "1 2"] ...
exec python3 "$(dirname "$0")/compare-llamacpp.py" "$@"
