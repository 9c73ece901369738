// `telemeet serve` as a user runs it: the real binary, on port 0, stopped with real signals.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/clock.h"
#include "net/testing/raw_client.h"
#include "store/store.h"
#include "tests/support/process.h"

namespace telemeet {
namespace {

using namespace std::chrono_literals;
using net::testing::Fetch;
using net::testing::RawClient;
using testing::ChildProcess;

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("telemeet-serve-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<ChildProcess> Launch(std::vector<std::string> extra = {},
                                       std::vector<std::string> env = {}) {
    std::vector<std::string> argv = {TELEMEET_BINARY,         "serve", "--port", "0", "--data-dir",
                                     (dir_ / "data").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto child = ChildProcess::Start(argv, env);
    EXPECT_TRUE(child.has_value());
    return std::move(*child);
  }

  // Starts the server and returns its port (0 on failure).
  int StartServer(std::vector<std::string> extra = {}) {
    server_ = Launch(std::move(extra));
    auto line = server_->WaitForLine("is running at", 20s);
    if (!line) {
      ADD_FAILURE() << "server did not start: " << server_->errors();
      return 0;
    }
    return testing::PortFromUrlLine(*line);
  }

  std::filesystem::path dir_;
  std::unique_ptr<ChildProcess> server_;
};

TEST_F(ServeTest, ServesHealthReadinessAndMetrics) {
  int port = StartServer();
  ASSERT_GT(port, 0);
  auto health = Fetch(port, "GET", "/healthz");
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(nlohmann::json::parse(health->body)["status"], "ok");
  auto ready = Fetch(port, "GET", "/readyz");
  ASSERT_TRUE(ready.has_value());
  EXPECT_EQ(ready->status, 200);
  ASSERT_TRUE(Fetch(port, "GET", "/nowhere").has_value());
  // A request is counted once its answer is written, which may be just after the client has
  // read it: give the server a moment.
  // Each request came on its own connection, so wait for all three, not only the last.
  const std::string healthz_line =
      "telemeet_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1";
  const std::string unmatched_line = "route=\"unmatched\",status=\"404\"} 1";
  const std::string readyz_line = "route=\"/readyz\",status=\"200\"} 1";
  auto all_counted = [&](const std::string& body) {
    return body.find(healthz_line) != std::string::npos &&
           body.find(readyz_line) != std::string::npos &&
           body.find(unmatched_line) != std::string::npos;
  };
  auto metrics = Fetch(port, "GET", "/metrics");
  for (int i = 0; i < 250 && metrics && !all_counted(metrics->body); ++i) {
    std::this_thread::sleep_for(20ms);
    metrics = Fetch(port, "GET", "/metrics");
  }
  ASSERT_TRUE(metrics.has_value());
  EXPECT_NE(metrics->body.find(healthz_line), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find(readyz_line), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find(unmatched_line), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("telemeet_http_request_duration_seconds_bucket"), std::string::npos);
  server_->Signal(SIGTERM);
  EXPECT_EQ(server_->Wait(15s), 0);
}

TEST_F(ServeTest, KeepAliveConnectionIsReused) {
  int port = StartServer();
  ASSERT_GT(port, 0);
  RawClient c;
  ASSERT_TRUE(c.Connect(static_cast<uint16_t>(port)));
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.ReadResponse();
    ASSERT_TRUE(r.has_value()) << "request " << i << " on the same connection";
    EXPECT_EQ(r->status, 200);
  }
}

TEST_F(ServeTest, ErrorsHaveTheRightStatusAndAJsonBody) {
  int port = StartServer({"--set", "server.max_body_bytes=1024"});
  ASSERT_GT(port, 0);
  auto not_found = Fetch(port, "GET", "/api/v1/nothing");
  EXPECT_EQ(not_found->status, 404);
  EXPECT_EQ(nlohmann::json::parse(not_found->body)["error"]["code"], "not_found");
  auto not_allowed = Fetch(port, "POST", "/healthz", "{}");
  EXPECT_EQ(not_allowed->status, 405);
  EXPECT_EQ(nlohmann::json::parse(not_allowed->body)["error"]["code"], "method_not_allowed");
  auto too_big = Fetch(port, "POST", "/healthz", std::string(5000, 'x'));
  EXPECT_EQ(too_big->status, 413);
  EXPECT_EQ(nlohmann::json::parse(too_big->body)["error"]["code"], "payload_too_large");
  RawClient c;
  ASSERT_TRUE(c.Connect(static_cast<uint16_t>(port)));
  ASSERT_TRUE(c.Send("GET / HTTP/9.9 nonsense\r\n\r\n"));
  auto malformed = c.ReadResponse();
  ASSERT_TRUE(malformed.has_value());
  EXPECT_EQ(malformed->status, 400);
  EXPECT_EQ(nlohmann::json::parse(malformed->body)["error"]["code"], "bad_request");
}

TEST_F(ServeTest, AClientThatStallsMidRequestIsCutOff) {
  int port = StartServer({"--set", "server.read_timeout_ms=300"});
  ASSERT_GT(port, 0);
  RawClient c;
  ASSERT_TRUE(c.Connect(static_cast<uint16_t>(port)));
  ASSERT_TRUE(c.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n"));  // never finished
  EXPECT_TRUE(c.WaitClosed(5s));
  EXPECT_EQ(Fetch(port, "GET", "/healthz")->status, 200);
}

TEST_F(ServeTest, SigtermAnswersTheRequestInFlightThenExitsZero) {
  int port = StartServer();
  ASSERT_GT(port, 0);
  RawClient c;
  ASSERT_TRUE(c.Connect(static_cast<uint16_t>(port)));
  ASSERT_TRUE(c.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n"));  // half a request...
  std::this_thread::sleep_for(100ms);
  server_->Signal(SIGTERM);
  std::this_thread::sleep_for(300ms);  // ...while the server is already draining...
  ASSERT_TRUE(c.Send("\r\n"));         // ...then the rest
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->headers.Get("Connection"), "close");
  EXPECT_EQ(server_->Wait(15s), 0);
  EXPECT_NE(server_->errors().find("\"msg\":\"stopped\""), std::string::npos);
}

TEST_F(ServeTest, SigintStopsCleanly) {
  int port = StartServer();
  ASSERT_GT(port, 0);
  server_->Signal(SIGINT);
  EXPECT_EQ(server_->Wait(15s), 0);
}

TEST_F(ServeTest, BadConfigurationStopsStartupNamingTheKey) {
  auto flag = Launch({"--set", "server.port=99999"});
  EXPECT_EQ(flag->Wait(10s), 2);
  EXPECT_NE(flag->errors().find("server.port: must be between 0 and 65535, got 99999"),
            std::string::npos)
      << flag->errors();

  std::ofstream(dir_ / "bad.toml") << "[server]\nthreads = 4\n";
  auto file = Launch({"--config", (dir_ / "bad.toml").string()});
  EXPECT_EQ(file->Wait(10s), 2);
  EXPECT_NE(file->errors().find("server.threads: unknown key"), std::string::npos);

  auto env = Launch({}, {"TELEMEET_LOG_LEVEL=chatty"});
  EXPECT_EQ(env->Wait(10s), 2);
  EXPECT_NE(env->errors().find("log.level: must be one of"), std::string::npos);
  EXPECT_NE(env->errors().find("TELEMEET_LOG_LEVEL"), std::string::npos);
}

TEST_F(ServeTest, APortInUseFailsWithAMessage) {
  int port = StartServer();
  ASSERT_GT(port, 0);
  auto second = ChildProcess::Start({TELEMEET_BINARY, "serve", "--port", std::to_string(port),
                                     "--data-dir", (dir_ / "data2").string()});
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ((*second)->Wait(10s), 1);
  EXPECT_NE((*second)->errors().find("cannot listen on 127.0.0.1:" + std::to_string(port)),
            std::string::npos);
}

// One serve per SQLite database (issue 17): a second one on the same data dir refuses, naming
// the first; the admin commands still work beside it; once the first dies (SIGKILL: nothing
// cleans up) a new one starts, and takes back the jobs the dead one leased at once.
TEST_F(ServeTest, ASecondServeOnTheSameDatabaseRefusesAndARestartTakesOver) {
  int port = StartServer();
  ASSERT_GT(port, 0);
  auto second = Launch();
  EXPECT_EQ(second->Wait(15s), 1);
  EXPECT_NE(second->errors().find("another telemeet serve (pid " + std::to_string(server_->pid()) +
                                  ") is using the database"),
            std::string::npos)
      << second->errors();
  auto cli = ChildProcess::Start(
      {TELEMEET_BINARY, "doctors", "list", "--data-dir", (dir_ / "data").string()});
  ASSERT_TRUE(cli.has_value());
  EXPECT_EQ((*cli)->Wait(20s), 0) << (*cli)->errors();

  server_->Signal(SIGKILL);
  server_->Wait(10s);
  // The dead process held a lease (as if killed mid-job): the next start makes it due now.
  {
    auto db = store::OpenStore("sqlite:" + (dir_ / "data" / "telemeet.db").string(),
                               SystemClock::Instance());
    ASSERT_TRUE(db) << db.error().ToString();
    core::Job job;
    job.kind = "nothing";
    job.key = "nothing:1";
    ASSERT_TRUE((*db)->Transact([&](store::Tx& tx) { return tx.UpsertJob(job); }));
    auto leased = (*db)->Transact([](store::Tx& tx) {
      return tx.LeaseJobs({.owner = "dead-host:1:abc",
                           .max = 1,
                           .lease_for = 1h,
                           .now = Instant{},
                           .kind = "nothing"});
    });
    ASSERT_TRUE(leased && leased->size() == 1u);
  }
  server_ = Launch();
  ASSERT_TRUE(server_->WaitForLine("is running at", 20s).has_value()) << server_->errors();
  const std::string& log = server_->errors();  // the JSON log is on stderr
  const size_t took = log.find("took back the jobs the previous telemeet serve held");
  ASSERT_NE(took, std::string::npos) << log;
  EXPECT_NE(log.rfind("{\"jobs\":1,", took), std::string::npos) << log;
  server_->Signal(SIGTERM);
  EXPECT_EQ(server_->Wait(15s), 0);
}

TEST_F(ServeTest, MigrateCreatesTheSchemaAndIsSafeToRunTwice) {
  for (int run = 0; run < 2; ++run) {
    auto migrate =
        ChildProcess::Start({TELEMEET_BINARY, "migrate", "--data-dir", (dir_ / "data").string()});
    ASSERT_TRUE(migrate.has_value());
    EXPECT_EQ((*migrate)->Wait(20s), 0) << (*migrate)->errors();
    EXPECT_NE((*migrate)->output().find("schema version "), std::string::npos);
    EXPECT_NE((*migrate)->output().find("(sqlite, latest "), std::string::npos);
  }
  EXPECT_TRUE(std::filesystem::exists(dir_ / "data" / "telemeet.db"));
}

TEST_F(ServeTest, RefusesAnUnmigratedDatabaseWhenToldNotToMigrate) {
  auto child = Launch({"--set", "storage.migrate_on_start=false"});
  EXPECT_EQ(child->Wait(20s), 1);
  EXPECT_NE(child->errors().find("run `telemeet migrate`"), std::string::npos) << child->errors();
}

TEST_F(ServeTest, SandboxStartsTheGoogleEmulatorWithTheDemoAccounts) {
  int port = StartServer();
  ASSERT_GT(port, 0);
  auto line = server_->WaitForLine("Sandbox: Google is emulated at", 5s);
  ASSERT_TRUE(line.has_value()) << server_->output();
  int google_port = testing::PortFromUrlLine(*line);
  ASSERT_GT(google_port, 0);
  ASSERT_NE(google_port, port);
  // The emulator's consent page accepts telemeet's own client and callback, and lists the
  // demo doctors' accounts.
  std::string redirect =
      "http%3A%2F%2F127.0.0.1%3A" + std::to_string(port) + "%2Foauth%2Fgoogle%2Fcallback";
  auto consent = Fetch(google_port, "GET",
                       "/o/oauth2/v2/auth?client_id=telemeet-sandbox.apps.googleusercontent.com"
                       "&redirect_uri=" +
                           redirect +
                           "&response_type=code&scope=https%3A%2F%2Fwww.googleapis.com%2Fauth%2F"
                           "calendar&access_type=offline&state=s1");
  ASSERT_TRUE(consent.has_value());
  EXPECT_EQ(consent->status, 200) << consent->body;
  EXPECT_NE(consent->body.find("dr.ada.lovelace@sandbox.telemeet.test"), std::string::npos);
  // A redirect URI telemeet does not own is refused, as Google does.
  auto foreign = Fetch(google_port, "GET",
                       "/o/oauth2/v2/auth?client_id=telemeet-sandbox.apps.googleusercontent.com"
                       "&redirect_uri=http%3A%2F%2Fevil.example%2Fcb&response_type=code"
                       "&scope=https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fcalendar");
  ASSERT_TRUE(foreign.has_value());
  EXPECT_EQ(foreign->status, 400);
  auto ready = Fetch(port, "GET", "/readyz");
  ASSERT_TRUE(ready.has_value());
  EXPECT_EQ(nlohmann::json::parse(ready->body)["checks"]["store"], "ok");
  // The master key was created for the sandbox, readable by its owner only.
  auto perms = std::filesystem::status(dir_ / "data" / "master.key").permissions();
  EXPECT_EQ(perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);
}

TEST_F(ServeTest, WithGoogleCredentialsButNoMasterKeyStartupStopsWithAMessage) {
  auto child = Launch({"--set", "google.client_id=abc.apps.googleusercontent.com", "--set",
                       "google.client_secret=not-a-real-secret"});
  EXPECT_EQ(child->Wait(20s), 1);
  EXPECT_NE(child->errors().find("no master key: set TELEMEET_MASTER_KEY"), std::string::npos)
      << child->errors();
  EXPECT_EQ(child->errors().find("not-a-real-secret"), std::string::npos);
}

TEST_F(ServeTest, RequestLogsAreJsonWithRequestIdsAndNoSecrets) {
  int port = StartServer();
  ASSERT_GT(port, 0);
  RawClient c;
  ASSERT_TRUE(c.Connect(static_cast<uint16_t>(port)));
  ASSERT_TRUE(
      c.Send("GET /oauth/google/callback?code=4/SECRETCODE&state=STATEVALUE HTTP/1.1\r\n"
             "Host: 127.0.0.1\r\nX-Request-Id: req-42\r\n"
             "Authorization: Bearer ya29.SECRETTOKEN\r\n\r\n"));
  ASSERT_TRUE(c.ReadResponse().has_value());
  server_->Signal(SIGTERM);
  ASSERT_EQ(server_->Wait(15s), 0);
  const std::string& logs = server_->errors();
  EXPECT_EQ(logs.find("SECRETCODE"), std::string::npos);
  EXPECT_EQ(logs.find("STATEVALUE"), std::string::npos);
  EXPECT_EQ(logs.find("SECRETTOKEN"), std::string::npos);
  bool found = false;
  std::istringstream lines(logs);
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line);  // every line is JSON
    if (j.value("request_id", "") == "req-42") {
      found = true;
      EXPECT_EQ(j["status"], 400);  // the OAuth callback refuses a state it never issued
      EXPECT_EQ(j["target"], "/oauth/google/callback?code=[REDACTED]&state=[REDACTED]");
    }
  }
  EXPECT_TRUE(found) << logs;
}

}  // namespace
}  // namespace telemeet
