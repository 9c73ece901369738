#!/usr/bin/env bash
# Builds the libFuzzer targets with clang 19, ASan and UBSan (the `fuzz` preset) and runs them
# from their seed corpora; ends with one summary line counting targets.
#
#   scripts/fuzz.sh                        # every target briefly (CI): "fuzz: 5 passed, 0 failed"
#   scripts/fuzz.sh TARGET SECONDS         # one target for longer, e.g.
#   scripts/fuzz.sh emulator_request_fuzzer 1800
#   scripts/fuzz.sh SECONDS                # every target for SECONDS each
#
# Targets (what each checks is in its header):
#   api_body_fuzzer          API request bodies            src/api/body_fuzz.h
#   google_answers_fuzzer    Google's answers: events, events lists, tokens, errors, Retry-After
#                                                          src/google/answers_fuzz.h
#   google_batch_fuzzer      Google's multipart batch answers   src/google/batch_fuzz.h
#   google_push_fuzzer       push notification headers     src/google/push_fuzz.h
#   emulator_request_fuzzer  fake-google's request parsing emulator/server/request_fuzz.h
#
# Installs clang 19 and its libFuzzer first when missing (as root). The seeds (src/api/fuzz_corpus,
# src/google/fuzz_corpus/*, emulator/server/fuzz_corpus/requests; the Google ones are real
# exchanges written by tests/fuzz/capture_seeds.cc) are copied, so what libFuzzer adds stays out
# of the tree. A crashing input is kept in build/fuzz/fuzz-artifacts/ and named; the script then
# exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."

# name, binary (under build/fuzz), seed directory, seconds in CI, largest input in bytes
targets=(
  "api_body_fuzzer src/api/api_body_fuzzer src/api/fuzz_corpus 30 4096"
  "google_answers_fuzzer src/google/google_answers_fuzzer src/google/fuzz_corpus/answers 20 16384"
  "google_batch_fuzzer src/google/google_batch_fuzzer src/google/fuzz_corpus/batch 20 16384"
  "google_push_fuzzer src/google/google_push_fuzzer src/google/fuzz_corpus/push 10 2048"
  "emulator_request_fuzzer emulator/server/emulator_request_fuzzer emulator/server/fuzz_corpus/requests 30 8192"
)

usage() {
  echo "usage: scripts/fuzz.sh [SECONDS] | scripts/fuzz.sh TARGET SECONDS" >&2
  echo "targets: $(for t in "${targets[@]}"; do printf '%s ' "${t%% *}"; done)" >&2
  exit 2
}
only=""
seconds=""
case $# in
  0) ;;
  1) seconds="$1" ;;
  2) only="$1"; seconds="$2" ;;
  *) usage ;;
esac
if [ -n "$seconds" ] && ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then usage; fi
if [ -n "$only" ]; then
  found=""
  for t in "${targets[@]}"; do [ "${t%% *}" = "$only" ] && found="$t"; done
  [ -n "$found" ] || usage
  targets=("$found")
fi

scripts/deps.sh fuzz

echo "== configure and build (fuzz)"
build_start=$(date +%s)
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)"
echo "fuzz: built the fuzz preset in $(($(date +%s) - build_start))s"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
artifacts="build/fuzz/fuzz-artifacts"
mkdir -p "$artifacts"

# Symbolized stacks in a report: clang 19's runtime does not find Debian's llvm-symbolizer alone.
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ]; then
  symbolizer=$(command -v llvm-symbolizer-19 || command -v llvm-symbolizer || true)
  if [ -n "$symbolizer" ]; then export ASAN_SYMBOLIZER_PATH="$symbolizer"; fi
fi

passed=0
failed=0
for t in "${targets[@]}"; do
  read -r name binary seeds_dir default_seconds max_len <<<"$t"
  secs="${seconds:-$default_seconds}"
  corpus="$work/$name"
  cp -r "$seeds_dir" "$corpus"
  seeds=$(find "$corpus" -type f | wc -l)
  # A dictionary beside the seeds (the keys the parsers branch on), when there is one.
  dict=()
  if [ -f "$seeds_dir.dict" ]; then dict=(-dict="$seeds_dir.dict"); fi
  log="$work/$name.log"
  echo "== $name for ${secs}s from $seeds seeds"
  # -timeout: no input of a few KiB may take seconds; libFuzzer reports it as a crash.
  status=0
  UBSAN_OPTIONS="print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}" \
    "build/fuzz/$binary" -max_total_time="$secs" -max_len="$max_len" -timeout=10 \
    -print_final_stats=1 "${dict[@]}" -artifact_prefix="$artifacts/$name-" "$corpus" >"$log" 2>&1 ||
    status=$?
  # Without libFuzzer's progress lines ("#1234 NEW ...", "NEW_FUNC ...") and suggested
  # dictionary: the start, the end, and any report in full.
  sed -E '/^#[0-9]+\t(NEW|REDUCE|pulse|RELOAD) /d; /^\tNEW_FUNC/d; /^INFO: /d' "$log" |
    sed -E '/^###### Recommended dictionary/,/^###### End of recommended/d'
  # "stat::number_of_executed_units: 391234" and "stat::average_exec_per_sec: 6521"
  runs=$(sed -nE 's/^stat::number_of_executed_units: +([0-9]+)$/\1/p' "$log" | tail -n 1)
  rate=$(sed -nE 's/^stat::average_exec_per_sec: +([0-9]+)$/\1/p' "$log" | tail -n 1)
  grown=$(find "$corpus" -type f | wc -l)
  echo "fuzz: $name: ${runs:-?} runs, ${rate:-?} exec/s, corpus $seeds -> $grown inputs"
  # "...; Test unit written to build/fuzz/fuzz-artifacts/<name>-crash-<sha1>" (or timeout-, ...)
  crash=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -n 1)
  if [ "$status" -ne 0 ]; then
    echo "fuzz: $name: libFuzzer exited with $status; input: ${crash:-none written}" >&2
    echo "fuzz: replay with build/fuzz/$binary ${crash:-<input>}" >&2
    failed=$((failed + 1))
  else
    passed=$((passed + 1))
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
