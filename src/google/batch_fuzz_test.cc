#include "google/batch_fuzz.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "base/testing/fuzz_driver.h"

namespace telemeet::google {
namespace {

const std::vector<std::string> kTokens = {"\r\n",
                                          "\n",
                                          "--",
                                          "--batch_x",
                                          "--batch_x--",
                                          "Content-ID: <response-item-",
                                          ">",
                                          "HTTP/1.1 ",
                                          "200",
                                          "409 Conflict",
                                          "Content-Type: application/http\r\n",
                                          "boundary=",
                                          "\"",
                                          ";",
                                          "{\"id\":\"abcde\"}",
                                          "18446744073709551616"};

TEST(GoogleBatchFuzzTest, SeedsParseOrFailCleanly) {
  std::vector<std::string> seeds = ReadFuzzCorpus(TELEMEET_GOOGLE_FUZZ_CORPUS "/batch");
  ASSERT_GE(seeds.size(), 2u);
  for (const std::string& seed : seeds) FuzzGoogleBatchAnswer(seed);
  FuzzGoogleBatchAnswer("");
  FuzzGoogleBatchAnswer("HTTP/1.1 200 OK\r\nContent-Type: multipart/mixed; boundary=\r\n\r\n--");
  FuzzGoogleBatchAnswer("HTTP/1.1 200 OK\r\nContent-Type: multipart/mixed; boundary=\"\"\r\n\r\n");
}

TEST(GoogleBatchFuzzTest, ThreeThousandMutationsNeverCrash) {
  std::vector<std::string> seeds = ReadFuzzCorpus(TELEMEET_GOOGLE_FUZZ_CORPUS "/batch");
  ASSERT_FALSE(seeds.empty());
  std::mt19937_64 rng(20261207);
  for (int i = 0; i < 3'000; ++i) {
    FuzzGoogleBatchAnswer(MutateForFuzz(seeds[rng() % seeds.size()], rng, kTokens));
  }
}

}  // namespace
}  // namespace telemeet::google
