#!/usr/bin/env bash
# bench/reconcile/pg_floor.sh: how much of a reconcile job's cost on PostgreSQL is the server's
# least work for the job's rows. On one durable throwaway server: a round of bench_reconcile (the
# raw client's CPU a Meet insert, and a reconciled job's in the bench's process and in the rest of
# the machine, there the server), then pgbench writing the same rows per job as set-based SQL in
# batches of 16 (pg_floor_job.sql: no round trip, statement or row more than the rows need), with
# PostgreSQL's plan choice as it is and with generic plans (no planning per execution). Prints the
# CPU a job each took, and the ratio end to end / raw the floor would allow if the reconciler
# itself cost nothing beyond the Google call: raw / (raw + floor server + floor client).
#
#   bench/reconcile/pg_floor.sh [appointments] [floor jobs]     (default 3000 46080)
set -euo pipefail
cd "$(dirname "$0")/../.."
n="${1:-3000}"
floor_jobs="${2:-46080}"
batches_per_client=$(((floor_jobs + 255) / 256))  # 16 clients, 16 jobs a transaction pair
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

ROUNDS=1 "$bin" "$url" "$n" 16 >"$dir/e2e.out"
read -r raw_self e2e_self e2e_rest < <(awk '$1 == "cpu_0" {print $2, $4, $5}' "$dir/e2e.out")

busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }  # user nice system irq softirq
hz=$(getconf CLK_TCK)
# One floor run: fresh data, then 16 pgbench clients; prints "jobs server_us client_us".
floor() {
  psql -qAt "$url" -v M=$((batches_per_client * 256)) -f "$here/pg_floor_setup.sql" >/dev/null
  psql -qAt "$url" -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null
  local a0 j0 b0 b1 done_tx
  a0=$(psql -At "$url" -c "SELECT a0 FROM floor_base")
  j0=$(psql -At "$url" -c "SELECT j0 FROM floor_base")
  b0=$(busy)
  PGOPTIONS="-c plan_cache_mode=$1" /usr/bin/time -f "%U %S" -o "$dir/time" \
    pgbench -n -M prepared -c 16 -j 2 -t "$batches_per_client" -D a0="$a0" -D j0="$j0" \
    -f "$here/pg_floor_job.sql" "$url" >"$dir/pgbench.out" 2>&1 ||
    { cat "$dir/pgbench.out" >&2; exit 1; }
  b1=$(busy)
  done_tx=$(awk -F': ' '/actually processed/ {split($2, a, "/"); print a[1]}' "$dir/pgbench.out")
  awk -v b0="$b0" -v b1="$b1" -v hz="$hz" -v j=$((16 * done_tx)) -v t="$(tail -1 "$dir/time")" \
    'BEGIN { split(t, c, " "); client = c[1] + c[2]; busy = (b1 - b0) / hz
             printf "%d %.0f %.0f\n", j, (busy - client) * 1e6 / j, client * 1e6 / j }'
}
read -r auto_jobs auto_server auto_client < <(floor auto)
read -r gen_jobs gen_server gen_client < <(floor force_generic_plan)

printf '\n[postgres, durable; CPU a job, microseconds]\n'
printf '%-52s %6s\n' "raw client Meet insert (bench process)" "$raw_self"
printf '%-52s %6s + %s\n' "reconciled job: bench process + rest (server)" "$e2e_self" "$e2e_rest"
printf '%-52s %6s + %s   (%s jobs)\n' "floor, plans as chosen: server + client" "$auto_server" \
  "$auto_client" "$auto_jobs"
printf '%-52s %6s + %s   (%s jobs)\n' "floor, generic plans: server + client" "$gen_server" \
  "$gen_client" "$gen_jobs"
awk -v r="$raw_self" -v s="$gen_server" -v c="$gen_client" -v e="$e2e_self" -v x="$e2e_rest" \
  'BEGIN { printf "%-52s %6.2f   (now, by CPU: %.2f)\n", "ratio the floor allows: raw / (raw + floor)", \
           r / (r + s + c), r / (e + x) }'
