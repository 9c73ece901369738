#!/usr/bin/env bash
# bench/http: requests/s of telemeet's /healthz against a bare Boost.Beast server measured in the
# same run, both with 2 I/O threads, loaded by wrk (2 threads, 50 keep-alive connections).
# Target: telemeet >= 0.8 of the bare server.
#
#   bench/http/run.sh [seconds]     (default 10)
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-10}"
scripts/deps.sh test >/dev/null
command -v wrk >/dev/null || { echo "wrk is missing" >&2; exit 1; }
cmake --preset release >/dev/null
cmake --build --preset release --target telemeet bench_http_bare_server >/dev/null

dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT

build/release/bench/http/bench_http_bare_server 2 >"$dir/bare.out" &
pids+=($!)
build/release/src/app/telemeet serve --port 0 --data-dir "$dir/data" \
  --set server.io_threads=2 >"$dir/tm.out" 2>"$dir/tm.err" &
pids+=($!)
for _ in $(seq 1 100); do
  grep -q port "$dir/bare.out" && grep -q "is running at" "$dir/tm.out" && break
  sleep 0.1
done
bare_port=$(awk '/port/ {print $2}' "$dir/bare.out")
tm_port=$(grep -o '127.0.0.1:[0-9]*' "$dir/tm.out" | head -n1 | cut -d: -f2)

measure() {  # url -> requests/s
  wrk -t2 -c50 -d"${secs}s" --latency "$1" | tee -a "$dir/wrk.log" |
    awk '/Requests\/sec/ {print $2}'
}
# Warm both up, then alternate so drift on this shared machine hits both alike.
wrk -t2 -c50 -d2s "http://127.0.0.1:$bare_port/healthz" >/dev/null
wrk -t2 -c50 -d2s "http://127.0.0.1:$tm_port/healthz" >/dev/null
bare1=$(measure "http://127.0.0.1:$bare_port/healthz")
tm1=$(measure "http://127.0.0.1:$tm_port/healthz")
bare2=$(measure "http://127.0.0.1:$bare_port/healthz")
tm2=$(measure "http://127.0.0.1:$tm_port/healthz")
bare=$(echo "($bare1 + $bare2) / 2" | bc -l)
tm=$(echo "($tm1 + $tm2) / 2" | bc -l)
p99=$(grep -A4 "Latency Distribution" "$dir/wrk.log" | awk '/99%/ {print $2}' | tail -n1)
printf 'bare Beast server : %10.0f req/s  (runs: %s, %s)\n' "$bare" "$bare1" "$bare2"
printf 'telemeet /healthz : %10.0f req/s  (runs: %s, %s; last p99 %s)\n' "$tm" "$tm1" "$tm2" "$p99"
printf 'ratio             : %10.2f  (target >= 0.80)\n' "$(echo "$tm / $bare" | bc -l)"
