#!/usr/bin/env bash
# The official Vim code beside our engine, in the same device call: builds the official
# fp32-forward kernels (cached in /tmp), checks the official logits (fixtures, tools/vim_torch),
# times the cases, and -- given the engine's bench JSON from the same call -- prints
# our time / official time per case.
#
#   bash bench/official/run.sh OUT_DIR [--webgpu FILE[,FILE...]] [-- BENCH_OFFICIAL ARGS ...]
#
# Writes OUT_DIR/official-bench.json (results, checks, setup, and `compare` when --webgpu is
# given) and OUT_DIR/official.log (build and run output). Never stops a longer script: every
# failure is printed with its reason and the JSON is still written; exit status 0 only when the
# kernel built, the checks passed and at least one case ran.
# Needs .official/ (bash bench/official/fetch.sh, here) carried to the GPU machine.
# Limits: OFFICIAL_BUILD_TIMEOUT (420 s), OFFICIAL_TIMEOUT (360 s; the bench's own --budget is
# 240 s by default). About 30-90 s of build on a fresh machine, 0 when cached.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${1:-${OUT:-bench/results}}
[ $# -gt 0 ] && shift
webgpu=""
bench_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --webgpu) webgpu="$2"; shift ;;
    --) shift; bench_args=("$@"); break ;;
    *) bench_args+=("$1") ;;
  esac
  shift
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
json="$out/official-bench.json"
main() {
status=0
if [ ! -f .official/vim-repo/vim/models_mamba.py ]; then
  echo "official: no .official/ here (make it with bash bench/official/fetch.sh and carry it)"
fi
timeout "${OFFICIAL_BUILD_TIMEOUT:-420}" bash bench/official/build.sh || { echo "official: build failed (rc $?)"; status=1; }
PYTHONUNBUFFERED=1 timeout "${OFFICIAL_TIMEOUT:-360}" python3 bench/official/bench_official.py --json "$json" "${bench_args[@]}" \
  || { echo "official: bench_official.py rc $?"; status=1; }
if [ -n "$webgpu" ]; then
  python3 bench/official/compare.py --official "$json" --webgpu "$webgpu" --merge \
    || echo "official: compare failed (rc $?)"
fi
echo "official: done (status $status): $json"
return "$status"
}
main 2>&1 | tee -a "$out/official.log"
exit "${PIPESTATUS[0]}"
