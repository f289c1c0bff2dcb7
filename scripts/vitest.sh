#!/usr/bin/env bash
# Runs the Node test suites (Dawn kernel tests, fixture tests) with vitest.
# Results go to the terminal and to test-results/vitest.json (read by summary.mjs).
# Extra arguments are passed to vitest, e.g. `bash scripts/vitest.sh test/smoke.test.ts`.
set -euo pipefail
cd "$(dirname "$0")/.."
# Dawn needs a Vulkan driver: use Chromium's SwiftShader when none is installed.
. scripts/vulkan-env.sh
mkdir -p test-results
exec npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@"
