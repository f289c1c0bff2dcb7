#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian (bookworm) machine; safe to run again.
# - chromium (Debian's package): the browser for Playwright (with its SwiftShader
#   WebGPU adapter). `npx playwright install` cannot download browsers here.
# - Mesa's lavapipe Vulkan driver from bookworm-backports, for Dawn in Node on
#   machines without a GPU: 5-25x faster than SwiftShader on our kernels
#   (bookworm's own Mesa 22.3 is too old for Dawn).
# - node_modules from package-lock.json (npm ci), skipped when the lock file has not
#   changed since the last install, so that re-running setup is quick.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
apt_install() {
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

need_update=1
if [ ! -x /usr/bin/chromium ]; then
  echo "setup: installing chromium with apt-get"
  $sudo apt-get update -qq; need_update=0
  apt_install chromium
fi

if [ ! -f /usr/share/vulkan/icd.d/lvp_icd.json ] && [ -r /etc/debian_version ] && grep -q '^12' /etc/debian_version; then
  echo "setup: installing Mesa lavapipe (Vulkan on the CPU) from bookworm-backports"
  src=/etc/apt/sources.list.d/bookworm-backports.sources
  if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' | $sudo tee "$src" >/dev/null
    need_update=1
  fi
  [ "$need_update" -eq 0 ] || $sudo apt-get update -qq
  apt_install -t bookworm-backports mesa-vulkan-drivers libvulkan1
fi

stamp=node_modules/.setup-lock-sha
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi
echo "setup: ok ($(/usr/bin/chromium --version 2>/dev/null | head -n1), node $(node --version))"
