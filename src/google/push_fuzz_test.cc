#include "google/push_fuzz.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "base/testing/fuzz_driver.h"

namespace telemeet::google {
namespace {

const std::vector<std::string> kTokens = {"\r\n",
                                          ":",
                                          " ",
                                          "\t",
                                          "\x7f",
                                          "X-Goog-Channel-ID: ",
                                          "X-Goog-Resource-State: ",
                                          "X-Goog-Channel-Token: ",
                                          "X-Goog-Message-Number: ",
                                          "X-Goog-Resource-ID: ",
                                          "sync",
                                          "exists",
                                          "not_exists",
                                          "18446744073709551616",
                                          "-1",
                                          "+1",
                                          std::string(70, 'c')};

TEST(GooglePushFuzzTest, SeedsParseOrFailCleanly) {
  std::vector<std::string> seeds = ReadFuzzCorpus(TELEMEET_GOOGLE_FUZZ_CORPUS "/push");
  ASSERT_GE(seeds.size(), 2u);
  for (const std::string& seed : seeds) FuzzPushNotification(seed);
  FuzzPushNotification("");
  FuzzPushNotification("POST /google/push HTTP/1.1\r\nX-Goog-Channel-ID: " +
                       std::string(100'000, 'x') + "\r\nX-Goog-Resource-State: exists\r\n\r\n");
}

TEST(GooglePushFuzzTest, TwentyThousandMutationsNeverCrash) {
  std::vector<std::string> seeds = ReadFuzzCorpus(TELEMEET_GOOGLE_FUZZ_CORPUS "/push");
  ASSERT_FALSE(seeds.empty());
  std::mt19937_64 rng(20261208);
  for (int i = 0; i < 20'000; ++i) {
    FuzzPushNotification(MutateForFuzz(seeds[rng() % seeds.size()], rng, kTokens));
  }
}

}  // namespace
}  // namespace telemeet::google
