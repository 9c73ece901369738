// Scripted failures for the emulator (issue 3, "Quotas, faults, control"): a rule picks
// requests by method and path prefix, then fails a fraction of them (decided by a seeded
// generator, so a run repeats exactly) or the next N, with one of Google's failure modes.
//
//   FaultInjector faults(/*seed=*/7);
//   faults.Add({.method = "POST", .path_prefix = "/calendar/v3/", .kind = FaultKind::kBackendError,
//               .next = 2});
//   if (auto fault = faults.Pick("POST", "/calendar/v3/calendars/primary/events")) ...
//
// Thread safety: safe for concurrent use (one mutex). With concurrent requests the order in
// which they reach Pick decides which ones fail; sequential tests are exactly repeatable.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "net/http.h"

namespace telemeet::emulator {

enum class FaultKind {
  kBackendError,  // 500 global/backendError "Backend Error"
  kUnavailable,   // 503 "The service is currently unavailable."
  kTimeout,       // no answer: wait `delay`, then drop the connection
  kReset,         // drop the connection at once, no answer
};

std::string_view FaultKindName(FaultKind kind);  // "backendError", "unavailable", ...
std::optional<FaultKind> ParseFaultKind(std::string_view name);

struct FaultRule {
  std::string method;       // empty: any method
  std::string path_prefix;  // empty: any path
  FaultKind kind = FaultKind::kBackendError;
  double fraction = 0;  // each matching request fails with this probability...
  int next = 0;         // ...or the next `next` matching requests fail (then the rule is spent)
  std::chrono::milliseconds delay{30'000};  // kTimeout: how long to hold the request
  // Run the request first, then fail the answer (the write happened; the client cannot know).
  bool after = false;
};

// {"method","pathPrefix","kind","fraction","next","delayMs","after"} and back.
nlohmann::json FaultRuleToJson(const FaultRule& rule);
Result<FaultRule> FaultRuleFromJson(const nlohmann::json& json);

class FaultInjector {
 public:
  explicit FaultInjector(uint64_t seed = 1) : seed_(seed), rng_(seed) {}

  void Add(FaultRule rule);
  void Clear();
  // Restarts the generator: the same requests fail again in the same order.
  void Reseed(uint64_t seed);
  std::vector<FaultRule> rules() const;
  uint64_t seed() const;

  // The first rule that fires for this request, if any (spending one of its `next`).
  std::optional<FaultRule> Pick(std::string_view method, std::string_view path);

 private:
  mutable std::mutex mu_;
  std::atomic<bool> any_{false};  // lets Pick skip the lock when there are no rules
  uint64_t seed_;
  std::mt19937_64 rng_;
  std::vector<FaultRule> rules_;
};

// The answer a fault gives (status body, or transport directives for kTimeout and kReset).
net::Response FaultResponse(const FaultRule& rule);

}  // namespace telemeet::emulator
