#!/usr/bin/env bash
# Runs every test: installs what the tests need (pinned, idempotent), then the whole
# workspace with every feature. The README names this command; CI calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

timed() {
  local name=$1; shift
  local start=$SECONDS
  "$@"
  echo "== ${name}: $((SECONDS - start))s"
}

timed "python peers (.venv)" ./scripts/setup-python.sh
[ -x scripts/setup-chromium.sh ] && timed "chromium" ./scripts/setup-chromium.sh
[ -x scripts/setup-brokers.sh ] && timed "brokers" ./scripts/setup-brokers.sh
timed "cargo test" cargo test --workspace --all-features --locked
