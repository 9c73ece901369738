#include "net/json.h"

#include <gtest/gtest.h>

namespace telemeet::net {
namespace {

Request JsonRequest(std::string body) {
  Request r;
  r.method = "POST";
  r.headers.Set("Content-Type", "application/json; charset=utf-8");
  r.body = std::move(body);
  return r;
}

TEST(JsonTest, ParsesAnObjectBody) {
  auto v = ParseJsonBody(JsonRequest(R"({"a":[1,2,{"b":null}]})"));
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ((*v)["a"][1], 2);
}

TEST(JsonTest, MalformedBodyNamesTheBytePosition) {
  auto v = ParseJsonBody(JsonRequest(R"({"a":)"));
  ASSERT_FALSE(v.has_value());
  EXPECT_EQ(v.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(v.error().message().find("malformed JSON at byte"), std::string::npos);
}

TEST(JsonTest, NonObjectAndWrongContentTypeAreRefused) {
  EXPECT_EQ(ParseJsonBody(JsonRequest("[1]")).error().message(), "the body must be a JSON object");
  Request r = JsonRequest("{}");
  r.headers.Set("Content-Type", "text/plain");
  EXPECT_EQ(ParseJsonBody(r).error().field(), "Content-Type");
}

TEST(JsonTest, DeepNestingIsRefusedBeforeParsing) {
  std::string deep(100000, '[');
  auto v = ParseJson(deep);
  ASSERT_FALSE(v.has_value());
  EXPECT_NE(v.error().message().find("nested deeper than 32"), std::string::npos);
  // Brackets inside strings do not count.
  auto ok = ParseJson(R"({"s":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})");
  EXPECT_TRUE(ok.has_value());
}

TEST(JsonTest, ErrorBodyShape) {
  Response r = ErrorResponse(Error(ErrorCode::kNotFound, "no such doctor", "doctor_id"));
  EXPECT_EQ(r.status, 404);
  auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["error"]["code"], "not_found");
  EXPECT_EQ(body["error"]["message"], "no such doctor");
  EXPECT_EQ(body["error"]["field"], "doctor_id");
}

TEST(JsonTest, InvalidUtf8IsReplacedNotThrown) {
  Response r = JsonError(400, "invalid_argument", std::string("bad \xff byte"));
  EXPECT_EQ(r.status, 400);
  EXPECT_NO_THROW(nlohmann::json::parse(r.body));
}

}  // namespace
}  // namespace telemeet::net
