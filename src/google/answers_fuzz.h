// Google's answers as the clients read them, as one fuzz entry point. The input is an HTTP
// response as text (status line, headers, body; net/testing/http_text.h); it goes through the
// error parser (both of Google's error shapes, Retry-After) and every success parser: event,
// events list, token grant, freeBusy, watch channel, calendar. The property checked: any answer
// gives a typed value or a kBadResponse GoogleError, never a crash, an exception, undefined
// behaviour or a hang; and what a parser returns keeps its promises (an event has an id, a join
// URL only for a successful conference and only https, a grant an access token and an expiry
// after `now` and at most a day away, a Retry-After never negative).
//
//   extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
//     google::FuzzGoogleAnswer(std::string_view(reinterpret_cast<const char*>(data), size));
//     return 0;
//   }
//
// Drivers as for every fuzz target (api/body_fuzz.h): answers_fuzz_test.cc mutates the seeds
// deterministically under g++ in every test run; answers_fuzz_main.cc is the libFuzzer entry,
// built by the `fuzz` preset and run by `scripts/fuzz.sh google_answers_fuzzer SECONDS`. The
// seeds in fuzz_corpus/answers/ are the emulator's real answers (tests/fuzz/capture_seeds.cc).
#pragma once

#include <string_view>

namespace telemeet::google {

// Aborts when a property above is violated (so a fuzzer reports it as a crash).
void FuzzGoogleAnswer(std::string_view http_response);

}  // namespace telemeet::google
