#include <gtest/gtest.h>

#include <random>

#include "base/strings.h"
#include "google/calendar_client.h"
#include "google/testing/fake_sleeper.h"
#include "google/testing/fake_token_source.h"
#include "google/testing/scripted_transport.h"

namespace telemeet::google {
namespace {

using nlohmann::json;
using testing::Json;

const std::string kBase = "https://calendar.test";
const std::string kBatch = kBase + "/batch/calendar/v3";
const std::string kEvents = kBase + "/calendar/v3/calendars/primary/events";

std::string Id(size_t i) { return "evt" + std::to_string(10000 + i); }

json EventJson(const std::string& id) {
  return {
      {"id", id}, {"status", "confirmed"}, {"extendedProperties", {{"private", {{"app", id}}}}}};
}

struct SeenPart {
  std::string request_line;
  std::string body;
};

// Splits a batch request the way Google would and answers each part with `answer`.
testing::Reply BatchReply(std::function<std::pair<int, json>(size_t, const SeenPart&)> answer,
                          std::vector<size_t>* sizes) {
  return [answer, sizes](const HttpRequest& req) -> Result<HttpResponse> {
    std::string type = req.headers.Get("Content-Type").value_or("");
    std::string boundary = type.substr(type.find("boundary=") + 9);
    std::vector<SeenPart> parts;
    size_t pos = 0;
    const std::string delim = "--" + boundary;
    while ((pos = req.body.find(delim + "\r\n", pos)) != std::string::npos) {
      pos += delim.size() + 2;
      size_t next = req.body.find(delim, pos);
      std::string part = req.body.substr(pos, next - pos);
      size_t inner = part.find("\r\n\r\n") + 4;
      std::string rest = part.substr(inner);
      size_t eol = rest.find("\r\n");
      size_t head_end = rest.find("\r\n\r\n");
      std::string body = rest.substr(head_end + 4);
      if (body.size() >= 2) body.resize(body.size() - 2);
      parts.push_back({rest.substr(0, eol), body});
    }
    sizes->push_back(parts.size());
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) {
      auto [status, body] = answer(i, parts[i]);
      std::string text = body.is_null() ? "" : body.dump();
      out += "--resp_b\r\nContent-Type: application/http\r\nContent-ID: <response-item-" +
             std::to_string(i + 1) + ">\r\n\r\nHTTP/1.1 " + std::to_string(status) +
             " X\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n" + text + "\r\n";
    }
    out += "--resp_b--\r\n";
    HttpResponse r{.status = 200, .headers = {}, .body = out};
    r.headers.Set("Content-Type", "multipart/mixed; boundary=resp_b");
    return r;
  };
}

class BatchTest : public ::testing::Test {
 protected:
  CalendarClient Client() {
    return CalendarClient(CalendarOptions{.base_url = kBase}, CalendarDeps{.transport = transport_,
                                                                           .tokens = tokens_,
                                                                           .retry = retry_,
                                                                           .clock = clock_,
                                                                           .sleeper = sleeper_});
  }
  static BatchOperation Insert(size_t i) {
    BatchOperation op;
    op.kind = BatchOperation::Kind::kInsert;
    op.spec.id = Id(i);
    op.spec.private_properties = {{"app", Id(i)}};
    op.spec.conference_request_id = "req-" + std::to_string(i);
    return op;
  }

  FakeClock clock_;
  testing::FakeSleeper sleeper_{clock_};
  RetryPolicy retry_{RetryOptions{}, clock_, sleeper_, 5};
  testing::ScriptedTransport transport_;
  testing::FakeTokenSource tokens_;
};

TEST(BatchCodecTest, EncodesPathOnlyRequests) {
  std::string body = EncodeBatch({{"GET", "/calendar/v3/calendars/primary/events/abcde", ""},
                                  {"POST", "/calendar/v3/calendars/primary/events?x=1", "{}"}},
                                 "bnd");
  EXPECT_EQ(body,
            "--bnd\r\nContent-Type: application/http\r\nContent-ID: <item-1>\r\n\r\n"
            "GET /calendar/v3/calendars/primary/events/abcde HTTP/1.1\r\n\r\n\r\n"
            "--bnd\r\nContent-Type: application/http\r\nContent-ID: <item-2>\r\n\r\n"
            "POST /calendar/v3/calendars/primary/events?x=1 HTTP/1.1\r\n"
            "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}\r\n"
            "--bnd--\r\n");
}

TEST(BatchCodecTest, DecodesGoogleAnswersInContentIdOrder) {
  std::string body =
      "--batch_x\r\nContent-Type: application/http\r\nContent-ID: <response-item-2>\r\n\r\n"
      "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n\r\n{\"error\":{}}\r\n"
      "--batch_x\r\nContent-Type: application/http\r\nContent-ID: <response-item-1>\r\n\r\n"
      "HTTP/1.1 200 OK\r\nETag: \"e1\"\r\n\r\n{\"id\":\"abcde\"}\r\n"
      "--batch_x--\r\n";
  auto parts = DecodeBatch("multipart/mixed; boundary=batch_x", body);
  ASSERT_TRUE(parts.has_value()) << parts.error().ToString();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].status, 200);
  EXPECT_EQ((*parts)[0].headers.Get("ETag"), "\"e1\"");
  EXPECT_EQ((*parts)[0].body, "{\"id\":\"abcde\"}");
  EXPECT_EQ((*parts)[1].status, 404);
}

TEST(BatchCodecTest, RefusesMalformedAnswers) {
  EXPECT_FALSE(DecodeBatch("application/json", "{}").has_value());
  EXPECT_FALSE(
      DecodeBatch("multipart/mixed; boundary=b", "--b\r\nx\r\n\r\nnot http\r\n--b--").has_value());
  // Truncated: no closing delimiter.
  EXPECT_FALSE(
      DecodeBatch("multipart/mixed; boundary=b", "--b\r\n\r\nHTTP/1.1 200 OK\r\n\r\n{}\r\n")
          .has_value());
}

TEST(BatchCodecTest, SurvivesMangledInput) {
  const std::string good =
      "--b\r\nContent-Type: application/http\r\nContent-ID: <response-item-1>\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"
      "{\"id\":\"abcde\",\"conferenceData\":{\"createRequest\":{\"status\":"
      "{\"statusCode\":\"success\"}},\"entryPoints\":[{\"entryPointType\":\"video\","
      "\"uri\":\"https://meet.google.com/a\"}]}}\r\n--b--\r\n";
  std::mt19937 rng(1234);
  for (int i = 0; i < 1000; ++i) {
    std::string mangled = good;
    for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) {
      size_t at = rng() % mangled.size();
      switch (rng() % 3) {
        case 0:
          mangled[at] = static_cast<char>(rng());
          break;
        case 1:
          mangled.erase(at, 1 + rng() % 8);
          break;
        default:
          mangled.insert(at, 1, "{}[]\":,-\r\n"[rng() % 11]);
          break;
      }
      if (mangled.empty()) mangled = "x";
    }
    auto parts = DecodeBatch("multipart/mixed; boundary=b", mangled);
    if (parts) {
      for (const HttpResponse& r : *parts) (void)ParseEvent(r.body);
    }
    (void)ParseEvent(
        mangled.substr(mangled.find('{') == std::string::npos ? 0 : mangled.find('{')));
  }
  SUCCEED();  // no crash, no exception, no sanitizer report
}

TEST_F(BatchTest, SplitsIntoBatchesOfFiftyAndKeepsOrder) {
  std::vector<size_t> sizes;
  transport_.On("POST", kBatch,
                BatchReply(
                    [](size_t, const SeenPart& p) {
                      return std::pair<int, json>{200, EventJson(json::parse(p.body)["id"])};
                    },
                    &sizes));
  std::vector<BatchOperation> ops;
  for (size_t i = 0; i < 120; ++i) ops.push_back(Insert(i));
  auto results = Client().ExecuteBatch("doc-1", ops);
  EXPECT_EQ(sizes, (std::vector<size_t>{50, 50, 20}));
  ASSERT_EQ(results.size(), 120u);
  for (size_t i = 0; i < 120; ++i) {
    ASSERT_TRUE(results[i].has_value()) << i;
    EXPECT_EQ(results[i]->event->id, Id(i));
  }
  auto reqs = transport_.requests();
  EXPECT_EQ(reqs[0].headers.Get("Authorization"), "Bearer token-1");
  EXPECT_NE(reqs[0].body.find("POST /calendar/v3/calendars/primary/events?conferenceDataVersion=1"
                              "&sendUpdates=none HTTP/1.1"),
            std::string::npos);
}

TEST_F(BatchTest, RetriesConflictAndRetriablePartsAlone) {
  std::vector<size_t> sizes;
  transport_.On(
      "POST", kBatch,
      BatchReply(
          [](size_t i, const SeenPart& p) {
            std::string id = json::parse(p.body)["id"];
            if (i == 1) {
              return std::pair<int, json>{
                  409, {{"error", {{"errors", {{{"reason", "conflict"}}}}, {"code", 409}}}}};
            }
            if (i == 2) {
              return std::pair<int, json>{
                  403,
                  {{"error", {{"errors", {{{"reason", "rateLimitExceeded"}}}}, {"code", 403}}}}};
            }
            return std::pair<int, json>{200, EventJson(id)};
          },
          &sizes));
  transport_.On("POST", kEvents, [](const HttpRequest& req) -> Result<HttpResponse> {
    std::string id = json::parse(req.body)["id"];
    return HttpResponse{.status = 200, .headers = {}, .body = EventJson(id).dump()};
  });
  auto results = Client().ExecuteBatch("doc-1", {Insert(0), Insert(1), Insert(2), Insert(3)});
  ASSERT_EQ(results.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(results[i].has_value()) << i;
    EXPECT_EQ(results[i]->event->id, Id(i));
  }
  EXPECT_EQ(transport_.Count("POST", kBatch), 1);
  EXPECT_EQ(transport_.Count("POST", kEvents), 2);  // parts 1 and 2, alone
}

TEST_F(BatchTest, PartOutcomesAreTypedPerPart) {
  std::vector<size_t> sizes;
  transport_.On(
      "POST", kBatch,
      BatchReply(
          [](size_t i, const SeenPart&) {
            switch (i) {
              case 0:
                return std::pair<int, json>{204, nullptr};
              case 1:
                return std::pair<int, json>{
                    410, {{"error", {{"errors", {{{"reason", "deleted"}}}}, {"code", 410}}}}};
              default:
                return std::pair<int, json>{
                    400,
                    {{"error",
                      {{"errors", {{{"reason", "invalid"}}}}, {"code", 400}, {"message", "Bad"}}}}};
            }
          },
          &sizes));
  BatchOperation del;
  del.kind = BatchOperation::Kind::kDelete;
  del.event_id = "abcdef";
  BatchOperation bad = Insert(9);
  BatchOperation invalid_id = Insert(10);
  invalid_id.spec.id = "NOT-BASE32";
  auto results = Client().ExecuteBatch("doc-1", {del, del, bad, invalid_id});
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0]->deleted, DeleteOutcome::kDeleted);
  EXPECT_EQ(results[1]->deleted, DeleteOutcome::kAlreadyGone);
  EXPECT_EQ(results[2].error().kind(), ErrorKind::kInvalidRequest);
  EXPECT_EQ(results[3].error().kind(), ErrorKind::kInvalidRequest);
  EXPECT_EQ(sizes, std::vector<size_t>{3});  // the invalid id was never sent
}

TEST_F(BatchTest, WholeBatchFailureFailsEveryPart) {
  transport_.On("POST", kBatch, testing::ApiError(400, "invalid", "Bad batch"));
  auto results = Client().ExecuteBatch("doc-1", {Insert(0), Insert(1)});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].error().kind(), ErrorKind::kInvalidRequest);
  EXPECT_EQ(results[1].error().kind(), ErrorKind::kInvalidRequest);
}

}  // namespace
}  // namespace telemeet::google
