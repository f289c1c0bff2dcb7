#!/usr/bin/env bash
# Runs the Node test suites (Dawn kernel tests, fixture tests) with vitest.
# Results go to the terminal and to test-results/vitest.json (read by summary.mjs).
# Extra arguments are passed to vitest, e.g. `bash scripts/vitest.sh test/smoke.test.ts`.
set -euo pipefail
cd "$(dirname "$0")/.."
# Dawn needs a Vulkan driver: use Chromium's SwiftShader when none is installed.
. scripts/vulkan-env.sh
# vitest 5 needs Node 22 built-ins; on Node 20 (CI) preload polyfills for them.
if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 22 ]; then
  export NODE_OPTIONS="--import=./scripts/node20-compat.mjs${NODE_OPTIONS:+ $NODE_OPTIONS}"
fi
mkdir -p test-results
exec npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@"
