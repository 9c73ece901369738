// From sandbox to production through the real binaries (issue 14): a first start with Google
// credentials (fake-google as "Google") and no admin, the first admin made by `telemeet users
// create` from standard input, the admin CLI on the live store; and leaving the sandbox: the
// demo clinic's random sign-ins and key die when real credentials arrive, and stay dead.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/time.h"
#include "net/http_client.h"
#include "tests/support/process.h"
#include "tests/support/sandbox_server.h"

namespace telemeet {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::ChildProcess;

constexpr std::string_view kMasterKey =
    "TELEMEET_MASTER_KEY=k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

// A finished command: exit code and output.
struct Ran {
  std::optional<int> code;
  std::string out;
  std::string err;
};

Ran RunShell(const std::string& script, std::vector<std::string> env = {}) {
  auto child = ChildProcess::Start({"/bin/sh", "-c", script}, std::move(env));
  if (!child) {
    ADD_FAILURE() << child.error().ToString();
    return {};
  }
  Ran r;
  r.code = (*child)->Wait(60s);
  r.err = (*child)->errors();
  r.out = (*child)->output();
  return r;
}

class ProductionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("telemeet-production-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    // "Google": a fake-google process of its own, knowing one OAuth client.
    auto google = ChildProcess::Start(
        {FAKE_GOOGLE_BINARY, "--port", "0", "--client",
         "clinic-client.apps.googleusercontent.com:clinic-secret:http://127.0.0.1/cb"});
    ASSERT_TRUE(google.has_value());
    google_ = std::move(*google);
    auto line = google_->WaitForLine("fake-google listening on", 20s);
    ASSERT_TRUE(line.has_value()) << google_->errors();
    google_url_ = "http://127.0.0.1:" + std::to_string(testing::PortFromUrlLine(*line));
  }
  void TearDown() override {
    if (server_) {
      server_->Signal(SIGTERM);
      server_->Wait(20s);
    }
    if (google_) {
      google_->Signal(SIGTERM);
      google_->Wait(20s);
    }
    std::filesystem::remove_all(dir_);
  }

  std::vector<std::string> GoogleFlags() const {
    return {"--set", "google.client_id=clinic-client.apps.googleusercontent.com",
            "--set", "google.client_secret=clinic-secret",
            "--set", "google.api_base_url=" + google_url_,
            "--set", "google.oauth_base_url=" + google_url_,
            "--set", "google.accounts_base_url=" + google_url_};
  }

  // `telemeet serve` with the Google credentials on `data_dir`; false when it does not start.
  bool StartProduction(const std::filesystem::path& data_dir, std::vector<std::string> env = {},
                       int port = 0, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {
        TELEMEET_BINARY, "serve",           "--port", std::to_string(port),
        "--data-dir",    data_dir.string(), "--set",  "log.level=warn"};
    for (const auto& f : GoogleFlags()) argv.push_back(f);
    for (const auto& f : extra) argv.push_back(f);
    auto child = ChildProcess::Start(argv, std::move(env));
    if (!child) return false;
    server_ = std::move(*child);
    auto line = server_->WaitForLine("is running at", 30s);
    if (!line) {
      ADD_FAILURE() << "telemeet did not start: " << server_->errors();
      return false;
    }
    base_ = "http://127.0.0.1:" + std::to_string(testing::PortFromUrlLine(*line));
    if (!server_->WaitForLine("Press Ctrl-C", 10s)) {
      ADD_FAILURE() << "telemeet did not finish starting: " << server_->errors();
      return false;
    }
    return true;
  }

  // A signed-in browser: its cookie and CSRF token.
  struct Session {
    std::string cookie, csrf;
  };
  std::optional<Session> SignInSession(const std::string& email, const std::string& password) {
    net::ClientRequest r{.method = "POST", .url = base_ + "/api/v1/session"};
    r.headers.Add("Content-Type", "application/json");
    r.body = json{{"email", email}, {"password", password}}.dump();
    auto res = http_.Send(std::move(r));
    if (!res || res->status != 201) return std::nullopt;
    std::string cookie = res->headers.Get("Set-Cookie").value_or("");
    return Session{cookie.substr(0, cookie.find(';')),
                   json::parse(res->body).value("csrf_token", "")};
  }

  std::pair<int, json> Request(const std::string& method, const std::string& path,
                               const json& body = nullptr, const std::string& bearer = "",
                               const Session* session = nullptr) {
    net::ClientRequest r{.method = method, .url = base_ + path};
    if (!bearer.empty()) r.headers.Add("Authorization", "Bearer " + bearer);
    if (session != nullptr) {
      r.headers.Add("Cookie", session->cookie);
      r.headers.Add("X-CSRF-Token", session->csrf);
    }
    if (!body.is_null()) {
      r.headers.Add("Content-Type", "application/json");
      r.body = body.dump();
    }
    auto res = http_.Send(std::move(r));
    if (!res) {
      ADD_FAILURE() << method << " " << path << ": " << res.error().ToString();
      return {0, nullptr};
    }
    last_headers_ = res->headers;
    return {res->status, json::parse(res->body, nullptr, false)};
  }
  // "name=value" of a cookie the last Request's answer set, or empty.
  std::string LastSetCookie(const std::string& name) const {
    return testing::SandboxServer::SetCookie(last_headers_, name);
  }
  net::Headers last_headers_;
  int SignIn(const std::string& email, const std::string& password) {
    return Request("POST", "/api/v1/session", {{"email", email}, {"password", password}}).first;
  }
  std::string Page(const std::string& path) {
    auto res = http_.Send({.url = base_ + path});
    return res ? res->body : "";
  }
  // The telemeet CLI on `data_dir` through a shell (so standard input can be piped in).
  Ran Cli(const std::string& args, const std::filesystem::path& data_dir,
          const std::string& stdin_text = "", std::vector<std::string> env = {}) {
    std::string script = "\"$TM\" " + args + " --data-dir \"$DATA\"";
    if (!stdin_text.empty()) script = "printf '%s\\n' \"$INPUT\" | " + script;
    env.push_back(std::string("TM=") + TELEMEET_BINARY);
    env.push_back("DATA=" + data_dir.string());
    env.push_back("INPUT=" + stdin_text);
    return RunShell(script, std::move(env));
  }
  // POST to the emulator's control API.
  int Emulator(const std::string& method, const std::string& path, const json& body) {
    net::ClientRequest r{.method = method, .url = google_url_ + path};
    r.headers.Add("Content-Type", "application/json");
    r.body = body.dump();
    auto res = http_.Send(std::move(r));
    return res ? res->status : 0;
  }

  std::filesystem::path dir_;
  std::unique_ptr<ChildProcess> google_;
  std::unique_ptr<ChildProcess> server_;
  std::string google_url_, base_;
  net::HttpClient http_;
};

TEST_F(ProductionTest, FirstStartSaysHowToCreateTheAdminAndTheCliMakesOneThatSignsIn) {
  const auto data = dir_ / "data";
  ASSERT_TRUE(StartProduction(data, {std::string(kMasterKey)}));
  // The start-up lines name the exact command; /signin says the same; nothing else is open.
  const std::string command =
      "telemeet users create --role admin --email <you@clinic.example> --data-dir " + data.string();
  EXPECT_NE(server_->output().find("No administrator yet"), std::string::npos) << server_->output();
  EXPECT_NE(server_->output().find(command), std::string::npos) << server_->output();
  EXPECT_EQ(server_->output().find("Sandbox"), std::string::npos);
  // The key comes from the environment, not a file in the data dir: no warning about it; email
  // goes to .eml files: warned.
  EXPECT_EQ(server_->output().find("lies inside the data dir"), std::string::npos);
  EXPECT_NE(server_->output().find("Warning: email is not sent"), std::string::npos);
  std::string signin = Page("/signin");
  EXPECT_NE(signin.find("No administrator yet"), std::string::npos);
  EXPECT_NE(signin.find("telemeet users create --role admin --email &lt;you@clinic.example&gt;"),
            std::string::npos);
  EXPECT_EQ(Request("GET", "/api/v1/users").first, 401);
  EXPECT_EQ(Request("GET", "/api/v1/doctors").first, 401);
  EXPECT_EQ(
      Request("POST", "/api/v1/users",
              {{"email", "x@clinic.example"}, {"role", "admin"}, {"password", "0123456789ab"}})
          .first,
      401);
  EXPECT_EQ(SignIn("admin@sandbox.telemeet.test", "sandbox-admin-1"), 401);

  // The first admin, its password from standard input, while the service runs.
  Ran made = Cli("users create --email boss@clinic.example --role admin --name Boss", data,
                 "a long admin password");
  ASSERT_EQ(made.code, 0) << made.err;
  EXPECT_NE(made.out.find("created admin boss@clinic.example"), std::string::npos) << made.out;
  EXPECT_EQ(made.out.find("a long admin password"), std::string::npos);
  EXPECT_EQ(made.err.find("a long admin password"), std::string::npos);
  EXPECT_NE(made.err.find(R"("actor":"cli")"), std::string::npos) << made.err;
  EXPECT_NE(made.err.find(R"("action":"user.created")"), std::string::npos) << made.err;
  EXPECT_EQ(SignIn("boss@clinic.example", "wrong password!"), 401);
  EXPECT_EQ(SignIn("boss@clinic.example", "a long admin password"), 201);
  EXPECT_EQ(Page("/signin").find("No administrator yet"), std::string::npos);

  // A second create with the same email says what to type instead; a short password is refused.
  Ran again = Cli("users create --email boss@clinic.example --role admin", data, "0123456789ab");
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("telemeet users set-password --email boss@clinic.example"),
            std::string::npos)
      << again.err;
  Ran short_pw = Cli("users create --email b@clinic.example --role admin", data, "short");
  EXPECT_EQ(short_pw.code, 1);
  EXPECT_NE(short_pw.err.find("password must have at least 10 characters"), std::string::npos);
  Ran no_doctor = Cli("users create --email d@clinic.example --role doctor --doctor-id 42", data,
                      "0123456789ab");
  EXPECT_EQ(no_doctor.code, 1);
  EXPECT_NE(no_doctor.err.find("doctor_id 42 names no doctor"), std::string::npos) << no_doctor.err;

  // users list --json for scripts, a table for people.
  Ran list = Cli("users list --json", data);
  ASSERT_EQ(list.code, 0) << list.err;
  json users = json::parse(list.out);
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0]["email"], "boss@clinic.example");
  EXPECT_EQ(users[0]["role"], "admin");
  EXPECT_FALSE(users[0].contains("password_hash"));
  Ran table = Cli("users list", data);
  EXPECT_NE(table.out.find("EMAIL"), std::string::npos);
  EXPECT_NE(table.out.find("boss@clinic.example"), std::string::npos);

  // A new password ends the old one; --generate-password prints a strong one once.
  Ran set = Cli("users set-password --email boss@clinic.example --generate-password", data);
  ASSERT_EQ(set.code, 0) << set.err;
  const std::string marker = "password (shown once): ";
  size_t at = set.out.find(marker);
  ASSERT_NE(at, std::string::npos) << set.out;
  std::string generated = set.out.substr(at + marker.size());
  generated = generated.substr(0, generated.find('\n'));
  EXPECT_GE(generated.size(), 20u);
  EXPECT_EQ(SignIn("boss@clinic.example", "a long admin password"), 401);
  EXPECT_EQ(SignIn("boss@clinic.example", generated), 201);

  // API keys: the secret is printed once and works; revoked, it stops (within the server's
  // 2-second key cache).
  Ran key = Cli("api-keys create --name booking --scopes 'read write' --json", data);
  ASSERT_EQ(key.code, 0) << key.err;
  json k = json::parse(key.out);
  const std::string secret = k["secret"];
  EXPECT_EQ(Request("GET", "/api/v1/doctors", nullptr, secret).first, 200);
  Ran keys = Cli("api-keys list --json", data);
  ASSERT_EQ(keys.code, 0);
  EXPECT_EQ(keys.out.find(secret.substr(16)), std::string::npos) << "lists never show secrets";
  EXPECT_EQ(Cli("api-keys create --name bad --scopes admin", data).code, 1);
  Ran revoked = Cli("api-keys revoke " + std::to_string(k["id"].get<int64_t>()), data);
  ASSERT_EQ(revoked.code, 0) << revoked.err;
  int status = 0;
  for (int i = 0; i < 50 && status != 401; ++i) {
    status = Request("GET", "/api/v1/doctors", nullptr, secret).first;
    if (status != 401) std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(status, 401);

  // Disabled, the admin cannot sign in.
  ASSERT_EQ(Cli("users disable --email boss@clinic.example", data).code, 0);
  EXPECT_EQ(SignIn("boss@clinic.example", generated), 401);
  EXPECT_EQ(Cli("users disable --email nobody@clinic.example", data).code, 1);
}

TEST_F(ProductionTest, CliArgumentMistakesExitTwoNamingTheArgument) {
  Ran missing = Cli("users create --role admin", dir_ / "data");
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("--email is required"), std::string::npos) << missing.err;
  Ran role = Cli("users create --email a@clinic.example --role owner", dir_ / "data");
  EXPECT_EQ(role.code, 2);
  EXPECT_NE(role.err.find("--role"), std::string::npos) << role.err;
  Ran config = Cli("users list --set server.port=99999", dir_ / "data");
  EXPECT_EQ(config.code, 2);
  EXPECT_NE(config.err.find("server.port"), std::string::npos) << config.err;
  Ran help = Cli("users create --help", dir_ / "data");
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("--generate-password"), std::string::npos) << help.out;
}

TEST_F(ProductionTest, CliOnAMissingDataDirSaysWhatToPassAndCreatesNothing) {
  Ran r = Cli("users list", dir_ / "nowhere");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no telemeet data in"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "nowhere"));
}

TEST_F(ProductionTest, RealCredentialsRetireTheDemoClinicForGood) {
  testing::SandboxServer sandbox;
  ASSERT_TRUE(sandbox.Start({"--set", "log.level=warn"}));
  const auto admin = sandbox.DemoLogin("admin");
  const auto doctor = sandbox.DemoLogin("doctor");
  const std::string demo_key = sandbox.api_key();
  // Random per data dir, kept 0600, never the passwords an older README published.
  EXPECT_NE(admin.password, "sandbox-admin-1");
  EXPECT_NE(doctor.password, "sandbox-doctor-1");
  EXPECT_GE(admin.password.size(), 16u);
  EXPECT_NE(admin.password, doctor.password);
  for (const char* f : {"sandbox-sign-ins", "sandbox-api-key"}) {
    auto perms = std::filesystem::status(sandbox.data_dir() / f).permissions();
    EXPECT_EQ(perms & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write)
        << f;
  }
  ASSERT_TRUE(sandbox.SignIn(admin).has_value());
  EXPECT_EQ(sandbox.Api("GET", "/api/v1/doctors").first, 200);
  // Dr Lovelace connects her (emulated) Google account.
  auto [st, connect] = sandbox.Api("POST", "/api/v1/doctors/1/google/connect");
  ASSERT_EQ(st, 201) << connect.dump();
  auto done = sandbox.FinishConnect(connect["authorization_url"], doctor.email);
  ASSERT_TRUE(done.has_value());
  auto [gst, g] = sandbox.Api("GET", "/api/v1/doctors/1/google");
  ASSERT_EQ(gst, 200);
  EXPECT_EQ(g["connected"], true) << g.dump();
  ASSERT_EQ(sandbox.Stop(), 0);

  // The same data dir with real credentials: demo sign-ins and the demo key answer 401.
  ASSERT_TRUE(StartProduction(sandbox.data_dir()));
  EXPECT_EQ(SignIn(admin.email, admin.password), 401);
  EXPECT_EQ(SignIn(doctor.email, doctor.password), 401);
  EXPECT_EQ(Request("GET", "/api/v1/doctors", nullptr, demo_key).first, 401);
  EXPECT_NE(server_->errors().find("demo sign-ins disabled"), std::string::npos)
      << server_->errors();
  EXPECT_FALSE(std::filesystem::exists(sandbox.data_dir() / "sandbox-sign-ins"));
  EXPECT_FALSE(std::filesystem::exists(sandbox.data_dir() / "sandbox-api-key"));
  // No admin is left, so the start says how to make one; and the master key file the sandbox
  // created inside the data dir is warned about.
  EXPECT_NE(server_->output().find("No administrator yet"), std::string::npos);
  EXPECT_NE(server_->output().find("lies inside the data dir"), std::string::npos);
  EXPECT_NE(server_->output().find(".eml files"), std::string::npos);
  server_->Signal(SIGTERM);
  EXPECT_EQ(server_->Wait(20s), 0);
  server_.reset();
  // The demo doctor's emulator grant is disconnected (nobody was called), the doctors stay.
  Ran doctors = Cli("doctors list --json", sandbox.data_dir());
  ASSERT_EQ(doctors.code, 0) << doctors.err;
  json d = json::parse(doctors.out);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0]["google"].get<std::string>().rfind("disconnected", 0), 0u) << d.dump();

  // A later sandbox start does not bring them back.
  ASSERT_TRUE(sandbox.Start({"--set", "log.level=warn"}));
  EXPECT_NE(sandbox.process().output().find("demo clinic: retired"), std::string::npos)
      << sandbox.process().output();
  EXPECT_EQ(sandbox.process().output().find("demo sign-in ("), std::string::npos);
  EXPECT_NE(sandbox.process().output().find("No administrator yet"), std::string::npos);
  net::ClientRequest sign_in{.method = "POST", .url = sandbox.base_url() + "/api/v1/session"};
  sign_in.headers.Add("Content-Type", "application/json");
  sign_in.body = json{{"email", admin.email}, {"password", admin.password}}.dump();
  auto res = sandbox.Send(std::move(sign_in));
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->status, 401);
  net::ClientRequest with_key{.url = sandbox.base_url() + "/api/v1/doctors"};
  with_key.headers.Add("Authorization", "Bearer " + demo_key);
  auto key_res = sandbox.Send(std::move(with_key));
  ASSERT_TRUE(key_res.has_value());
  EXPECT_EQ(key_res->status, 401);
}

TEST_F(ProductionTest, AppointmentsAndDoctorsForTheOperatorWithoutABrowser) {
  testing::SandboxServer sandbox;
  ASSERT_TRUE(sandbox.Start({"--set", "log.level=warn"}));
  auto [ps, patient] = sandbox.Api("POST", "/api/v1/patients",
                                   {{"name", "Mary Seacole"}, {"time_zone", "Europe/London"}});
  ASSERT_EQ(ps, 201) << patient.dump();
  int64_t first = 0;
  for (const char* start : {"2030-03-04T10:00:00Z", "2030-03-05T10:00:00Z"}) {
    Instant s = *core::ParseRfc3339(start);
    auto [as, appt] = sandbox.Api("POST", "/api/v1/appointments",
                                  {{"doctor_id", 1},
                                   {"service_id", 1},
                                   {"patient_id", patient["id"]},
                                   {"start", start},
                                   {"end", core::FormatRfc3339(s + std::chrono::minutes(30))},
                                   {"time_zone", "Europe/London"}});
    ASSERT_EQ(as, 201) << appt.dump();
    if (first == 0) first = appt["id"];
  }
  ASSERT_EQ(sandbox.Api("POST", "/api/v1/appointments/" + std::to_string(first) + "/confirm").first,
            200);

  // While the service runs: the same objects the API answers, for scripts.
  Ran list = Cli("appointments list --json --doctor 1", sandbox.data_dir());
  ASSERT_EQ(list.code, 0) << list.err;
  json items = json::parse(list.out);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0]["id"], first);
  EXPECT_EQ(items[0]["status"], "confirmed");
  EXPECT_TRUE(items[0]["meeting"].contains("state"));
  Ran window = Cli("appointments list --json --from 2030-03-05T00:00:00Z --to 2030-03-06T00:00:00Z",
                   sandbox.data_dir());
  ASSERT_EQ(window.code, 0) << window.err;
  EXPECT_EQ(json::parse(window.out).size(), 1u);
  EXPECT_EQ(Cli("appointments list --json --doctor 2", sandbox.data_dir()).out, "[]\n");
  Ran bad_time = Cli("appointments list --from yesterday", sandbox.data_dir());
  EXPECT_EQ(bad_time.code, 1);
  EXPECT_NE(bad_time.err.find("--from"), std::string::npos) << bad_time.err;

  // For people: the meeting's state, link, last error and the audit trail.
  Ran show = Cli("appointments show " + std::to_string(first), sandbox.data_dir());
  ASSERT_EQ(show.code, 0) << show.err;
  for (const char* want : {"status:    confirmed", "Dr Ada Lovelace", "Mary Seacole", "meeting",
                           "state:", "join link:", "last error:", "audit ("}) {
    EXPECT_NE(show.out.find(want), std::string::npos) << want << " in\n" << show.out;
  }
  Ran shown_json = Cli("appointments show --json " + std::to_string(first), sandbox.data_dir());
  ASSERT_EQ(shown_json.code, 0);
  json one = json::parse(shown_json.out);
  EXPECT_EQ(one["id"], first);
  EXPECT_TRUE(one["audit"].is_array());
  EXPECT_EQ(one["patient_name"], "Mary Seacole");
  Ran missing = Cli("appointments show 999", sandbox.data_dir());
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("no appointment has the id 999"), std::string::npos);

  Ran doctors = Cli("doctors list", sandbox.data_dir());
  ASSERT_EQ(doctors.code, 0) << doctors.err;
  EXPECT_NE(doctors.out.find("Dr James Barry"), std::string::npos) << doctors.out;
  EXPECT_NE(doctors.out.find("GOOGLE"), std::string::npos);
}

// The first column of the first row `sql` gives in the SQLite database at `db`.
std::string SqliteText(const std::filesystem::path& db, const std::string& sql) {
  sqlite3* h = nullptr;
  std::string out;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(h);
  return out;
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Key rotation as the README describes it: the new key first, `telemeet rekey`, the old key
// dropped; the doctor's Google connection and the saved client secret still work.
TEST_F(ProductionTest, RotateRekeyDropTheOldKeyAndStillConnect) {
  const std::string old_key = "old:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
  const std::string new_key = "new:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8";
  const auto data = dir_ / "data";
  const int port = FreePort();
  ASSERT_EQ(Emulator("POST", "/_emulator/clients",
                     {{"clientId", "rekey-client"},
                      {"clientSecret", "rekey-secret"},
                      {"redirectUris",
                       {"http://127.0.0.1:" + std::to_string(port) + "/oauth/google/callback"}}}),
            201);
  ASSERT_EQ(Emulator("POST", "/_emulator/accounts",
                     {{"email", "dr.who@clinic.example"}, {"name", "Dr Who"}}),
            201);
  ASSERT_EQ(Emulator("PATCH", "/_emulator/settings", {{"autoApprove", true}}), 200);
  const std::vector<std::string> client = {"--set", "google.client_id=rekey-client", "--set",
                                           "google.client_secret=rekey-secret"};
  ASSERT_TRUE(StartProduction(data, {"TELEMEET_MASTER_KEY=" + old_key}, port, client));
  ASSERT_EQ(
      Cli("users create --email boss@clinic.example --role admin", data, "a long admin password")
          .code,
      0);
  auto admin = SignInSession("boss@clinic.example", "a long admin password");
  ASSERT_TRUE(admin.has_value());
  // Sealed at rest under the old key: the saved client secret, a webhook secret, the grant.
  auto [ss, saved] =
      Request("PATCH", "/api/v1/settings/google", {{"client_secret", "rekey-secret"}}, "", &*admin);
  ASSERT_EQ(ss, 200) << saved.dump();
  auto [ws, hook] = Request("POST", "/api/v1/webhook_endpoints",
                            {{"url", "https://hooks.clinic.example/telemeet"}}, "", &*admin);
  ASSERT_EQ(ws, 201) << hook.dump();
  // A rotated secret keeps signing through its grace period: it must be re-sealed too.
  auto [rs, rotated] = Request(
      "POST", "/api/v1/webhook_endpoints/" + std::to_string(hook["id"].get<int64_t>()) +
                  "/rotate_secret",
      json::object(), "", &*admin);
  ASSERT_EQ(rs, 200) << rotated.dump();
  auto [ds, doctor] = Request(
      "POST", "/api/v1/doctors",
      {{"name", "Dr Who"}, {"email", "dr.who@clinic.example"}, {"time_zone", "Europe/London"}}, "",
      &*admin);
  ASSERT_EQ(ds, 201) << doctor.dump();
  const std::string doctor_path = "/api/v1/doctors/" + std::to_string(doctor["id"].get<int64_t>());
  auto [cs, connect] = Request("POST", doctor_path + "/google/connect", nullptr, "", &*admin);
  ASSERT_EQ(cs, 201) << connect.dump();
  const std::string oauth_cookie = LastSetCookie("tm_oauth");
  auto consent = http_.Send({.url = connect["authorization_url"].get<std::string>() +
                                    "&login_hint=dr.who@clinic.example"});
  ASSERT_TRUE(consent.has_value());
  ASSERT_EQ(consent->status, 302) << consent->body;
  // The flow was started from the admin's browser: it completes there only, with its cookie.
  net::ClientRequest back{.url = *consent->headers.Get("Location")};
  back.headers.Add("Cookie", oauth_cookie);
  auto callback = http_.Send(std::move(back));
  ASSERT_TRUE(callback.has_value());
  auto [ts, tested] = Request("POST", doctor_path + "/google/test", nullptr, "", &*admin);
  ASSERT_EQ(tested["ok"], true) << tested.dump();
  server_->Signal(SIGTERM);
  ASSERT_EQ(server_->Wait(20s), 0);
  server_.reset();

  // Dropping the old key before the rekey is refused by name.
  Ran early = Cli("rekey", data, "", {"TELEMEET_MASTER_KEY=" + new_key});
  EXPECT_EQ(early.code, 1);
  EXPECT_NE(early.err.find("sealed under key \"old\", which the key ring lacks"), std::string::npos)
      << early.err;
  // Rotated: the new key first, the old one after it. Small batches, with progress lines.
  const std::string both = "TELEMEET_MASTER_KEY=" + new_key + "," + old_key;
  Ran rekey = Cli("rekey --batch 1", data, "", {both});
  ASSERT_EQ(rekey.code, 0) << rekey.err;
  EXPECT_NE(rekey.out.find("rekey: grants 1/1"), std::string::npos) << rekey.out;
  EXPECT_NE(rekey.out.find("rekey: webhook endpoints 1/1"), std::string::npos) << rekey.out;
  EXPECT_NE(rekey.out.find("re-sealed"), std::string::npos) << rekey.out;
  EXPECT_NE(rekey.out.find("the other keys can be removed"), std::string::npos) << rekey.out;
  EXPECT_EQ(rekey.out.find("done: 0 secret(s) re-sealed"), std::string::npos) << rekey.out;
  EXPECT_NE(rekey.err.find(R"("action":"keys.rekeyed")"), std::string::npos);
  // Resumable: a second run finds nothing left to do.
  Ran again = Cli("rekey", data, "", {both});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.out.find("done: 0 secret(s) re-sealed"), std::string::npos) << again.out;
  // Both secrets of the rotated endpoint are under the new key now.
  for (std::string column : {"sealed_secret", "previous_sealed_secret"}) {
    EXPECT_EQ(SqliteText(data / "telemeet.db", "SELECT " + column + " FROM webhook_endpoints")
                  .substr(0, 4),
              "new.")
        << column;
  }

  // The old key dropped: the doctor still connects, through a refresh of the re-sealed token
  // with the re-sealed client secret.
  ASSERT_TRUE(StartProduction(data, {"TELEMEET_MASTER_KEY=" + new_key}, port, client));
  ASSERT_EQ(Emulator("POST", "/_emulator/tokens/expire", json::object()), 200);
  admin = SignInSession("boss@clinic.example", "a long admin password");
  ASSERT_TRUE(admin.has_value());
  auto [ts2, tested2] = Request("POST", doctor_path + "/google/test", nullptr, "", &*admin);
  EXPECT_EQ(ts2, 200);
  EXPECT_EQ(tested2["ok"], true) << tested2.dump();
  auto [gs, google] = Request("GET", "/api/v1/settings/google", nullptr, "", &*admin);
  EXPECT_EQ(google["client_secret_set"], true);
}

// A backup taken while appointments are being booked is one consistent snapshot; restored into
// a fresh data dir, telemeet serves the same appointments.
TEST_F(ProductionTest, BackupUnderWriteLoadRestoresIntoAFreshDataDir) {
  testing::SandboxServer source;
  ASSERT_TRUE(source.Start({"--set", "log.level=warn", "--set", "log.requests=false"}));
  auto [ps, patient] = source.Api("POST", "/api/v1/patients",
                                  {{"name", "Mary Seacole"}, {"time_zone", "Europe/London"}});
  ASSERT_EQ(ps, 201);
  const int64_t patient_id = patient["id"];
  const std::string key = source.api_key();
  const std::string base = source.base_url();
  std::atomic<bool> stop{false};
  std::atomic<int> booked{0};
  std::thread writer([&] {
    net::HttpClient http;
    const Instant first = *core::ParseRfc3339("2031-01-06T08:00:00Z");
    for (int i = 0; !stop.load(); ++i) {
      net::ClientRequest r{.method = "POST", .url = base + "/api/v1/appointments"};
      r.headers.Add("Authorization", "Bearer " + key);
      r.headers.Add("Content-Type", "application/json");
      const Instant start = first + std::chrono::hours(i);
      r.body = json{{"doctor_id", 1 + i % 2},
                    {"service_id", 1},
                    {"patient_id", patient_id},
                    {"start", core::FormatRfc3339(start)},
                    {"end", core::FormatRfc3339(start + std::chrono::minutes(30))},
                    {"time_zone", "Europe/London"}}
                   .dump();
      auto res = http.Send(std::move(r));
      if (res && res->status == 201) ++booked;
    }
  });
  while (booked.load() < 20) std::this_thread::sleep_for(10ms);
  const int before = booked.load();
  const auto backup = dir_ / "telemeet-backup.db";
  Ran made = Cli("backup --to " + backup.string(), source.data_dir());
  const int after_backup = booked.load();
  while (booked.load() < after_backup + 10) std::this_thread::sleep_for(10ms);
  stop = true;
  writer.join();
  ASSERT_EQ(made.code, 0) << made.err;
  EXPECT_GT(after_backup, before) << "the writes went on during the backup";
  EXPECT_EQ(std::filesystem::status(backup).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_FALSE(std::filesystem::exists(backup.string() + "-wal"));
  // A second backup never overwrites the first; a restore never replaces a database in use.
  EXPECT_EQ(Cli("backup --to " + backup.string(), source.data_dir()).code, 1);
  Ran busy = Cli("restore --force --from " + backup.string(), source.data_dir());
  EXPECT_EQ(busy.code, 1);
  EXPECT_NE(busy.err.find("is in use"), std::string::npos) << busy.err;
  // What the source holds, by id, while it still runs.
  Ran all = Cli("appointments list --json --limit 1000", source.data_dir());
  ASSERT_EQ(all.code, 0) << all.err;
  std::map<int64_t, json> originals;
  for (const json& a : json::parse(all.out)) originals[a["id"]] = a;
  ASSERT_EQ(Cli("users set-password --email admin@sandbox.telemeet.test", source.data_dir(),
                "restored admin password")
                .code,
            0);
  ASSERT_EQ(source.Stop(), 0);

  testing::SandboxServer restored;
  std::filesystem::copy_file(source.data_dir() / "master.key", dir_ / "master.key");
  Ran put = Cli("restore --from " + backup.string(), restored.data_dir());
  ASSERT_EQ(put.code, 0) << put.err;
  ASSERT_TRUE(restored.Start({"--set", "log.level=warn", "--set",
                              "security.master_key_file=" + (dir_ / "master.key").string()}));
  // The demo passwords file stayed with the old data dir: the restored clinic gets new ones.
  auto admin = restored.SignIn(restored.DemoLogin("admin"));
  ASSERT_TRUE(admin.has_value());
  json items = json::array();
  for (std::string cursor;;) {
    auto [ls, page] = restored.Call(
        *admin, "GET",
        "/api/v1/appointments?limit=100" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(ls, 200) << page.dump();
    for (const json& a : page["data"]) items.push_back(a);
    if (page["next_cursor"].is_null()) break;
    cursor = page["next_cursor"];
  }
  // One snapshot: every appointment booked before the backup began, none missing in between.
  ASSERT_GE(static_cast<int>(items.size()), before);
  ASSERT_LE(static_cast<int>(items.size()), after_backup);
  std::set<int64_t> ids;
  for (const json& a : items) {
    const int64_t id = a["id"];
    ids.insert(id);
    ASSERT_TRUE(originals.contains(id)) << id;
    EXPECT_EQ(a["uid"], originals[id]["uid"]);
    EXPECT_EQ(a["start"], originals[id]["start"]);
    EXPECT_EQ(a["doctor_id"], originals[id]["doctor_id"]);
  }
  EXPECT_EQ(*ids.begin(), 1);
  EXPECT_EQ(*ids.rbegin(), static_cast<int64_t>(ids.size())) << "no gap in the snapshot";
}

TEST_F(ProductionTest, SandboxRefusesToListenBeyondLoopback) {
  // public_url given, so no other rule about public addresses is what stops it.
  auto child = ChildProcess::Start({TELEMEET_BINARY, "serve", "--port", "0", "--data-dir",
                                    (dir_ / "data").string(), "--address", "0.0.0.0", "--set",
                                    "server.public_url=http://clinic.example:8080"});
  ASSERT_TRUE(child.has_value());
  auto code = (*child)->Wait(30s);
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  const std::string& err = (*child)->errors();
  EXPECT_NE(err.find("sandbox mode listens on loopback only"), std::string::npos) << err;
  EXPECT_NE(err.find("0.0.0.0"), std::string::npos);
  EXPECT_EQ((*child)->output().find("is running at"), std::string::npos);
}

}  // namespace
}  // namespace telemeet
