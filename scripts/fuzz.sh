#!/usr/bin/env bash
# Fuzzes each W3C parser of weft-context (traceparent, tracestate, baggage) for
# SECONDS each (default 20), asserting that whatever parses round-trips.
# Usage: scripts/fuzz.sh [SECONDS]. Needs the nightly toolchain (libFuzzer's
# instrumentation); installs the pinned cargo-fuzz if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-20}"
case "$seconds" in
  ''|*[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS], got '$seconds'" >&2; exit 2 ;;
esac

cargo_fuzz_version=0.13.2
if ! cargo fuzz --version 2>/dev/null | grep -qF "$cargo_fuzz_version"; then
  cargo install cargo-fuzz --locked --version "$cargo_fuzz_version"
fi

for target in traceparent tracestate baggage; do
  echo "== fuzz $target for ${seconds}s"
  cargo +nightly fuzz run "$target" -- -max_total_time="$seconds"
done
