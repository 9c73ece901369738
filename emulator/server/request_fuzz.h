// What fake-google reads from the code pointed at it, as one fuzz entry point: the Calendar
// routes (event resources, query parameters, sync and page tokens, freeBusy, watch), the Meet
// routes (space patches, list filters and page tokens) and their control routes, the OAuth
// routes (consent pages, token and revoke form bodies, userinfo, tokeninfo) and batch requests
// (multipart parsing, then every part), over a live emulator with one client and one account.
// The input is an HTTP request as text (net/testing/http_text.h). Placeholders in it stand for
// the live credentials of each run (kFuzzAccessToken and the others below), so a mutated request
// reaches the same code as a real client's instead of stopping at 401.
//
// The property checked: any request gets an answer below 500 (the emulator's 5xx are faults a
// test injects, never a reaction to input), with a JSON body that parses whenever it says it is
// JSON; no exception escapes a handler; no crash, undefined behaviour or hang.
//
// Drivers as for every fuzz target (src/api/body_fuzz.h): request_fuzz_test.cc mutates the seeds
// deterministically under g++ in every test run; request_fuzz_main.cc is the libFuzzer entry,
// built by the `fuzz` preset and run by `scripts/fuzz.sh emulator_request_fuzzer SECONDS`. The
// seeds in fuzz_corpus/requests/ are what the product's Google client really sent
// (tests/fuzz/capture_seeds.cc); the Meet seeds (43-49) are written by hand after what
// @googleapis/meet sends. Not thread-safe: one emulator serves every input in turn.
#pragma once

#include <string_view>

namespace telemeet::emulator {

// The client, account and credentials of a fuzz run; seeds write these values.
inline constexpr std::string_view kFuzzClientId = "fuzz-client.apps.example";
inline constexpr std::string_view kFuzzClientSecret = "fuzz-client-secret";
inline constexpr std::string_view kFuzzRedirectUri = "http://127.0.0.1:9/oauth/callback";
inline constexpr std::string_view kFuzzAccount = "doctor@clinic.example";
// Replaced in each input by the run's live values.
inline constexpr std::string_view kFuzzAccessToken = "ya29.FUZZ_ACCESS_TOKEN";
inline constexpr std::string_view kFuzzRefreshToken = "1//FUZZ_REFRESH_TOKEN";
inline constexpr std::string_view kFuzzCode = "4/FUZZ_CODE";  // unredeemed, PKCE plain
inline constexpr std::string_view kFuzzCodeVerifier =
    "FUZZ_CODE_VERIFIER_0123456789_0123456789_0123456789";
inline constexpr std::string_view kFuzzPendingId = "FUZZ_PENDING_CONSENT";
// The account's Meet space (meeting code kFuzzMeetingCode) and a finished conference in it with
// one participant: the live resource ids replace these.
inline constexpr std::string_view kFuzzMeetingCode = "fuz-zmee-tab";
inline constexpr std::string_view kFuzzSpaceId = "FUZZ_SPACE";
inline constexpr std::string_view kFuzzRecordId = "FUZZ_RECORD";
inline constexpr std::string_view kFuzzParticipantId = "FUZZ_PARTICIPANT";

// Aborts when a property above is violated (so a fuzzer reports it as a crash).
void FuzzEmulatorRequest(std::string_view http_request);

}  // namespace telemeet::emulator
