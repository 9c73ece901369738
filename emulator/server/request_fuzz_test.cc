#include "emulator/server/request_fuzz.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "base/testing/fuzz_driver.h"

namespace telemeet::emulator {
namespace {

// Tokens that make mutations meaningful to the request line, query strings, form and JSON
// bodies and multipart framing.
const std::vector<std::string> kTokens = {"{",
                                          "}",
                                          "[",
                                          "]",
                                          ",",
                                          ":",
                                          "\"",
                                          "null",
                                          "-1",
                                          "1e999",
                                          "%",
                                          "%zz",
                                          "&",
                                          "=",
                                          "?",
                                          "/",
                                          "\r\n",
                                          "--",
                                          "\"dateTime\"",
                                          "\"date\"",
                                          "\"2026-03-29T02:30:00\"",
                                          "\"timeZone\"",
                                          "\"recurrence\"",
                                          "\"RRULE:FREQ=DAILY;COUNT=99999\"",
                                          "\"conferenceData\"",
                                          "pageToken=",
                                          "syncToken=",
                                          "maxResults=",
                                          "timeMin=",
                                          "privateExtendedProperty=",
                                          "grant_type=",
                                          "refresh_token",
                                          "code_verifier=",
                                          "filter=",
                                          "+AND+",
                                          "+OR+",
                                          "IS+NULL",
                                          "%22",
                                          "updateMask=",
                                          "\"accessType\"",
                                          "Content-Type: multipart/mixed; boundary=b\r\n"};

TEST(EmulatorRequestFuzzTest, SeedsAnswerCleanly) {
  std::vector<std::string> seeds = ReadFuzzCorpus(TELEMEET_EMULATOR_FUZZ_CORPUS "/requests");
  ASSERT_GE(seeds.size(), 10u);
  for (const std::string& seed : seeds) FuzzEmulatorRequest(seed);
  FuzzEmulatorRequest("");
  FuzzEmulatorRequest(
      "POST /calendar/v3/calendars/primary/events HTTP/1.1\r\nAuthorization: "
      "Bearer ya29.FUZZ_ACCESS_TOKEN\r\n\r\n" +
      std::string(10'000, '['));
}

// A short deterministic fuzzing run in every test run (FuzzEmulatorRequest aborts on a
// violation).
TEST(EmulatorRequestFuzzTest, TwoThousandMutationsNeverCrash) {
  std::vector<std::string> seeds = ReadFuzzCorpus(TELEMEET_EMULATOR_FUZZ_CORPUS "/requests");
  ASSERT_FALSE(seeds.empty());
  std::mt19937_64 rng(20261209);
  for (int i = 0; i < 2'000; ++i) {
    FuzzEmulatorRequest(MutateForFuzz(seeds[rng() % seeds.size()], rng, kTokens));
  }
}

}  // namespace
}  // namespace telemeet::emulator
