#!/usr/bin/env bash
# Installs what the weft viewer's browser test needs, idempotently:
#   - Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver);
#     test tools must never download their own browser;
#   - playwright-core, pinned in tests/browser/package-lock.json (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  # Refresh the package lists only when apt does not know the package yet.
  if ! apt-cache show chromium >/dev/null 2>&1; then
    $sudo apt-get update
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends chromium chromium-driver
fi

if [ ! -d tests/browser/node_modules/playwright-core ]; then
  (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi
chromium --version
