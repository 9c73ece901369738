#include "net/router.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace telemeet::net {
namespace {

Request Make(std::string method, std::string path) {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.target = r.path;
  return r;
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Get("/healthz", [](Request&) { return Response::Text(200, "ok"); });
    router_.Get("/calendars/{cal}/events/{id}",
                [](Request& r) { return Response::Text(200, r.Param("cal") + "|" + r.Param("id")); });
    router_.Post("/calendars/{cal}/events/watch",
                 [](Request& r) { return Response::Text(200, "watch " + r.Param("cal")); });
    router_.Delete("/calendars/{cal}/events/{id}", [](Request&) { return Response::Empty(204); });
    router_.Get("/static/{file...}", [](Request& r) { return Response::Text(200, r.Param("file")); });
    router_.Get("/boom", [](Request&) -> Response { throw std::runtime_error("secret detail"); });
  }
  Router router_;
};

TEST_F(RouterTest, CapturesDecodedPathParameters) {
  auto req = Make("GET", "/calendars/a%40b.com/events/abc123");
  Response r = router_.Dispatch(req);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "a@b.com|abc123");
}

TEST_F(RouterTest, LiteralSegmentBeatsCapture) {
  auto req = Make("POST", "/calendars/primary/events/watch");
  EXPECT_EQ(router_.Dispatch(req).body, "watch primary");
}

TEST_F(RouterTest, UnknownPathIs404WithJsonError) {
  auto req = Make("GET", "/nope");
  Response r = router_.Dispatch(req);
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("\"code\":\"not_found\""), std::string::npos);
}

TEST_F(RouterTest, WrongMethodIs405WithAllow) {
  auto req = Make("PUT", "/calendars/primary/events/x1");
  Response r = router_.Dispatch(req);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers.Get("Allow"), "GET, DELETE");
  EXPECT_NE(r.body.find("method_not_allowed"), std::string::npos);
}

TEST_F(RouterTest, HeadIsServedByGet) {
  auto req = Make("HEAD", "/healthz");
  EXPECT_EQ(router_.Dispatch(req).status, 200);
}

TEST_F(RouterTest, RestCaptureTakesTheRemainder) {
  auto req = Make("GET", "/static/css/app.css");
  EXPECT_EQ(router_.Dispatch(req).body, "css/app.css");
}

TEST_F(RouterTest, MissingOrExtraSegmentsDoNotMatch) {
  auto a = Make("GET", "/calendars/primary/events");
  EXPECT_EQ(router_.Dispatch(a).status, 404);
  auto b = Make("GET", "/calendars/primary/events/x/y");
  EXPECT_EQ(router_.Dispatch(b).status, 404);
  auto c = Make("GET", "/calendars//events/x");
  EXPECT_EQ(router_.Dispatch(c).status, 404);
}

TEST_F(RouterTest, HandlerExceptionBecomes500WithoutDetail) {
  auto req = Make("GET", "/boom");
  req.request_id = "r1";
  Response r = router_.Dispatch(req);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("secret detail"), std::string::npos);
  EXPECT_NE(r.body.find("r1"), std::string::npos);
}

TEST_F(RouterTest, CustomErrorRendererIsUsed) {
  router_.SetErrorRenderer([](int status, std::string_view, std::string_view) {
    return Response::Text(status, "custom");
  });
  auto req = Make("GET", "/nope");
  EXPECT_EQ(router_.Dispatch(req).body, "custom");
}

TEST_F(RouterTest, RoutesListsEveryRegistration) {
  auto routes = router_.Routes();
  ASSERT_EQ(routes.size(), 6u);
  EXPECT_EQ(routes[0], "GET /healthz");
}

}  // namespace
}  // namespace telemeet::net
