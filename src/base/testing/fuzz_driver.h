// The g++ half of a fuzz target: a deterministic mutation run over a seed corpus, so that every
// test run (under ASan/UBSan in CI) fuzzes a little even without clang and libFuzzer.
//
//   std::vector<std::string> seeds = ReadFuzzCorpus(TELEMEET_GOOGLE_FUZZ_CORPUS "/answers");
//   std::mt19937_64 rng(20261206);
//   for (int i = 0; i < 20'000; ++i)
//     FuzzGoogleAnswer(MutateForFuzz(seeds[rng() % seeds.size()], rng, kTokens));
//
// Header-only; test code only.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace telemeet {

// Every file of a seed directory, in name order (so a run is reproducible).
inline std::vector<std::string> ReadFuzzCorpus(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<std::string> out;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    out.push_back(text.str());
  }
  return out;
}

// One to four edits: flip a byte, insert a token, truncate, duplicate or erase a slice.
inline std::string MutateForFuzz(std::string s, std::mt19937_64& rng,
                                 const std::vector<std::string>& tokens) {
  int steps = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < steps; ++i) {
    size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (rng() % 5) {
      case 0:
        if (!s.empty()) s[pos % s.size()] = static_cast<char>(rng() & 0xff);
        break;
      case 1:
        if (!tokens.empty()) s.insert(pos, tokens[rng() % tokens.size()]);
        break;
      case 2:
        s.resize(pos);
        break;
      case 3:
        if (!s.empty()) s.insert(pos, s.substr(rng() % s.size(), 1 + rng() % 16));
        break;
      default:
        if (!s.empty()) s.erase(pos % s.size(), 1 + rng() % 8);
    }
  }
  return s;
}

}  // namespace telemeet
