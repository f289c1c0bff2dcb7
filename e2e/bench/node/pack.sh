#!/usr/bin/env bash
# Makes e2e/bench/.build/ (git-ignored) for a GPU machine with no network, next to the
# engine bundle of scripts/bench-bundle.sh (.bundle: Node, Dawn, the Vulkan loader):
#   run.mjs          the Node runner with the engine built in (node/vite.config.ts)
#   ort/             onnxruntime-web's WebGPU build: its two .mjs files and its
#                    WebAssembly (xz: 27 MB -> ~4 MB; the working tree that travels is
#                    limited to 64 MiB and .bundle takes about half)
# Carry both (.bundle and e2e/bench/.build) and run e2e/bench/node/h200.sh there.
set -euo pipefail
cd "$(dirname "$0")/../../.."
B=e2e/bench/.build
d=node_modules/onnxruntime-web/dist
npx vite build --config e2e/bench/node/vite.config.ts --logLevel warn
mkdir -p "$B/ort"
cp "$d/ort.webgpu.min.mjs" "$d/ort-wasm-simd-threaded.asyncify.mjs" "$B/ort/"
ver=$(node -p "require('./node_modules/onnxruntime-web/package.json').version")
if [ "$(cat "$B/ort/version" 2>/dev/null)" != "$ver" ] || [ ! -s "$B/ort/ort-wasm-simd-threaded.asyncify.wasm.xz" ]; then
  echo "pack: onnxruntime-web $ver WebAssembly (xz -9)"
  xz -9 -T0 -c "$d/ort-wasm-simd-threaded.asyncify.wasm" >"$B/ort/ort-wasm-simd-threaded.asyncify.wasm.xz"
  echo "$ver" >"$B/ort/version"
fi
du -sh "$B" .bundle 2>/dev/null || true
