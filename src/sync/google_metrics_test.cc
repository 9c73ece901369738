#include "sync/google_metrics.h"

#include <gtest/gtest.h>

#include <vector>

#include "google/testing/fake_sleeper.h"

namespace telemeet::sync {
namespace {

using std::chrono::milliseconds;

class Recorder final : public google::CallObserver {
 public:
  void OnCall(const google::CallRecord& r) override { seen.push_back(r.operation); }
  std::vector<std::string> seen;
};

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(GoogleCallMetricsTest, CountsByOperationAndStatusTimesThemAndPassesThemOn) {
  obs::Registry metrics;
  Recorder next;
  GoogleCallMetrics observer(metrics, &next);
  observer.OnCall({.operation = "events.insert",
                   .doctor_id = "7",
                   .method = "POST",
                   .path = "/calendar/v3/calendars/primary/events",
                   .status = 200,
                   .latency = milliseconds(30)});
  observer.OnCall({.operation = "events.insert",
                   .doctor_id = "8",
                   .status = 503,
                   .latency = milliseconds(400),
                   .attempt = 1});
  observer.OnCall({.operation = "events.insert",
                   .doctor_id = "8",
                   .status = 200,
                   .latency = milliseconds(20),
                   .attempt = 2});
  observer.OnCall({.operation = "oauth.refresh", .status = 0, .latency = milliseconds(5000)});
  observer.OnCall({.operation = "freebusy.query", .status = 1234});

  const std::string text = metrics.Render();
  EXPECT_TRUE(Has(text, R"(telemeet_google_calls_total{operation="events.insert",status="200"} 2)"))
      << text;
  EXPECT_TRUE(
      Has(text, R"(telemeet_google_calls_total{operation="events.insert",status="503"} 1)"));
  EXPECT_TRUE(
      Has(text, R"(telemeet_google_calls_total{operation="oauth.refresh",status="error"} 1)"));
  EXPECT_TRUE(
      Has(text, R"(telemeet_google_calls_total{operation="freebusy.query",status="other"} 1)"));
  EXPECT_TRUE(Has(text, R"(telemeet_google_retries_total{operation="events.insert"} 1)"));
  EXPECT_TRUE(Has(
      text,
      R"(telemeet_google_call_duration_seconds_bucket{operation="events.insert",le="0.05"} 2)"));
  EXPECT_TRUE(
      Has(text, R"(telemeet_google_call_duration_seconds_count{operation="events.insert"} 3)"));
  EXPECT_TRUE(
      Has(text,
          R"(telemeet_google_call_duration_seconds_bucket{operation="oauth.refresh",le="2.5"} 0)"));
  // Bounded labels: no doctor, no path.
  EXPECT_EQ(text.find("doctor"), std::string::npos);
  EXPECT_EQ(text.find("/calendar/v3"), std::string::npos);
  EXPECT_EQ(next.seen.size(), 5u);
}

TEST(QuotaMetricsTest, ShowsTheBudgetAndCountsOnlyWhatIsNewAtEachScrape) {
  FakeClock clock;
  google::testing::FakeSleeper sleeper(clock);
  google::RateLimiter limiter(google::RateLimitOptions{.doctor_per_minute = 600,
                                                       .project_per_minute = 600,
                                                       .doctor_burst = 10,
                                                       .project_burst = 10},
                              clock, sleeper);
  obs::Registry metrics;
  QuotaMetrics quota(limiter, metrics);

  std::string text = metrics.Render();
  EXPECT_TRUE(Has(text, "telemeet_google_quota_project_limit_per_minute 600")) << text;
  EXPECT_TRUE(Has(text, "telemeet_google_quota_project_rate_per_minute 600"));
  EXPECT_TRUE(Has(text, "telemeet_google_quota_project_tokens_available 10"));
  EXPECT_TRUE(Has(text, "telemeet_google_quota_granted_total 0"));

  for (int i = 0; i < 4; ++i) limiter.Acquire("1");
  EXPECT_TRUE(Has(metrics.Render(), "telemeet_google_quota_project_tokens_available 6"));
  limiter.OnRateLimited("1", /*user_limit=*/true);
  limiter.OnRateLimited("1", /*user_limit=*/false);
  text = metrics.Render();
  EXPECT_TRUE(Has(text, "telemeet_google_quota_granted_total 4")) << text;
  EXPECT_TRUE(Has(text, "telemeet_google_quota_project_rate_per_minute 300"));
  EXPECT_TRUE(Has(text, "telemeet_google_quota_doctors_backed_off 1"));
  EXPECT_TRUE(Has(text, R"(telemeet_google_quota_rate_limited_total{limit="user"} 1)"));
  EXPECT_TRUE(Has(text, R"(telemeet_google_quota_rate_limited_total{limit="project"} 1)"));

  limiter.Acquire("2");
  text = metrics.Render();
  EXPECT_TRUE(Has(text, "telemeet_google_quota_granted_total 5")) << text;
  EXPECT_TRUE(Has(text, R"(telemeet_google_quota_rate_limited_total{limit="user"} 1)"));
}

}  // namespace
}  // namespace telemeet::sync
