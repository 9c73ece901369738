#!/usr/bin/env bash
# bench/http: requests/s of telemeet's /healthz against a bare Boost.Beast server measured in the
# same run, both with 2 I/O threads, loaded by wrk (2 threads, 50 keep-alive connections).
# Target: telemeet >= 0.8 of the bare server. Also prints the server CPU time per request of
# each (from /proc), a ratio that other load on a shared machine does not skew.
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

cpu_ticks() {  # pid -> user+system clock ticks used so far
  awk '{print $14 + $15}' "/proc/$1/stat"
}
# measure url pid -> "requests/s cpu-microseconds-per-request"
measure() {
  local before after out reqs
  before=$(cpu_ticks "$2")
  out=$(wrk -t2 -c50 -d"${secs}s" --latency "$1")
  after=$(cpu_ticks "$2")
  echo "$out" >>"$dir/wrk.log"
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  echo "$(awk '/Requests\/sec/ {print $2}' <<<"$out") \
$(echo "($after - $before) * 1000000 / $(getconf CLK_TCK) / $reqs" | bc -l)"
}
# Warm both up, then alternate so drift on this shared machine hits both alike.
wrk -t2 -c50 -d2s "http://127.0.0.1:$bare_port/healthz" >/dev/null
wrk -t2 -c50 -d2s "http://127.0.0.1:$tm_port/healthz" >/dev/null
read -r bare1 bare_cpu1 < <(measure "http://127.0.0.1:$bare_port/healthz" "${pids[0]}")
read -r tm1 tm_cpu1 < <(measure "http://127.0.0.1:$tm_port/healthz" "${pids[1]}")
read -r bare2 bare_cpu2 < <(measure "http://127.0.0.1:$bare_port/healthz" "${pids[0]}")
read -r tm2 tm_cpu2 < <(measure "http://127.0.0.1:$tm_port/healthz" "${pids[1]}")
bare=$(echo "($bare1 + $bare2) / 2" | bc -l)
tm=$(echo "($tm1 + $tm2) / 2" | bc -l)
bare_cpu=$(echo "($bare_cpu1 + $bare_cpu2) / 2" | bc -l)
tm_cpu=$(echo "($tm_cpu1 + $tm_cpu2) / 2" | bc -l)
p99=$(grep -A4 "Latency Distribution" "$dir/wrk.log" | awk '/99%/ {print $2}' | tail -n1)
printf 'bare Beast server : %10.0f req/s  %6.1f us CPU/request  (runs: %s, %s)\n' \
  "$bare" "$bare_cpu" "$bare1" "$bare2"
printf 'telemeet /healthz : %10.0f req/s  %6.1f us CPU/request  (runs: %s, %s; last p99 %s)\n' \
  "$tm" "$tm_cpu" "$tm1" "$tm2" "$p99"
printf 'ratio (req/s)     : %10.2f  (target >= 0.80; noisy when the machine is shared)\n' \
  "$(echo "$tm / $bare" | bc -l)"
printf 'ratio (CPU/req)   : %10.2f  (bare / telemeet: the same comparison, robust to load)\n' \
  "$(echo "$bare_cpu / $tm_cpu" | bc -l)"
