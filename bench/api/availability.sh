#!/usr/bin/env bash
# bench/api availability: GET /api/v1/doctors/{id}/availability for one doctor over a week,
# against the real `telemeet serve` in sandbox mode (SQLite, the in-process Google emulator,
# the demo API key), the doctor connected to Google first, after one warm-up request (so the
# free/busy cache is warm). Two loads by wrk: saturated (2 threads, 50 keep-alive connections:
# requests/s) and steady (4 connections, each pausing 20 ms after every answer, about 190
# requests/s: the p99 a booking page sees). Each answer holds a week of half-hour slots.
# Also the freeBusy calls the emulator saw (its request log) per 1,000 availability requests.
# Targets (issue 16): p99 < 5 ms with a warm cache; <= 20 freeBusy calls per 1,000 requests.
#
#   bench/api/availability.sh [seconds]         (default 10; release build)
#   BUILD=debug bench/api/availability.sh 2     a quick check with the debug build
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-10}"
build="${BUILD:-release}"
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is missing" >&2; exit 1; }
done
if [[ "$build" == release ]]; then
  cmake --preset release >/dev/null
  cmake --build --preset release --target telemeet >/dev/null
fi
bin="build/$build/src/app/telemeet"

dir=$(mktemp -d)
pid=""
cleanup() { [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT

"$bin" serve --port 0 --data-dir "$dir/data" --set log.level=warn --set log.requests=false \
  >"$dir/out" 2>"$dir/err" &
pid=$!
for _ in $(seq 1 200); do
  grep -q "Press Ctrl-C" "$dir/out" 2>/dev/null && break
  sleep 0.1
done
base=$(sed -n 's|.* is running at \(http://[0-9.:]*\)/.*|\1|p' "$dir/out" | head -1)
google=$(sed -n 's|.*Google is emulated at \(http://[0-9.:]*\) .*|\1|p' "$dir/out" | head -1)
key=$(cat "$dir/data/sandbox-api-key")
[[ -n "$base" && -n "$google" && -n "$key" ]] || { cat "$dir/out" "$dir/err" >&2; exit 1; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
api() { curl -sf -H "Authorization: Bearer $key" -H 'Content-Type: application/json' "$@"; }

# The first demo doctor connects Google (the emulator approves the hinted account).
doctor=$(api "$base/api/v1/doctors" | json 'd["data"][0]["id"]')
email=$(api "$base/api/v1/doctors" | json 'd["data"][0]["email"]')
curl -sf -X PATCH -H 'Content-Type: application/json' -d '{"autoApprove":true}' \
  "$google/_emulator/settings" >/dev/null
auth=$(api -X POST "$base/api/v1/doctors/$doctor/google/connect" | json 'd["authorization_url"]')
callback=$(curl -s -o /dev/null -w '%{redirect_url}' "$auth&login_hint=$email")
curl -sf -o /dev/null "$callback"

from=$(date -u -d 'tomorrow 00:00' +%Y-%m-%dT%H:%M:%SZ)
to=$(date -u -d 'tomorrow 00:00 + 7 days' +%Y-%m-%dT%H:%M:%SZ)
url="$base/api/v1/doctors/$doctor/availability?from=$from&to=$to&slot_minutes=30"
consulted=$(api "$url" | json 'd["google_consulted"]')  # also warms the cache
[[ "$consulted" == True ]] || { echo "Google was not consulted" >&2; exit 1; }

freebusy() {
  curl -sf "$google/_emulator/requests" |
    json 'sum(1 for r in d["requests"] if r["path"].startswith("/calendar/v3/freeBusy"))'
}
before=$(freebusy)
out=$(wrk -t2 -c50 -d"${secs}s" --latency -H "Authorization: Bearer $key" "$url")
paced=$(PACE_MS=20 wrk -t2 -c4 -d"${secs}s" --latency -s bench/api/pace.lua \
  -H "Authorization: Bearer $key" "$url" 2>"$dir/paced.err")
after=$(freebusy)
count() { awk '/requests in/ {print $1}' <<<"$1"; }
reqs=$(($(count "$out") + $(count "$paced")))
rps() { awk '/Requests\/sec/ {print $2}' <<<"$1"; }
p99() { grep -A4 "Latency Distribution" <<<"$1" | awk '/99%/ {print $2}'; }
non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")

printf 'GET availability   : %10.0f req/s  p99 %s  (50 connections, warm cache; %s build)\n' \
  "$(rps "$out")" "$(p99 "$out")" "$build"
printf 'GET avail., paced  : %10.0f req/s  p99 %s  (target p99 < 5ms at ~190/s)\n' \
  "$(rps "$paced")" "$(p99 "$paced")"
printf 'freeBusy calls     : %10d for %d requests = %.2f per 1,000 (target <= 20)\n' \
  "$((after - before))" "$reqs" "$(echo "($after - $before) * 1000 / $reqs" | bc -l)"
printf 'errors             : %10d\n' "$(( ${non2xx:-0} + $(wc -l <"$dir/paced.err") ))"
