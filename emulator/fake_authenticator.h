// Test support for the emulator's services: an Authenticator over a map of access tokens the
// test hands out itself, so a service can be called without the OAuth server.
//
//   FakeAuthenticator auth;
//   auth.Add("tok-ro", Principal{.email = "doc@example.com", ...});
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "emulator/principal.h"

namespace telemeet::emulator::testing {

class FakeAuthenticator final : public Authenticator {
 public:
  void Add(const std::string& token, Principal p) {
    std::lock_guard lock(mu_);
    tokens_[token] = std::move(p);
  }
  std::optional<Principal> FromAccessToken(std::string_view token) const override {
    std::lock_guard lock(mu_);
    auto it = tokens_.find(std::string(token));
    if (it == tokens_.end()) return std::nullopt;
    return it->second;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, Principal> tokens_;
};

}  // namespace telemeet::emulator::testing
