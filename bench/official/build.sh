#!/usr/bin/env bash
# Builds the official fp32-forward CUDA extensions (bench/official/build.py) for sm_90 into
# $OFFICIAL_BUILD (default /tmp/vim-official-build; a build with unchanged sources is reused),
# selective_scan_cuda and causal_conv1d_cuda side by side. Needs the .official/ copy made by
# bench/official/fetch.sh (carry it to the GPU machine), python3 with torch, nvcc, ninja.
#   bash bench/official/build.sh [--force]
# Exit status 0 when selective_scan_cuda built (causal_conv1d_cuda is optional: without it
# bench_official.py falls back to F.conv1d + SiLU and says so).
set -uo pipefail
cd "$(dirname "$0")/../.."
export OFFICIAL_BUILD=${OFFICIAL_BUILD:-/tmp/vim-official-build}
echo "build: nvcc $(command -v nvcc || echo '(not on PATH)') $(nvcc --version 2>/dev/null | grep -o 'release [0-9.]*' || true);" \
     "ninja $(command -v ninja || echo absent); into $OFFICIAL_BUILD"
mkdir -p "$OFFICIAL_BUILD"
t0=$(date +%s)
python3 bench/official/build.py --only causal_conv1d "$@" > "$OFFICIAL_BUILD/causal_conv1d.log" 2>&1 &
conv_pid=$!
python3 bench/official/build.py --only selective_scan "$@" > "$OFFICIAL_BUILD/selective_scan.log" 2>&1
scan_rc=$?
wait "$conv_pid"
for f in selective_scan causal_conv1d; do
  grep '^build:' "$OFFICIAL_BUILD/$f.log" || { echo "build: $f: no result line; log tail:"; tail -n 30 "$OFFICIAL_BUILD/$f.log"; }
  grep -q '^build: .*FAILED' "$OFFICIAL_BUILD/$f.log" && { echo "build: $f log tail:"; grep -E 'error|Error' "$OFFICIAL_BUILD/$f.log" | head -n 20; }
done
echo "build: $(( $(date +%s) - t0 )) s"
exit "$scan_rc"
