// Sandbox mode (M26): no Google credentials are configured, so telemeet starts the Google
// emulator (fake-google) in-process on a free loopback port and points its Google clients at
// it. The emulator knows one OAuth client (telemeet's) and the demo doctors' Google accounts;
// its consent page lists them, so a newcomer can connect a doctor with two clicks, offline.
//
//   Result<std::unique_ptr<Sandbox>> sandbox = StartSandbox();
//   (*sandbox)->UseIn(config);                      // google.* now names the emulator
//   ... start telemeet's HTTP server, learn its public URL ...
//   (*sandbox)->AllowRedirect(config.RedirectUri());
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "app/config.h"
#include "base/error.h"
#include "emulator/server/fake_google.h"

namespace telemeet::app {

// A Google account of a demo doctor, as seeded into the emulator.
struct SandboxAccount {
  std::string email;
  std::string name;
};
const std::vector<SandboxAccount>& SandboxAccounts();

class Sandbox {
 public:
  explicit Sandbox(std::unique_ptr<emulator::FakeGoogle> google, std::string client_secret);

  // Rewrites the google.* settings of `config` to the emulator's client and URLs.
  void UseIn(Config& config) const;
  // Registers telemeet's OAuth callback with the emulator (exact match, as at Google).
  Status AllowRedirect(const std::string& redirect_uri);
  std::string base_url() const { return google_->base_url(); }
  emulator::FakeGoogle& google() { return *google_; }

 private:
  std::unique_ptr<emulator::FakeGoogle> google_;
  std::string client_secret_;
};

inline constexpr std::string_view kSandboxClientId = "telemeet-sandbox.apps.googleusercontent.com";

// Starts the emulator on 127.0.0.1 and a free port; kUnavailable when it cannot listen.
Result<std::unique_ptr<Sandbox>> StartSandbox();

}  // namespace telemeet::app
