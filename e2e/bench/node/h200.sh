#!/usr/bin/env bash
# The browser benchmark's Node runner on a Linux NVIDIA machine with no network, from
# the repo root, with .bundle (scripts/bench-bundle.sh) and e2e/bench/.build
# (e2e/bench/node/pack.sh) carried:
#   1. bench/gpu-run.sh --setup-only: Vulkan loader, Node and Dawn into /tmp/vim-webgpu-rt;
#   2. the DeiT graphs with the machine's torch (bench/deit/export_deit.py; kept if there);
#   3. the runner: every case in its own Node process, results into $OUT (else bench/results):
#      browser-node-<adapter>-<date>.json and .html.
# Options come from BENCH_* variables (see e2e/bench/run.sh); here the defaults are the
# full set (4 models, 7 sizes, batch 1 then 8) within BENCH_TOTAL_BUDGET_S=420, so that
# setup + export + run fit one 10-minute call. EXPORT_ONLY=1 stops after step 2.
set -uo pipefail
cd "$(dirname "$0")/../../.."
out=${OUT:-bench/results}
rt=/tmp/vim-webgpu-rt
app=$rt/app/bench-browser
say() { echo "h200: $*"; }
mkdir -p "$out"

[ -f e2e/bench/.build/run.mjs ] && [ -s e2e/bench/.build/ort/ort-wasm-simd-threaded.asyncify.wasm.xz ] \
  || { say "no e2e/bench/.build (make it with: bash e2e/bench/node/pack.sh, and carry it)"; exit 1; }

# 1. Node + Dawn + Vulkan loader. gpu-run.sh exports VK_DRIVER_FILES only for itself:
# when it had to point the loader at the NVIDIA ICD, do the same here.
setup_log=$(bash bench/gpu-run.sh --setup-only --out "$out" --rt "$rt" 2>&1); rc=$?
echo "$setup_log"
[ "$rc" = 0 ] || { say "setup failed (rc $rc)"; exit 1; }
icd=$(echo "$setup_log" | grep -o 'VK_DRIVER_FILES=[^ ]*' | tail -n1 | cut -d= -f2)
[ -n "$icd" ] && export VK_DRIVER_FILES=$icd

# 2. DeiT graphs (TorchScript exporter where torch offers it; see export_deit.py).
python3 bench/deit/export_deit.py --models deit_ti,deit_s --sizes "${BENCH_SIZES:-224,384,512,640,738,1024,1248}" \
  || { say "DeiT export failed"; exit 1; }
[ "${EXPORT_ONLY:-0}" = 1 ] && exit 0

# 3. The runner, where `import 'webgpu'` finds the package gpu-run.sh unpacked.
rm -rf "$app" && mkdir -p "$app/ort"
cp e2e/bench/.build/run.mjs "$app/"
cp e2e/bench/.build/ort/*.mjs "$app/ort/"
if command -v xz >/dev/null; then xz -dc e2e/bench/.build/ort/ort-wasm-simd-threaded.asyncify.wasm.xz >"$app/ort/ort-wasm-simd-threaded.asyncify.wasm"
else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' \
  e2e/bench/.build/ort/ort-wasm-simd-threaded.asyncify.wasm.xz "$app/ort/ort-wasm-simd-threaded.asyncify.wasm"; fi
export BENCH_ORT_DIR=$app/ort BENCH_ONNX_DIR=$PWD/bench/deit/onnx BENCH_OUT=$out
export BENCH_TOTAL_BUDGET_S=${BENCH_TOTAL_BUDGET_S:-420}
"$rt/node" "$app/run.mjs" 2>&1 | tee "$out/browser-node.log"
exit "${PIPESTATUS[0]}"
