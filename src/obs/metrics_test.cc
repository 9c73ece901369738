#include "obs/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace telemeet::obs {
namespace {

TEST(MetricsTest, RendersCountersAndGaugesInTextFormat) {
  Registry r;
  r.GetCounter("requests_total", "Requests.", {{"route", "/a"}, {"status", "200"}}).Inc(3);
  r.GetCounter("requests_total", "Requests.", {{"route", "/a"}, {"status", "404"}}).Inc();
  r.GetGauge("connections", "Open connections.").Set(7);
  std::string text = r.Render();
  EXPECT_NE(text.find("# TYPE requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("requests_total{route=\"/a\",status=\"200\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("requests_total{route=\"/a\",status=\"404\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("connections 7\n"), std::string::npos);
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  Registry r;
  Histogram& h = r.GetHistogram("latency_seconds", "Latency.", {{"route", "/x"}});
  h.Observe(0.0002);
  h.Observe(0.003);
  h.Observe(20);
  std::string text = r.Render();
  EXPECT_NE(text.find("latency_seconds_bucket{route=\"/x\",le=\"0.0005\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_bucket{route=\"/x\",le=\"0.005\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_bucket{route=\"/x\",le=\"10\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_bucket{route=\"/x\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_count{route=\"/x\"} 3\n"), std::string::npos);
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  Registry r;
  r.GetCounter("c", "C.", {{"path", "a\"b\\c"}}).Inc();
  EXPECT_NE(r.Render().find("c{path=\"a\\\"b\\\\c\"} 1"), std::string::npos);
}

TEST(MetricsTest, ConcurrentIncrementsAreNotLost) {
  Registry r;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) r.GetCounter("hits", "Hits.", {{"t", "x"}}).Inc();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(r.GetCounter("hits", "Hits.", {{"t", "x"}}).Value(), 40000u);
}

TEST(MetricsTest, DeclaredFamiliesShowBeforeTheirFirstSeries) {
  Registry r;
  r.DeclareCounter("calls_total", "Calls.");
  r.DeclareHistogram("call_seconds", "Call latency.");
  std::string text = r.Render();
  EXPECT_NE(text.find("# HELP calls_total Calls.\n# TYPE calls_total counter\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE call_seconds histogram\n"), std::string::npos);
  EXPECT_EQ(text.find("\ncalls_total"), std::string::npos);  // no sample
  r.GetCounter("calls_total", "Calls.", {{"op", "a"}}).Inc();
  EXPECT_NE(r.Render().find("calls_total{op=\"a\"} 1\n"), std::string::npos);
}

TEST(MetricsTest, CollectorsRunAtEveryRenderBeforeTheText) {
  Registry r;
  int depth = 3;
  int runs = 0;
  r.AddCollector([&] {
    ++runs;
    r.GetGauge("queue_depth", "Jobs waiting.").Set(depth);
  });
  EXPECT_NE(r.Render().find("queue_depth 3\n"), std::string::npos);
  depth = 5;
  EXPECT_NE(r.Render().find("queue_depth 5\n"), std::string::npos);
  EXPECT_EQ(runs, 2);
}

}  // namespace
}  // namespace telemeet::obs
