#include "google/answers_fuzz.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "base/testing/fuzz_driver.h"

namespace telemeet::google {
namespace {

// Tokens that make mutations meaningful to the status line, the headers and a JSON parser.
const std::vector<std::string> kTokens = {"{",
                                          "}",
                                          "[",
                                          "]",
                                          ",",
                                          ":",
                                          "\"",
                                          "\\u0000",
                                          "null",
                                          "true",
                                          "-1",
                                          "1e999",
                                          "\"9999999999999999999\"",
                                          "\"-5\"",
                                          "\r\n",
                                          "HTTP/1.1 429 ",
                                          "Retry-After: ",
                                          "Sun, 06 Nov 1994 08:49:37 GMT",
                                          "\"error\"",
                                          "\"errors\"",
                                          "\"expires_in\"",
                                          "\"items\"",
                                          "\"conferenceData\"",
                                          "\"https://\"",
                                          "\"expiration\""};

TEST(GoogleAnswersFuzzTest, SeedsParseOrFailCleanly) {
  std::vector<std::string> seeds = ReadFuzzCorpus(TELEMEET_GOOGLE_FUZZ_CORPUS "/answers");
  ASSERT_GE(seeds.size(), 10u);
  for (const std::string& seed : seeds) FuzzGoogleAnswer(seed);
  FuzzGoogleAnswer("");
  FuzzGoogleAnswer("HTTP/1.1 200 OK\r\n\r\n" + std::string(10'000, '['));
  FuzzGoogleAnswer("HTTP/1.1 429\r\nRetry-After: 99999999999999999999\r\n\r\n{}");
}

// A short deterministic fuzzing run in every test run (FuzzGoogleAnswer aborts on a violation;
// each input goes through seven parsers, so fewer inputs than body_fuzz_test's).
TEST(GoogleAnswersFuzzTest, TwoThousandMutationsNeverCrash) {
  std::vector<std::string> seeds = ReadFuzzCorpus(TELEMEET_GOOGLE_FUZZ_CORPUS "/answers");
  ASSERT_FALSE(seeds.empty());
  std::mt19937_64 rng(20261206);
  for (int i = 0; i < 2'000; ++i) {
    FuzzGoogleAnswer(MutateForFuzz(seeds[rng() % seeds.size()], rng, kTokens));
  }
}

}  // namespace
}  // namespace telemeet::google
