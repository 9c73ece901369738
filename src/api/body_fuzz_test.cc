#include "api/body_fuzz.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace telemeet::api {
namespace {

// Valid and nearly valid bodies the mutations start from.
const std::vector<std::string> kSeeds = {
    R"({"doctor_id":1,"service_id":2,"patient_id":3,"start":"2026-06-02T09:00:00Z"})",
    R"({"doctor_id":1,"service_id":2,"patient_id":3,"start":"2026-03-29T02:30","time_zone":"Europe/Berlin"})",
    R"({"doctor_id":18446744073709551615,"start":"2026-06-02T09:00:00.123456789+14:00","end":null})",
    R"({"status":"confirmed","notes":"\u00e9\ud83d\ude00","end":"2026-10-25T02:30"})",
    R"({"nested":{"a":[1,2,{"b":[[[]]]}]},"doctor_id":-1})",
    R"([{"doctor_id":1}])",
    R"({"doctor_id":1.5e300,"service_id":true,"patient_id":"3"})",
};

// Tokens that make mutations meaningful to a JSON parser.
const std::vector<std::string> kTokens = {
    "{",       "}",     "[",    "]",  ",",     ":",         "\"",   "\\",
    "\\u0000", "null",  "true", "-0", "1e999", "\"start\"", "\xff", "\"2026-02-30T00:00:00Z\"",
    "\"Z\"",   "+99:99"};

std::string Mutate(std::string s, std::mt19937_64& rng) {
  int steps = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < steps; ++i) {
    size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (rng() % 5) {
      case 0:  // flip a byte
        if (!s.empty()) s[pos % s.size()] = static_cast<char>(rng() & 0xff);
        break;
      case 1:  // insert a token
        s.insert(pos, kTokens[rng() % kTokens.size()]);
        break;
      case 2:  // truncate
        s.resize(pos);
        break;
      case 3:  // duplicate a slice
        if (!s.empty()) s.insert(pos, s.substr(rng() % s.size(), 1 + rng() % 16));
        break;
      default:  // erase a slice
        if (!s.empty()) s.erase(pos % s.size(), 1 + rng() % 8);
    }
  }
  return s;
}

TEST(BodyFuzzTest, SeedsParseOrFailCleanly) {
  for (const std::string& seed : kSeeds) FuzzRequestBody(seed);
  FuzzRequestBody("");
  FuzzRequestBody(std::string(10'000, '['));
  FuzzRequestBody("{\"notes\":\"" + std::string(100'000, 'x') + "\"}");
}

// A short deterministic fuzzing run in every test run (FuzzRequestBody aborts on a violation).
TEST(BodyFuzzTest, TwentyThousandMutationsNeverCrash) {
  std::mt19937_64 rng(20261201);
  for (int i = 0; i < 20'000; ++i) {
    std::string input = kSeeds[rng() % kSeeds.size()];
    input = Mutate(std::move(input), rng);
    FuzzRequestBody(input);
  }
}

}  // namespace
}  // namespace telemeet::api
