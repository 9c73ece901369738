// The request-body parsing the API applies to every write, as one fuzz entry point: strict JSON
// objects (Body::Parse with an allowed field list), the typed getters, and time parsing. The
// property checked: any input gives a value or a 4xx-style error naming what is wrong, never a
// crash, an exception or an accepted unknown field.
//
//   extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
//     api::FuzzRequestBody(std::string_view(reinterpret_cast<const char*>(data), size));
//     return 0;
//   }
//
// Two drivers. body_fuzz_test.cc runs deterministic mutations under g++ in every test run.
// body_fuzz_main.cc is the libFuzzer entry: `scripts/fuzz.sh api_body_fuzzer SECONDS` (CI runs
// it for 30 s) builds it with clang 19 (the `fuzz` preset: ASan + UBSan, only the sources body
// parsing links) and runs it from the seeds in fuzz_corpus/; a crashing input is left in
// build/fuzz/fuzz-artifacts/ and replays with `build/fuzz/src/api/api_body_fuzzer <file>`.
// Debian's default clang, 14, cannot build it: libstdc++ 12's <expected> needs C++20 concepts
// at level 202002, which clang 14 does not announce; clang 19 (Debian 12 main) does.
#pragma once

#include <string_view>

namespace telemeet::api {

// Parses `body` as an appointment-create request would be parsed; aborts when a property above
// is violated (so a fuzzer reports it as a crash).
void FuzzRequestBody(std::string_view body);

}  // namespace telemeet::api
