#!/usr/bin/env bash
# bench/reconcile: appointments reconciled per second end to end (SQLite store + worker pool +
# Calendar client + fake-google over real HTTP) beside the raw insert rate of the same client
# from the same threads without the store, and Google Calendar calls per appointment
# lifecycle (create, reschedule, cancel; the minimum is one each).
#
#   bench/reconcile/run.sh [appointments] [threads]     (default 1000 16)
set -euo pipefail
cd "$(dirname "$0")/../.."
n="${1:-1000}"
threads="${2:-16}"
cmake --preset release >/dev/null
cmake --build --preset release --target bench_reconcile >/dev/null
bin=build/release/bench/reconcile/bench_reconcile
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$bin" "sqlite://$dir/bench.db" "$n" "$threads" >"$dir/out"
val() { awk -v k="$1" '$1 == k {print $2}' "$dir/out"; }
e2e=$(val reconciled_per_s)
raw=$(val raw_client_inserts_per_s)
printf '%-40s %10s\n' "appointments reconciled (ready)" "$(val ready)/$(val appointments)"
printf '%-40s %10s\n' "reconciled/s end to end" "$e2e"
printf '%-40s %10s\n' "raw client Meet inserts/s (baseline)" "$raw"
awk -v e="$e2e" -v r="$raw" 'BEGIN { printf "%-40s %10.2f\n", "ratio end-to-end / raw", e / r }'
printf '%-40s %10s   (minimum 1)\n' "Google calls per create" "$(val calls_create)"
printf '%-40s %10s   (minimum 1)\n' "Google calls per reschedule" "$(val calls_reschedule)"
printf '%-40s %10s   (minimum 1)\n' "Google calls per cancel" "$(val calls_cancel)"
