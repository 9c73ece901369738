#!/usr/bin/env bash
# bench/reconcile/pg_floor.sh: how much of a reconcile job's cost on PostgreSQL is the server's
# least work for the job's rows. On one durable throwaway server: bench_reconcile (ROUNDS rounds,
# default 3: the raw client's CPU a Meet insert, and a reconciled job's in the bench's process
# and in the rest of the machine, there the server; medians), then pgbench writing the same rows
# per job as set-based SQL in batches of 16 (pg_floor_job.sql: no round trip, statement or row
# more than the rows need), on the tables bench_reconcile left. The floor's server CPU is the
# server's own (its processes' CPU time, reaped children included), not the machine's. Prints
# the CPU a job each took, and the ratio end to end / raw the floor would allow if the
# reconciler itself cost nothing beyond the Google call: raw / (raw + floor server + floor client).
# (Generic plans, forced, would skip planning: 166 us a job once, 656 another time, as the
# tables' statistics when the plan was made decide whether it scans; not a floor.)
#
#   [ROUNDS=3] bench/reconcile/pg_floor.sh [appointments] [floor jobs]   (default 3000 46080)
set -euo pipefail
cd "$(dirname "$0")/../.."
n="${1:-3000}"
floor_jobs="${2:-46080}"
batches_per_client=$(((floor_jobs + 255) / 256))  # 16 clients, 16 jobs a transaction pair
m=$((batches_per_client * 256))
cmake --preset release >/dev/null
cmake --build --preset release --target bench_reconcile >/dev/null
bin=build/release/bench/reconcile/bench_reconcile
pg_script=src/store/testing/pg_server.sh
here=bench/reconcile
dir=$(mktemp -d)
cleanup() {
  "$pg_script" stop "$dir/pg_url" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
"$pg_script" start "$dir/pg_url" --durable
url=$(cat "$dir/pg_url")
postmaster=$(head -1 "$(cat "$dir/pg_url.dir")/data/postmaster.pid")

ROUNDS="${ROUNDS:-3}" "$bin" "$url" "$n" 16 >"$dir/e2e.out"
median() {
  sort -n | awk '{v[NR] = $1}
                 END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
raw_self=$(awk '$1 ~ /^cpu_/ {print $2}' "$dir/e2e.out" | median)
e2e_self=$(awk '$1 ~ /^cpu_/ {print $4}' "$dir/e2e.out" | median)
e2e_rest=$(awk '$1 ~ /^cpu_/ {print $5}' "$dir/e2e.out" | median)

# The server's CPU time so far, in clock ticks: the postmaster's own and its reaped children's
# (fields 14-17 of /proc/PID/stat), plus its live children's own.
server_ticks() {
  local total=0 pid
  total=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$postmaster/stat")
  for pid in $(pgrep -P "$postmaster"); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
hz=$(getconf CLK_TCK)
# The floor run; prints "jobs server_us client_us".
floor() {
  psql -qAt "$url" -v M="$m" -f "$here/pg_floor_setup.sql" >/dev/null
  psql -qAt -v ON_ERROR_STOP=1 "$url" -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null
  local a0 j0 s0 s1 done_tx left
  a0=$(psql -At "$url" -c "SELECT a0 FROM floor_base")
  j0=$(psql -At "$url" -c "SELECT j0 FROM floor_base")
  s0=$(server_ticks)
  /usr/bin/time -f "%U %S" -o "$dir/time" \
    pgbench -n -M prepared -c 16 -j 2 -t "$batches_per_client" -D a0="$a0" -D j0="$j0" \
    -f "$here/pg_floor_job.sql" "$url" >"$dir/pgbench.out" 2>&1 ||
    { cat "$dir/pgbench.out" >&2; exit 1; }
  sleep 0.5  # the sessions' processes exit and are reaped: their time moves to the postmaster
  s1=$(server_ticks)
  done_tx=$(awk -F': ' '/actually processed/ {split($2, a, "/"); print a[1]}' "$dir/pgbench.out")
  left=$(psql -At "$url" -c "SELECT count(*) FROM jobs WHERE kind = 'reconcile'")
  if [[ "$done_tx" != "$((16 * batches_per_client))" || "$left" != 0 ]]; then
    echo "floor run incomplete: $done_tx transactions, $left reconcile jobs left" >&2
    exit 1
  fi
  awk -v s0="$s0" -v s1="$s1" -v hz="$hz" -v j=$((16 * done_tx)) -v t="$(tail -1 "$dir/time")" \
    'BEGIN { split(t, c, " "); client = c[1] + c[2]
             printf "%d %.0f %.0f\n", j, (s1 - s0) / hz * 1e6 / j, client * 1e6 / j }'
}
read -r done_jobs floor_server floor_client < <(floor)

printf '\n[postgres, durable; CPU a job, microseconds; bench_reconcile: median of %s rounds]\n' \
  "${ROUNDS:-3}"
printf '%-48s %6s\n' "raw client Meet insert (bench process)" "$raw_self"
printf '%-48s %6s + %s\n' "reconciled job: bench process + rest (server)" "$e2e_self" "$e2e_rest"
printf '%-48s %6s + %s   (%s jobs)\n' "floor: server + pgbench" "$floor_server" \
  "$floor_client" "$done_jobs"
awk -v r="$raw_self" -v s="$floor_server" -v c="$floor_client" -v e="$e2e_self" -v x="$e2e_rest" \
  'BEGIN { printf "%-48s %6.2f   (now, by CPU: %.2f)\n", \
             "ratio the floor allows: raw / (raw + floor)", r / (r + s + c), r / (e + x) }'
