#include "api/ops.h"

#include <gtest/gtest.h>

#include "net/json.h"

namespace telemeet::api {
namespace {

net::Response Get(net::Router& router, std::string path, std::string remote = "127.0.0.1",
                  std::string authorization = "", std::string forwarded_for = "") {
  net::Request req;
  req.method = "GET";
  req.path = path;
  req.target = path;
  req.remote_address = std::move(remote);
  req.headers.Add("Host", "127.0.0.1:8080");
  if (!authorization.empty()) req.headers.Add("Authorization", authorization);
  if (!forwarded_for.empty()) req.headers.Add("X-Forwarded-For", forwarded_for);
  return router.Dispatch(req);
}

TEST(OpsTest, HealthzAnswersOk) {
  net::Router router;
  obs::Registry metrics;
  RegisterOpsRoutes(router, metrics, {}, {});
  auto r = Get(router, "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(nlohmann::json::parse(r.body)["status"], "ok");
}

TEST(OpsTest, ReadyzNamesTheFailingCheckButNotItsErrorText) {
  net::Router router;
  obs::Registry metrics;
  bool store_up = true;
  RegisterOpsRoutes(router, metrics, {},
                    {{"store", [&]() -> Status {
                        if (store_up) return Ok();
                        return Fail(ErrorCode::kUnavailable,
                                    "could not connect to server at 10.1.2.3:5432: password "
                                    "authentication failed for user telemeet");
                      }}});
  EXPECT_EQ(Get(router, "/readyz").status, 200);
  store_up = false;
  auto r = Get(router, "/readyz");
  EXPECT_EQ(r.status, 503);
  auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["status"], "unavailable");
  EXPECT_EQ(body["checks"]["store"], "failing");
  EXPECT_EQ(r.body.find("10.1.2.3"), std::string::npos) << r.body;
}

TEST(OpsTest, MetricsRendersTheRegistryToLoopbackClients) {
  net::Router router;
  obs::Registry metrics;
  metrics.GetCounter("telemeet_test_total", "A test counter.").Inc(5);
  RegisterOpsRoutes(router, metrics, {}, {});
  for (std::string local : {"127.0.0.1", "::1", "::ffff:127.0.0.1"}) {
    auto r = Get(router, "/metrics", local);
    EXPECT_EQ(r.status, 200) << local;
    EXPECT_NE(r.body.find("telemeet_test_total 5"), std::string::npos);
    EXPECT_EQ(r.headers.Get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  }
  // Nobody else, when no token is configured, whatever they send.
  EXPECT_EQ(Get(router, "/metrics", "203.0.113.7").status, 403);
  EXPECT_EQ(Get(router, "/metrics", "203.0.113.7", "Bearer ").status, 403);
  // A reverse proxy on this host: the client is whoever it forwards for.
  EXPECT_EQ(Get(router, "/metrics", "127.0.0.1", "", "203.0.113.7").status, 403);
  // A page whose name was rebound to 127.0.0.1 names its own host.
  net::Request rebound;
  rebound.method = "GET";
  rebound.path = rebound.target = "/metrics";
  rebound.remote_address = "127.0.0.1";
  rebound.headers.Add("Host", "attacker.example:8080");
  EXPECT_EQ(router.Dispatch(rebound).status, 403);
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_TRUE(IsLoopbackHost("[::1]:8080"));
  EXPECT_FALSE(IsLoopbackHost("127.0.0.1.attacker.example"));
}

TEST(OpsTest, MetricsAnswerOthersOnlyWithTheToken) {
  net::Router router;
  obs::Registry metrics;
  RegisterOpsRoutes(router, metrics, {.metrics_token = "scrape-token-0123456789"}, {});
  EXPECT_EQ(Get(router, "/metrics", "203.0.113.7").status, 403);
  EXPECT_EQ(Get(router, "/metrics", "203.0.113.7", "Bearer wrong-token-0123456789").status, 403);
  EXPECT_EQ(Get(router, "/metrics", "203.0.113.7", "Bearer scrape-token-0123456789").status, 200);
  EXPECT_EQ(Get(router, "/metrics", "203.0.113.7", "bearer scrape-token-0123456789").status, 200);
  EXPECT_EQ(
      Get(router, "/metrics", "127.0.0.1", "Bearer scrape-token-0123456789", "203.0.113.7").status,
      200);
}

}  // namespace
}  // namespace telemeet::api
