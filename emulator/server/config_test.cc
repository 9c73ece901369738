#include "emulator/server/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

namespace telemeet::emulator {
namespace {

TEST(FakeGoogleConfigTest, FullFile) {
  auto c = ParseFakeGoogleConfig(R"(
address = "127.0.0.2"
port = 8085
threads = 3
auto_approve = true
access_token_lifetime_seconds = 60
latency_ms = 5
fault_seed = 42
max_batch_parts = 1000
log_requests = true

[quota]
per_user = 10
per_project = 20
status = 429
retry_after_seconds = 3

[[clients]]
client_id = "app"
client_secret = "secret"
redirect_uris = ["http://127.0.0.1:8080/cb", "https://app.example/cb"]

[[accounts]]
email = "doc@example.com"
name = "Dr Who"

[[accounts]]
email = "nurse@example.com"
sub = "777"

[[faults]]
kind = "timeout"
method = "POST"
path_prefix = "/calendar/v3/"
next = 2
delay_ms = 100
after = true
)");
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->address, "127.0.0.2");
  EXPECT_EQ(c->port, 8085);
  EXPECT_EQ(c->threads, 3);
  const auto& o = c->options;
  EXPECT_TRUE(o.oauth.auto_approve);
  EXPECT_EQ(o.oauth.access_token_lifetime, std::chrono::seconds(60));
  EXPECT_EQ(o.latency, std::chrono::milliseconds(5));
  EXPECT_EQ(o.fault_seed, 42u);
  EXPECT_EQ(o.max_batch_parts, 1000u);
  EXPECT_TRUE(o.log_to_stderr);
  EXPECT_EQ(o.quota.per_user, 10);
  EXPECT_EQ(o.quota.per_project, 20);
  EXPECT_EQ(o.quota.status, 429);
  EXPECT_EQ(o.quota.retry_after_seconds, 3);
  ASSERT_EQ(o.clients.size(), 1u);
  EXPECT_EQ(o.clients[0].redirect_uris.size(), 2u);
  ASSERT_EQ(o.accounts.size(), 2u);
  EXPECT_EQ(o.accounts[0].name, "Dr Who");
  EXPECT_EQ(o.accounts[1].sub, "777");
  ASSERT_EQ(o.faults.size(), 1u);
  EXPECT_EQ(o.faults[0].kind, FaultKind::kTimeout);
  EXPECT_EQ(o.faults[0].next, 2);
  EXPECT_TRUE(o.faults[0].after);
}

TEST(FakeGoogleConfigTest, ErrorsNameTheKey) {
  EXPECT_EQ(ParseFakeGoogleConfig("prot = 1").error().field(), "prot");
  EXPECT_EQ(ParseFakeGoogleConfig("port = \"80\"").error().field(), "port");
  EXPECT_EQ(ParseFakeGoogleConfig("port = 70000").error().field(), "port");
  EXPECT_EQ(ParseFakeGoogleConfig("[quota]\nstatus = 404").error().field(), "quota.status");
  EXPECT_EQ(ParseFakeGoogleConfig("[quota]\nper_day = 1").error().field(), "quota.per_day");
  EXPECT_EQ(ParseFakeGoogleConfig("[[clients]]\nclient_id = \"a\"").error().field(), "clients[0]");
  EXPECT_EQ(ParseFakeGoogleConfig("[[clients]]\nclient_id = \"a\"\nclient_secret = \"s\"\n"
                                  "redirect_uris = [1]")
                .error()
                .field(),
            "clients[0].redirect_uris");
  EXPECT_EQ(ParseFakeGoogleConfig("[[accounts]]\nemail = \"nobody\"").error().field(),
            "accounts[0].email");
  EXPECT_EQ(ParseFakeGoogleConfig("[[faults]]\nkind = \"boom\"\nnext = 1").error().field(),
            "faults[0].kind");
  EXPECT_EQ(ParseFakeGoogleConfig("[[faults]]\nkind = \"reset\"").error().field(), "faults[0]");
  auto syntax = ParseFakeGoogleConfig("port = = 1");
  ASSERT_FALSE(syntax);
  EXPECT_NE(syntax.error().message().find("line 1"), std::string::npos);
}

TEST(FakeGoogleConfigTest, FileLoading) {
  EXPECT_EQ(LoadFakeGoogleConfigFile("/nonexistent/fake-google.toml").error().code(),
            ErrorCode::kNotFound);
  char dir_template[] = "/tmp/fake-google-config-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  std::string path = std::string(dir_template) + "/f.toml";
  std::ofstream(path) << "port = 9\n";
  auto c = LoadFakeGoogleConfigFile(path);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->port, 9);
  std::ofstream(path) << "port = true\n";
  auto bad = LoadFakeGoogleConfigFile(path);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find(path), std::string::npos);
  std::remove(path.c_str());
  rmdir(dir_template);
}

TEST(FakeGoogleFlagsTest, Client) {
  auto c = ParseClientFlag(
      "app.apps.googleusercontent.com:s3cret:http://127.0.0.1:8080/cb,"
      "https://x.example/cb");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->client_id, "app.apps.googleusercontent.com");
  EXPECT_EQ(c->client_secret, "s3cret");
  EXPECT_EQ(c->redirect_uris,
            (std::vector<std::string>{"http://127.0.0.1:8080/cb", "https://x.example/cb"}));
  EXPECT_FALSE(ParseClientFlag("app"));
  EXPECT_FALSE(ParseClientFlag("app:"));
  EXPECT_FALSE(ParseClientFlag(":s:http://localhost/cb"));
}

TEST(FakeGoogleFlagsTest, Account) {
  auto a = ParseAccountFlag("doc@example.com:Dr Who:123");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->email, "doc@example.com");
  EXPECT_EQ(a->name, "Dr Who");
  EXPECT_EQ(a->sub, "123");
  EXPECT_TRUE(ParseAccountFlag("doc@example.com"));
  EXPECT_FALSE(ParseAccountFlag("doc"));
  EXPECT_FALSE(ParseAccountFlag("doc@example.com:a:b:c"));
}

TEST(FakeGoogleFlagsTest, Fault) {
  auto f = ParseFaultFlag("kind=reset,method=GET,path=/calendar/v3/,fraction=0.25");
  ASSERT_TRUE(f) << f.error().ToString();
  EXPECT_EQ(f->kind, FaultKind::kReset);
  EXPECT_EQ(f->method, "GET");
  EXPECT_EQ(f->path_prefix, "/calendar/v3/");
  EXPECT_DOUBLE_EQ(f->fraction, 0.25);
  auto t = ParseFaultFlag("kind=timeout,next=3,delay_ms=50,after=true");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->next, 3);
  EXPECT_EQ(t->delay, std::chrono::milliseconds(50));
  EXPECT_TRUE(t->after);
  EXPECT_FALSE(ParseFaultFlag("kind=reset"));
  EXPECT_FALSE(ParseFaultFlag("kind=reset,next=x"));
  EXPECT_FALSE(ParseFaultFlag("kind=reset,next=1,colour=red"));
  EXPECT_FALSE(ParseFaultFlag("nonsense"));
}

}  // namespace
}  // namespace telemeet::emulator
