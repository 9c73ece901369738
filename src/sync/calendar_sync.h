// The Google calendar sync (M16; issue 6 "appointment.changed_in_google"): notices when a doctor
// moves or deletes one of telemeet's events in Google Calendar by hand and tells the clinic.
//
// Policy: the clinic's booking system is the source of truth, so telemeet never moves the
// appointment. A drift is reported once per event version: an outbox event
// "appointment.changed_in_google" (for webhooks and email), an audit entry, and the meeting row's
// `drift` ("moved" or "deleted"). The event is left as the doctor made it until the appointment
// next changes; then the reconciler patches it back (a deleted event is restored with status
// "confirmed", keeping its Meet link) and clears the drift. A doctor who puts the event back
// by hand clears it too (audited, no outbox event).
//
// Detection is incremental, per doctor calendar: one job per connected doctor (kind "gsync", key
// "gsync:<doctor id>") runs events.list with the stored sync token (google-protocol.md §6; a 410
// fullSyncRequired answer falls back to a full listing with showDeleted), matches the changed
// events to meetings by event id (a deleted event carries only its id), and writes what it found,
// the new token and the job's next run in one transaction that checks the job's lease. The job
// runs again after `sweep_interval` (the periodic sweep); when a push address is configured it
// also keeps an events.watch channel (§9) and a notification makes the job due at once.
//
//   CalendarSync sync(*store, calendar, clock, {.push_address = "https://tm.example/google/push"});
//   Worker sync_worker(*store, sync, clock, {.kind = std::string(kCalendarSyncJobKind)});
//   sync.SetOnDue([&] { sync_worker.Nudge(); });
//   router.Post(kPushPath, [&](const net::Request& r) { return sync.HandlePush(r); },
//               {.offload = true});
//   sync.EnsureJobs();  // start-up: a job for every connected doctor
//   sync_worker.Start();
//
// Thread-safe: Run may be called from many threads at once (for different doctors).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "core/types.h"
#include "google/calendar_client.h"
#include "net/http.h"
#include "store/store.h"
#include "sync/reconciler.h"

namespace telemeet::sync {

inline constexpr std::string_view kCalendarSyncJobKind = "gsync";
// Where telemeet receives Google's push notifications (below the public URL).
inline constexpr std::string_view kPushPath = "/google/push";

// "gsync:<doctor id>".
std::string CalendarSyncJobKey(int64_t doctor_id);
// Inside a write transaction: the doctor's sync job, due at `at` (or sooner when it already is).
Result<core::Job> EnqueueCalendarSync(store::Tx& tx, int64_t doctor_id, Instant at);

// What an event at Google says about its meeting: nullopt when there is nothing to record,
// "" when an earlier drift is gone (the doctor put the event back), else kDriftMoved or
// kDriftDeleted. Only settled meetings of live appointments are judged; our own last write
// (same etag) and a drift already reported for this event version are not news.
std::optional<std::string> DriftOf(const core::Meeting& meeting,
                                   const core::Appointment& appointment,
                                   const google::Event& event);

// Inside a write transaction: records what DriftOf found for `before` (the meeting as read):
// the meeting's drift, an audit entry, and for a new drift ("moved", "deleted") the outbox
// event appointment.changed_in_google; "" (put back) is audited as meeting.drift_cleared.
Status RecordDrift(store::Tx& tx, const core::Appointment& appointment, const core::Meeting& before,
                   const google::Event& event, const std::string& drift, std::string_view actor);

struct CalendarSyncOptions {
  // Without push: how long after a sync the next one runs (the reaction time to changes).
  std::chrono::microseconds sweep_interval{std::chrono::minutes(5)};
  // With a live push channel the sweep is only a safety net for lost notifications.
  std::chrono::microseconds sweep_interval_with_push{std::chrono::minutes(30)};
  // The push receiver's absolute URL (https://<public host>/google/push); empty: no channels.
  std::string push_address{};
  std::chrono::seconds channel_ttl{std::chrono::hours(24 * 7)};
  // A channel this close to its expiry is replaced (Google has no renewal; channels overlap).
  std::chrono::microseconds renew_before{std::chrono::hours(24)};
  std::chrono::microseconds retry_base{std::chrono::seconds(1)};
  std::chrono::microseconds retry_max{std::chrono::minutes(5)};
  int page_size = 250;
  std::string actor = "google-sync";
};

class CalendarSync : public JobRunner {
 public:
  // All references must outlive this object.
  CalendarSync(store::Store& store, google::CalendarClient& calendar, const Clock& clock,
               CalendarSyncOptions options = {});

  // Runs one leased "gsync" job (see the top of the file).
  RunResult Run(const core::Job& job) override;

  // The push receiver (POST kPushPath, no body, X-Goog-* headers): a notification on a channel
  // we hold, with its token, makes that doctor's sync due now and calls the on-due hook. It
  // answers 204 to every well-formed notification, ours or not, so probing learns nothing;
  // 400 to a malformed one (google::ParsePushNotification's rules); 503 when the store is
  // unavailable (Google retries 5xx).
  net::Response HandlePush(const net::Request& request);
  // Called after a push made a sync due (e.g. the sync worker's Nudge).
  void SetOnDue(std::function<void()> on_due);
  // Called with the doctor's id when a push says their calendar changed, before the sync is
  // made due (the free/busy cache drops the doctor's answers).
  void SetOnCalendarChanged(std::function<void(int64_t doctor_id)> on_changed);

  // Start-up: a sync job for every doctor with a live grant (an existing one is due now).
  Result<int64_t> EnsureJobs();

  const CalendarSyncOptions& options() const { return options_; }

 private:
  struct Found;
  RunResult Finish(const core::Job& job, RunResult result, Status written);

  store::Store& store_;
  google::CalendarClient& calendar_;
  const Clock& clock_;
  const CalendarSyncOptions options_;
  std::mutex mu_;
  std::function<void()> on_due_;                      // guarded by mu_
  std::function<void(int64_t)> on_calendar_changed_;  // guarded by mu_
};

}  // namespace telemeet::sync
