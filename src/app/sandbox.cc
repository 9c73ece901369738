#include "app/sandbox.h"

#include "crypto/random.h"

namespace telemeet::app {

const std::vector<SandboxAccount>& SandboxAccounts() {
  static const std::vector<SandboxAccount> accounts = {
      {"dr.ada.lovelace@sandbox.telemeet.test", "Dr Ada Lovelace"},
      {"dr.james.barry@sandbox.telemeet.test", "Dr James Barry"},
  };
  return accounts;
}

Sandbox::Sandbox(std::unique_ptr<emulator::FakeGoogle> google, std::string client_secret)
    : google_(std::move(google)), client_secret_(std::move(client_secret)) {}

void Sandbox::UseIn(Config& config) const {
  config.google.client_id = std::string(kSandboxClientId);
  config.google.client_secret = client_secret_;
  config.google.api_base_url = google_->base_url();
  config.google.oauth_base_url = google_->base_url();
  config.google.accounts_base_url = google_->base_url();
}

Status Sandbox::AllowRedirect(const std::string& redirect_uri) {
  auto client = google_->oauth().FindClient(kSandboxClientId);
  if (!client) return Fail(ErrorCode::kInternal, "sandbox: the emulator lost its OAuth client");
  client->redirect_uris.push_back(redirect_uri);
  return google_->oauth().AddClient(*client);
}

Result<std::unique_ptr<Sandbox>> StartSandbox() {
  emulator::FakeGoogleOptions options;
  // The secret only ever lives in this process: random per run.
  std::string secret = crypto::RandomToken(24);
  options.clients.push_back(
      {.client_id = std::string(kSandboxClientId), .client_secret = secret, .redirect_uris = {}});
  for (const auto& a : SandboxAccounts()) {
    options.accounts.push_back({.email = a.email, .sub = "", .name = a.name});
  }
  auto google = std::make_unique<emulator::FakeGoogle>(std::move(options));
  if (auto s = google->Start("127.0.0.1", 0, 2); !s) {
    return Fail(ErrorCode::kUnavailable, "sandbox: cannot start the Google emulator: " +
                                             s.error().message());
  }
  return std::make_unique<Sandbox>(std::move(google), std::move(secret));
}

}  // namespace telemeet::app
