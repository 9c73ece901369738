// Google's side of a doctor's availability (M17): the busy intervals freeBusy.query answers for
// the doctor's calendar, cached per doctor, and the booking policy that says what a busy slot
// means for a new or moved appointment.
//
// The cache keeps, per doctor, the answers for a few windows of whole UTC days (a request is
// widened to whole days, so a week's availability view and each booking check in it share one
// answer). An answer lives `ttl` (60 s by default) from when its request was sent, and goes at
// once when the doctor's calendar changes: a push notification for it (CalendarSync's hook) or
// a write telemeet itself makes there (the Calendar client reports every call to the cache, an
// observer). Concurrent misses for one window make one freeBusy call (single flight); an answer
// whose request started before an invalidation is handed to its callers but never stored. At
// most `max_entries` answers are held; when full, expired ones go first, then the least
// recently used doctor's.
//
//   FreeBusyCache cache({.ttl = std::chrono::seconds(60)}, clock);
//   CallCollector calls(&cache);                   // telemeet's own writes invalidate
//   CalendarClient calendar(options, {..., .observer = &calls});
//   GoogleAvailability google(calendar, cache);
//   calendar_sync.SetOnCalendarChanged([&](int64_t d) { cache.Invalidate(d); });
//   auto busy = google.Busy(doctor, {from, to});   // merged, clipped to the range
//
// Thread-safe: every method may be called from many threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "core/availability.h"
#include "core/types.h"
#include "google/calendar_client.h"
#include "google/observer.h"

namespace telemeet::sync {

// What a booking into a slot Google says is busy does (setting "booking.google_busy").
enum class GoogleBusyPolicy {
  kIgnore,  // Google is not asked
  kWarn,    // the booking is made, with a warning (also when Google could not be asked)
  kRefuse,  // 409 slot_busy; when Google cannot be asked, the booking is refused too
};
inline constexpr std::string_view kGoogleBusySetting = "booking.google_busy";
std::string_view Name(GoogleBusyPolicy p);
// "ignore", "warn", "refuse"; kInvalidArgument naming `field` otherwise.
Result<GoogleBusyPolicy> ParseGoogleBusyPolicy(std::string_view s, std::string_view field);

struct FreeBusyCacheOptions {
  std::chrono::microseconds ttl{std::chrono::seconds(60)};  // 0: nothing is cached
  size_t max_entries = 10'000;
};

class FreeBusyCache final : public google::CallObserver {
 public:
  // One freeBusy answer: the busy intervals of `window`, merged.
  using Answer = google::GoogleResult<std::vector<core::Interval>>;
  using Fetch = std::function<Answer(core::Interval window)>;

  FreeBusyCache(FreeBusyCacheOptions options, const Clock& clock);

  // The busy intervals of the doctor's calendar over `window` (whole UTC days, as Window()
  // makes them): a live cached answer covering it, or `fetch`'s (one call for concurrent
  // misses). `hit` (optional) tells which. Errors are `fetch`'s, never cached.
  Answer Get(int64_t doctor_id, core::Interval window, const Fetch& fetch, bool* hit = nullptr);

  // Forgets the doctor's answers (their calendar changed).
  void Invalidate(int64_t doctor_id);

  // google::CallObserver: a write to a doctor's calendar (events insert, patch, update, delete,
  // a batch) invalidates that doctor's answers.
  void OnCall(const google::CallRecord& record) override;

  // `range` widened to whole UTC days.
  static core::Interval Window(core::Interval range);

  size_t size() const;

 private:
  struct Entry {
    core::Interval window;
    std::vector<core::Interval> busy;
    Instant fetched_at;  // when the request was sent
  };
  struct Doctor {
    std::vector<Entry> entries;  // at most kMaxWindowsPerDoctor
    Instant last_used{};
  };
  struct Flight;
  static constexpr size_t kMaxWindowsPerDoctor = 4;

  void StoreLocked(int64_t doctor_id, Entry entry, uint64_t epoch_at_start);
  void EvictLocked(Instant now);

  const FreeBusyCacheOptions options_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::unordered_map<int64_t, Doctor> doctors_;  // guarded by mu_
  size_t entries_ = 0;                           // guarded by mu_: answers held in doctors_
  // Invalidations so far (any doctor); a flight stores its answer only when no invalidation of
  // its doctor happened since it started.
  uint64_t epoch_ = 0;                                     // guarded by mu_
  std::unordered_map<int64_t, uint64_t> invalidated_at_;  // guarded by mu_; bounded like doctors_
  uint64_t marks_floor_ = 0;  // guarded by mu_: the epoch of doctors without a mark
  std::map<std::pair<int64_t, int64_t>, std::shared_ptr<Flight>> flights_;  // guarded by mu_
};

// What Google said about a doctor's calendar over a range.
struct GoogleBusy {
  bool consulted = false;  // false: the doctor has no working Google connection
  std::string reason;      // when not consulted: "not_connected", "needs_reconnect", ...
  bool cached = false;
  std::vector<core::Interval> busy;  // merged, clipped to the range
};

// Asks freeBusy.query through the cache.
class GoogleAvailability {
 public:
  // Both must outlive this object.
  GoogleAvailability(google::CalendarClient& calendar, FreeBusyCache& cache)
      : calendar_(calendar), cache_(cache) {}

  // The doctor's busy intervals at Google over `range`. Not consulted (no error) when `grant`
  // is not active. A Google failure is kUnavailable naming "google" (its message says what
  // Google answered).
  Result<GoogleBusy> Busy(const core::Doctor& doctor, std::optional<core::GrantStatus> grant,
                          core::Interval range);

  FreeBusyCache& cache() { return cache_; }

 private:
  google::CalendarClient& calendar_;
  FreeBusyCache& cache_;
};

}  // namespace telemeet::sync
