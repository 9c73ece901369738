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

TEST(JsonTest, NoParserExceptionEscapes) {
  // Numbers beyond double's range throw out_of_range inside nlohmann, not parse_error.
  for (const char* text : {"1e999", R"({"n":-1e400})", R"({"a":[1e309]})"}) {
    Result<nlohmann::json> v = Fail(ErrorCode::kInternal, "not run");
    EXPECT_NO_THROW(v = ParseJson(text)) << text;
    ASSERT_FALSE(v.has_value()) << text;
    EXPECT_EQ(v.error().code(), ErrorCode::kInvalidArgument) << text;
    EXPECT_NE(v.error().message().find("out of range"), std::string::npos) << text;
  }
  // Ill-formed UTF-8 inside a string, a lone surrogate escape, a truncated sequence.
  for (std::string text : {std::string("{\"a\":\"\xff\xfe\"}"), std::string(R"({"a":"\ud800"})"),
                           std::string("{\"a\":\"\xe2\x82\"}"), std::string("\xc3")}) {
    Result<nlohmann::json> v = Fail(ErrorCode::kInternal, "not run");
    EXPECT_NO_THROW(v = ParseJson(text));
    ASSERT_FALSE(v.has_value());
    EXPECT_EQ(v.error().code(), ErrorCode::kInvalidArgument);
    // The message never echoes the input.
    EXPECT_EQ(v.error().message().find('\xff'), std::string::npos);
  }
  // Nesting just within the limit parses; one more level is refused, mixed brackets too.
  std::string ok = std::string(32, '[') + std::string(32, ']');
  EXPECT_TRUE(ParseJson(ok).has_value());
  std::string mixed;
  for (int i = 0; i < 40; ++i) mixed += i % 2 ? "[" : "{\"k\":";
  EXPECT_EQ(ParseJson(mixed).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(ParseJson(std::string(33, '[') + std::string(33, ']')).has_value());
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

// DumpJson's fast path must print exactly what nlohmann's dump does, for every kind of value.
TEST(JsonTest, DumpJsonPrintsWhatNlohmannPrints) {
  nlohmann::json doc = {
      {"id", 42},
      {"negative", -9'223'372'036'854'775'807LL - 1},
      {"big", uint64_t{18'446'744'073'709'551'615ULL}},
      {"ratio", 0.1},
      {"tiny", 1e-300},
      {"ok", true},
      {"no", false},
      {"none", nullptr},
      {"plain", "https://meet.google.com/abc-defg-hij"},
      {"quote", "say \"hi\" \\ there"},
      {"control", "a\nb\tc\x01" "d\x7f"},
      {"unicode", "Zo\u00eb \u2013 \U0001F600"},
      {"empty", ""},
      {"nested", {{"list", {1, "two", nullptr, {{"k", "v"}}, nlohmann::json::array()}},
                  {"obj", nlohmann::json::object()}}},
      {"a \"key\"", "keys are escaped too"},
  };
  EXPECT_EQ(DumpJson(doc), doc.dump());
  for (const nlohmann::json& v : {nlohmann::json(nullptr), nlohmann::json(7), nlohmann::json("x"),
                                  nlohmann::json::array(), nlohmann::json::object(),
                                  nlohmann::json(-0.0), nlohmann::json(3.5)}) {
    EXPECT_EQ(DumpJson(v), v.dump());
  }
  // Invalid UTF-8 becomes U+FFFD instead of an exception, as in JsonResponse.
  nlohmann::json bad = {{"name", std::string("ab\xff\xfe")}};
  EXPECT_EQ(DumpJson(bad), bad.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  EXPECT_EQ(DumpJson(bad), "{\"name\":\"ab\xef\xbf\xbd\xef\xbf\xbd\"}");
}

// One document through both: JsonWriter's text is DumpJson of what JsonBuilder builds, escapes,
// nesting, embedded values and invalid UTF-8 included.
template <typename W>
void WriteSample(W& w) {
  w.BeginObject()
      .Key("a \"key\"")
      .String("say \"hi\" \\ a\nb\x01 Zo\u00eb \U0001F600")
      .Key("bad")
      .String("ab\xff")
      .Key("empty")
      .BeginObject()
      .EndObject()
      .Key("id")
      .Int(-9'223'372'036'854'775'807LL - 1)
      .Key("list")
      .BeginArray()
      .Int(1)
      .BeginObject()
      .Key("k")
      .Null()
      .Key("z")
      .BeginArray()
      .EndArray()
      .EndObject()
      .Bool(false)
      .Json({{"y", 1}, {"x", {true, 0.5}}})
      .EndArray()
      .Key("no")
      .Null()
      .Key("ok")
      .Bool(true)
      .EndObject();
}

TEST(JsonTest, JsonWriterWritesWhatDumpJsonPrintsOfTheBuiltDocument) {
  JsonBuilder b;
  WriteSample(b);
  nlohmann::json built = b.Take();
  EXPECT_EQ(built["list"][1]["k"], nullptr);
  EXPECT_EQ(built["list"][3]["x"][1], 0.5);
  std::string text;
  JsonWriter w(text);
  WriteSample(w);
  EXPECT_EQ(text, DumpJson(built));
  EXPECT_EQ(nlohmann::json::parse(text)["id"], built["id"]);
  std::string scalar;
  JsonWriter(scalar).Int(7);
  EXPECT_EQ(scalar, "7");
  for (double d : {0.412, 12.0, 0.001, 1e-7, 123456.789, -2.5}) {
    std::string number;
    JsonWriter(number).Double(d);
    EXPECT_EQ(number, nlohmann::json(d).dump()) << d;
  }
}

}  // namespace
}  // namespace telemeet::net
