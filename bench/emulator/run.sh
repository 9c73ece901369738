#!/usr/bin/env bash
# bench/emulator: sustained requests/s of fake-google for events.get and events.insert at 32
# keep-alive connections (wrk, 2 threads), next to bench/http's bare Boost.Beast server measured
# in the same run, all with 2 I/O threads. Quotas are off (0 = unlimited) so the emulator itself
# is measured. Target: >= 20,000 get/s on the 2-core machine. Then the in-process CPU cost of one
# get, to show where the time goes (Calendar handler vs fake-google's own pipeline).
#
#   bench/emulator/run.sh [seconds]     (default 10)
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-10}"
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 1; }
command -v jq >/dev/null || { echo "jq is missing (apt-get install jq)" >&2; exit 1; }
cmake --preset release >/dev/null
cmake --build --preset release --target fake-google bench_http_bare_server bench_emulator_pipeline \
  >/dev/null

dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT

build/release/bench/http/bench_http_bare_server 2 >"$dir/bare.out" &
pids+=($!)
build/release/emulator/server/fake-google --port 0 --threads 2 --auto-approve \
  --quota-user 0 --quota-project 0 \
  --client 'bench:bench-secret:http://127.0.0.1:1/cb' --account 'bench@example.com:Bench' \
  >"$dir/fg.out" 2>"$dir/fg.err" &
pids+=($!)
for _ in $(seq 1 100); do
  grep -q port "$dir/bare.out" && grep -q "listening on" "$dir/fg.out" && break
  sleep 0.1
done
bare_port=$(awk '/port/ {print $2}' "$dir/bare.out")
fg=$(awk '/listening on/ {print $4}' "$dir/fg.out")

# A token through the real OAuth flow (auto-approve), then one event to read back.
scope=https://www.googleapis.com/auth/calendar
location=$(curl -s -o /dev/null -w '%{redirect_url}' \
  "$fg/o/oauth2/v2/auth?client_id=bench&redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2Fcb&response_type=code&scope=$scope&login_hint=bench%40example.com")
code=$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$location")
token=$(curl -s "$fg/token" -d "code=$code" \
  -d grant_type=authorization_code -d client_id=bench -d client_secret=bench-secret \
  --data-urlencode redirect_uri=http://127.0.0.1:1/cb | jq -r .access_token)
[[ "$token" == ya29.* ]] || { echo "no access token from fake-google" >&2; exit 1; }
event=$(curl -s "$fg/calendar/v3/calendars/primary/events?conferenceDataVersion=1" \
  -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"summary":"Consultation","start":{"dateTime":"2026-03-02T10:00:00Z"},
       "end":{"dateTime":"2026-03-02T10:30:00Z"},"conferenceData":{"createRequest":
       {"requestId":"bench","conferenceSolutionKey":{"type":"hangoutsMeet"}}}}' | jq -r .id)
get_url="$fg/calendar/v3/calendars/primary/events/$event"
insert_url="$fg/calendar/v3/calendars/primary/events"

measure() {  # wrk arguments... -> requests/s
  wrk -t2 -c32 -d"${secs}s" --latency "$@" | tee -a "$dir/wrk.log" |
    awk '/Requests\/sec/ {print $2}'
}
non2xx() { grep -c "Non-2xx" "$dir/wrk.log" || true; }

wrk -t2 -c32 -d2s "http://127.0.0.1:$bare_port/healthz" >/dev/null
wrk -t2 -c32 -d2s -H "Authorization: Bearer $token" "$get_url" >/dev/null
bare1=$(measure "http://127.0.0.1:$bare_port/healthz")
get1=$(measure -H "Authorization: Bearer $token" "$get_url")
ins1=$(measure -s bench/emulator/insert.lua "$insert_url" -- "$token" a1)
bare2=$(measure "http://127.0.0.1:$bare_port/healthz")
get2=$(measure -H "Authorization: Bearer $token" "$get_url")
ins2=$(measure -s bench/emulator/insert.lua "$insert_url" -- "$token" b2)
bare=$(echo "($bare1 + $bare2) / 2" | bc -l)
get=$(echo "($get1 + $get2) / 2" | bc -l)
ins=$(echo "($ins1 + $ins2) / 2" | bc -l)
if [[ $(non2xx) != 0 ]]; then
  echo "warning: some answers were not 2xx:" >&2
  grep "Non-2xx" "$dir/wrk.log" >&2
fi
p99_get=$(grep -A4 "Latency Distribution" "$dir/wrk.log" | awk '/99%/ {print $2}' | sed -n 5p)
printf 'bare Beast server     : %10.0f req/s  (runs: %s, %s)\n' "$bare" "$bare1" "$bare2"
printf 'fake-google get       : %10.0f req/s  (runs: %s, %s; p99 %s)\n' "$get" "$get1" "$get2" "$p99_get"
printf 'fake-google insert    : %10.0f req/s  (runs: %s, %s)\n' "$ins" "$ins1" "$ins2"
printf 'get / bare            : %10.2f\n' "$(echo "$get / $bare" | bc -l)"
printf 'insert / bare         : %10.2f\n' "$(echo "$ins / $bare" | bc -l)"
printf 'get target            : %10s  (>= 20000 get/s)\n' \
  "$(if (( $(echo "$get >= 20000" | bc -l) )); then echo met; else echo MISSED; fi)"
echo "in-process CPU cost (no sockets):"
build/release/bench/emulator/bench_emulator_pipeline 50000 | sed 's/^/  /'
