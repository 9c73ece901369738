#include "app/sandbox.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "api/accounts.h"
#include "api/api.h"
#include "app/audit_log.h"
#include "crypto/random.h"
#include "obs/log.h"

namespace telemeet::app {

const std::vector<SandboxAccount>& SandboxAccounts() {
  static const std::vector<SandboxAccount> accounts = {
      {"dr.ada.lovelace@sandbox.telemeet.test", "Dr Ada Lovelace"},
      {"dr.james.barry@sandbox.telemeet.test", "Dr James Barry"},
  };
  return accounts;
}

namespace {

constexpr std::string_view kAdminEmail = "admin@sandbox.telemeet.test";
// "active" while the demo clinic may sign in; "retired" once real Google credentials were used
// on this store (never undone by a later sandbox start).
constexpr std::string_view kDemoStateSetting = "sandbox.demo_clinic";
constexpr std::string_view kDemoKeySetting = "sandbox.demo_api_key_id";
constexpr std::string_view kDemoKeyName = "sandbox demo";

std::filesystem::path SignInsFile(const std::string& data_dir) {
  return std::filesystem::path(data_dir) / "sandbox-sign-ins";
}
std::filesystem::path KeyFile(const std::string& data_dir) {
  return std::filesystem::path(data_dir) / "sandbox-api-key";
}

// Writes `content` to a new file readable by its owner alone (created 0600, never wider).
Status WritePrivateFile(const std::filesystem::path& file, const std::string& content) {
  std::error_code ec;
  std::filesystem::remove(file, ec);
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Fail(ErrorCode::kUnavailable, "sandbox: cannot write " + file.string());
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n <= 0) {
      ::close(fd);
      return Fail(ErrorCode::kUnavailable, "sandbox: cannot write " + file.string());
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return Ok();
}

// The demo sign-ins: the admin, then each demo doctor.
std::vector<std::string> DemoEmails() {
  std::vector<std::string> out = {std::string(kAdminEmail)};
  for (const auto& a : SandboxAccounts()) out.push_back(a.email);
  return out;
}

// "role email password" per line, as written by WriteSignIns; empty when absent or incomplete.
std::vector<DemoSignIn> ReadSignIns(const std::string& data_dir) {
  std::vector<DemoSignIn> out;
  std::ifstream in(SignInsFile(data_dir));
  for (std::string role, email, password; in >> role >> email >> password;) {
    out.push_back({role, email, password});
  }
  if (out.size() != DemoEmails().size()) out.clear();
  return out;
}

Status WriteSignIns(const std::string& data_dir, const std::vector<DemoSignIn>& sign_ins) {
  std::string text;
  for (const auto& s : sign_ins) text += s.role + " " + s.email + " " + s.password + "\n";
  return WritePrivateFile(SignInsFile(data_dir), text);
}

// New random passwords, one per demo sign-in: the sandbox's API is reachable by whoever can
// reach its port, so nothing about it may be guessable.
std::vector<DemoSignIn> NewSignIns() {
  std::vector<DemoSignIn> out;
  for (const std::string& email : DemoEmails()) {
    out.push_back({email == kAdminEmail ? "admin" : "doctor", email, crypto::RandomToken(12)});
  }
  return out;
}

Result<std::string> SettingOr(store::Tx& tx, std::string_view key) {
  auto v = tx.GetSetting(key);
  if (!v && v.error().code() == ErrorCode::kNotFound) return std::string();
  return v;
}

}  // namespace

Result<DemoClinic> SeedDemoClinic(store::Store& store, const std::string& data_dir) {
  DemoClinic clinic;
  clinic.api_key_file = KeyFile(data_dir).string();
  auto state = store.Read([](store::Tx& tx) { return SettingOr(tx, kDemoStateSetting); });
  if (!state) return std::unexpected(state.error());
  if (*state == "retired") {
    clinic.retired = true;
    return clinic;
  }
  auto existing = store.Read([&](store::Tx& tx) { return tx.GetUserByEmail(kAdminEmail); });
  if (!existing && existing.error().code() != ErrorCode::kNotFound) {
    return std::unexpected(existing.error());
  }
  if (existing) {
    clinic.sign_ins = ReadSignIns(data_dir);
    if (!clinic.sign_ins.empty()) return clinic;
    // A demo clinic without its passwords file (seeded by an older telemeet, whose demo
    // passwords were published): new random passwords, written before they take effect.
    clinic.sign_ins = NewSignIns();
    TM_TRY(WriteSignIns(data_dir, clinic.sign_ins));
    for (const DemoSignIn& s : clinic.sign_ins) {
      auto user = store.Read([&](store::Tx& tx) { return tx.GetUserByEmail(s.email); });
      if (!user) return std::unexpected(user.error());
      api::UserChange change;
      change.password = s.password;
      TM_TRY(api::UpdateUser(store, user->id, change, "system"));
    }
    TM_TRY(
        store.Transact([](store::Tx& tx) { return tx.PutSetting(kDemoStateSetting, "active"); }));
    return clinic;
  }

  clinic.sign_ins = NewSignIns();
  TM_TRY(WriteSignIns(data_dir, clinic.sign_ins));
  TM_TRY(api::CreateAdmin(store, kAdminEmail, clinic.sign_ins[0].password));
  for (size_t i = 0; i < SandboxAccounts().size(); ++i) {
    const SandboxAccount& a = SandboxAccounts()[i];
    auto doctor = store.Transact([&](store::Tx& tx) {
      return tx.CreateDoctor({.name = a.name, .email = a.email, .time_zone = "Europe/London"});
    });
    if (!doctor) return std::unexpected(doctor.error());
    api::NewUser user;
    user.email = a.email;
    user.name = a.name;
    user.role = "doctor";
    user.doctor_id = doctor->id;
    user.password = clinic.sign_ins[i + 1].password;
    TM_TRY(api::CreateUser(store, user, ""));  // the seed: no one acted
  }
  Status seeded = store.Transact([&](store::Tx& tx) -> Status {
    auto service = tx.CreateService({.name = "Video consultation",
                                     .telemedicine = true,
                                     .default_duration_minutes = 30,
                                     .event_title_template = "{service} with {doctor}"});
    if (!service) return std::unexpected(service.error());
    return Ok();
  });
  if (!seeded) return std::unexpected(seeded.error());
  auto key = api::CreateApiKey(store, kDemoKeyName, "read write");
  if (!key) return std::unexpected(key.error());
  TM_TRY(store.Transact([&](store::Tx& tx) -> Status {
    TM_TRY(tx.PutSetting(kDemoKeySetting, std::to_string(key->key.id)));
    return tx.PutSetting(kDemoStateSetting, "active");
  }));
  TM_TRY(WritePrivateFile(KeyFile(data_dir), key->secret + "\n"));
  return clinic;
}

Result<bool> RetireDemoClinic(store::Store& store, const std::string& data_dir) {
  struct Retired {
    std::vector<int64_t> users;
    std::vector<int64_t> doctors;
    std::vector<int64_t> grants;
    int64_t api_key = 0;
  };
  auto retired = store.Transact([&](store::Tx& tx) -> Result<std::optional<Retired>> {
    if (TM_TRY(SettingOr(tx, kDemoStateSetting)) == "retired") return std::nullopt;
    Retired r;
    for (const std::string& email : DemoEmails()) {
      auto user = tx.GetUserByEmail(email);
      if (!user && user.error().code() == ErrorCode::kNotFound) continue;
      if (!user) return std::unexpected(user.error());
      r.users.push_back(user->id);
      if (user->doctor_id != 0) r.doctors.push_back(user->doctor_id);
      if (!user->disabled) {
        user->disabled = true;
        TM_TRY(tx.UpdateUser(*user));
        TM_TRY(api::AuditAs(tx, "system", "user", "user.updated",
                            "user:" + std::to_string(user->id),
                            {{"changed", {"disabled"}},
                             {"disabled", true},
                             {"reason", "sandbox demo clinic retired"}}));
      }
      TM_TRY(tx.DeleteUserSessions(user->id));
    }
    if (r.users.empty()) return std::nullopt;  // never a sandbox store
    // The demo key: by the id the seed recorded, else (a store seeded by an older telemeet) by
    // its name.
    const std::string key_id = TM_TRY(SettingOr(tx, kDemoKeySetting));
    store::PageRequest page{.limit = 1000};
    do {
      auto keys = TM_TRY(tx.ListApiKeys(page));
      for (const core::ApiKey& k : keys.items) {
        bool demo = key_id.empty() ? k.name == kDemoKeyName : std::to_string(k.id) == key_id;
        if (!demo) continue;
        r.api_key = k.id;
        if (!k.revoked_at) {
          TM_TRY(tx.RevokeApiKey(k.id));
          TM_TRY(api::AuditAs(tx, "system", "api_key", "api_key.revoked",
                              "api_key:" + std::to_string(k.id),
                              {{"reason", "sandbox demo clinic retired"}}));
        }
      }
      page.cursor = keys.next_cursor;
    } while (!page.cursor.empty());
    // The demo doctors' grants came from the emulator: marked disconnected here, without a call
    // to anyone (real Google never issued them). Their push channels are forgotten too.
    for (int64_t doctor : r.doctors) {
      auto grant = tx.GetGrant(doctor);
      if (!grant && grant.error().code() == ErrorCode::kNotFound) continue;
      if (!grant) return std::unexpected(grant.error());
      grant->status = core::GrantStatus::kDisconnected;
      grant->access_token.clear();
      grant->last_error =
          "the sandbox's demo clinic was retired when real Google credentials "
          "were configured";
      TM_TRY(tx.PutGrant(*grant));
      r.grants.push_back(doctor);
      auto sync = tx.GetCalendarSync(doctor);
      if (sync) {
        store::CalendarSyncState cleared{.doctor_id = doctor, .calendar_id = sync->calendar_id};
        cleared.updated_at = tx.Now();
        TM_TRY(tx.PutCalendarSync(cleared));
      } else if (sync.error().code() != ErrorCode::kNotFound) {
        return std::unexpected(sync.error());
      }
      TM_TRY(tx.ParkDoctorJobs(doctor, "demo grant retired"));
    }
    TM_TRY(tx.PutSetting(kDemoStateSetting, "retired"));
    return std::optional<Retired>(std::move(r));
  });
  if (!retired) return std::unexpected(retired.error());
  if (!*retired) return false;
  // The secrets the files held no longer open anything; they go too.
  std::error_code ec;
  std::filesystem::remove(SignInsFile(data_dir), ec);
  std::filesystem::remove(KeyFile(data_dir), ec);
  const Retired& r = **retired;
  nlohmann::json detail = {{"disabled_user_ids", r.users},
                           {"revoked_api_key_id", r.api_key},
                           {"disconnected_doctor_ids", r.grants}};
  obs::Log().Warn(
      "real Google credentials on a store holding the sandbox's demo clinic: demo sign-ins "
      "disabled, demo API key revoked, demo Google grants disconnected (appointments kept)",
      detail);
  AuditSystem("sandbox.demo_clinic.retired", detail);
  return true;
}

Sandbox::Sandbox(std::unique_ptr<emulator::FakeGoogle> google, std::string client_secret)
    : google_(std::move(google)), client_secret_(std::move(client_secret)) {}

void Sandbox::UseIn(Config& config) const {
  config.google.client_id = std::string(kSandboxClientId);
  config.google.client_secret = client_secret_;
  config.google.api_base_url = google_->base_url();
  config.google.oauth_base_url = google_->base_url();
  config.google.accounts_base_url = google_->base_url();
  config.google.meet_base_url = google_->base_url();
}

Status Sandbox::AllowRedirect(const std::string& redirect_uri) {
  auto client = google_->oauth().FindClient(kSandboxClientId);
  if (!client) return Fail(ErrorCode::kInternal, "sandbox: the emulator lost its OAuth client");
  client->redirect_uris.push_back(redirect_uri);
  return google_->oauth().AddClient(*client);
}

namespace {

std::filesystem::path GoogleFile(const std::string& data_dir) {
  return std::filesystem::path(data_dir) / "sandbox-google";
}

}  // namespace

Status WriteSandboxGoogle(const std::string& data_dir, const Config& config) {
  nlohmann::json j = {{"base_url", config.google.api_base_url},
                      {"client_id", config.google.client_id},
                      {"client_secret", config.google.client_secret}};
  return WritePrivateFile(GoogleFile(data_dir), j.dump() + "\n");
}

void RemoveSandboxGoogle(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::remove(GoogleFile(data_dir), ec);
}

Status UseRunningSandbox(Config& config) {
  std::ifstream in(GoogleFile(config.data_dir));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!in || !j.is_object() || !j.contains("base_url") || !j["base_url"].is_string() ||
      !j.contains("client_secret") || !j["client_secret"].is_string()) {
    return Fail(ErrorCode::kFailedPrecondition,
                "in sandbox mode Google is the emulator inside `telemeet serve`: start `telemeet "
                "serve` on this data dir (" +
                    config.data_dir + ") first, or configure real Google credentials",
                "google.client_id");
  }
  const std::string base = j["base_url"];
  config.google.client_id = std::string(kSandboxClientId);
  config.google.client_secret = j["client_secret"];
  config.google.api_base_url = base;
  config.google.oauth_base_url = base;
  config.google.accounts_base_url = base;
  return Ok();
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
    return Fail(ErrorCode::kUnavailable,
                "sandbox: cannot start the Google emulator: " + s.error().message());
  }
  return std::make_unique<Sandbox>(std::move(google), std::move(secret));
}

}  // namespace telemeet::app
