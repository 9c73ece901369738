#include "google/batching_transport.h"

#include <gtest/gtest.h>

#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "google/calendar_client.h"
#include "google/testing/fake_sleeper.h"
#include "google/testing/fake_token_source.h"

namespace telemeet::google {
namespace {

using nlohmann::json;

const std::string kBase = "https://calendar.test";

// One call as the fake Google saw it (alone or as a batch part).
struct Seen {
  std::string method;
  std::string target;  // path-only
};

// Google, scripted: answers single calls and batches (split as Google does) with `answer`, and
// the batch request itself with `batch_status` while it is not 200.
class FakeGoogle final : public Transport {
 public:
  std::function<int(const Seen&, int call_no)> answer = [](const Seen&, int) { return 200; };
  std::function<int(int batch_no)> batch_status = [](int) { return 200; };

  Result<HttpResponse> Send(const HttpRequest& req) override {
    std::lock_guard lock(mu_);
    requests.push_back(req);
    if (req.url != kBase + "/batch/calendar/v3") {
      return Answer({req.method, req.url.substr(kBase.size())});
    }
    const int status = batch_status(batches++);
    if (status != 200) return HttpResponse{.status = status, .headers = {}, .body = "{}"};
    std::string type = req.headers.Get("Content-Type").value_or("");
    const std::string delim = "--" + type.substr(type.find("boundary=") + 9);
    std::string out;
    int n = 0;
    for (size_t pos = 0; (pos = req.body.find(delim + "\r\n", pos)) != std::string::npos;) {
      pos += delim.size() + 2;
      size_t line = req.body.find("\r\n\r\n", pos) + 4;  // after the part's own headers
      std::string request_line = req.body.substr(line, req.body.find("\r\n", line) - line);
      size_t sp = request_line.find(' ');
      Seen seen{request_line.substr(0, sp),
                request_line.substr(sp + 1, request_line.rfind(' ') - sp - 1)};
      HttpResponse r = *Answer(seen);
      out += "--ans\r\nContent-Type: application/http\r\nContent-ID: <response-item-" +
             std::to_string(++n) + ">\r\n\r\nHTTP/1.1 " + std::to_string(r.status) +
             " X\r\nContent-Type: application/json\r\n\r\n" + r.body + "\r\n";
    }
    out += "--ans--\r\n";
    HttpResponse r{.status = 200, .headers = {}, .body = out};
    r.headers.Set("Content-Type", "multipart/mixed; boundary=ans");
    return r;
  }

  std::vector<HttpRequest> requests;  // guarded by mu_ while calls run
  std::vector<Seen> calls;
  int batches = 0;

 private:
  Result<HttpResponse> Answer(const Seen& seen) {
    calls.push_back(seen);
    const int status = answer(seen, static_cast<int>(calls.size()));
    if (status != 200) {
      json error = {{"error",
                     {{"code", status},
                      {"message", "backend"},
                      {"errors", {{{"domain", "global"}, {"reason", "backendError"}}}}}}};
      return HttpResponse{.status = status, .headers = {}, .body = error.dump()};
    }
    const std::string id = seen.target.substr(seen.target.rfind('/') + 1);
    return HttpResponse{
        .status = 200, .headers = {}, .body = json{{"id", id}, {"status", "confirmed"}}.dump()};
  }
  std::mutex mu_;
};

class BatchingTransportTest : public ::testing::Test {
 protected:
  // Runs `n` participants, each reading event "evt<i>" once; returns each one's result.
  std::vector<GoogleResult<Event>> ReadConcurrently(int n) {
    CalendarClient calendar(CalendarOptions{.base_url = kBase}, CalendarDeps{.transport = batching_,
                                                                             .tokens = tokens_,
                                                                             .retry = retry_,
                                                                             .clock = clock_,
                                                                             .sleeper = sleeper_});
    std::vector<GoogleResult<Event>> results(
        n, GoogleResult<Event>(GFail(ErrorKind::kBadResponse, "not run")));
    std::vector<std::thread> threads;
    // Join before any thread starts, so the first batch waits for all of them.
    std::vector<std::unique_ptr<BatchingTransport::Participant>> joined;
    for (int i = 0; i < n; ++i) {
      joined.push_back(std::make_unique<BatchingTransport::Participant>(batching_));
    }
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([&, i] {
        results[i] = calendar.GetEvent("doc", "primary", "evt" + std::to_string(10000 + i));
        joined[i].reset();
      });
    }
    for (auto& t : threads) t.join();
    return results;
  }

  FakeGoogle google_;
  // A long linger: the tests' batches are complete by participation, never by time.
  BatchingTransport batching_{google_, kBase, {.max_parts = 50, .linger = std::chrono::seconds(5)}};
  FakeClock clock_;
  testing::FakeSleeper sleeper_{clock_};
  RetryPolicy retry_{RetryOptions{}, clock_, sleeper_, 7};
  testing::FakeTokenSource tokens_;
};

TEST_F(BatchingTransportTest, ConcurrentCallsGoOutAsOneBatch) {
  auto results = ReadConcurrently(20);
  ASSERT_EQ(google_.requests.size(), 1u);
  const HttpRequest& batch = google_.requests[0];
  EXPECT_EQ(batch.method, "POST");
  EXPECT_EQ(batch.url, kBase + "/batch/calendar/v3");
  EXPECT_EQ(batch.headers.Get("Authorization"), "Bearer token-1");
  EXPECT_EQ(google_.calls.size(), 20u);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(results[i].has_value()) << results[i].error().ToString();
    EXPECT_EQ(results[i]->id, "evt" + std::to_string(10000 + i));  // each its own answer
  }
  EXPECT_EQ(batching_.batches_sent(), 1);
  EXPECT_EQ(batching_.calls_batched(), 20);
}

TEST_F(BatchingTransportTest, NeverMoreThanMaxPartsInOneBatch) {
  auto results = ReadConcurrently(120);
  for (auto& r : results) ASSERT_TRUE(r.has_value());
  ASSERT_EQ(google_.requests.size(), 3u);  // 50 + 50 + 20
  EXPECT_EQ(google_.calls.size(), 120u);
}

TEST_F(BatchingTransportTest, AFailedPartIsRetriedAloneWithBackoff) {
  google_.answer = [](const Seen& s, int) {
    static int failures = 0;
    return s.target.ends_with("evt10003") && failures++ == 0 ? 503 : 200;
  };
  auto results = ReadConcurrently(10);
  for (auto& r : results) ASSERT_TRUE(r.has_value()) << r.error().ToString();
  // The batch of 10, then the one call again, alone (a batch of one is a plain call).
  ASSERT_EQ(google_.requests.size(), 2u);
  EXPECT_EQ(google_.requests[1].method, "GET");
  EXPECT_TRUE(google_.requests[1].url.ends_with("/events/evt10003"));
  EXPECT_EQ(sleeper_.sleeps().size(), 1u);  // the retry policy's back-off, for that call only
}

TEST_F(BatchingTransportTest, AFailedBatchIsRetriedAsAWhole) {
  google_.batch_status = [](int batch_no) { return batch_no == 0 ? 503 : 200; };
  auto results = ReadConcurrently(10);
  for (auto& r : results) ASSERT_TRUE(r.has_value()) << r.error().ToString();
  ASSERT_EQ(google_.requests.size(), 2u);
  EXPECT_EQ(google_.requests[1].url, kBase + "/batch/calendar/v3");
  EXPECT_EQ(google_.calls.size(), 10u);  // the first batch reached no call
  EXPECT_EQ(sleeper_.sleeps().size(), 10u);
}

TEST_F(BatchingTransportTest, APermanentPartErrorReachesItsCallerOnly) {
  google_.answer = [](const Seen& s, int) { return s.target.ends_with("evt10001") ? 404 : 200; };
  auto results = ReadConcurrently(5);
  ASSERT_FALSE(results[1].has_value());
  EXPECT_EQ(results[1].error().kind(), ErrorKind::kNotFound);
  for (int i : {0, 2, 3, 4}) EXPECT_TRUE(results[i].has_value());
  EXPECT_EQ(google_.requests.size(), 1u);
}

TEST_F(BatchingTransportTest, OtherHostsAndConditionalCallsGoStraightThrough) {
  BatchingTransport::Participant p(batching_);
  BatchingTransport::Participant q(batching_);  // would hold a batch open
  HttpRequest token{.method = "POST", .url = "https://oauth.test/token"};
  ASSERT_TRUE(batching_.Send(token).has_value());
  HttpRequest conditional{.method = "PATCH", .url = kBase + "/calendar/v3/calendars/p/events/e1"};
  conditional.headers.Set("If-Match", "\"1\"");
  ASSERT_TRUE(batching_.Send(conditional).has_value());
  ASSERT_EQ(google_.requests.size(), 2u);
  EXPECT_EQ(google_.requests[1].method, "PATCH");
  EXPECT_EQ(batching_.batches_sent(), 0);
}

TEST(BatchingTransportLingerTest, ALoneCallGoesAfterTheQuietPeriod) {
  FakeGoogle google;
  BatchingTransport batching(google, kBase,
                             {.max_parts = 50, .linger = std::chrono::milliseconds(5)});
  BatchingTransport::Participant p(batching);
  BatchingTransport::Participant absent(batching);  // never calls
  HttpRequest get{.method = "GET", .url = kBase + "/calendar/v3/calendars/p/events/e1"};
  auto r = batching.Send(get);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(google.requests.size(), 1u);
}

}  // namespace
}  // namespace telemeet::google
