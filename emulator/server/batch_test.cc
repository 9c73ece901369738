#include "emulator/server/batch.h"

#include <gtest/gtest.h>

namespace telemeet::emulator {
namespace {

net::Request Outer(std::string body, std::string type = "multipart/mixed; boundary=b0undary") {
  net::Request r;
  r.method = "POST";
  r.path = "/batch/calendar/v3";
  r.target = r.path;
  r.headers.Set("Content-Type", type);
  r.headers.Set("Authorization", "Bearer outer");
  r.headers.Set("Content-Length", std::to_string(body.size()));
  r.body = std::move(body);
  return r;
}

std::string Part(std::string_view id, std::string_view request_text, std::string_view nl = "\r\n") {
  std::string out =
      "--b0undary" + std::string(nl) + "Content-Type: application/http" + std::string(nl);
  if (!id.empty()) out += "Content-ID: <" + std::string(id) + ">" + std::string(nl);
  out += std::string(nl) + std::string(request_text) + std::string(nl);
  return out;
}

TEST(ParseBatchTest, PartsInOrderWithHeadersAndBodies) {
  std::string body =
      Part("item1", "GET /calendar/v3/calendars/primary/events/abc HTTP/1.1\r\n") +
      Part("item2:12930812@barnyard.example.com",
           "POST /calendar/v3/calendars/primary/events?conferenceDataVersion=1 HTTP/1.1\r\n"
           "Content-Type: application/json\r\nAuthorization: Bearer inner\r\n\r\n"
           "{\"summary\":\"x\"}") +
      Part("", "DELETE /calendar/v3/calendars/primary/events/abc\r\n") + "--b0undary--\r\n";
  auto parts = ParseBatch(Outer(body), 50);
  ASSERT_TRUE(parts) << parts.error().ToString();
  ASSERT_EQ(parts->size(), 3u);
  const auto& p0 = (*parts)[0];
  EXPECT_EQ(p0.content_id, "item1");
  EXPECT_EQ(p0.request.method, "GET");
  EXPECT_EQ(p0.request.path, "/calendar/v3/calendars/primary/events/abc");
  EXPECT_EQ(p0.request.Header("Authorization"), "Bearer outer");  // outer headers apply...
  EXPECT_FALSE(p0.request.headers.Has("Content-Length"));         // ...except Content-*
  EXPECT_EQ(p0.request.body, "");
  const auto& p1 = (*parts)[1];
  EXPECT_EQ(p1.content_id, "item2:12930812@barnyard.example.com");
  EXPECT_EQ(p1.request.query, "conferenceDataVersion=1");
  EXPECT_EQ(p1.request.Header("Authorization"), "Bearer inner");  // a part's own header wins
  EXPECT_EQ(p1.request.Header("Content-Type"), "application/json");
  EXPECT_EQ(p1.request.body, "{\"summary\":\"x\"}");
  EXPECT_EQ((*parts)[2].content_id, "");
  EXPECT_EQ((*parts)[2].request.method, "DELETE");
}

TEST(ParseBatchTest, BareNewlinesAbsoluteUrlsAndQuotedBoundary) {
  std::string body =
      Part("a", "GET https://www.googleapis.com/calendar/v3/calendars/primary HTTP/1.1\n", "\n") +
      "--b0undary--\n";
  auto parts = ParseBatch(Outer(body, "multipart/mixed; boundary=\"b0undary\""), 50);
  ASSERT_TRUE(parts) << parts.error().ToString();
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].request.path, "/calendar/v3/calendars/primary");
}

TEST(ParseBatchTest, Refusals) {
  std::string one = Part("a", "GET /calendar/v3/calendars/primary HTTP/1.1\r\n");
  EXPECT_EQ(ParseBatch(Outer(one + "--b0undary--", "application/json"), 50).error().field(),
            "Content-Type");
  EXPECT_EQ(ParseBatch(Outer(one + "--b0undary--", "multipart/mixed"), 50).error().field(),
            "Content-Type");
  EXPECT_FALSE(ParseBatch(Outer("--b0undary--\r\n"), 50));
  EXPECT_FALSE(ParseBatch(Outer(one), 50));  // no closing delimiter
  EXPECT_FALSE(ParseBatch(Outer("no parts at all"), 50));
  std::string not_http =
      "--b0undary\r\nContent-Type: text/plain\r\n\r\nGET / HTTP/1.1\r\n--b0undary--";
  EXPECT_FALSE(ParseBatch(Outer(not_http), 50));
  EXPECT_FALSE(ParseBatch(Outer(Part("a", "GET relative/path HTTP/1.1\r\n") + "--b0undary--"), 50));
  std::string many;
  for (int i = 0; i < 51; ++i) many += one;
  auto too_many = ParseBatch(Outer(many + "--b0undary--"), 50);
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().field(), "parts");
  std::string fifty;
  for (int i = 0; i < 50; ++i) fifty += one;
  EXPECT_TRUE(ParseBatch(Outer(fifty + "--b0undary--"), 50));
}

TEST(BatchResponseTest, OnePartPerAnswerWithResponseContentIds) {
  net::Response ok = net::Response::Text(200, "{\"id\":\"a\"}", "application/json; charset=UTF-8");
  ok.headers.Set("ETag", "\"123\"");
  net::Response gone = net::Response::Empty(410);
  auto r = BatchResponse({{"item1", ok}, {"", gone}});
  EXPECT_EQ(r.status, 200);
  std::string type = r.headers.Get("Content-Type").value_or("");
  ASSERT_TRUE(type.starts_with("multipart/mixed; boundary=batch_"));
  std::string boundary = type.substr(type.find('=') + 1);
  std::string expected = "--" + boundary +
                         "\r\nContent-Type: application/http\r\nContent-ID: "
                         "<response-item1>\r\n\r\nHTTP/1.1 200 OK\r\n"
                         "Content-Type: application/json; charset=UTF-8\r\nETag: \"123\"\r\n"
                         "Content-Length: 10\r\n\r\n{\"id\":\"a\"}\r\n--" +
                         boundary +
                         "\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 410 Gone\r\n";
  EXPECT_TRUE(r.body.starts_with(expected)) << r.body;
  EXPECT_TRUE(r.body.ends_with("--" + boundary + "--\r\n"));
}

}  // namespace
}  // namespace telemeet::emulator
