#!/usr/bin/env bash
# Runs every test telemeet has and ends with one summary line.
#
#   scripts/test.sh            # unit, integration, PostgreSQL, conformance and browser tests,
#                              # built with AddressSanitizer + UBSan (preset asan)
#   scripts/test.sh debug      # the same in a plain debug build
#   scripts/test.sh tsan       # the same but the browser tests, under ThreadSanitizer
#
# The default is the sanitized build because it is the one every change should pass: it costs
# one build instead of two (plain and sanitized) wherever the whole suite runs, CI included.
#
# Installs missing Debian packages first (as root). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

preset="${1:-asan}"
case "$preset" in
  debug|asan|tsan) ;;
  *) echo "usage: scripts/test.sh [debug|asan|tsan]" >&2; exit 2 ;;
esac

scripts/deps.sh test

jobs=$(nproc)
echo "== configure and build ($preset)"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$jobs"

echo "== ctest ($preset)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# TSan needs a fixed address-space layout on newer kernels; harmless elsewhere.
runner=()
if [ "$preset" = "tsan" ] && command -v setarch >/dev/null; then
  runner=(setarch "$(uname -m)" -R)
fi
# The browser suite drives the UI's JavaScript. Under ThreadSanitizer the server code it reaches
# is covered by the HTTP integration tests, at a fraction of the time.
select=()
if [ "$preset" = "tsan" ]; then
  select=(-LE browser)
fi
"${runner[@]}" ctest --preset "$preset" -j "$jobs" --timeout 600 "${select[@]}" 2>&1 | tee "$log" || status=$?

# ctest's own summary: "100% tests passed, 0 tests failed out of 59"
line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$log" | tail -n 1 || true)
failed=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")
total=$(sed -E 's/.* tests failed out of ([0-9]+).*/\1/' <<<"$line")
if [ -z "$line" ]; then
  echo "ctest printed no summary" >&2
  exit 1
fi
passed=$((total - failed))
echo "$preset: $passed passed, $failed failed"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$total" -eq 0 ]; then
  exit 1
fi
