// Pure pieces of the reconciler and the call collector.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "core/time.h"
#include "sync/calendar_sync.h"
#include "sync/call_collector.h"
#include "sync/reconciler.h"

namespace telemeet::sync {
namespace {

TEST(RenderTitleTest, FillsKnownPlaceholdersOnly) {
  EXPECT_EQ(RenderTitle("{service} with {doctor}", "Video consultation", "Dr Who", "Amy"),
            "Video consultation with Dr Who");
  EXPECT_EQ(RenderTitle("{patient}: {other} {service", "S", "D", "Amy"), "Amy: {other} {service");
  EXPECT_EQ(RenderTitle("", "S", "D", "P"), "");
}

TEST(ReconcilePayloadTest, ParsesAndFormats) {
  auto p = ParseReconcilePayload("42");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->appointment_id, 42);
  EXPECT_EQ(p->polls, 0);
  auto q = ParseReconcilePayload("7 poll=3");
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->appointment_id, 7);
  EXPECT_EQ(q->polls, 3);
  EXPECT_EQ(FormatReconcilePayload(*q), "7 poll=3");
  EXPECT_EQ(FormatReconcilePayload(*p), "42");
  EXPECT_EQ(ParseReconcilePayload("").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ParseReconcilePayload("x").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ParseReconcilePayload("4 junk").error().code(), ErrorCode::kInvalidArgument);
}

// The meeting.* events' payload: the text nlohmann::json gave for the same fields (sorted keys,
// the optional ones only when set), which webhook receivers and the notifier parse.
TEST(MeetingEventPayloadTest, IsTheJsonOfTheAppointmentAndMeeting) {
  core::Appointment a;
  a.id = 12;
  a.uid = "u-12";
  a.doctor_id = 3;
  a.start = *core::ParseRfc3339("2026-05-04T08:00:00Z");
  a.end = *core::ParseRfc3339("2026-05-04T08:30:00.250000Z");
  a.time_zone = "Europe/Berlin";
  core::Meeting m;
  m.state = core::MeetingState::kCreating;
  nlohmann::json expected{{"appointment_id", 12},
                          {"appointment_uid", "u-12"},
                          {"doctor_id", 3},
                          {"state", "creating"},
                          {"start", "2026-05-04T08:00:00Z"},
                          {"end", "2026-05-04T08:30:00.250000Z"},
                          {"time_zone", "Europe/Berlin"}};
  EXPECT_EQ(MeetingEventPayload(a, m), expected.dump());
  m.state = core::MeetingState::kFailed;
  m.join_url = "https://meet.google.com/abc-defg-hij";
  m.event_url = "https://www.google.com/calendar/event?eid=x";
  m.last_error = "quota \"exceeded\"\n\x01 ünïcode";
  expected["state"] = "failed";
  expected["join_url"] = m.join_url;
  expected["event_url"] = m.event_url;
  expected["error"] = m.last_error;
  EXPECT_EQ(MeetingEventPayload(a, m), expected.dump());
}

class CountingObserver final : public google::CallObserver {
 public:
  void OnCall(const google::CallRecord&) override { ++calls; }
  std::atomic<int> calls{0};
};

TEST(CallCollectorTest, RoutesRecordsToTheCallingThreadsScope) {
  CountingObserver next;
  CallCollector collector(&next);
  google::CallRecord r;
  r.operation = "events.insert";
  collector.OnCall(r);  // outside any scope: only forwarded
  CallCollector::Scope outer;
  collector.OnCall(r);
  std::vector<google::CallRecord> other_thread;
  std::thread t([&] {
    CallCollector::Scope mine;
    google::CallRecord g;
    g.operation = "events.get";
    collector.OnCall(g);
    other_thread = mine.Take();
  });
  t.join();
  {
    CallCollector::Scope inner;
    collector.OnCall(r);
    EXPECT_EQ(inner.Take().size(), 1u);
  }
  collector.OnCall(r);
  auto mine = outer.Take();
  EXPECT_EQ(mine.size(), 2u);
  ASSERT_EQ(other_thread.size(), 1u);
  EXPECT_EQ(other_thread[0].operation, "events.get");
  EXPECT_EQ(next.calls.load(), 5);
  EXPECT_TRUE(outer.Take().empty());
}

TEST(MeetingSettingsTest, ValidSettingsOverrideTheDefaultsAndUnknownValuesAreIgnored) {
  MeetingSettings defaults;
  defaults.send_updates = google::SendUpdates::kExternalOnly;
  MeetingSettings none = SettingsFrom({}, defaults);
  EXPECT_FALSE(none.policy.create_at_booking);
  EXPECT_EQ(none.send_updates, google::SendUpdates::kExternalOnly);
  EXPECT_EQ(none.cancel_mode, CancelMode::kDelete);
  MeetingSettings all = SettingsFrom({{"meeting.cancel_mode", "mark_cancelled"},
                                      {"meeting.create_on", "booking"},
                                      {"meeting.send_updates", "all"}},
                                     defaults);
  EXPECT_TRUE(all.policy.create_at_booking);
  EXPECT_EQ(all.send_updates, google::SendUpdates::kAll);
  EXPECT_EQ(all.cancel_mode, CancelMode::kMarkCancelled);
  MeetingSettings bad = SettingsFrom(
      {{"meeting.create_on", "Booking"}, {"meeting.send_updates", "everyone"}}, defaults);
  EXPECT_FALSE(bad.policy.create_at_booking);
  EXPECT_EQ(bad.send_updates, google::SendUpdates::kExternalOnly);
}

TEST(DriftOfTest, OnlyChangesByOthersToSettledMeetingsOfLiveAppointmentsAreNews) {
  core::Appointment a;
  a.status = core::AppointmentStatus::kConfirmed;
  a.start = *core::ParseRfc3339("2026-03-02T08:00:00Z");
  a.end = *core::ParseRfc3339("2026-03-02T08:30:00Z");
  core::Meeting m;
  m.state = core::MeetingState::kReady;
  m.etag = "\"5\"";
  m.synced_start = a.start;
  m.synced_end = a.end;
  google::Event e;
  e.etag = "\"6\"";
  e.status = "confirmed";
  e.start.date_time = "2026-03-02T09:00:00+01:00";  // the same instant as a.start
  e.end.date_time = "2026-03-02T09:30:00+01:00";
  EXPECT_EQ(DriftOf(m, a, e), std::nullopt) << "same times: not a drift";
  google::Event moved = e;
  moved.start.date_time = "2026-03-02T11:00:00+01:00";
  moved.end.date_time = "2026-03-02T11:30:00+01:00";
  EXPECT_EQ(DriftOf(m, a, moved), std::optional<std::string>("moved"));
  google::Event ours = moved;
  ours.etag = m.etag;
  EXPECT_EQ(DriftOf(m, a, ours), std::nullopt) << "our own last write";
  google::Event deleted;
  deleted.id = "x";
  deleted.etag = "\"7\"";
  deleted.status = "cancelled";
  EXPECT_EQ(DriftOf(m, a, deleted), std::optional<std::string>("deleted"));
  core::Meeting reported = m;
  reported.drift = "moved";
  reported.drift_etag = moved.etag;
  EXPECT_EQ(DriftOf(reported, a, moved), std::nullopt) << "reported once per event version";
  EXPECT_EQ(DriftOf(reported, a, e), std::optional<std::string>("")) << "put back by hand";
  reported.drift = "deleted";
  EXPECT_EQ(DriftOf(reported, a, deleted), std::nullopt);
  core::Meeting busy = m;
  busy.state = core::MeetingState::kUpdating;
  EXPECT_EQ(DriftOf(busy, a, moved), std::nullopt) << "our own call may be in flight";
  core::Appointment cancelled = a;
  cancelled.status = core::AppointmentStatus::kCancelled;
  EXPECT_EQ(DriftOf(m, cancelled, deleted), std::nullopt) << "mark_cancelled / our delete";
}

}  // namespace
}  // namespace telemeet::sync
