// StoreGrantStore over a real SQLite store: mapping, the row-locked update, and the side
// effects of a grant dying (jobs parked, outbox event) or coming back (jobs woken).
#include "sync/grant_store_adapter.h"

#include <gtest/gtest.h>

#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/time.h"
#include "sync/testing_util.h"

namespace telemeet::sync {
namespace {

using std::chrono::minutes;

class StoreGrantStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { clinic_ = testing::MakeClinic(*store_, "who@clinic.example"); }

  std::string DoctorKey() const { return std::to_string(clinic_.doctor.id); }

  google::StoredGrant Fresh() const {
    google::StoredGrant g;
    g.doctor_id = DoctorKey();
    g.account_email = "who@clinic.example";
    g.sealed_refresh_token = "k1.sealed-refresh";
    g.sealed_access_token = "k1.sealed-access";
    g.access_expires_at = clock_.Now() + minutes(60);
    g.scopes = {"https://www.googleapis.com/auth/calendar", "openid"};
    return g;
  }

  core::Appointment Book(int hour) {
    core::Appointment a;
    a.doctor_id = clinic_.doctor.id;
    a.service_id = clinic_.service.id;
    a.patient_id = clinic_.patient.id;
    a.start = *core::ParseRfc3339("2026-03-02T0" + std::to_string(hour) + ":00:00Z");
    a.end = a.start + minutes(30);
    a.status = core::AppointmentStatus::kConfirmed;
    auto made = store_->Transact([&](store::Tx& tx) { return tx.CreateAppointment(a); });
    EXPECT_TRUE(made.has_value()) << made.error().ToString();
    return made.value_or(a);
  }

  core::Job Job(int64_t appointment_id) {
    auto j = store_->Read(
        [&](store::Tx& tx) { return tx.GetJob(store::ReconcileJobKey(appointment_id)); });
    EXPECT_TRUE(j.has_value());
    return j.value_or(core::Job{});
  }

  std::vector<core::OutboxEvent> Outbox() {
    auto page = store_->Read([&](store::Tx& tx) { return tx.ListOutbox({}); });
    EXPECT_TRUE(page.has_value());
    return page ? page->items : std::vector<core::OutboxEvent>{};
  }

  FakeClock clock_;
  testing::TempStore store_{clock_};
  testing::Clinic clinic_;
  StoreGrantStore grants_{*store_};
};

TEST_F(StoreGrantStoreTest, NeverConnectedLoadsAsAbsent) {
  auto g = grants_.LoadGrant(DoctorKey());
  ASSERT_TRUE(g.has_value());
  EXPECT_FALSE(g->has_value());
  EXPECT_EQ(grants_
                .LockAndUpdate(DoctorKey(),
                               [](const google::StoredGrant&) {
                                 return Result<std::optional<google::StoredGrant>>(std::nullopt);
                               })
                .error()
                .code(),
            ErrorCode::kNotFound);
}

TEST_F(StoreGrantStoreTest, BadDoctorIdIsInvalidArgument) {
  EXPECT_EQ(grants_.LoadGrant("doctor-7").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(grants_.LoadGrant("0").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(grants_.LoadGrant("12x").error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(StoreGrantStoreTest, SaveThenLoadRoundTrips) {
  ASSERT_TRUE(grants_.SaveGrant(Fresh()));
  auto g = grants_.LoadGrant(DoctorKey());
  ASSERT_TRUE(g.has_value() && g->has_value());
  const google::StoredGrant& got = **g;
  EXPECT_EQ(got.doctor_id, DoctorKey());
  EXPECT_EQ(got.account_email, "who@clinic.example");
  EXPECT_EQ(got.sealed_refresh_token, "k1.sealed-refresh");
  EXPECT_EQ(got.sealed_access_token, "k1.sealed-access");
  EXPECT_EQ(got.access_expires_at, clock_.Now() + minutes(60));
  EXPECT_EQ(got.scopes, Fresh().scopes);
  EXPECT_FALSE(got.needs_reconnect);
  auto row = store_->Read([&](store::Tx& tx) { return tx.GetGrant(clinic_.doctor.id); });
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->status, core::GrantStatus::kActive);
  EXPECT_EQ(row->scopes, "https://www.googleapis.com/auth/calendar openid");
}

TEST_F(StoreGrantStoreTest, LockAndUpdateWritesWhatTheUpdateReturns) {
  ASSERT_TRUE(grants_.SaveGrant(Fresh()));
  auto s = grants_.LockAndUpdate(DoctorKey(), [&](const google::StoredGrant& current) {
    EXPECT_EQ(current.sealed_access_token, "k1.sealed-access");
    google::StoredGrant next = current;
    next.sealed_access_token = "k1.newer-access";
    return Result<std::optional<google::StoredGrant>>(next);
  });
  ASSERT_TRUE(s.has_value()) << s.error().ToString();
  EXPECT_EQ((**grants_.LoadGrant(DoctorKey())).sealed_access_token, "k1.newer-access");
  // nullopt writes nothing; an error writes nothing and comes back.
  ASSERT_TRUE(grants_.LockAndUpdate(DoctorKey(), [](const google::StoredGrant&) {
    return Result<std::optional<google::StoredGrant>>(std::nullopt);
  }));
  auto failed = grants_.LockAndUpdate(DoctorKey(), [](const google::StoredGrant& current) {
    google::StoredGrant next = current;
    next.sealed_access_token = "never";
    (void)next;
    return Result<std::optional<google::StoredGrant>>(
        std::unexpected(Error(ErrorCode::kUnavailable, "google down")));
  });
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ((**grants_.LoadGrant(DoctorKey())).sealed_access_token, "k1.newer-access");
}

// On SQLite the update (a refresh at Google) must not hold the database's one write lock:
// another writer finishes while the update is still waiting for "Google".
TEST_F(StoreGrantStoreTest, OtherWritersProceedWhileAnUpdateWaitsOnGoogle) {
  ASSERT_TRUE(grants_.SaveGrant(Fresh()));
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::thread refresher([&] {
    auto s = grants_.LockAndUpdate(DoctorKey(), [&](const google::StoredGrant& current) {
      entered.set_value();
      released.wait();
      google::StoredGrant next = current;
      next.sealed_access_token = "k1.refreshed";
      return Result<std::optional<google::StoredGrant>>(next);
    });
    EXPECT_TRUE(s.has_value()) << s.error().ToString();
  });
  entered.get_future().wait();
  // A write of another kind while the refresh is in flight: it must not wait for it.
  auto booked = std::async(std::launch::async, [&] { return Book(9); });
  EXPECT_EQ(booked.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  release.set_value();
  refresher.join();
  EXPECT_GT(booked.get().id, 0);
  EXPECT_EQ((**grants_.LoadGrant(DoctorKey())).sealed_access_token, "k1.refreshed");
}

// A grant rewritten while an update ran (a reconnect) is not overwritten with the update's
// result computed from the old row: the update runs again on the new row.
TEST_F(StoreGrantStoreTest, AnUpdateRacedByAnotherWriteRunsAgainOnTheNewRow) {
  ASSERT_TRUE(grants_.SaveGrant(Fresh()));
  std::vector<std::string> seen;
  auto s = grants_.LockAndUpdate(DoctorKey(), [&](const google::StoredGrant& current) {
    seen.push_back(current.sealed_access_token);
    if (seen.size() == 1) {
      google::StoredGrant reconnected = Fresh();
      reconnected.sealed_access_token = "k1.reconnected";
      EXPECT_TRUE(grants_.SaveGrant(reconnected).has_value());
      google::StoredGrant stale = current;
      stale.sealed_access_token = "k1.from-the-old-row";
      return Result<std::optional<google::StoredGrant>>(stale);
    }
    return Result<std::optional<google::StoredGrant>>(std::nullopt);  // fresh enough now
  });
  ASSERT_TRUE(s.has_value()) << s.error().ToString();
  EXPECT_EQ(seen, (std::vector<std::string>{"k1.sealed-access", "k1.reconnected"}));
  EXPECT_EQ((**grants_.LoadGrant(DoctorKey())).sealed_access_token, "k1.reconnected");
}

TEST_F(StoreGrantStoreTest, DyingGrantParksJobsAndAnnouncesOnce) {
  ASSERT_TRUE(grants_.SaveGrant(Fresh()));
  core::Appointment a = Book(8);
  core::Appointment b = Book(9);
  auto kill = [&] {
    return grants_.LockAndUpdate(DoctorKey(), [](const google::StoredGrant& current) {
      google::StoredGrant next = current;
      next.needs_reconnect = true;
      next.reconnect_reason = "Token has been expired or revoked.";
      return Result<std::optional<google::StoredGrant>>(next);
    });
  };
  ASSERT_TRUE(kill());
  EXPECT_EQ(Job(a.id).state, core::JobState::kParked);
  EXPECT_EQ(Job(b.id).state, core::JobState::kParked);
  auto g = grants_.LoadGrant(DoctorKey());
  ASSERT_TRUE(g.has_value() && g->has_value());
  EXPECT_TRUE((*g)->needs_reconnect);
  EXPECT_EQ((*g)->reconnect_reason, "Token has been expired or revoked.");
  auto row = store_->Read([&](store::Tx& tx) { return tx.GetGrant(clinic_.doctor.id); });
  EXPECT_EQ(row->status, core::GrantStatus::kNeedsReconnect);

  std::vector<core::OutboxEvent> events = Outbox();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].topic, "doctor.needs_reconnect");
  EXPECT_EQ(events[0].doctor_id, clinic_.doctor.id);
  auto payload = nlohmann::json::parse(events[0].payload);
  EXPECT_EQ(payload["reason"], "Token has been expired or revoked.");
  EXPECT_EQ(payload["parked_jobs"], 2);
  EXPECT_EQ(events[0].payload.find("sealed"), std::string::npos);

  // Marked dead again (another instance saw invalid_grant too): no second announcement.
  ASSERT_TRUE(kill());
  EXPECT_EQ(Outbox().size(), 1u);
}

TEST_F(StoreGrantStoreTest, ReconnectWakesParkedJobs) {
  ASSERT_TRUE(grants_.SaveGrant(Fresh()));
  core::Appointment a = Book(8);
  ASSERT_TRUE(grants_.LockAndUpdate(DoctorKey(), [](const google::StoredGrant& current) {
    google::StoredGrant next = current;
    next.needs_reconnect = true;
    return Result<std::optional<google::StoredGrant>>(next);
  }));
  ASSERT_EQ(Job(a.id).state, core::JobState::kParked);
  clock_.Advance(minutes(5));
  ASSERT_TRUE(grants_.SaveGrant(Fresh()));
  core::Job job = Job(a.id);
  EXPECT_EQ(job.state, core::JobState::kReady);
  EXPECT_LE(job.run_at, clock_.Now());
  EXPECT_FALSE((**grants_.LoadGrant(DoctorKey())).needs_reconnect);
}

TEST_F(StoreGrantStoreTest, MarkNeedsReconnectDropsTheTokenAndParks) {
  EXPECT_EQ(grants_.MarkNeedsReconnect(DoctorKey(), "scope removed").error().code(),
            ErrorCode::kNotFound);
  ASSERT_TRUE(grants_.SaveGrant(Fresh()));
  core::Appointment a = Book(8);
  ASSERT_TRUE(grants_.MarkNeedsReconnect(DoctorKey(), "scope removed"));
  auto g = grants_.LoadGrant(DoctorKey());
  ASSERT_TRUE(g.has_value() && g->has_value());
  EXPECT_TRUE((*g)->needs_reconnect);
  EXPECT_EQ((*g)->reconnect_reason, "scope removed");
  EXPECT_TRUE((*g)->sealed_access_token.empty());
  EXPECT_EQ((*g)->sealed_refresh_token, "k1.sealed-refresh");  // kept for the record
  EXPECT_EQ(Job(a.id).state, core::JobState::kParked);
  ASSERT_EQ(Outbox().size(), 1u);
  EXPECT_EQ(Outbox()[0].topic, "doctor.needs_reconnect");
}

TEST_F(StoreGrantStoreTest, DeleteIsIdempotent) {
  ASSERT_TRUE(grants_.SaveGrant(Fresh()));
  ASSERT_TRUE(grants_.DeleteGrant(DoctorKey()));
  ASSERT_TRUE(grants_.DeleteGrant(DoctorKey()));
  EXPECT_FALSE(grants_.LoadGrant(DoctorKey())->has_value());
}

TEST(GrantMappingTest, CoreAndStoredGrantsConvertBothWays) {
  google::StoredGrant s;
  s.doctor_id = "42";
  s.account_email = "a@b.example";
  s.sealed_refresh_token = "r";
  s.sealed_access_token = "a";
  s.access_expires_at = FromUnixSeconds(1'800'000'000);
  s.scopes = {"x", "y"};
  s.needs_reconnect = true;
  s.reconnect_reason = "revoked";
  core::GoogleGrant g = ToCoreGrant(s, 42);
  EXPECT_EQ(g.scopes, "x y");
  EXPECT_EQ(g.status, core::GrantStatus::kNeedsReconnect);
  EXPECT_EQ(g.last_error, "revoked");
  google::StoredGrant back = ToStoredGrant(g);
  EXPECT_EQ(back.doctor_id, "42");
  EXPECT_EQ(back.scopes, s.scopes);
  EXPECT_EQ(back.access_expires_at, s.access_expires_at);
  EXPECT_TRUE(back.needs_reconnect);
  EXPECT_EQ(back.reconnect_reason, "revoked");
  EXPECT_EQ(ParseDoctorId("42").value(), 42);
}

}  // namespace
}  // namespace telemeet::sync
