#include "obs/metrics.h"

#include <cstdlib>
#include <fmt/format.h>
#include <type_traits>

namespace telemeet::obs {

void Histogram::Observe(double seconds) {
  for (size_t i = 0; i < kBounds.size(); ++i) {
    if (seconds <= kBounds[i]) {
      buckets_[i].fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

std::uint64_t Histogram::CumulativeCount(size_t i) const {
  std::uint64_t total = 0;
  for (size_t j = 0; j <= i && j < kBounds.size(); ++j) {
    total += buckets_[j].load(std::memory_order_relaxed);
  }
  return total;
}

double Histogram::Sum() const {
  return static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6;
}

// One metric name. Series are keyed by their rendered label set, e.g. {route="/x",status="200"};
// only the map matching `kind` is used.
struct Registry::Family {
  std::string help;
  Kind kind;
  std::map<std::string, std::unique_ptr<Counter>> counters;
  std::map<std::string, std::unique_ptr<Gauge>> gauges;
  std::map<std::string, std::unique_ptr<Histogram>> histograms;

  template <typename T>
  std::map<std::string, std::unique_ptr<T>>& Map() {
    if constexpr (std::is_same_v<T, Counter>) return counters;
    else if constexpr (std::is_same_v<T, Gauge>) return gauges;
    else return histograms;
  }
};

namespace {

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string RenderLabels(const Labels& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += labels[i].first + "=\"" + EscapeLabelValue(labels[i].second) + "\"";
  }
  out.push_back('}');
  return out;
}

// Adds one more label to an already rendered set ("{a="1"}" + le → "{a="1",le="0.5"}").
std::string WithLabel(const std::string& rendered, std::string_view name, std::string_view value) {
  std::string extra = fmt::format("{}=\"{}\"", name, value);
  if (rendered.empty()) return "{" + extra + "}";
  return rendered.substr(0, rendered.size() - 1) + "," + extra + "}";
}

}  // namespace

Registry::Registry() = default;
Registry::~Registry() = default;

// The caller holds mu_ exclusively.
Registry::Family& Registry::FamilyFor(std::string_view name, std::string_view help, Kind kind) {
  auto fam = families_.find(name);
  if (fam == families_.end()) {
    auto f = std::make_unique<Family>();
    f->help = std::string(help);
    f->kind = kind;
    fam = families_.emplace(std::string(name), std::move(f)).first;
  }
  if (fam->second->kind != kind) std::abort();  // one name, one kind: a programming error
  return *fam->second;
}

template <typename T>
T& Registry::Series(std::string_view name, std::string_view help, Kind kind,
                    const Labels& labels) {
  std::string key = RenderLabels(labels);
  {
    std::shared_lock lock(mu_);
    auto fam = families_.find(name);
    if (fam != families_.end()) {
      auto& map = fam->second->template Map<T>();
      auto it = map.find(key);
      if (it != map.end()) return *it->second;
    }
  }
  std::unique_lock lock(mu_);
  auto& ptr = FamilyFor(name, help, kind).template Map<T>()[key];
  if (!ptr) ptr = std::make_unique<T>();
  return *ptr;
}

Counter& Registry::GetCounter(std::string_view name, std::string_view help, const Labels& labels) {
  return Series<Counter>(name, help, Kind::kCounter, labels);
}
Gauge& Registry::GetGauge(std::string_view name, std::string_view help, const Labels& labels) {
  return Series<Gauge>(name, help, Kind::kGauge, labels);
}
Histogram& Registry::GetHistogram(std::string_view name, std::string_view help,
                                  const Labels& labels) {
  return Series<Histogram>(name, help, Kind::kHistogram, labels);
}

void Registry::DeclareCounter(std::string_view name, std::string_view help) {
  std::unique_lock lock(mu_);
  FamilyFor(name, help, Kind::kCounter);
}

void Registry::DeclareHistogram(std::string_view name, std::string_view help) {
  std::unique_lock lock(mu_);
  FamilyFor(name, help, Kind::kHistogram);
}

void Registry::AddCollector(std::function<void()> collect) {
  std::lock_guard lock(collectors_mu_);
  collectors_.push_back(std::move(collect));
}

std::string Registry::Render() const {
  std::vector<std::function<void()>> collectors;
  {
    std::lock_guard lock(collectors_mu_);
    collectors = collectors_;
  }
  for (const auto& collect : collectors) collect();
  std::shared_lock lock(mu_);
  std::string out;
  for (const auto& [name, fam] : families_) {
    const char* type = fam->kind == Kind::kCounter ? "counter"
                       : fam->kind == Kind::kGauge ? "gauge"
                                                   : "histogram";
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, fam->help, name, type);
    for (const auto& [labels, c] : fam->counters) {
      out += fmt::format("{}{} {}\n", name, labels, c->Value());
    }
    for (const auto& [labels, g] : fam->gauges) {
      out += fmt::format("{}{} {}\n", name, labels, g->Value());
    }
    for (const auto& [labels, h] : fam->histograms) {
      for (size_t i = 0; i < Histogram::kBounds.size(); ++i) {
        out += fmt::format("{}_bucket{} {}\n", name,
                           WithLabel(labels, "le", fmt::format("{}", Histogram::kBounds[i])),
                           h->CumulativeCount(i));
      }
      out += fmt::format("{}_bucket{} {}\n", name, WithLabel(labels, "le", "+Inf"), h->Count());
      out += fmt::format("{}_sum{} {}\n", name, labels, h->Sum());
      out += fmt::format("{}_count{} {}\n", name, labels, h->Count());
    }
  }
  return out;
}

}  // namespace telemeet::obs
