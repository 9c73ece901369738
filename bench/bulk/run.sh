#!/usr/bin/env bash
# bench/bulk: a backfill of existing confirmed appointments, made two ways in the same run on
# SQLite, each against its own fake-google answering after a simulated network latency: one
# Google call per appointment (the service's worker pool: the baseline) and bulk backfill jobs
# through batch requests of up to 50 calls (sync/bulk.h). Prints the HTTP requests Google
# received and the wall time of each, and the ratios (goals: requests <= 1/20, time <= 1/3).
# Rate limits are lifted in both runs (Google's 600 calls/min per user would pace both alike).
#
#   bench/bulk/run.sh [appointments] [doctors] [latency_ms] [worker_threads] [runners]
#                     (default 5000 50 50 16 8)
set -euo pipefail
cd "$(dirname "$0")/../.."
n="${1:-5000}"
doctors="${2:-50}"
latency="${3:-50}"
threads="${4:-16}"
runners="${5:-8}"
cmake --preset release >/dev/null
cmake --build --preset release --target bench_bulk >/dev/null
bin=build/release/bench/bulk/bench_bulk
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

"$bin" "$dir" "$n" "$doctors" "$latency" "$threads" "$runners" >"$dir/out"
val() { awk -v k="$1" '$1 == k {print $2}' "$dir/out"; }
printf '\n[sqlite, %s appointments, %s doctors, %s ms per Google answer]\n' "$n" "$doctors" "$latency"
printf '%-44s %10s %12s\n' "" "requests" "seconds"
printf '%-44s %10s %12s   (%s ready)\n' "one call per appointment ($threads worker threads)" \
  "$(val single_http_requests)" "$(val single_seconds)" "$(val single_ready)"
printf '%-44s %10s %12s   (%s ready, %s failed jobs)\n' "bulk backfill via batch ($runners doctors at a time)" \
  "$(val bulk_http_requests)" "$(val bulk_seconds)" "$(val bulk_ready)" "$(val bulk_failed_jobs)"
awk -v a="$(val bulk_http_requests)" -v b="$(val single_http_requests)" \
  'BEGIN { printf "%-44s %10.4f   (goal <= 0.05: 1/20)\n", "requests ratio bulk / single", a / b }'
awk -v a="$(val bulk_seconds)" -v b="$(val single_seconds)" \
  'BEGIN { printf "%-44s %10.4f   (goal <= 0.33: 1/3)\n", "wall time ratio bulk / single", a / b }'
