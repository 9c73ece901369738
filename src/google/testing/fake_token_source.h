// An AccessTokenSource for Calendar client tests: hands out "token-1", and "token-2", ... after
// each forced refresh, counting both.
//
//   FakeTokenSource tokens;
//   CalendarClient calendar(options, {.transport = t, .tokens = tokens, ...});
//   EXPECT_EQ(tokens.refreshes(), 1);
#pragma once

#include <mutex>
#include <optional>
#include <string>

#include "google/token_source.h"

namespace telemeet::google::testing {

class FakeTokenSource final : public AccessTokenSource {
 public:
  GoogleResult<std::string> AccessTokenFor(std::string_view) override {
    std::lock_guard lock(mu_);
    if (fail_with_) return std::unexpected(*fail_with_);
    return "token-" + std::to_string(generation_);
  }
  GoogleResult<std::string> RefreshAfterRejection(std::string_view,
                                                  std::string_view rejected) override {
    std::lock_guard lock(mu_);
    ++refreshes_;
    if (fail_refresh_with_) return std::unexpected(*fail_refresh_with_);
    if (rejected == "token-" + std::to_string(generation_)) ++generation_;
    return "token-" + std::to_string(generation_);
  }
  void MarkNeedsReconnect(std::string_view, const GoogleError& why) override {
    std::lock_guard lock(mu_);
    fail_with_ = GoogleError(ErrorKind::kNeedsReconnect, why.message());
    ++marked_dead_;
  }
  int marked_dead() const {
    std::lock_guard lock(mu_);
    return marked_dead_;
  }
  int refreshes() const {
    std::lock_guard lock(mu_);
    return refreshes_;
  }
  void FailWith(GoogleError e) {
    std::lock_guard lock(mu_);
    fail_with_ = std::move(e);
  }
  void FailRefreshWith(GoogleError e) {
    std::lock_guard lock(mu_);
    fail_refresh_with_ = std::move(e);
  }

 private:
  mutable std::mutex mu_;
  int generation_ = 1;
  int refreshes_ = 0;
  int marked_dead_ = 0;
  std::optional<GoogleError> fail_with_;
  std::optional<GoogleError> fail_refresh_with_;
};

}  // namespace telemeet::google::testing
