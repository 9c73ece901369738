// A meeting refreshed from Google on request (M13, POST /api/v1/appointments/{id}/meeting/
// refresh): the event is read again (events.get) and the stored meeting corrected to what
// Google holds: the Meet link, the event's page, the times our last write left (when the event
// is in step), and the drift state as the calendar sync would judge it (a move or deletion by
// hand is reported once, with the same audit entry and outbox event; an event put back clears
// it). The clinic's appointment is never changed, as with the sync (calendar_sync.h).
//
//   MeetingRefresher refresher(*store, calendar, clock);
//   std::chrono::seconds retry_after{0};
//   auto refreshed = refresher.Refresh(appointment_id, "user:3", &retry_after);
//   if (!refreshed && retry_after.count() > 0) { /* 429 with Retry-After */ }
//
// Refreshes are rate-limited per appointment, in this process: at most one Google read per
// `min_interval` (a refused one costs no call). Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/clock.h"
#include "base/error.h"
#include "google/calendar_client.h"
#include "google/event.h"
#include "store/store.h"

namespace telemeet::sync {

struct RefreshOptions {
  std::chrono::seconds min_interval{10};
  // Appointments remembered for the rate limit; past it, entries older than min_interval go.
  size_t max_tracked = 10'000;
};

struct RefreshOutcome {
  google::Event event;        // as Google answered (status "cancelled" when it is gone)
  bool gone = false;          // 404/410: Google has no such event
  std::string drift;          // the meeting's drift now: "", "moved" or "deleted"
  bool link_changed = false;  // the Meet link differed from the stored one
};

class MeetingRefresher {
 public:
  // All references must outlive this object.
  MeetingRefresher(store::Store& store, google::CalendarClient& calendar, const Clock& clock,
                   RefreshOptions options = {});

  // Reads the appointment's event and corrects its meeting; `actor` is named in the audit
  // trail. Errors: kNotFound (no such appointment); kFailedPrecondition with field
  // "meeting.state" when there is no event to read (no meeting wanted, the doctor not
  // connected, the event removed, a failed meeting) or a change of it is under way;
  // kResourceExhausted with `*retry_after` set when this appointment was refreshed less than
  // min_interval ago; kUnavailable when Google did not answer; kAborted when the worker changed
  // the meeting meanwhile (try again).
  Result<RefreshOutcome> Refresh(int64_t appointment_id, std::string_view actor,
                                 std::chrono::seconds* retry_after);

 private:
  // True when a refresh of `appointment_id` may go to Google now (and records it); else
  // *retry_after is how long to wait.
  bool Admit(int64_t appointment_id, std::chrono::seconds* retry_after);

  store::Store& store_;
  google::CalendarClient& calendar_;
  const Clock& clock_;
  const RefreshOptions options_;
  std::mutex mu_;
  std::unordered_map<int64_t, Instant> last_refresh_;  // guarded by mu_
};

}  // namespace telemeet::sync
