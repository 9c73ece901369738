#!/usr/bin/env bash
# bench/google_client: telemeet's Google client against the official Node clients
# (google-auth-library + @googleapis/calendar), both creating N events with Google Meet across
# D doctors at concurrency C against the same fake-google (quotas off), in the same run.
# Prints wall time, events/s, CPU seconds and peak RSS of both, the ratios, and the
# token-endpoint calls per doctor (expected 1 each: the code exchange, no refresh).
# Target: ours >= 3x the Node client's events/s at <= 1/4 of its CPU seconds.
#
#   bench/google_client/run.sh [events] [doctors] [concurrency]    (default 5000 50 32)
set -euo pipefail
cd "$(dirname "$0")/../.."
events="${1:-5000}"
doctors="${2:-50}"
conc="${3:-32}"
command -v node >/dev/null || { echo "node is missing" >&2; exit 1; }
if [ ! -d node_modules/@googleapis/calendar ] && [ -z "${NODE_PATH:-}" ]; then
  scripts/deps.sh test >/dev/null
fi
cmake --preset release >/dev/null
cmake --build --preset release --target fake-google bench_google_client >/dev/null

dir=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT

client_id="bench.apps.example"
secret="bench-secret"
redirect="http://127.0.0.1:9/oauth/callback"
args=(--port 0 --threads 2 --auto-approve --quota-user 0 --quota-project 0
      --client "$client_id:$secret:$redirect")
for d in $(seq 0 $((doctors - 1))); do args+=(--account "doctor$d@clinic.test"); done
build/release/emulator/server/fake-google "${args[@]}" >"$dir/fg.out" 2>"$dir/fg.err" &
pid=$!
for _ in $(seq 1 100); do grep -q "listening on" "$dir/fg.out" && break; sleep 0.1; done
base=$(grep -o 'http://127.0.0.1:[0-9]*' "$dir/fg.out" | head -n1)

reset() { curl -sf -X POST "$base/_emulator/reset" >/dev/null; }
run_ours() {
  build/release/bench/google_client/bench_google_client --base "$base" --client-id "$client_id" \
    --client-secret "$secret" --redirect "$redirect" --account-prefix doctor \
    --account-domain clinic.test --doctors "$doctors" --events "$events" --concurrency "$conc"
}
run_node() {
  node bench/google_client/node/load.js "$base" "$client_id" "$secret" "$redirect" doctor \
    clinic.test "$doctors" "$events" "$conc"
}
reset; ours=$(run_ours)
reset; theirs=$(run_node)
echo "$ours" >"$dir/ours.json"
echo "$theirs" >"$dir/theirs.json"

node bench/google_client/node/report.js "$dir/ours.json" "$dir/theirs.json"
