#include "sync/availability.h"

#include <algorithm>
#include <charconv>
#include <future>

#include "core/time.h"

namespace telemeet::sync {

namespace {

// An answer longer than this is handed out but not kept (a calendar packed with tiny events
// would otherwise let one doctor fill the memory the bound is meant to cap).
constexpr size_t kMaxIntervalsPerEntry = 5'000;

bool Covers(core::Interval outer, core::Interval inner) {
  return outer.start <= inner.start && inner.end <= outer.end;
}

bool WritesCalendar(std::string_view operation) {
  return operation == "events.insert" || operation == "events.patch" ||
         operation == "events.update" || operation == "events.delete" || operation == "batch";
}

}  // namespace

std::string_view Name(GoogleBusyPolicy p) {
  switch (p) {
    case GoogleBusyPolicy::kIgnore:
      return "ignore";
    case GoogleBusyPolicy::kWarn:
      return "warn";
    case GoogleBusyPolicy::kRefuse:
      return "refuse";
  }
  return "warn";
}

Result<GoogleBusyPolicy> ParseGoogleBusyPolicy(std::string_view s, std::string_view field) {
  for (GoogleBusyPolicy p :
       {GoogleBusyPolicy::kIgnore, GoogleBusyPolicy::kWarn, GoogleBusyPolicy::kRefuse}) {
    if (Name(p) == s) return p;
  }
  return Fail(ErrorCode::kInvalidArgument,
              std::string(field) + " must be one of: ignore, warn, refuse", std::string(field));
}

// One freeBusy request in progress; its callers wait for `answer`.
struct FreeBusyCache::Flight {
  std::shared_future<Answer> answer;
};

FreeBusyCache::FreeBusyCache(FreeBusyCacheOptions options, const Clock& clock)
    : options_(options), clock_(clock) {}

core::Interval FreeBusyCache::Window(core::Interval range) {
  using std::chrono::days;
  Instant start = std::chrono::floor<days>(range.start);
  Instant end = std::chrono::ceil<days>(range.end);
  if (end <= start) end = start + days(1);
  return {start, end};
}

size_t FreeBusyCache::size() const {
  std::lock_guard lock(mu_);
  return entries_;
}

FreeBusyCache::Answer FreeBusyCache::Get(int64_t doctor_id, core::Interval window,
                                         const Fetch& fetch, bool* hit) {
  if (hit != nullptr) *hit = false;
  std::shared_ptr<Flight> flight;
  std::promise<Answer> promise;
  uint64_t epoch_at_start = 0;
  const std::pair<int64_t, int64_t> key{doctor_id, window.start.time_since_epoch().count()};
  {
    std::unique_lock lock(mu_);
    const Instant now = clock_.Now();
    if (auto it = doctors_.find(doctor_id); it != doctors_.end()) {
      for (const Entry& e : it->second.entries) {
        if (Covers(e.window, window) && now - e.fetched_at < options_.ttl) {
          it->second.last_used = now;
          if (hit != nullptr) *hit = true;
          return e.busy;
        }
      }
    }
    if (auto f = flights_.find(key); f != flights_.end()) {
      flight = f->second;
    } else {
      flight = std::make_shared<Flight>();
      flight->answer = promise.get_future().share();
      flights_.emplace(key, flight);
      epoch_at_start = epoch_;
      lock.unlock();
      const Instant sent = clock_.Now();
      std::optional<Answer> fetched;
      try {
        fetched.emplace(fetch(window));
      } catch (...) {
        // Never leave a flight behind that no one will land: its waiters get the exception, and
        // the next caller starts a new one.
        lock.lock();
        if (auto f2 = flights_.find(key); f2 != flights_.end() && f2->second == flight) {
          flights_.erase(f2);
        }
        lock.unlock();
        promise.set_exception(std::current_exception());
        throw;
      }
      Answer answer = std::move(*fetched);
      lock.lock();
      if (auto f2 = flights_.find(key); f2 != flights_.end() && f2->second == flight) {
        flights_.erase(f2);
      }
      if (answer && answer->size() <= kMaxIntervalsPerEntry && options_.ttl.count() > 0) {
        StoreLocked(doctor_id, Entry{window, *answer, sent}, epoch_at_start);
      }
      lock.unlock();
      promise.set_value(answer);
      return answer;
    }
  }
  return flight->answer.get();
}

void FreeBusyCache::StoreLocked(int64_t doctor_id, Entry entry, uint64_t epoch_at_start) {
  auto inv = invalidated_at_.find(doctor_id);
  const uint64_t changed_at = inv != invalidated_at_.end() ? inv->second : marks_floor_;
  if (changed_at > epoch_at_start) {
    return;  // the calendar changed while the answer was on its way: it may be stale
  }
  EvictLocked(entry.fetched_at);
  Doctor& d = doctors_[doctor_id];
  d.last_used = entry.fetched_at;
  // Replace what the new window covers, and the oldest when the doctor has too many.
  size_t before = d.entries.size();
  std::erase_if(d.entries, [&](const Entry& e) { return Covers(entry.window, e.window); });
  if (d.entries.size() >= kMaxWindowsPerDoctor) {
    auto oldest = std::min_element(
        d.entries.begin(), d.entries.end(),
        [](const Entry& a, const Entry& b) { return a.fetched_at < b.fetched_at; });
    d.entries.erase(oldest);
  }
  entries_ -= before - d.entries.size();
  d.entries.push_back(std::move(entry));
  ++entries_;
}

void FreeBusyCache::EvictLocked(Instant now) {
  if (entries_ < options_.max_entries) return;
  // Expired answers first.
  for (auto it = doctors_.begin(); it != doctors_.end();) {
    size_t before = it->second.entries.size();
    std::erase_if(it->second.entries,
                  [&](const Entry& e) { return now - e.fetched_at >= options_.ttl; });
    entries_ -= before - it->second.entries.size();
    it = it->second.entries.empty() ? doctors_.erase(it) : std::next(it);
  }
  // Then the doctors used least recently.
  while (entries_ >= options_.max_entries && !doctors_.empty()) {
    auto lru = std::min_element(doctors_.begin(), doctors_.end(), [](const auto& a, const auto& b) {
      return a.second.last_used < b.second.last_used;
    });
    entries_ -= lru->second.entries.size();
    doctors_.erase(lru);
  }
  // The invalidation marks are bounded too: forgetting them all counts as an invalidation of
  // every doctor for the flights in progress (their answers are then not stored).
  if (invalidated_at_.size() > options_.max_entries) {
    invalidated_at_.clear();
    marks_floor_ = epoch_;
  }
}

void FreeBusyCache::Invalidate(int64_t doctor_id) {
  std::lock_guard lock(mu_);
  ++epoch_;
  invalidated_at_[doctor_id] = epoch_;
  if (auto it = doctors_.find(doctor_id); it != doctors_.end()) {
    entries_ -= it->second.entries.size();
    doctors_.erase(it);
  }
}

void FreeBusyCache::OnCall(const google::CallRecord& record) {
  if (!WritesCalendar(record.operation) || record.doctor_id.empty()) return;
  int64_t doctor_id = 0;
  const std::string& s = record.doctor_id;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), doctor_id);
  if (ec != std::errc() || ptr != s.data() + s.size()) return;
  Invalidate(doctor_id);
}

Result<GoogleBusy> GoogleAvailability::Busy(const core::Doctor& doctor,
                                            std::optional<core::GrantStatus> grant,
                                            core::Interval range) {
  GoogleBusy out;
  if (!grant) {
    out.reason = "not_connected";
    return out;
  }
  if (*grant != core::GrantStatus::kActive) {
    out.reason = std::string(core::Name(*grant));
    return out;
  }
  const std::string calendar_id = doctor.calendar_id.empty() ? "primary" : doctor.calendar_id;
  const std::string doctor_key = std::to_string(doctor.id);
  auto fetch = [&](core::Interval window) -> FreeBusyCache::Answer {
    google::FreeBusyQuery q;
    q.time_min = core::FormatRfc3339(window.start);
    q.time_max = core::FormatRfc3339(window.end);
    q.calendar_ids = {calendar_id};
    auto answer = calendar_.FreeBusy(doctor_key, q);
    if (!answer) return std::unexpected(answer.error());
    auto cal = answer->find(calendar_id);
    if (cal == answer->end()) {
      return std::unexpected(google::GoogleError(google::ErrorKind::kBadResponse,
                                                 "freeBusy answered without the calendar"));
    }
    if (!cal->second.errors.empty()) {
      return std::unexpected(google::GoogleError(
          google::ErrorKind::kBadResponse,
          "freeBusy could not read the calendar: " + cal->second.errors.front()));
    }
    std::vector<core::Interval> busy;
    for (const google::BusyInterval& b : cal->second.busy) {
      auto s = core::ParseRfc3339(b.start, "busy.start");
      auto e = core::ParseRfc3339(b.end, "busy.end");
      if (!s || !e) {
        return std::unexpected(google::GoogleError(google::ErrorKind::kBadResponse,
                                                   "freeBusy answered a malformed busy time"));
      }
      busy.push_back({*s, *e});
    }
    return core::MergeIntervals(std::move(busy));
  };
  auto busy = cache_.Get(doctor.id, FreeBusyCache::Window(range), fetch, &out.cached);
  if (!busy) {
    return Fail(ErrorCode::kUnavailable,
                "Google Calendar's free/busy could not be read: " + busy.error().ToString(),
                "google");
  }
  out.consulted = true;
  for (const core::Interval& i : *busy) {
    core::Interval clipped{std::max(i.start, range.start), std::min(i.end, range.end)};
    if (clipped.start < clipped.end) out.busy.push_back(clipped);
  }
  return out;
}

}  // namespace telemeet::sync
