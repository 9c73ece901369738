#include "app/sandbox.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "api/api.h"
#include "crypto/password.h"
#include "crypto/random.h"

namespace telemeet::app {

const std::vector<SandboxAccount>& SandboxAccounts() {
  static const std::vector<SandboxAccount> accounts = {
      {"dr.ada.lovelace@sandbox.telemeet.test", "Dr Ada Lovelace"},
      {"dr.james.barry@sandbox.telemeet.test", "Dr James Barry"},
  };
  return accounts;
}

namespace {

// Demo passwords are fixed so the README and the banner can name them: the sandbox listens on
// loopback and holds no real data.
constexpr std::string_view kAdminEmail = "admin@sandbox.telemeet.test";
constexpr std::string_view kAdminPassword = "sandbox-admin-1";
constexpr std::string_view kDoctorPassword = "sandbox-doctor-1";

}  // namespace

Result<DemoClinic> SeedDemoClinic(store::Store& store, const std::string& data_dir) {
  DemoClinic clinic;
  clinic.sign_ins.push_back({"admin", std::string(kAdminEmail), std::string(kAdminPassword)});
  for (const auto& a : SandboxAccounts()) {
    clinic.sign_ins.push_back({"doctor", a.email, std::string(kDoctorPassword)});
  }
  std::filesystem::path key_file = std::filesystem::path(data_dir) / "sandbox-api-key";

  auto existing = store.Read([&](store::Tx& tx) { return tx.GetUserByEmail(kAdminEmail); });
  if (!existing && existing.error().code() != ErrorCode::kNotFound) {
    return std::unexpected(existing.error());
  }
  if (!existing) {
    if (auto admin = api::CreateAdmin(store, kAdminEmail, kAdminPassword); !admin) {
      return std::unexpected(admin.error());
    }
    auto doctor_hash = crypto::HashPassword(kDoctorPassword);
    if (!doctor_hash) return std::unexpected(doctor_hash.error());
    Status seeded = store.Transact([&](store::Tx& tx) -> Status {
      for (const auto& a : SandboxAccounts()) {
        auto doctor = tx.CreateDoctor({.name = a.name, .email = a.email, .time_zone = "Europe/London"});
        if (!doctor) return std::unexpected(doctor.error());
        auto user = tx.CreateUser({.email = a.email,
                                   .name = a.name,
                                   .role = core::Role::kDoctor,
                                   .password_hash = *doctor_hash,
                                   .doctor_id = doctor->id});
        if (!user) return std::unexpected(user.error());
      }
      auto service = tx.CreateService({.name = "Video consultation",
                                       .telemedicine = true,
                                       .default_duration_minutes = 30,
                                       .event_title_template = "{service} with {doctor}"});
      if (!service) return std::unexpected(service.error());
      return Ok();
    });
    if (!seeded) return std::unexpected(seeded.error());
    auto key = api::CreateApiKey(store, "sandbox demo", "read write");
    if (!key) return std::unexpected(key.error());
    {
      std::ofstream out(key_file, std::ios::trunc);
      out << key->secret << "\n";
      if (!out) {
        return Fail(ErrorCode::kUnavailable, "sandbox: cannot write " + key_file.string());
      }
    }
    ::chmod(key_file.c_str(), 0600);
  }
  clinic.api_key_file = key_file.string();
  return clinic;
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
  options.allowed_hosts = {"localhost"};  // loopback names only
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
