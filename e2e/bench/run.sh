#!/usr/bin/env bash
# npm run bench:browser [-- FLAGS]: Vim (vim-webgpu) vs DeiT (onnxruntime-web) across
# resolutions, in Chromium (default) or in Node through Dawn (--node).
#
#   --quick                 Vim-Ti + DeiT-Ti at 224 and 384 px, 3 runs (for software adapters)
#   --models vim_ti,deit_ti --sizes 224,512 --batches 1,8 --runs 10 --warmup 3
#   --case-budget S         seconds per case after loading (skips predicted overruns)
#   --total-budget S        seconds for the whole run
#   --mem-limit MIB         skip larger batches predicted to need more buffer memory
#   --ort webgpu|jsep       ORT build: onnxruntime-web/webgpu (default) or the JSEP one
#   --node                  run in Node + Dawn (e2e/bench/node/run.ts, built first)
#   --report FILE.json      only render FILE's HTML report and PNG (in Chromium)
#   --no-export             do not (re)make missing DeiT graphs first
# Results: bench/results/browser-<adapter>-<date>.{json,html,png} (Node: browser-node-*).
set -euo pipefail
cd "$(dirname "$0")/../.."

node_mode=0
export_graphs=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) export BENCH_QUICK=1 ;;
    --models) export BENCH_MODELS="$2"; shift ;;
    --sizes) export BENCH_SIZES="$2"; shift ;;
    --batches) export BENCH_BATCHES="$2"; shift ;;
    --runs) export BENCH_RUNS="$2"; shift ;;
    --warmup) export BENCH_WARMUP="$2"; shift ;;
    --case-budget) export BENCH_CASE_BUDGET_S="$2"; shift ;;
    --total-budget) export BENCH_TOTAL_BUDGET_S="$2"; shift ;;
    --mem-limit) export BENCH_MEM_LIMIT_MIB="$2"; shift ;;
    --ort) export BENCH_ORT="$2"; shift ;;
    --node) node_mode=1 ;;
    --report) export BENCH_REPORT="$2"; export_graphs=0; shift ;;
    --no-export) export_graphs=0 ;;
    *) echo "bench:browser: unknown flag '$1' (see e2e/bench/run.sh)" >&2; exit 2 ;;
  esac
  shift
done

# The DeiT graphs the run needs (up-to-date files are kept). Defaults as in lib/schedule.ts.
if [ "$export_graphs" = 1 ]; then
  if [ "${BENCH_QUICK:-0}" = 1 ]; then models=${BENCH_MODELS:-vim_ti,deit_ti}; sizes=${BENCH_SIZES:-224,384}
  else models=${BENCH_MODELS:-vim_ti,deit_ti,vim_s,deit_s}; sizes=${BENCH_SIZES:-224,384,512,640,738,1024,1248}; fi
  deit=$(echo "$models" | tr ',' '\n' | grep '^deit' | paste -sd, || true)
  if [ -n "$deit" ]; then
    py=${PYTHON:-python3}
    [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import torch' 2>/dev/null && py=${PYTHON:-/usr/bin/python3}
    nice -n 10 "$py" bench/deit/export_deit.py --models "$deit" --sizes "$sizes" \
      || echo "bench:browser: DeiT export failed; DeiT cases without a graph will be reported as failed" >&2
  fi
fi

if [ "$node_mode" = 1 ]; then
  # A Vulkan driver for Dawn where there is no GPU: lavapipe if installed, else SwiftShader.
  [ -f scripts/vulkan-env.sh ] && . scripts/vulkan-env.sh
  nice -n 10 npx vite build --config e2e/bench/node/vite.config.ts --logLevel warn
  exec nice -n 10 node e2e/bench/.build/run.mjs
fi
# Low priority: the machine may be shared, and a benchmark should not starve others.
exec nice -n 10 npx playwright test --config e2e/bench/playwright.bench.config.ts driver.bench.ts
