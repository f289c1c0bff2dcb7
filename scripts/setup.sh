#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine; safe to run again.
# - chromium (Debian's package): the browser for Playwright, and its bundled
#   SwiftShader Vulkan driver gives Dawn in Node a GPU on machines without one.
#   `npx playwright install` cannot download browsers here, so we use the system one.
# - node_modules from package-lock.json (npm ci), skipped when the lock file has not
#   changed since the last install, so that re-running setup is quick.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing chromium with apt-get"
  $sudo apt-get update -qq
  # Output is noisy even with -qq; errors still go to stderr.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi

stamp=node_modules/.setup-lock-sha
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi
echo "setup: ok ($(/usr/bin/chromium --version 2>/dev/null | head -n1), node $(node --version))"
