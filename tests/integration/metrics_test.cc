// What operators watch (issue 17, M28), through the real `telemeet serve` binary in sandbox
// mode: a booking's Google calls, the job queue and the email it sends show on /metrics, and
// every metric the Grafana dashboard under packaging/ queries is one telemeet exports.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "core/time.h"
#include "tests/support/sandbox_server.h"

namespace telemeet {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// One scrape: the text, the families (# TYPE lines, name → type) and the samples by their full
// series ("name{labels}").
struct Scrape {
  std::string text;
  std::map<std::string, std::string> families;
  std::map<std::string, double> samples;

  double Value(const std::string& series) const {
    auto it = samples.find(series);
    return it == samples.end() ? -1 : it->second;
  }
};

Scrape ScrapeMetrics(testing::SandboxServer& sandbox) {
  Scrape s;
  auto res = sandbox.Send({.url = sandbox.base_url() + "/metrics"});
  EXPECT_TRUE(res.has_value());
  if (!res) return s;
  EXPECT_EQ(res->status, 200) << res->body;
  s.text = res->body;
  std::istringstream lines(s.text);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("# TYPE ")) {
      std::istringstream words(line.substr(7));
      std::string name, type;
      words >> name >> type;
      s.families[name] = type;
    } else if (!line.empty() && line[0] != '#') {
      size_t space = line.rfind(' ');
      s.samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
    }
  }
  return s;
}

// The metric names a dashboard's queries use.
std::set<std::string> DashboardMetrics(const json& dashboard) {
  std::set<std::string> names;
  const std::regex name_re("telemeet_[a-z0-9_]+");
  for (const json& panel : dashboard["panels"]) {
    if (!panel.contains("targets")) continue;
    for (const json& target : panel["targets"]) {
      std::string expr = target["expr"];
      for (std::sregex_iterator it(expr.begin(), expr.end(), name_re), end; it != end; ++it) {
        names.insert(it->str());
      }
    }
  }
  return names;
}

// A name a query may use for `families`: a family itself, or a histogram's _bucket, _sum or
// _count series.
bool Exported(const std::map<std::string, std::string>& families, const std::string& name) {
  if (families.contains(name)) return true;
  for (std::string suffix : {"_bucket", "_sum", "_count"}) {
    if (name.ends_with(suffix)) {
      auto it = families.find(name.substr(0, name.size() - suffix.size()));
      if (it != families.end() && it->second == "histogram") return true;
    }
  }
  return false;
}

class MetricsIntegrationTest : public ::testing::Test {
 protected:
  // Warnings only: the test polls, and nothing drains the server's stderr until the end (a full
  // pipe would stall the server's log writes).
  void SetUp() override { ASSERT_TRUE(sandbox_.Start({"--set", "log.level=warn"})); }
  void TearDown() override { EXPECT_EQ(sandbox_.Stop(), 0); }

  testing::SandboxServer sandbox_;
};

TEST_F(MetricsIntegrationTest, ABookingsGoogleCallsQueueAndEmailShowOnMetrics) {
  // Before any booking: the queue's gauges and the quota are there already.
  Scrape before = ScrapeMetrics(sandbox_);
  EXPECT_GE(before.Value(R"(telemeet_jobs{kind="reconcile",state="ready"})"), 0) << before.text;
  EXPECT_GE(before.Value(R"(telemeet_jobs_oldest_due_seconds{kind="reconcile"})"), 0);
  // Google's 10,000 a minute less google.quota.safety_margin_percent (95 by default).
  EXPECT_EQ(before.Value("telemeet_google_quota_project_limit_per_minute"), 9'500);

  auto [ds, doctors] = sandbox_.Api("GET", "/api/v1/doctors");
  ASSERT_EQ(ds, 200) << doctors.dump();
  const json doctor = doctors["data"][0];
  auto [cs, connect] = sandbox_.Api(
      "POST", "/api/v1/doctors/" + std::to_string(doctor["id"].get<int64_t>()) + "/google/connect");
  ASSERT_EQ(cs, 201) << connect.dump();
  auto landed = sandbox_.FinishConnect(connect["authorization_url"], doctor["email"]);
  ASSERT_TRUE(landed.has_value());
  ASSERT_EQ(landed->status, 200) << landed->body;

  auto [ss, services] = sandbox_.Api("GET", "/api/v1/services");
  ASSERT_EQ(ss, 200);
  auto [ps, patient] = sandbox_.Api(
      "POST", "/api/v1/patients",
      {{"name", "Mary Seacole"}, {"email", "mary@patients.example"}, {"time_zone", "UTC"}});
  ASSERT_EQ(ps, 201) << patient.dump();
  const Instant start = std::chrono::time_point_cast<std::chrono::microseconds>(
      std::chrono::floor<std::chrono::hours>(std::chrono::system_clock::now()) + 48h);
  auto [as, booked] = sandbox_.Api("POST", "/api/v1/appointments",
                                   {{"doctor_id", doctor["id"]},
                                    {"service_id", services["data"][0]["id"]},
                                    {"patient_id", patient["id"]},
                                    {"start", core::FormatRfc3339(start)},
                                    {"end", core::FormatRfc3339(start + 30min)},
                                    {"time_zone", "UTC"}});
  ASSERT_EQ(as, 201) << booked.dump();
  const std::string path = "/api/v1/appointments/" + std::to_string(booked["id"].get<int64_t>());
  ASSERT_EQ(sandbox_.Api("POST", path + "/confirm").first, 200);

  json appointment;
  for (int i = 0; i < 300; ++i) {
    appointment = sandbox_.Api("GET", path).second;
    if (appointment["meeting"].is_object() && appointment["meeting"]["state"] == "ready") break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(appointment["meeting"]["state"], "ready") << appointment.dump();

  // The email goes after the meeting is ready, and the queue gauges are read at most every 2 s.
  Scrape after;
  for (int i = 0; i < 100; ++i) {
    after = ScrapeMetrics(sandbox_);
    if (after.Value(R"(telemeet_emails_total{outcome="sent"})") >= 1 &&
        after.Value(R"(telemeet_jobs{kind="reconcile",state="ready"})") == 0) {
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_GE(after.Value(R"(telemeet_google_calls_total{operation="events.insert",status="200"})"),
            1)
      << after.text;
  EXPECT_GE(
      after.Value(R"(telemeet_google_call_duration_seconds_count{operation="events.insert"})"), 1);
  EXPECT_GE(after.Value(R"(telemeet_google_calls_total{operation="oauth.exchange",status="200"})"),
            1);
  EXPECT_GE(after.Value(R"(telemeet_emails_total{outcome="sent"})"), 1);
  EXPECT_GE(after.Value("telemeet_google_quota_granted_total"), 1);
  for (const char* state : {"ready", "scheduled", "leased", "parked"}) {
    EXPECT_GE(after.Value(std::string(R"(telemeet_jobs{kind="reconcile",state=")") + state + "\"}"),
              0)
        << state;
  }
  EXPECT_EQ(after.Value(R"(telemeet_jobs{kind="reconcile",state="ready"})"), 0);
  EXPECT_GE(after.Value("telemeet_webhook_backlog"), 0);
  EXPECT_GE(after.Value("telemeet_email_backlog"), 0);

  // Bounded labels: no doctor label, no address, no Google path in any series (HTTP routes are
  // patterns: "/api/v1/doctors/{id}").
  for (const auto& [series, value] : after.samples) {
    EXPECT_EQ(series.find('@'), std::string::npos) << series;
    EXPECT_EQ(series.find("doctor=\""), std::string::npos) << series;
    EXPECT_EQ(series.find("doctor_id=\""), std::string::npos) << series;
    EXPECT_EQ(series.find("/calendar/"), std::string::npos) << series;
  }
}

TEST_F(MetricsIntegrationTest, EveryMetricTheDashboardQueriesIsExported) {
  std::ifstream file(TELEMEET_DASHBOARD_JSON);
  ASSERT_TRUE(file.good()) << TELEMEET_DASHBOARD_JSON;
  const json dashboard = json::parse(file);
  const std::set<std::string> used = DashboardMetrics(dashboard);
  ASSERT_GE(used.size(), 20u);

  // A booking's worth of traffic first, so families made at the first event exist too (the
  // reconcile runs, the emails); the Google and webhook families are declared from the start.
  auto [ds, doctors] = sandbox_.Api("GET", "/api/v1/doctors");
  ASSERT_EQ(ds, 200);
  auto [ps, patient] = sandbox_.Api("POST", "/api/v1/patients",
                                    {{"name", "Ada Lovelace"}, {"email", "ada@example.org"}});
  ASSERT_EQ(ps, 201);
  const Instant start = std::chrono::time_point_cast<std::chrono::microseconds>(
      std::chrono::floor<std::chrono::hours>(std::chrono::system_clock::now()) + 72h);
  auto [as, booked] =
      sandbox_.Api("POST", "/api/v1/appointments",
                   {{"doctor_id", doctors["data"][1]["id"]},
                    {"service_id", sandbox_.Api("GET", "/api/v1/services").second["data"][0]["id"]},
                    {"patient_id", patient["id"]},
                    {"start", core::FormatRfc3339(start)},
                    {"end", core::FormatRfc3339(start + 30min)}});
  ASSERT_EQ(as, 201) << booked.dump();
  ASSERT_EQ(sandbox_
                .Api("POST", "/api/v1/appointments/" + std::to_string(booked["id"].get<int64_t>()) +
                                 "/confirm")
                .first,
            200);
  Scrape scrape;
  for (int i = 0; i < 100; ++i) {
    scrape = ScrapeMetrics(sandbox_);
    if (std::all_of(used.begin(), used.end(),
                    [&](const std::string& n) { return Exported(scrape.families, n); })) {
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  for (const std::string& name : used) {
    EXPECT_TRUE(Exported(scrape.families, name))
        << name << " is queried by the dashboard but not on /metrics:\n"
        << scrape.text;
  }
}

}  // namespace
}  // namespace telemeet
