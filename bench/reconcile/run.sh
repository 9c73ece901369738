#!/usr/bin/env bash
# bench/reconcile: appointments reconciled per second end to end (store + worker pool + Calendar
# client + fake-google over real HTTP) beside the raw insert rate of the same client from the
# same threads without the store (the baseline), in rounds of the two back to back (ROUNDS,
# default 5; the ratio is taken within each round and the median is the figure, as this
# machine's rates drift between runs), and Google Calendar calls per appointment lifecycle
# (create, reschedule, cancel; the minimum is one each). On SQLite also the store's write
# transactions per commit (group commit shares commits across jobs). Per round also the CPU
# time a job took (microseconds): the bench process's (worker, client, fake-google) and the rest
# of the machine's (the PostgreSQL server, and any other load on this shared machine); on SQLite
# also the KiB a job wrote to disk (the WAL, and the checkpoints that copy it into the database).
# SQLite always; PostgreSQL too when the store's pg_server.sh is in the tree. With LATENCY_MS set,
# an extra line: both rates again with fake-google answering every call that late (context for a
# real Google's round trips; the goal is the zero-latency ratio).
#
#   [ROUNDS=5] [LATENCY_MS=50] bench/reconcile/run.sh [appointments] [threads]   (default 1000 16)
set -euo pipefail
cd "$(dirname "$0")/../.."
n="${1:-1000}"
threads="${2:-16}"
cmake --preset release >/dev/null
cmake --build --preset release --target bench_reconcile >/dev/null
bin=build/release/bench/reconcile/bench_reconcile
pg_script=src/store/testing/pg_server.sh
dir=$(mktemp -d)
cleanup() {
  if [[ -x "$pg_script" ]]; then "$pg_script" stop "$dir/pg_url" >/dev/null 2>&1 || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

backends=("sqlite")
"$bin" "sqlite://$dir/bench.db" "$n" "$threads" >"$dir/sqlite.out"
if [[ -x "$pg_script" ]]; then
  "$pg_script" start "$dir/pg_url" --durable
  "$bin" "$(cat "$dir/pg_url")" "$n" "$threads" >"$dir/postgres.out"
  backends+=("postgres")
fi

val() { awk -v k="$2" '$1 == k {print $2}' "$dir/$1.out"; }
for b in "${backends[@]}"; do
  e2e=$(val "$b" reconciled_per_s)
  raw=$(val "$b" raw_client_inserts_per_s)
  printf '\n[%s, %s appointments a round, %s worker threads]\n' "$b" "$n" "$threads"
  printf '%-40s %10s\n' "appointments reconciled (ready)" "$(val "$b" ready)/$(val "$b" appointments)"
  awk '$1 ~ /^round_/ { printf "%-40s %10.1f   (raw %.1f/s: %.2f)\n", \
    "round " substr($1, 7) ": reconciled/s", $3, $2, $4 }' "$dir/$b.out"
  awk '$1 ~ /^cpu_/ { printf "%-40s %4.0f + %4.0f   (raw insert: %.0f + %.0f)\n", \
    "round " substr($1, 5) ": CPU us/job, process + rest", $4, $5, $2, $3 }' "$dir/$b.out"
  if [[ "$b" == sqlite ]]; then
    awk '$1 ~ /^cpu_/ { printf "%-40s %10.1f\n", "round " substr($1, 5) ": KiB written to disk/job", $6 }' \
      "$dir/$b.out"
  fi
  printf '%-40s %10s\n' "reconciled/s end to end (median)" "$e2e"
  printf '%-40s %10s\n' "raw client Meet inserts/s (median)" "$raw"
  printf '%-40s %10.2f   (target >= 0.5, issue 19)\n' "ratio end-to-end / raw (median)" \
    "$(val "$b" ratio)"
  if [[ "$(val "$b" store_commits)" != 0 ]]; then
    awk -v w="$(val "$b" store_writes)" -v c="$(val "$b" store_commits)" \
      'BEGIN { printf "%-40s %10.2f   (%d writes in %d commits)\n", "store writes per commit", w / c, w, c }'
  fi
  printf '%-40s %10s   (minimum 1)\n' "Google calls per create" "$(val "$b" calls_create)"
  printf '%-40s %10s   (minimum 1)\n' "Google calls per reschedule" "$(val "$b" calls_reschedule)"
  printf '%-40s %10s   (minimum 1)\n' "Google calls per cancel" "$(val "$b" calls_cancel)"
  if [[ -n "$(val "$b" latency_ms)" ]]; then
    awk -v l="$(val "$b" latency_ms)" -v e="$(val "$b" reconciled_per_s_latency)" \
      -v r="$(val "$b" raw_client_inserts_per_s_latency)" -v ok="$(val "$b" ready_latency)" \
      'BEGIN { printf "%-40s %10.2f   (%.1f/s vs raw %.1f/s, %d ready; context only)\n", \
        "ratio at " l " ms Google latency", e / r, e, r, ok }'
  fi
done
