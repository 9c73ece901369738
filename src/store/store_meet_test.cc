// The store contract for attendance summaries and Meet access types (issue 18): every test runs
// against SQLite and PostgreSQL.
#include "store/store_test_util.h"

namespace telemeet::store {
namespace {

using std::chrono::minutes;

class MeetContract : public StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    if (HasFatalFailure()) return;
    Seed();
    auto a = Create(NewAppointment("2026-03-02T09:00:00Z"));
    ASSERT_TRUE(a) << a.error().ToString();
    appointment_ = a->id;
  }
  int64_t appointment_ = 0;
};

TEST_P(MeetContract, AttendanceRoundTripsAndIsReplaced) {
  EXPECT_EQ(CodeOf(store_->Read([&](Tx& tx) { return tx.GetAttendance(appointment_); })),
            ErrorCode::kNotFound);
  core::AttendanceRecord waiting{.appointment_id = appointment_,
                                 .state = core::AttendanceState::kWaiting,
                                 .outcome = std::nullopt,
                                 .polls = 0,
                                 .facts = {},
                                 .action = "",
                                 .last_error = "",
                                 .checked_at = std::nullopt,
                                 .next_look_at = T("2026-03-02T09:40:00Z"),
                                 .updated_at = {}};
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutAttendance(waiting); }));
  auto got = store_->Read([&](Tx& tx) { return tx.GetAttendance(appointment_); });
  ASSERT_TRUE(got) << got.error().ToString();
  EXPECT_EQ(got->state, core::AttendanceState::kWaiting);
  EXPECT_EQ(got->outcome, std::nullopt);
  EXPECT_EQ(got->next_look_at, T("2026-03-02T09:40:00Z"));
  EXPECT_EQ(got->facts, core::AttendanceFacts{});
  EXPECT_EQ(got->updated_at, clock_.Now());

  clock_.Advance(minutes(45));
  core::AttendanceRecord final = waiting;
  final.state = core::AttendanceState::kFinal;
  final.outcome = core::AttendanceOutcome::kAttended;
  final.polls = 1;
  final.facts = {.conferences = 1,
                 .doctor_joined = true,
                 .others_joined = 2,
                 .overlap = std::chrono::seconds(1215),
                 .first_join = T("2026-03-02T08:58:00Z"),
                 .last_leave = T("2026-03-02T09:31:00Z"),
                 .running = false};
  final.action = "completed";
  final.checked_at = clock_.Now();
  final.next_look_at = std::nullopt;
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutAttendance(final); }));
  got = store_->Read([&](Tx& tx) { return tx.GetAttendance(appointment_); });
  ASSERT_TRUE(got) << got.error().ToString();
  EXPECT_EQ(got->state, core::AttendanceState::kFinal);
  EXPECT_EQ(got->outcome, core::AttendanceOutcome::kAttended);
  EXPECT_EQ(got->polls, 1);
  EXPECT_EQ(got->facts, final.facts);
  EXPECT_EQ(got->action, "completed");
  EXPECT_EQ(got->checked_at, clock_.Now());
  EXPECT_EQ(got->next_look_at, std::nullopt);
}

TEST_P(MeetContract, AnUnknownAppointmentIsNotFound) {
  core::AttendanceRecord a{.appointment_id = 9999};
  EXPECT_EQ(CodeOf(store_->Transact([&](Tx& tx) { return tx.PutAttendance(a); })),
            ErrorCode::kNotFound);
  core::MeetingAccess m{
      .appointment_id = 9999, .meeting_code = "abc", .wanted = "OPEN", .state = "failed"};
  EXPECT_EQ(CodeOf(store_->Transact([&](Tx& tx) { return tx.PutMeetingAccess(m); })),
            ErrorCode::kNotFound);
}

TEST_P(MeetContract, MeetingAccessRoundTripsAndIsReplaced) {
  EXPECT_EQ(CodeOf(store_->Read([&](Tx& tx) { return tx.GetMeetingAccess(appointment_); })),
            ErrorCode::kNotFound);
  core::MeetingAccess failed{.appointment_id = appointment_,
                             .meeting_code = "abc-mnop-xyz",
                             .wanted = "RESTRICTED",
                             .applied = "",
                             .state = "failed",
                             .last_error = "forbidden (403): The caller does not have permission"};
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutMeetingAccess(failed); }));
  core::MeetingAccess applied = failed;
  applied.applied = "RESTRICTED";
  applied.state = "applied";
  applied.last_error = "";
  clock_.Advance(minutes(1));
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutMeetingAccess(applied); }));
  auto got = store_->Read([&](Tx& tx) { return tx.GetMeetingAccess(appointment_); });
  ASSERT_TRUE(got) << got.error().ToString();
  EXPECT_EQ(got->meeting_code, "abc-mnop-xyz");
  EXPECT_EQ(got->wanted, "RESTRICTED");
  EXPECT_EQ(got->applied, "RESTRICTED");
  EXPECT_EQ(got->state, "applied");
  EXPECT_EQ(got->last_error, "");
  EXPECT_EQ(got->updated_at, clock_.Now());
}

INSTANTIATE_TEST_SUITE_P(Backends, MeetContract, ::testing::Values("sqlite", "postgres"),
                         BackendName);

}  // namespace
}  // namespace telemeet::store
