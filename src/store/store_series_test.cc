// The store contract for recurring series (M15): every test runs against SQLite and PostgreSQL.
#include "store/store_test_util.h"

namespace telemeet::store {
namespace {

class SeriesContract : public StoreFixture {
 protected:
  core::AppointmentSeries NewSeries() {
    core::AppointmentSeries s;
    s.doctor_id = doctor_;
    s.service_id = service_;
    s.patient_id = patient_;
    s.rrule = "RRULE:FREQ=WEEKLY;COUNT=3";
    s.time_zone = "Europe/Berlin";
    s.first_start = T("2026-03-16T09:00:00Z");
    s.first_end = T("2026-03-16T09:30:00Z");
    return s;
  }
};

TEST_P(SeriesContract, SeriesRoundTripAndItsOccurrencesAreAppointments) {
  Seed();
  auto made = store_->Transact([&](Tx& tx) -> Result<core::AppointmentSeries> {
    core::AppointmentSeries s = TM_TRY(tx.CreateSeries(NewSeries()));
    for (std::string_view start :
         {"2026-03-30T08:00:00Z", "2026-03-16T09:00:00Z", "2026-03-23T09:00:00Z"}) {
      core::Appointment a = NewAppointment(start);
      a.series_id = s.id;
      TM_TRY(tx.CreateAppointment(a));
    }
    TM_TRY(tx.CreateAppointment(NewAppointment("2026-03-17T09:00:00Z")));  // not in the series
    return s;
  });
  ASSERT_TRUE(made) << made.error().ToString();
  EXPECT_GT(made->id, 0);
  EXPECT_EQ(made->uid.size(), 32u);

  auto read = store_->Read([&](Tx& tx) { return tx.GetSeries(made->id); });
  ASSERT_TRUE(read) << read.error().ToString();
  EXPECT_EQ(read->rrule, "RRULE:FREQ=WEEKLY;COUNT=3");
  EXPECT_EQ(read->mode, core::SeriesMode::kPerOccurrence);
  EXPECT_EQ(read->status, core::SeriesStatus::kActive);
  EXPECT_EQ(read->first_start, T("2026-03-16T09:00:00Z"));
  EXPECT_EQ(read->time_zone, "Europe/Berlin");

  auto occurrences = store_->Read([&](Tx& tx) { return tx.ListSeriesAppointments(made->id); });
  ASSERT_TRUE(occurrences) << occurrences.error().ToString();
  ASSERT_EQ(occurrences->size(), 3u);
  EXPECT_EQ((*occurrences)[0].start, T("2026-03-16T09:00:00Z"));
  EXPECT_EQ((*occurrences)[2].start, T("2026-03-30T08:00:00Z"));
  for (const core::Appointment& a : *occurrences) {
    EXPECT_EQ(a.series_id, made->id);
    EXPECT_EQ(a.original_start, a.start);
    // Each occurrence has its own reconcile job, as any appointment does.
    auto job = store_->Read([&](Tx& tx) { return tx.GetJob(ReconcileJobKey(a.id)); });
    EXPECT_TRUE(job) << a.id;
  }
  auto single = store_->Read([&](Tx& tx) {
    return tx.ListAppointments({.from = T("2026-03-17T00:00:00Z"), .to = T("2026-03-18T00:00:00Z")},
                               {});
  });
  ASSERT_TRUE(single);
  ASSERT_EQ(single->items.size(), 1u);
  EXPECT_EQ(single->items[0].series_id, 0);
  EXPECT_EQ(single->items[0].original_start, Instant{});
  // A moved occurrence keeps the start its rule gave it.
  auto moved = store_->Transact([&](Tx& tx) {
    return tx.Reschedule((*occurrences)[1].id, T("2026-03-23T10:00:00Z"),
                         T("2026-03-23T10:30:00Z"));
  });
  ASSERT_TRUE(moved) << moved.error().ToString();
  auto reread = store_->Read([&](Tx& tx) { return tx.GetAppointment((*occurrences)[1].id); });
  ASSERT_TRUE(reread);
  EXPECT_EQ(reread->start, T("2026-03-23T10:00:00Z"));
  EXPECT_EQ(reread->original_start, T("2026-03-23T09:00:00Z"));
}

TEST_P(SeriesContract, UpdateListAndRefusals) {
  Seed();
  auto s = store_->Transact([&](Tx& tx) { return tx.CreateSeries(NewSeries()); });
  ASSERT_TRUE(s) << s.error().ToString();
  core::AppointmentSeries next = *s;
  next.status = core::SeriesStatus::kCancelled;
  next.first_start = T("2026-03-16T10:00:00Z");
  next.first_end = T("2026-03-16T10:30:00Z");
  next.doctor_id = 999;  // not written
  auto updated = store_->Transact([&](Tx& tx) { return tx.UpdateSeries(next); });
  ASSERT_TRUE(updated) << updated.error().ToString();
  auto read = store_->Read([&](Tx& tx) { return tx.GetSeries(s->id); });
  ASSERT_TRUE(read);
  EXPECT_EQ(read->status, core::SeriesStatus::kCancelled);
  EXPECT_EQ(read->first_start, T("2026-03-16T10:00:00Z"));
  EXPECT_EQ(read->doctor_id, doctor_);

  auto mine = store_->Read([&](Tx& tx) { return tx.ListSeries(doctor_, {}); });
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->items.size(), 1u);
  auto others = store_->Read([&](Tx& tx) { return tx.ListSeries(doctor_ + 1, {}); });
  ASSERT_TRUE(others);
  EXPECT_TRUE(others->items.empty());

  EXPECT_EQ(CodeOf(store_->Read([&](Tx& tx) { return tx.GetSeries(12345); })),
            ErrorCode::kNotFound);
  core::AppointmentSeries bad = NewSeries();
  bad.time_zone = "Mars/Olympus";
  auto refused = store_->Transact([&](Tx& tx) { return tx.CreateSeries(bad); });
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().field(), "time_zone");
  bad = NewSeries();
  bad.patient_id = 777;
  refused = store_->Transact([&](Tx& tx) { return tx.CreateSeries(bad); });
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(refused.error().field(), "patient_id");
  // An appointment naming a series that does not exist is refused by the foreign key.
  core::Appointment orphan = NewAppointment("2026-04-01T09:00:00Z");
  orphan.series_id = 4242;
  EXPECT_EQ(CodeOf(Create(orphan)), ErrorCode::kFailedPrecondition);
}

INSTANTIATE_TEST_SUITE_P(Backends, SeriesContract, ::testing::Values("sqlite", "postgres"),
                         BackendName);

}  // namespace
}  // namespace telemeet::store
