// Pure pieces of the reconciler and the call collector.
#include <gtest/gtest.h>

#include <thread>

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

}  // namespace
}  // namespace telemeet::sync
