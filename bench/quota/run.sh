#!/usr/bin/env bash
# bench/quota: one Google quota shared by three telemeet instances on one PostgreSQL (issue 17).
# fake-google counts 600 calls per user and 10,000 per project per sliding minute and answers
# 429 beyond; three in-process instances (store, HTTP client, tokens, limiter, reconciler worker
# each) work through a backlog for 20 doctors. Prints the calls Google accepted per minute as a
# share of the project quota (goal >= 90%) and the share answered 403/429 (goal <= 1%), beside
# the same run with each instance pacing on its own (the baseline: three times the quota asked).
#
#   bench/quota/run.sh [seconds] [threads per instance]     (default 150 16)
#   PRESET=debug bench/quota/run.sh 20 4                      (a quick check that it runs)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-150}"
threads="${2:-16}"
preset="${PRESET:-release}"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" --target bench_quota >/dev/null
bin="build/$preset/bench/quota/bench_quota"
pg_script=src/store/testing/pg_server.sh
dir=$(mktemp -d)
cleanup() {
  "$pg_script" stop "$dir/pg_url" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
"$pg_script" start "$dir/pg_url" >/dev/null

# Each run on a schema of its own, so the second starts from an empty database.
url_for() { printf '%s?options=-csearch_path%%3D%s' "$(cat "$dir/pg_url")" "$1"; }
psql_url="$(cat "$dir/pg_url")"
for schema in shared alone; do
  psql "$psql_url" -qc "CREATE SCHEMA $schema" >/dev/null
done
"$bin" "$(url_for shared)" "$seconds" 600 10000 95 "$threads" 1 >"$dir/shared.out"
"$bin" "$(url_for alone)" "$seconds" 600 10000 95 "$threads" 0 >"$dir/alone.out"

val() { awk -v k="$2" '$1 == k {print $2}' "$dir/$1.out"; }
for run in shared alone; do
  if [[ $run == shared ]]; then
    printf '\n[3 instances, 20 doctors, one budget in PostgreSQL, %s s]\n' "$seconds"
  else
    printf '\n[baseline: the same, each instance pacing alone]\n'
  fi
  printf '%-44s %10s\n' "Calendar calls (accepted / answered 429)" \
    "$(val $run accepted) / $(val $run rate_limited)"
  printf '%-44s %10s\n' "accepted per minute" "$(val $run accepted_per_minute)"
  awk -v s="$(val $run quota_share)" \
    'BEGIN { printf "%-44s %9.1f%%   (goal >= 90%%)\n", "share of the project quota", s * 100 }'
  awk -v s="$(val $run rate_limited_share)" \
    'BEGIN { printf "%-44s %9.2f%%   (goal <= 1%%)\n", "calls answered 403/429", s * 100 }'
done
