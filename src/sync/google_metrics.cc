#include "sync/google_metrics.h"

#include <cmath>
#include <string>

namespace telemeet::sync {

std::string StatusLabel(int status) {
  if (status == 0) return "error";
  if (status < 100 || status > 599) return "other";
  return std::to_string(status);
}

namespace {

constexpr std::string_view kCalls = "telemeet_google_calls_total";
constexpr std::string_view kCallsHelp =
    "HTTP exchanges with Google (each retry counts), by operation and status (\"error\": no "
    "answer).";
constexpr std::string_view kDuration = "telemeet_google_call_duration_seconds";
constexpr std::string_view kDurationHelp = "Latency of HTTP exchanges with Google, by operation.";
constexpr std::string_view kRetries = "telemeet_google_retries_total";
constexpr std::string_view kRetriesHelp =
    "HTTP exchanges with Google that were a retry, by operation.";

}  // namespace

GoogleCallMetrics::GoogleCallMetrics(obs::Registry& metrics, google::CallObserver* next)
    : metrics_(metrics), next_(next) {
  metrics_.DeclareCounter(kCalls, kCallsHelp);
  metrics_.DeclareHistogram(kDuration, kDurationHelp);
  metrics_.DeclareCounter(kRetries, kRetriesHelp);
}

void GoogleCallMetrics::OnCall(const google::CallRecord& record) {
  const std::string operation = record.operation.empty() ? "unknown" : record.operation;
  metrics_
      .GetCounter(kCalls, kCallsHelp,
                  {{"operation", operation}, {"status", StatusLabel(record.status)}})
      .Inc();
  metrics_.GetHistogram(kDuration, kDurationHelp, {{"operation", operation}})
      .Observe(std::chrono::duration<double>(record.latency).count());
  if (record.attempt > 1) {
    metrics_.GetCounter(kRetries, kRetriesHelp, {{"operation", operation}}).Inc();
  }
  if (next_ != nullptr) next_->OnCall(record);
}

QuotaMetrics::QuotaMetrics(const google::RateLimiter& limiter, obs::Registry& metrics)
    : limiter_(limiter), metrics_(metrics) {
  metrics_.AddCollector([this] { Collect(); });
}

void QuotaMetrics::Collect() {
  std::lock_guard lock(mu_);
  const google::RateLimiterStats s = limiter_.Stats();
  metrics_
      .GetGauge("telemeet_google_quota_project_limit_per_minute",
                "The configured Google project budget, requests per minute.")
      .Set(std::llround(s.project_configured_per_minute));
  metrics_
      .GetGauge("telemeet_google_quota_project_rate_per_minute",
                "The project rate the limiter allows now (below the limit while backing off "
                "after a rate-limit answer), requests per minute.")
      .Set(std::llround(s.project_rate_per_minute));
  metrics_
      .GetGauge("telemeet_google_quota_project_tokens_available",
                "Requests the project budget admits at once (its burst, when idle).")
      .Set(s.project_tokens_available);
  metrics_
      .GetGauge("telemeet_google_quota_doctors_backed_off",
                "Doctors whose own rate is lowered after a user rate-limit answer.")
      .Set(s.doctors_backed_off);
  metrics_
      .GetCounter("telemeet_google_quota_granted_total",
                  "Requests to Google admitted by the project budget.")
      .Inc(s.granted - last_.granted);
  metrics_
      .GetCounter("telemeet_google_quota_rate_limited_total",
                  "Rate-limit answers from Google the limiter backed off for, by limit.",
                  {{"limit", "user"}})
      .Inc(s.rate_limited_user - last_.rate_limited_user);
  metrics_
      .GetCounter("telemeet_google_quota_rate_limited_total",
                  "Rate-limit answers from Google the limiter backed off for, by limit.",
                  {{"limit", "project"}})
      .Inc(s.rate_limited_project - last_.rate_limited_project);
  last_ = s;
}

}  // namespace telemeet::sync
