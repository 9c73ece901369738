// The admin command line on PostgreSQL (issue 14): a first production start on a PostgreSQL
// store says there is no admin yet, `telemeet users create` makes one from standard input while
// it runs, and that admin signs in; backup and restore name the pg_dump/pg_restore commands.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "net/http_client.h"
#include "store/testing/test_database.h"
#include "tests/support/process.h"

namespace telemeet {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::ChildProcess;

struct Ran {
  std::optional<int> code;
  std::string out, err;
};

class CliPostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::testing::TestDatabase::Create("postgres");
    ASSERT_TRUE(db.has_value()) << db.error().ToString();
    db_ = std::move(*db);
    dir_ = std::filesystem::temp_directory_path() /
           ("telemeet-cli-postgres-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (server_) {
      server_->Signal(SIGTERM);
      server_->Wait(20s);
    }
    std::filesystem::remove_all(dir_);
  }

  std::vector<std::string> Flags() const {
    return {"--data-dir", (dir_ / "data").string(), "--set", "storage.url=" + db_->url(),
            "--set",      "log.level=warn"};
  }
  Ran Cli(std::vector<std::string> args, const std::string& stdin_text = "") {
    std::string script = "\"$TM\"";
    std::vector<std::string> env = {std::string("TM=") + TELEMEET_BINARY, "INPUT=" + stdin_text};
    for (const auto& f : Flags()) args.push_back(f);
    for (size_t i = 0; i < args.size(); ++i) {
      script += " \"$A" + std::to_string(i) + "\"";
      env.push_back("A" + std::to_string(i) + "=" + args[i]);
    }
    if (!stdin_text.empty()) script = "printf '%s\\n' \"$INPUT\" | " + script;
    auto child = ChildProcess::Start({"/bin/sh", "-c", script}, env);
    if (!child) return {};
    Ran r;
    r.code = (*child)->Wait(60s);
    r.err = (*child)->errors();
    r.out = (*child)->output();
    return r;
  }

  std::unique_ptr<store::testing::TestDatabase> db_;
  std::filesystem::path dir_;
  std::unique_ptr<ChildProcess> server_;
};

TEST_F(CliPostgresTest, PostgresFirstAdminFromTheCliSignsInAndBackupNamesPgDump) {
  Ran migrated = Cli({"migrate"});
  ASSERT_EQ(migrated.code, 0) << migrated.err;
  std::vector<std::string> argv = {
      TELEMEET_BINARY, "serve",
      "--port",        "0",
      "--set",         "google.client_id=clinic.apps.googleusercontent.com",
      "--set",         "google.client_secret=clinic-secret"};
  for (const auto& f : Flags()) argv.push_back(f);
  auto child = ChildProcess::Start(
      argv, {"TELEMEET_MASTER_KEY=k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"});
  ASSERT_TRUE(child.has_value());
  server_ = std::move(*child);
  auto line = server_->WaitForLine("is running at", 30s);
  ASSERT_TRUE(line.has_value()) << server_->errors();
  ASSERT_TRUE(server_->WaitForLine("Press Ctrl-C", 10s).has_value());
  EXPECT_NE(server_->output().find("(postgres)"), std::string::npos) << server_->output();
  EXPECT_NE(server_->output().find("No administrator yet"), std::string::npos);
  const std::string base = "http://127.0.0.1:" + std::to_string(testing::PortFromUrlLine(*line));

  Ran made = Cli({"users", "create", "--email", "boss@clinic.example", "--role", "admin"},
                 "a long admin password");
  ASSERT_EQ(made.code, 0) << made.err;
  net::HttpClient http;
  net::ClientRequest signin{.method = "POST", .url = base + "/api/v1/session"};
  signin.headers.Add("Content-Type", "application/json");
  signin.body =
      json{{"email", "boss@clinic.example"}, {"password", "a long admin password"}}.dump();
  auto res = http.Send(std::move(signin));
  ASSERT_TRUE(res.has_value());
  EXPECT_EQ(res->status, 201) << res->body;
  Ran list = Cli({"users", "list", "--json"});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_EQ(json::parse(list.out).at(0)["email"], "boss@clinic.example");

  Ran backup = Cli({"backup", "--to", (dir_ / "tm.dump").string()});
  EXPECT_EQ(backup.code, 1);
  EXPECT_TRUE(backup.out.starts_with("pg_dump --format=custom --file")) << backup.out;
  EXPECT_NE(backup.err.find("back up with pg_dump"), std::string::npos) << backup.err;
  Ran restore = Cli({"restore", "--from", (dir_ / "data" / "..").string() + "/tm.dump"});
  EXPECT_NE(restore.code, 0);
}

}  // namespace
}  // namespace telemeet
