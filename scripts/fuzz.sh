#!/usr/bin/env bash
# Builds the libFuzzer target over request-body parsing (src/api/body_fuzz.h) with clang 19,
# ASan and UBSan, runs it from the seed corpus for a while, and ends with one summary line.
#
#   scripts/fuzz.sh        # 60 seconds; ends with "fuzz: 1 passed, 0 failed"
#   scripts/fuzz.sh 600    # longer
#
# Installs clang 19 and its libFuzzer first when missing (as root). The seeds in
# src/api/fuzz_corpus/ are copied, so what libFuzzer adds stays out of the tree. A crashing
# input is kept in build/fuzz/fuzz-artifacts/ and named; the script then exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/fuzz.sh [seconds]" >&2
  exit 2
fi

scripts/deps.sh fuzz

jobs=$(nproc)
echo "== configure and build (fuzz)"
build_start=$(date +%s)
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$jobs"
echo "fuzz: built api_body_fuzzer in $(($(date +%s) - build_start))s"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r src/api/fuzz_corpus "$work/corpus"
artifacts="build/fuzz/fuzz-artifacts"
mkdir -p "$artifacts"
seeds=$(find "$work/corpus" -type f | wc -l)

# Symbolized stacks in a report: clang 19's runtime does not find Debian's llvm-symbolizer alone.
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ]; then
  symbolizer=$(command -v llvm-symbolizer-19 || command -v llvm-symbolizer || true)
  if [ -n "$symbolizer" ]; then export ASAN_SYMBOLIZER_PATH="$symbolizer"; fi
fi

echo "== fuzz for ${seconds}s from $seeds seeds"
# -timeout: no body of at most 4 KiB may take seconds to parse; libFuzzer reports it as a crash.
status=0
UBSAN_OPTIONS="print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}" \
  build/fuzz/src/api/api_body_fuzzer -max_total_time="$seconds" -max_len=4096 -timeout=10 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" "$work/corpus" >"$work/log" 2>&1 ||
  status=$?
# Without libFuzzer's progress lines ("#1234 NEW ...", "NEW_FUNC ...") and suggested dictionary:
# the start, the end, and any report in full.
sed -E '/^#[0-9]+\t(NEW|REDUCE|pulse|RELOAD) /d; /^\tNEW_FUNC/d' "$work/log" |
  sed -E '/^###### Recommended dictionary/,/^###### End of recommended/d'

# "stat::number_of_executed_units: 391234" and "stat::average_exec_per_sec: 6521"
runs=$(sed -nE 's/^stat::number_of_executed_units: +([0-9]+)$/\1/p' "$work/log" | tail -n 1)
rate=$(sed -nE 's/^stat::average_exec_per_sec: +([0-9]+)$/\1/p' "$work/log" | tail -n 1)
corpus=$(find "$work/corpus" -type f | wc -l)
echo "fuzz: ${runs:-?} runs, ${rate:-?} exec/s, corpus $seeds -> $corpus inputs"

# "...; Test unit written to build/fuzz/fuzz-artifacts/crash-<sha1>" (or timeout-, leak-, oom-)
crash=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$work/log" | tail -n 1)
if [ "$status" -ne 0 ]; then
  echo "fuzz: libFuzzer exited with $status; input: ${crash:-none written}" >&2
  echo "fuzz: replay with build/fuzz/src/api/api_body_fuzzer ${crash:-<input>}" >&2
  echo "fuzz: 0 passed, 1 failed"
  exit 1
fi
echo "fuzz: 1 passed, 0 failed"
