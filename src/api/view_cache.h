// The answers of GET /api/v1/appointments/{id} (and, in a cache of its own, of .../meeting),
// kept while nothing is committed (issue 19). Integrators poll these routes for the Meet link;
// each answer is one statement and its rendering, most of the route's CPU. An answer is kept with
// the store's CommitMark taken before its read and served again only while the store's mark is
// still that one: no commit by any process in between, so it is what a read would answer now (never
// stale, not even by a moment). Any commit empties the cache, so it helps between writes; an
// instance's own background writes (usage times once a second, the reconciler) bound how long an
// answer lives. PostgreSQL gives no mark (other instances commit through their own sessions):
// nothing is kept there.
//
//   AppointmentViewCache cache(4096);
//   std::optional<store::CommitMark> mark = store.CommittedMark();   // before the read
//   if (auto hit = cache.Find(id, mark)) ... hit->doctor_id, hit->body
//   ... read and render ...; cache.Put(id, mark, {doctor_id, body});
//
// Thread-safe. The caller authorizes every answer, a kept one included (doctor_id).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "obs/metrics.h"
#include "store/sql.h"

namespace telemeet::api {

class AppointmentViewCache {
 public:
  struct Answer {
    int64_t doctor_id = 0;  // whose appointment: the caller's check runs on every hit
    std::string body;       // the JSON answer
  };

  // At most `capacity` answers (0: keeps nothing); past it new ones are not kept until the next
  // commit empties the cache. `hits` and `misses` (may be null) count what Find found.
  explicit AppointmentViewCache(size_t capacity, obs::Counter* hits = nullptr,
                                obs::Counter* misses = nullptr)
      : capacity_(capacity), hits_(hits), misses_(misses) {}

  // The kept answer for `appointment_id` if it was read at `mark` (nullopt mark: none).
  std::optional<Answer> Find(int64_t appointment_id, const std::optional<store::CommitMark>& mark);
  // Keeps `answer`, read after `mark` was taken. Answers kept at another mark are dropped.
  void Put(int64_t appointment_id, const std::optional<store::CommitMark>& mark, Answer answer);

  size_t size() const;

 private:
  std::optional<Answer> Lookup(int64_t appointment_id,
                               const std::optional<store::CommitMark>& mark);

  const size_t capacity_;
  obs::Counter* const hits_;
  obs::Counter* const misses_;
  mutable std::mutex mu_;
  store::CommitMark mark_{};                       // guarded by mu_: what every entry was read at
  std::unordered_map<int64_t, Answer> answers_{};  // guarded by mu_
};

}  // namespace telemeet::api
