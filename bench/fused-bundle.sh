#!/usr/bin/env bash
# Makes what bench/fused-run.sh carries: .bundle/ (scripts/bench-bundle.sh: node,
# Dawn, the Vulkan loader, this checkout's dist/) plus .bundle/app-before/dist, the
# engine built from an earlier commit (default: the last one before the fused block),
# so both engines run in the same device call.
#
#   bash bench/fused-bundle.sh [BEFORE_COMMIT]
set -euo pipefail
cd "$(dirname "$0")/.."
before=${1:-0dc7df5}
bash scripts/bench-bundle.sh
tree=$(mktemp -d)
trap 'git worktree remove --force "$tree" >/dev/null 2>&1 || true' EXIT
git worktree add --detach "$tree" "$before" >/dev/null
ln -s "$(pwd)/node_modules" "$tree/node_modules"
(cd "$tree" && npx vite build --mode lib --logLevel error)
rm -rf .bundle/app-before
mkdir -p .bundle/app-before
cp -r "$tree/dist" .bundle/app-before/dist
find .bundle/app-before -name '*.map' -delete
echo "fused-bundle: .bundle/app-before from $(git rev-parse --short "$before")"
