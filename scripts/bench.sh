#!/usr/bin/env bash
# Runs weft's benchmarks: the SDK core beside its peers (workspace run + the logfire run in
# benches/peers), the HTTP round trip beside the OpenTelemetry SDK stack (benches/peers),
# then every other bench target in the workspace. Never run in CI.
# Short settings by default; pass other criterion flags to override, e.g.
#   scripts/bench.sh --warm-up-time 3 --measurement-time 10
# Results: target/criterion/ and benches/peers/target/criterion/; docs/benchmarks.md says
# how to read them.
set -euo pipefail
cd "$(dirname "$0")/.."
args=("$@")
if [ ${#args[@]} -eq 0 ]; then args=(--warm-up-time 1 --measurement-time 3); fi

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), load:$(cut -d' ' -f1-3 /proc/loadavg)"
echo "== SDK core (workspace): weft, tracing + tracing-opentelemetry, opentelemetry_sdk"
cargo bench -p weft --bench core -- "${args[@]}"
echo "== SDK core (benches/peers): logfire 0.13.1 beside weft"
(cd benches/peers && cargo bench --bench peers -- "${args[@]}")
echo "== HTTP round trip (benches/peers): plain, weft, the OpenTelemetry SDK stack, interleaved"
(cd benches/peers && cargo bench --bench http_peers)
echo "== other benches in the workspace"
cargo bench --workspace --all-features --benches --exclude weft -- "${args[@]}"
for b in $(ls crates/weft/benches/*.rs 2>/dev/null | xargs -n1 basename | sed 's/\.rs$//'); do
  [ "$b" = core ] || cargo bench -p weft --all-features --bench "$b" -- "${args[@]}"
done
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
