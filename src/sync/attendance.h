// Work on an appointment's Meet space once its conference exists (issue 18): the access type
// the policy wants (M32), and, after the appointment's end plus a grace period, the attendance
// read from Meet's conference records (M31). One job per appointment (kind "meet", key
// "meet:<id>"), upserted by the reconciler when a meeting becomes ready or moves while the
// policy asks for either (MeetWorkWanted), and run by its own Worker: the reconciler's
// one-call-per-run shape and its chaos guarantees stay as they are.
//
//   MeetWork meet_work(store, meet_client, calls, clock, MeetWorkOptions{});
//   Worker meet_worker(store, meet_work, clock, {.kind = std::string(kMeetJobKind)});
//   // in the reconciler's commit, for a meeting made ready:
//   if (TM_TRY(MeetWorkWanted(tx, policy))) TM_TRY(ScheduleMeetWork(tx, appointment, now));
//
// A run reads the appointment, meeting, grant and policies, makes the Meet calls due now, and
// records in ONE write transaction that checks the lease: the summary or access state, the
// audit trail (every Meet call, the summary, a status change), outbox events
// (appointment.attended, appointment.no_show under policy "complete") and the job's next run.
// It looks at the records a bounded number of times (core::NextAttendanceStep), then stops.
// Without the Meet scope in the doctor's grant nothing is called and the state says so.
//
// Thread-safe: Run may be called from many threads at once, for different jobs.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "core/attendance.h"
#include "core/types.h"
#include "google/meet_client.h"
#include "store/store.h"
#include "sync/call_collector.h"
#include "sync/reconciler.h"

namespace telemeet::sync {

inline constexpr std::string_view kMeetJobKind = "meet";

// Outbox topics (webhooks), under policy "complete".
inline constexpr std::string_view kAppointmentAttended = "appointment.attended";
inline constexpr std::string_view kAppointmentNoShow = "appointment.no_show";

// The doctor's Google account id as Meet names participants, kept when the doctor grants the
// attendance scope (with openid): the setting's value is "<sub> <account email>", so a grant of
// another account is never taken for it.
std::string GoogleSubjectSettingKey(int64_t doctor_id);
std::string GoogleSubjectSettingValue(std::string_view sub, std::string_view account_email);

// The extra scopes each Meet feature needs, asked for by incremental authorization.
// "attendance": meetings.space.readonly and openid (the doctor's id); "access_type":
// meetings.space.settings.
std::vector<std::string> MeetFeatureScopes(std::string_view feature);
// Whether the grant's space-separated scopes cover the feature.
bool GrantCovers(std::string_view granted_scopes, std::string_view feature);

struct MeetWorkOptions {
  core::MeetPolicy defaults{};  // under the settings (core::MeetPolicyFrom)
  core::AttendanceSchedule schedule{};
  // Conferences that started this long before the appointment count (a patient early in the
  // waiting room); those starting after end + schedule.max_wait do not.
  std::chrono::microseconds early{std::chrono::hours(1)};
  // Transient failures: store::BackoffAfter with these bounds.
  std::chrono::microseconds retry_base{std::chrono::seconds(5)};
  std::chrono::microseconds retry_max{std::chrono::minutes(10)};
  std::string actor = "worker";
};

// The appointment's meet job ("meet:<appointment id>").
std::string MeetJobKey(int64_t appointment_id);

// The Meet policy in force: the settings attendance.* and meeting.access_type over `defaults`.
Result<core::MeetPolicy> MeetPolicyOf(store::Tx& tx, const core::MeetPolicy& defaults);
// Whether a meeting made ready (or moved) in this transaction gets its meet job: the policy
// read under a lock shared by such commits and held alone by a change of the policy
// (LockMeetPolicyForChange), so that a commit either sees the new policy or has ended before the
// change looks for the ready meetings (PostgreSQL; SQLite writes one transaction at a time).
Result<bool> MeetWorkWanted(store::Tx& tx, const core::MeetPolicy& defaults);
// In the transaction that changes the Meet policy, before it reads it: waits for the commits
// that are deciding by the policy now (MeetWorkWanted) and holds off new ones until it ends.
Status LockMeetPolicyForChange(store::Tx& tx);

// Makes the appointment's meet job due now (in the caller's transaction).
Status ScheduleMeetWork(store::Tx& tx, const core::Appointment& appointment, Instant now);
inline constexpr int kReadyMeetWorkLimit = 5000;
// Makes the meet job due for each appointment since two days ago (at most kReadyMeetWorkLimit,
// the earliest first) whose meeting is ready, so a feature allowed later applies to meetings
// that exist already: of one doctor on a (re)connect (a space left as it was, or attendance
// that lacked the scope), of every doctor (doctor_id 0) when the admin's policy comes to ask
// for new Meet work. Returns how many it made due (kReadyMeetWorkLimit: perhaps not all).
Result<int> ScheduleReadyMeetWork(store::Tx& tx, int64_t doctor_id, Instant now);

class MeetWork : public JobRunner {
 public:
  // `calls` must be the observer `meet` reports to.
  MeetWork(store::Store& store, google::MeetClient& meet, CallCollector& calls, const Clock& clock,
           MeetWorkOptions options = {});

  RunResult Run(const core::Job& job) override;

 private:
  struct Snapshot;
  struct Plan;
  Result<Snapshot> Read(int64_t appointment_id);
  void AccessType(const Snapshot& snap, Plan& plan);
  void Attendance(const Snapshot& snap, Plan& plan);
  // Reads every conference of the meeting code in the appointment's window.
  google::GoogleResult<std::vector<core::MeetConference>> ReadConferences(const Snapshot& snap);
  Status Commit(const core::Job& job, const Snapshot& snap, Plan& plan,
                std::vector<google::CallRecord> calls);

  store::Store& store_;
  google::MeetClient& meet_;
  CallCollector& calls_;
  const Clock& clock_;
  const MeetWorkOptions options_;
};

// The appointment's attendance as the API shows it (null when never looked at).
nlohmann::json AttendanceJson(const std::optional<core::AttendanceRecord>& record);
// The meeting's access type as the API shows it (null when the policy never asked for one).
nlohmann::json MeetingAccessJson(const std::optional<core::MeetingAccess>& access);

}  // namespace telemeet::sync
