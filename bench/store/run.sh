#!/usr/bin/env bash
# bench/store: appointments created per second (one transaction each: validation, existence
# checks, insert, reconcile-job upsert) and jobs leased per second (batches of 32; and the
# worker's full cycle, lease + one completion transaction per job), for SQLite and PostgreSQL.
# Each figure is printed beside a baseline measured in the same run on the same database with
# the same durability settings (raw sqlite3 / libpq writing the same rows), and beside the
# machine's fsync rate (4 KiB write + fdatasync), the physical ceiling of durable commits.
# SQLite runs with WAL + synchronous=FULL (telemeet's default); PostgreSQL with fsync on.
# Last, the worker cycle with 4 workers sharing the queue against 1: PostgreSQL commits of
# concurrent sessions share fsyncs (group commit), SQLite writers take turns.
#
#   bench/store/run.sh [appointments] [jobs]     (default 600 2000)
set -euo pipefail
cd "$(dirname "$0")/../.."
n_appts="${1:-600}"
n_jobs="${2:-2000}"
cmake --preset release >/dev/null
cmake --build --preset release --target bench_store >/dev/null
bin=build/release/bench/store/bench_store

dir=$(mktemp -d)
url_file="$dir/pg_url"
cleanup() {
  src/store/testing/pg_server.sh stop "$url_file" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
src/store/testing/pg_server.sh start "$url_file" --durable

fsync=$("$bin" fsync "$dir" 2 | awk '{print $2}')
"$bin" sqlite "$dir" "$n_appts" "$n_jobs" >"$dir/sqlite.out"
"$bin" postgres "$(cat "$url_file")" "$n_appts" "$n_jobs" >"$dir/postgres.out"

val() { awk -v k="$2" '$1 == k {print $2}' "$dir/$1.out"; }
printf '\nfsync rate of this disk (4 KiB write + fdatasync): %s/s\n\n' "$fsync"
printf '%-10s %-34s %10s %10s %8s %10s\n' backend measure store/s raw/s ratio '/fsync'
for b in sqlite postgres; do
  for m in appointments jobs_leased jobs_leased_and_completed; do
    s=$(val $b "${m}_per_s")
    r=$(val $b "raw_${m}_per_s")
    awk -v b="$b" -v m="$m" -v s="$s" -v r="$r" -v f="$fsync" \
      'BEGIN { printf "%-10s %-34s %10d %10d %8.2f %10.2f\n", b, m, s, r, s / r, s / f }'
  done
done
printf '\n%-10s %-34s %10s %10s %8s\n' backend "lease+complete, 4 workers" 4w/s 1w/s ratio
for b in sqlite postgres; do
  s=$(val $b jobs_leased_and_completed_4_workers_per_s)
  r=$(val $b jobs_leased_and_completed_per_s)
  awk -v b="$b" -v s="$s" -v r="$r" \
    'BEGIN { printf "%-10s %-34s %10d %10d %8.2f\n", b, "", s, r, s / r }'
done
