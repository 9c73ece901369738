#include "emulator/server/fake_google.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "emulator/server/fake_google_fixture.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "net/json.h"
#include "net/testing/raw_client.h"

namespace telemeet::emulator {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

using testing::kCalendarScope;
using testing::kRedirect;

class FakeGoogleTest : public testing::FakeGoogleFixture {
 protected:
  FakeGoogleTest() : FakeGoogleFixture(TwoAccounts("", "")) {}
};

TEST_F(FakeGoogleTest, ServesOAuthOnPortZero) {
  EXPECT_NE(google_.port(), 0);
  EXPECT_EQ(google_.base_url(), "http://127.0.0.1:" + std::to_string(google_.port()));
  auto tokens = Authorize();
  auto info = Call("GET", "/oauth2/v3/userinfo", "", Bearer(tokens));
  EXPECT_EQ(info.status, 200);
  EXPECT_EQ(info.headers.Get("Server"), "ESF");
  // Not logged in: 401.
  EXPECT_EQ(Call("GET", "/v1/userinfo").status, 401);
}

TEST_F(FakeGoogleTest, UnknownPathsGetGoogleShaped404) {
  auto r = Call("GET", "/no/such/thing");
  EXPECT_EQ(r.status, 404);
  auto j = Json(r);
  EXPECT_EQ(j["error"]["errors"][0]["reason"], "notFound");
  EXPECT_EQ(j["error"]["code"], 404);
}

TEST_F(FakeGoogleTest, OversizedBodyIsAGoogleShaped413) {
  auto r = Call("POST", "/calendar/v3/calendars/primary/events", std::string(2 << 20, 'x'));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(Json(r)["error"]["code"], 413);
}

TEST_F(FakeGoogleTest, RequestLogHasMethodPathStatusUserAndNoSecrets) {
  auto tokens = Authorize();
  std::string access = tokens["access_token"];
  Call("GET", "/tokeninfo?access_token=" + UrlEncode(access));
  Call("GET", "/calendar/v3/calendars/primary", "", Bearer(tokens));
  auto log = Call("GET", "/_emulator/requests");
  ASSERT_EQ(log.status, 200);
  EXPECT_EQ(log.body.find(access), std::string::npos);
  EXPECT_EQ(log.body.find(tokens["refresh_token"].get<std::string>()), std::string::npos);
  EXPECT_EQ(log.body.find("app-secret"), std::string::npos);
  auto entries = Json(log)["requests"];
  ASSERT_EQ(entries.size(), 4u);  // control calls are not logged
  EXPECT_EQ(entries[0]["method"], "GET");
  EXPECT_EQ(entries[0]["path"], "/o/oauth2/v2/auth");
  EXPECT_EQ(entries[0]["status"], 302);
  EXPECT_EQ(entries[1]["path"], "/token");
  EXPECT_EQ(entries[1]["status"], 200);
  EXPECT_EQ(entries[2]["path"], "/tokeninfo");
  EXPECT_TRUE(entries[2]["query"].get<std::string>().starts_with("access_token=")) << entries[2];
  EXPECT_FALSE(entries[3].contains("query"));
  EXPECT_EQ(entries[3]["path"], "/calendar/v3/calendars/primary");
  EXPECT_EQ(entries[3]["user"], "alice@example.com");
  EXPECT_EQ(entries[3]["timeMs"], ToUnixMillis(clock_.Now()));
  EXPECT_EQ(Call("DELETE", "/_emulator/requests").status, 204);
  EXPECT_TRUE(Json(Call("GET", "/_emulator/requests"))["requests"].empty());
}

TEST_F(FakeGoogleTest, PerUserQuotaOverASlidingMinute) {
  auto alice = Authorize();
  auto bob = Authorize("bob@example.com");
  auto set = Call("PUT", "/_emulator/quotas", R"({"perUser": 3})");
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(Json(set)["perUser"], 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NE(Call("GET", "/calendar/v3/calendars/primary", "", Bearer(alice)).status, 403);
  }
  auto over = Call("GET", "/calendar/v3/calendars/primary", "", Bearer(alice));
  EXPECT_EQ(over.status, 403);
  auto j = Json(over);
  EXPECT_EQ(j["error"]["errors"][0]["domain"], "usageLimits");
  EXPECT_EQ(j["error"]["errors"][0]["reason"], "userRateLimitExceeded");
  EXPECT_FALSE(over.headers.Has("Retry-After"));
  // Another user has their own budget; OAuth endpoints are not Calendar quota.
  EXPECT_NE(Call("GET", "/calendar/v3/calendars/primary", "", Bearer(bob)).status, 403);
  EXPECT_EQ(Call("GET", "/oauth2/v3/userinfo", "", Bearer(alice)).status, 200);
  clock_.Advance(seconds(60));
  EXPECT_NE(Call("GET", "/calendar/v3/calendars/primary", "", Bearer(alice)).status, 403);
  auto log = Json(Call("GET", "/_emulator/requests"))["requests"];
  int rejected = 0;
  for (const auto& e : log) rejected += e["status"] == 403 ? 1 : 0;
  EXPECT_EQ(rejected, 1);
}

TEST_F(FakeGoogleTest, ProjectQuotaAs429WithRetryAfter) {
  auto alice = Authorize();
  ASSERT_EQ(Call("PUT", "/_emulator/quotas",
                 R"({"perProject": 2, "status": 429, "retryAfterSeconds": 7})")
                .status,
            200);
  Call("GET", "/calendar/v3/calendars/primary", "", Bearer(alice));
  Call("GET", "/calendar/v3/calendars/primary");  // unauthenticated calls count for the project
  auto over = Call("GET", "/calendar/v3/calendars/primary", "", Bearer(alice));
  EXPECT_EQ(over.status, 429);
  EXPECT_EQ(Json(over)["error"]["errors"][0]["reason"], "rateLimitExceeded");
  EXPECT_EQ(over.headers.Get("Retry-After"), "7");
  EXPECT_EQ(Call("PUT", "/_emulator/quotas", R"({"status": 404})").status, 400);
  EXPECT_EQ(Call("PUT", "/_emulator/quotas", R"({"perDay": 1})").status, 400);
  EXPECT_EQ(Call("PUT", "/_emulator/quotas", R"({"perUser": "many"})").status, 400);
  EXPECT_EQ(Call("PUT", "/_emulator/quotas", "not json").status, 400);
}

TEST_F(FakeGoogleTest, PatchCostsThreeUnits) {
  auto alice = Authorize();
  ASSERT_EQ(Call("PUT", "/_emulator/quotas", R"({"perUser": 4})").status, 200);
  EXPECT_NE(
      Call("PATCH", "/calendar/v3/calendars/primary/events/abcde", "{}", Bearer(alice)).status,
      403);
  EXPECT_NE(Call("GET", "/calendar/v3/calendars/primary", "", Bearer(alice)).status, 403);
  EXPECT_EQ(Call("GET", "/calendar/v3/calendars/primary", "", Bearer(alice)).status, 403);
}

TEST_F(FakeGoogleTest, FaultsForTheNextNRequests) {
  auto add =
      Call("POST", "/_emulator/faults",
           R"({"kind": "backendError", "method": "GET", "pathPrefix": "/oauth2/", "next": 2})");
  ASSERT_EQ(add.status, 201) << add.body;
  auto alice = Authorize();  // /token is not under /oauth2/: untouched
  for (int i = 0; i < 2; ++i) {
    auto r = Call("GET", "/oauth2/v3/userinfo", "", Bearer(alice));
    EXPECT_EQ(r.status, 500);
    EXPECT_EQ(Json(r)["error"]["errors"][0]["reason"], "backendError");
  }
  EXPECT_EQ(Call("GET", "/oauth2/v3/userinfo", "", Bearer(alice)).status, 200);
  auto log = Json(Call("GET", "/_emulator/requests"))["requests"];
  EXPECT_EQ(log[2]["fault"], "backendError");
  EXPECT_EQ(log[2]["status"], 500);
  EXPECT_FALSE(log[4].contains("fault"));
  EXPECT_TRUE(Json(Call("GET", "/_emulator/faults"))["rules"].empty());
}

TEST_F(FakeGoogleTest, FractionFaultsRepeatWithTheSameSeed) {
  auto run = [&] {
    EXPECT_EQ(Call("PATCH", "/_emulator/settings", R"({"faultSeed": 99})").status, 200);
    EXPECT_EQ(Call("POST", "/_emulator/faults",
                   R"({"kind": "unavailable", "pathPrefix": "/oauth2/v1/certs", "fraction": 0.5})")
                  .status,
              201);
    std::string pattern;
    for (int i = 0; i < 30; ++i) {
      int s = Call("GET", "/oauth2/v1/certs").status;
      EXPECT_TRUE(s == 200 || s == 503) << s;
      pattern.push_back(s == 503 ? 'x' : '.');
    }
    EXPECT_EQ(Call("DELETE", "/_emulator/faults").status, 204);
    return pattern;
  };
  std::string first = run();
  EXPECT_EQ(run(), first);
  EXPECT_NE(first.find('x'), std::string::npos);
  EXPECT_NE(first.find('.'), std::string::npos);
}

TEST_F(FakeGoogleTest, TimeoutAndResetFaults) {
  ASSERT_EQ(
      Call("POST", "/_emulator/faults",
           R"({"kind": "timeout", "pathPrefix": "/oauth2/v3/certs", "next": 1, "delayMs": 2000})")
          .status,
      201);
  auto timed_out = TryCall("GET", "/oauth2/v3/certs", "", {}, milliseconds(300));
  ASSERT_FALSE(timed_out);
  EXPECT_EQ(timed_out.error().code(), ErrorCode::kDeadlineExceeded);
  ASSERT_EQ(Call("POST", "/_emulator/faults",
                 R"({"kind": "reset", "pathPrefix": "/oauth2/v3/certs", "next": 1})")
                .status,
            201);
  // A raw connection: curl would transparently retry a reset on a reused connection.
  net::testing::RawClient raw;
  ASSERT_TRUE(raw.Connect(google_.port()));
  ASSERT_TRUE(raw.Send("GET /oauth2/v3/certs HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_FALSE(raw.ReadResponse(seconds(2)));
  EXPECT_TRUE(raw.WaitClosed(seconds(2)));
  EXPECT_EQ(Call("GET", "/oauth2/v3/certs").status, 200);
}

TEST_F(FakeGoogleTest, FaultAfterTheRequestRan) {
  auto alice = Authorize();
  ASSERT_EQ(Call("POST", "/_emulator/faults",
                 R"({"kind": "backendError", "pathPrefix": "/revoke", "next": 1, "after": true})")
                .status,
            201);
  auto r = Call("POST", "/revoke", FormEncode({{"token", alice["access_token"]}}),
                {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(r.status, 500);
  // The revocation happened although the caller saw a 500.
  EXPECT_EQ(Call("GET", "/v1/userinfo", "", Bearer(alice)).status, 401);
}

TEST_F(FakeGoogleTest, AddedLatency) {
  ASSERT_EQ(Call("PATCH", "/_emulator/settings", R"({"latencyMs": 1500})").status, 200);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Call("GET", "/oauth2/v3/certs").status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(1500));
  // Control calls are never slowed down (the bound is loose for a busy machine).
  start = std::chrono::steady_clock::now();
  Call("GET", "/_emulator/settings");
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1500));
}

TEST_F(FakeGoogleTest, ControlSettingsAndTokens) {
  auto s = Json(Call("GET", "/_emulator/settings"));
  EXPECT_EQ(s["autoApprove"], true);
  EXPECT_EQ(s["accessTokenLifetimeSeconds"], 3599);
  EXPECT_EQ(s["maxBatchParts"], 50);
  EXPECT_EQ(Call("PATCH", "/_emulator/settings", R"({"autoApprove": "yes"})").status, 400);
  EXPECT_EQ(Call("PATCH", "/_emulator/settings", R"({"colour": 1})").status, 400);
  EXPECT_EQ(Call("PATCH", "/_emulator/settings", R"({"accessTokenLifetimeSeconds": 1e300})").status,
            400);
  EXPECT_EQ(Call("PATCH", "/_emulator/settings", R"({"latencyMs": -1})").status, 400);
  EXPECT_EQ(
      Call("PATCH", "/_emulator/settings", R"({"maxBatchParts": 0, "autoApprove": false})").status,
      400);
  EXPECT_EQ(Json(Call("GET", "/_emulator/settings"))["autoApprove"], true);  // nothing applied
  auto patched = Call("PATCH", "/_emulator/settings",
                      R"({"autoApprove": false, "accessTokenLifetimeSeconds": 60})");
  ASSERT_EQ(patched.status, 200);
  EXPECT_EQ(Json(patched)["autoApprove"], false);
  // Without auto-approve the consent page is shown.
  std::string url = "/o/oauth2/v2/auth?" + FormEncode({{"client_id", "app"},
                                                       {"redirect_uri", kRedirect},
                                                       {"response_type", "code"},
                                                       {"scope", kCalendarScope},
                                                       {"login_hint", "alice@example.com"}});
  EXPECT_EQ(Call("GET", url).status, 200);
  ASSERT_EQ(Call("PATCH", "/_emulator/settings", R"({"autoApprove": true})").status, 200);
  auto tokens = Authorize();
  EXPECT_EQ(tokens["expires_in"], 60);

  auto expired = Call("POST", "/_emulator/tokens/expire");
  EXPECT_EQ(Json(expired)["expired"], 1);
  EXPECT_EQ(Call("GET", "/v1/userinfo", "", Bearer(tokens)).status, 401);
  auto refreshed = Call("POST", "/token",
                        FormEncode({{"grant_type", "refresh_token"},
                                    {"refresh_token", tokens["refresh_token"]},
                                    {"client_id", "app"},
                                    {"client_secret", "app-secret"}}),
                        {{"Content-Type", "application/x-www-form-urlencoded"}});
  ASSERT_EQ(refreshed.status, 200);
  EXPECT_EQ(Call("GET", "/v1/userinfo", "", Bearer(Json(refreshed))).status, 200);

  auto revoked = Call("POST", "/_emulator/grants/revoke",
                      R"({"email": "alice@example.com", "clientId": "app"})");
  EXPECT_EQ(Json(revoked)["revoked"], 1);
  EXPECT_EQ(Call("GET", "/v1/userinfo", "", Bearer(Json(refreshed))).status, 401);
  EXPECT_EQ(Call("POST", "/_emulator/grants/revoke", "{}").status, 400);
}

TEST_F(FakeGoogleTest, ControlSeedsClientsAndAccounts) {
  auto c =
      Call("POST", "/_emulator/clients",
           R"({"clientId": "web", "clientSecret": "s", "redirectUris": ["https://w.example/cb"]})");
  EXPECT_EQ(c.status, 201) << c.body;
  EXPECT_EQ(c.body.find("\"s\""), std::string::npos);
  EXPECT_EQ(
      Call("POST", "/_emulator/clients",
           R"({"clientId": "bad", "clientSecret": "s", "redirectUris": ["http://evil.example/"]})")
          .status,
      400);
  EXPECT_EQ(Call("POST", "/_emulator/clients", R"({"clientId": 5})").status, 400);
  auto a =
      Call("POST", "/_emulator/accounts", R"({"email": "carol@example.com", "name": "Carol"})");
  ASSERT_EQ(a.status, 201);
  EXPECT_EQ(Json(a)["sub"].get<std::string>().size(), 21u);
  EXPECT_EQ(Call("POST", "/_emulator/accounts", R"({"email": "carol"})").status, 400);
  auto snap = Json(Call("GET", "/_emulator/oauth"));
  EXPECT_EQ(snap["clients"].size(), 2u);
  EXPECT_EQ(snap["accounts"].size(), 3u);
  EXPECT_EQ(Authorize("carol@example.com")["token_type"], "Bearer");
}

TEST_F(FakeGoogleTest, ResetReturnsToTheSeededState) {
  auto tokens = Authorize();
  Call("POST", "/_emulator/accounts", R"({"email": "carol@example.com"})");
  Call("PUT", "/_emulator/quotas", R"({"perUser": 1})");
  Call("PATCH", "/_emulator/settings", R"({"latencyMs": 1000, "autoApprove": false})");
  Call("POST", "/_emulator/faults", R"({"kind": "reset", "next": 5})");
  auto r = Call("POST", "/_emulator/reset");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Call("GET", "/v1/userinfo", "", Bearer(tokens)).status, 401);
  auto snap = Json(Call("GET", "/_emulator/oauth"));
  EXPECT_EQ(snap["accounts"].size(), 2u);
  EXPECT_TRUE(snap["grants"].empty());
  EXPECT_EQ(Json(Call("GET", "/_emulator/quotas"))["perUser"], 600);
  EXPECT_TRUE(Json(Call("GET", "/_emulator/faults"))["rules"].empty());
  EXPECT_EQ(Json(Call("GET", "/_emulator/settings"))["latencyMs"], 0);
  EXPECT_EQ(Json(Call("GET", "/_emulator/settings"))["autoApprove"], true);
  // The log restarted with the reset (control calls are not in it).
  auto log = Json(Call("GET", "/_emulator/requests"))["requests"];
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["path"], "/v1/userinfo");
}

// ---- Batch -----------------------------------------------------------------------------------

std::string BatchBody(const std::vector<std::pair<std::string, std::string>>& parts) {
  std::string body;
  for (const auto& [id, request] : parts) {
    body += "--xyz\r\nContent-Type: application/http\r\nContent-ID: <" + id + ">\r\n\r\n" +
            request + "\r\n";
  }
  return body + "--xyz--\r\n";
}

struct ParsedPart {
  std::string content_id;
  int status = 0;
  std::string body;
};

std::vector<ParsedPart> ParseBatchAnswer(const net::ClientResponse& r) {
  std::vector<ParsedPart> out;
  std::string type = r.headers.Get("Content-Type").value_or("");
  EXPECT_TRUE(type.starts_with("multipart/mixed; boundary=")) << type;
  std::string delim = "--" + type.substr(type.find("boundary=") + 9);
  size_t pos = r.body.find(delim);
  while (pos != std::string::npos) {
    size_t start = pos + delim.size();
    if (r.body.compare(start, 2, "--") == 0) break;
    size_t next = r.body.find(delim, start);
    std::string part = r.body.substr(start, next - start);
    ParsedPart p;
    size_t cid = part.find("Content-ID: <");
    if (cid != std::string::npos) {
      p.content_id = part.substr(cid + 13, part.find('>', cid) - cid - 13);
    }
    size_t status = part.find("HTTP/1.1 ");
    p.status = std::stoi(part.substr(status + 9, 3));
    size_t body = part.find("\r\n\r\n", status);
    p.body = part.substr(body + 4);
    while (!p.body.empty() && (p.body.back() == '\n' || p.body.back() == '\r')) p.body.pop_back();
    out.push_back(p);
    pos = next;
  }
  return out;
}

TEST_F(FakeGoogleTest, BatchDispatchesEachPartInOrder) {
  auto alice = Authorize();
  std::string body = BatchBody({
      {"item1", "GET /oauth2/v3/userinfo HTTP/1.1"},
      {"item2", "GET /tokeninfo?access_token=nope HTTP/1.1"},
      {"item3", "GET /calendar/v3/no-such-route HTTP/1.1"},
  });
  auto r = Call("POST", "/batch/calendar/v3", body,
                {{"Content-Type", "multipart/mixed; boundary=xyz"},
                 {"Authorization", "Bearer " + alice["access_token"].get<std::string>()}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto parts = ParseBatchAnswer(r);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].content_id, "response-item1");
  EXPECT_EQ(parts[0].status, 200);  // the outer Authorization applied to the part
  EXPECT_EQ((*net::ParseJson(parts[0].body))["sub"],
            google_.oauth().FindAccount("alice@example.com")->sub);
  EXPECT_EQ(parts[1].content_id, "response-item2");
  EXPECT_EQ(parts[1].status, 400);
  EXPECT_EQ(parts[2].content_id, "response-item3");
  EXPECT_EQ(parts[2].status, 404);
  auto log = Json(Call("GET", "/_emulator/requests"))["requests"];
  ASSERT_EQ(log.size(), 6u);  // auth, token, three parts, the batch itself
  EXPECT_EQ(log[2]["inBatch"], true);
  EXPECT_EQ(log[5]["path"], "/batch/calendar/v3");
}

TEST_F(FakeGoogleTest, BatchPartsCountAgainstQuota) {
  auto alice = Authorize();
  ASSERT_EQ(Call("PUT", "/_emulator/quotas", R"({"perUser": 2})").status, 200);
  std::string get = "GET /calendar/v3/calendars/primary HTTP/1.1";
  auto r = Call("POST", "/batch/calendar/v3", BatchBody({{"a", get}, {"b", get}, {"c", get}}),
                {{"Content-Type", "multipart/mixed; boundary=xyz"},
                 {"Authorization", "Bearer " + alice["access_token"].get<std::string>()}});
  ASSERT_EQ(r.status, 200);
  auto parts = ParseBatchAnswer(r);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_NE(parts[0].status, 403);
  EXPECT_NE(parts[1].status, 403);
  EXPECT_EQ(parts[2].status, 403);
  EXPECT_EQ((*net::ParseJson(parts[2].body))["error"]["errors"][0]["reason"],
            "userRateLimitExceeded");
}

TEST_F(FakeGoogleTest, BatchLimitsAndMalformedBodies) {
  std::vector<std::pair<std::string, std::string>> many;
  for (int i = 0; i < 51; ++i)
    many.emplace_back(std::to_string(i), "GET /oauth2/v3/certs HTTP/1.1");
  KeyValues multipart = {{"Content-Type", "multipart/mixed; boundary=xyz"}};
  auto too_many = Call("POST", "/batch/calendar/v3", BatchBody(many), multipart);
  EXPECT_EQ(too_many.status, 400);
  EXPECT_EQ(Json(too_many)["error"]["code"], 400);
  ASSERT_EQ(Call("PATCH", "/_emulator/settings", R"({"maxBatchParts": 100})").status, 200);
  auto ok = Call("POST", "/batch/calendar/v3", BatchBody(many), multipart);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ParseBatchAnswer(ok).size(), 51u);
  EXPECT_EQ(Call("POST", "/batch/calendar/v3", "garbage", multipart).status, 400);
  EXPECT_EQ(Call("POST", "/batch/calendar/v3", BatchBody({{"a", "GET /x"}})).status, 400);
  // Control routes cannot be reached through a batch.
  auto control = Call("POST", "/batch/calendar/v3",
                      BatchBody({{"a", "POST /_emulator/reset HTTP/1.1"}}), multipart);
  ASSERT_EQ(control.status, 200);
  EXPECT_EQ(ParseBatchAnswer(control)[0].status, 404);
}

// ---- Push delivery ---------------------------------------------------------------------------

// A local webhook receiver that records what arrives.
class Receiver {
 public:
  Receiver() {
    router_.Post("/hook", [this](net::Request& req) {
      std::lock_guard lock(mu_);
      received_.push_back(req);
      cv_.notify_all();
      return net::Response::Empty(200);
    });
    server_ = std::make_unique<net::HttpServer>(net::ServerOptions{}, router_);
    EXPECT_TRUE(server_->Start());
  }
  std::string url() const { return server_->BaseUrl() + "/hook"; }
  std::vector<net::Request> WaitFor(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, seconds(5), [&] { return received_.size() >= n; });
    return received_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<net::Request> received_;
  net::Router router_;
  std::unique_ptr<net::HttpServer> server_;
};

TEST(PushDeliveryTest, PostsInOrderPerChannelWithGoogleHeaders) {
  Receiver receiver;
  PushDelivery push;
  for (int i = 0; i < 5; ++i) {
    PushMessage m;
    m.address = receiver.url();
    m.headers.Set("X-Goog-Channel-ID", "chan-1");
    m.headers.Set("X-Goog-Message-Number", std::to_string(i + 1));
    m.headers.Set("X-Goog-Resource-State", i == 0 ? "sync" : "exists");
    push.Send(std::move(m));
  }
  auto got = receiver.WaitFor(5);
  ASSERT_EQ(got.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(got[i].Header("X-Goog-Message-Number"), std::to_string(i + 1));
    EXPECT_EQ(got[i].body, "");
    EXPECT_TRUE(got[i].Header("User-Agent").value_or("").starts_with("APIs-Google"));
    EXPECT_EQ(got[i].Header("Content-Length").value_or("0"), "0");
  }
  EXPECT_EQ(got[0].Header("X-Goog-Resource-State"), "sync");
  ASSERT_TRUE(push.WaitIdle(seconds(5)));
  auto log = push.Log();
  ASSERT_EQ(log.size(), 5u);
  EXPECT_EQ(log[0]["status"], 200);
  EXPECT_EQ(log[0]["state"], "sync");
}

TEST(PushDeliveryTest, UnreachableAddressIsLoggedNotFatal) {
  PushDelivery push(milliseconds(500));
  PushMessage m;
  m.address = "http://127.0.0.1:1/hook";
  m.headers.Set("X-Goog-Channel-ID", "c");
  push.Send(m);
  ASSERT_TRUE(push.WaitIdle(seconds(5)));
  auto log = push.Log();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_TRUE(log[0].contains("error"));
}

}  // namespace
}  // namespace telemeet::emulator

namespace telemeet::emulator {
namespace {

// ---- The Calendar side through the whole pipeline ---------------------------------------------

constexpr char kEvent[] = R"({"summary": "Consultation",
  "start": {"dateTime": "2026-03-02T10:00:00Z"}, "end": {"dateTime": "2026-03-02T10:30:00Z"},
  "conferenceData": {"createRequest": {"requestId": "r-1",
                                       "conferenceSolutionKey": {"type": "hangoutsMeet"}}}})";

TEST_F(FakeGoogleTest, CalendarEventsWithMeetThroughThePipeline) {
  auto alice = Authorize();
  auto inserted = Call("POST", "/calendar/v3/calendars/primary/events?conferenceDataVersion=1",
                       kEvent, Bearer(alice));
  ASSERT_EQ(inserted.status, 200) << inserted.body;
  auto ev = Json(inserted);
  std::string id = ev["id"];
  EXPECT_TRUE(ev.contains("hangoutLink"));
  auto got = Call("GET", "/calendar/v3/calendars/primary/events/" + id, "", Bearer(alice));
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(Call("DELETE", "/calendar/v3/calendars/primary/events/" + id, "", Bearer(alice)).status,
            204);
  auto again = Call("DELETE", "/calendar/v3/calendars/primary/events/" + id, "", Bearer(alice));
  EXPECT_EQ(again.status, 410);
  EXPECT_EQ(Json(again)["error"]["errors"][0]["reason"], "deleted");
  // Without a token: 401 authError.
  EXPECT_EQ(Call("GET", "/calendar/v3/calendars/primary/events/" + id).status, 401);
  auto log = Json(Call("GET", "/_emulator/requests"))["requests"];
  EXPECT_EQ(log.back()["status"], 401);
  EXPECT_EQ(log.back()["user"], "");
}

TEST_F(FakeGoogleTest, BatchInsertsEvents) {
  auto alice = Authorize();
  std::string insert = std::string("POST /calendar/v3/calendars/primary/events HTTP/1.1\r\n") +
                       "Content-Type: application/json\r\n\r\n" + kEvent;
  auto r = Call("POST", "/batch/calendar/v3", BatchBody({{"one", insert}, {"two", insert}}),
                {{"Content-Type", "multipart/mixed; boundary=xyz"},
                 {"Authorization", "Bearer " + alice["access_token"].get<std::string>()}});
  ASSERT_EQ(r.status, 200);
  auto parts = ParseBatchAnswer(r);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].status, 200) << parts[0].body;
  EXPECT_EQ(parts[1].status, 200) << parts[1].body;
  EXPECT_NE((*net::ParseJson(parts[0].body))["id"], (*net::ParseJson(parts[1].body))["id"]);
  auto list = Json(Call("GET", "/calendar/v3/calendars/primary/events", "", Bearer(alice)));
  EXPECT_EQ(list["items"].size(), 2u);
}

TEST_F(FakeGoogleTest, WatchDeliversRealPushNotifications) {
  Receiver receiver;
  auto alice = Authorize();
  nlohmann::json watch = {
      {"id", "channel-1"}, {"type", "web_hook"}, {"address", receiver.url()}, {"token", "tok"}};
  auto w = Call("POST", "/calendar/v3/calendars/primary/events/watch", watch.dump(), Bearer(alice));
  ASSERT_EQ(w.status, 200) << w.body;
  auto sync = receiver.WaitFor(1);
  ASSERT_EQ(sync.size(), 1u);
  EXPECT_EQ(sync[0].Header("X-Goog-Resource-State"), "sync");
  EXPECT_EQ(sync[0].Header("X-Goog-Channel-ID"), "channel-1");
  EXPECT_EQ(sync[0].Header("X-Goog-Channel-Token"), "tok");
  EXPECT_EQ(sync[0].Header("X-Goog-Message-Number"), "1");
  ASSERT_EQ(Call("POST", "/calendar/v3/calendars/primary/events", kEvent, Bearer(alice)).status,
            200);
  auto all = receiver.WaitFor(2);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].Header("X-Goog-Resource-State"), "exists");
  EXPECT_EQ(all[1].Header("X-Goog-Resource-ID"), Json(w)["resourceId"]);
  EXPECT_TRUE(google_.push().WaitIdle(seconds(5)));
  auto deliveries = Json(Call("GET", "/_emulator/push-log"))["deliveries"];
  ASSERT_EQ(deliveries.size(), 2u);
  EXPECT_EQ(deliveries[1]["status"], 200);
}

}  // namespace
}  // namespace telemeet::emulator
