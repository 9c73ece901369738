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
#include "store/store.h"

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

// The admin commands that call Google (`telemeet resync`, `backfill`) reach the emulator inside
// a running sandbox serve through <data_dir>/sandbox-google (0600, like the demo key beside it):
// its URL and this run's client secret, written at start, removed at stop.
Status WriteSandboxGoogle(const std::string& data_dir, const Config& config);
void RemoveSandboxGoogle(const std::string& data_dir);
// Sets the emulator's URLs and client in `config`; kFailedPrecondition naming the command to
// run when no sandbox serve runs on this data dir.
Status UseRunningSandbox(Config& config);

// Starts the emulator on 127.0.0.1 and a free port; kUnavailable when it cannot listen.
Result<std::unique_ptr<Sandbox>> StartSandbox();

// The demo clinic of sandbox mode: an admin, the two demo doctors (each with a sign-in), a
// telemedicine service and an integrator API key. Seeded once, on the first sandbox start, with
// random passwords kept in <data_dir>/sandbox-sign-ins and the key in <data_dir>/sandbox-api-key
// (both 0600), so nothing about a sandbox is published or guessable.
struct DemoSignIn {
  std::string role;
  std::string email;
  std::string password;
};
struct DemoClinic {
  std::vector<DemoSignIn> sign_ins;  // empty when retired
  std::string api_key_file;          // <data_dir>/sandbox-api-key (0600): the key, written once
  bool retired = false;  // real Google credentials were used on this store: no demo sign-ins
};
Result<DemoClinic> SeedDemoClinic(store::Store& store, const std::string& data_dir);

// Leaving the sandbox: on a start with real Google credentials, a store holding the demo clinic
// has its demo users disabled (sessions ended), the demo API key revoked and the demo doctors'
// emulator grants marked disconnected (no call to anyone); appointments stay. Logged and
// audited; the passwords and key files are removed. Once retired, a later sandbox start does
// not seed or re-enable them. True when it retired the clinic now.
Result<bool> RetireDemoClinic(store::Store& store, const std::string& data_dir);

}  // namespace telemeet::app
