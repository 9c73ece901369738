#include "api/ops.h"

#include <gtest/gtest.h>

#include "net/json.h"

namespace telemeet::api {
namespace {

net::Response Get(net::Router& router, std::string path) {
  net::Request req;
  req.method = "GET";
  req.path = path;
  req.target = path;
  return router.Dispatch(req);
}

TEST(OpsTest, HealthzAnswersOk) {
  net::Router router;
  obs::Registry metrics;
  RegisterOpsRoutes(router, metrics, {});
  auto r = Get(router, "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(nlohmann::json::parse(r.body)["status"], "ok");
}

TEST(OpsTest, ReadyzNamesTheFailingCheck) {
  net::Router router;
  obs::Registry metrics;
  bool store_up = true;
  RegisterOpsRoutes(router, metrics,
                    {{"store", [&]() -> Status {
                        if (store_up) return Ok();
                        return Fail(ErrorCode::kUnavailable, "database is locked");
                      }}});
  EXPECT_EQ(Get(router, "/readyz").status, 200);
  store_up = false;
  auto r = Get(router, "/readyz");
  EXPECT_EQ(r.status, 503);
  auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["status"], "unavailable");
  EXPECT_EQ(body["checks"]["store"], "database is locked");
}

TEST(OpsTest, MetricsRendersTheRegistry) {
  net::Router router;
  obs::Registry metrics;
  metrics.GetCounter("telemeet_test_total", "A test counter.").Inc(5);
  RegisterOpsRoutes(router, metrics, {});
  auto r = Get(router, "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("telemeet_test_total 5"), std::string::npos);
  EXPECT_EQ(r.headers.Get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace
}  // namespace telemeet::api
