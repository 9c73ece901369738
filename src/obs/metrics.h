// Prometheus metrics: counters, gauges and histograms with labels, rendered in the text
// exposition format (version 0.0.4) for /metrics.
//
//   obs::Registry metrics;
//   metrics.GetCounter("telemeet_http_requests_total", "HTTP requests served.",
//                      {{"route", "/healthz"}, {"status", "200"}}).Inc();
//   std::string text = metrics.Render();
//
// Values kept elsewhere (a queue's depth in the database, a rate limiter's state) are read when
// scraped, by a collector that sets gauges:
//
//   metrics.AddCollector([&] { metrics.GetGauge("queue_depth", "Jobs waiting.").Set(Depth()); });
//
// A Registry and the series it hands out are safe for concurrent use; a series lives as long
// as its registry, so callers may keep references. Collectors run on the scraping thread, maybe
// on two at once, so they must be thread-safe themselves.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace telemeet::obs {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(std::int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void Add(std::int64_t d) { value_.fetch_add(d, std::memory_order_relaxed); }
  std::int64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// Latency in seconds, with buckets from 0.5 ms to 10 s.
class Histogram {
 public:
  static constexpr std::array<double, 14> kBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                     0.025,  0.05,  0.1,    0.25,  0.5,
                                                     1,      2.5,   5,      10};
  void Observe(double seconds);
  std::uint64_t Count() const { return count_.load(std::memory_order_relaxed); }
  // Cumulative count of observations <= kBounds[i].
  std::uint64_t CumulativeCount(size_t i) const;
  double Sum() const;

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size()> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_micros_{0};
};

class Registry {
 public:
  Registry();
  ~Registry();
  Counter& GetCounter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& GetGauge(std::string_view name, std::string_view help, const Labels& labels = {});
  Histogram& GetHistogram(std::string_view name, std::string_view help, const Labels& labels = {});

  // A family shown (HELP and TYPE, no sample) before its first series exists: dashboards and
  // their checks find every name telemeet exports from the start.
  void DeclareCounter(std::string_view name, std::string_view help);
  void DeclareHistogram(std::string_view name, std::string_view help);

  // Runs before every Render, outside the registry's lock (a collector may add series).
  void AddCollector(std::function<void()> collect);

  // The text exposition format, families sorted by name, series by labels; the collectors run
  // first.
  std::string Render() const;

 private:
  enum class Kind { kCounter, kGauge, kHistogram };
  struct Family;
  Family& FamilyFor(std::string_view name, std::string_view help, Kind kind);
  template <typename T>
  T& Series(std::string_view name, std::string_view help, Kind kind, const Labels& labels);

  mutable std::shared_mutex mu_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_;
  mutable std::mutex collectors_mu_;
  std::vector<std::function<void()>> collectors_;  // guarded by collectors_mu_
};

}  // namespace telemeet::obs
