// The store contract for bulk jobs and leasing one job by its key (issue 17): every test runs
// against SQLite and PostgreSQL.
#include "store/store_test_util.h"

namespace telemeet::store {
namespace {

using std::chrono::seconds;

class BulkContract : public StoreFixture {
 protected:
  std::optional<core::Job> LeaseByKey(std::string_view key, std::string_view owner) {
    auto r = store_->Transact(
        [&](Tx& tx) { return tx.LeaseJobByKey(key, owner, seconds(15), clock_.Now()); });
    EXPECT_TRUE(r) << r.error().ToString();
    return r.value_or(std::nullopt);
  }
};

TEST_P(BulkContract, CreateQueuesTheJobAndProgressIsSaved) {
  Seed();
  auto made = store_->Transact([&](Tx& tx) {
    return tx.CreateBulkJob(BulkJob{.kind = "backfill",
                                    .doctor_id = doctor_,
                                    .params = R"({"from":null})",
                                    .created_by = "user:1"});
  });
  ASSERT_TRUE(made) << made.error().ToString();
  EXPECT_GT(made->id, 0);
  EXPECT_EQ(made->state, "queued");
  auto queued = store_->Read([&](Tx& tx) { return tx.GetJob(BulkJobKey(made->id)); });
  ASSERT_TRUE(queued) << queued.error().ToString();
  EXPECT_EQ(queued->kind, kBulkJobKind);
  EXPECT_EQ(queued->payload, std::to_string(made->id));

  BulkJob progress = *made;
  progress.state = "running";
  progress.total = 10;
  progress.done = 4;
  progress.failed = 1;
  progress.cursor = 77;
  progress.failures = R"([{"appointment_id":5}])";
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.SaveBulkProgress(progress); }));
  auto found = store_->Read(
      [&](Tx& tx) { return tx.FindOpenBulkJob("backfill", doctor_, R"({"from":null})"); });
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ((*found)->done, 4);
  EXPECT_EQ((*found)->cursor, 77);
  EXPECT_EQ((*found)->failures, R"([{"appointment_id":5}])");
  EXPECT_EQ((*found)->created_by, "user:1");

  progress.state = "done";
  progress.finished_at = clock_.Now();
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.SaveBulkProgress(progress); }));
  found = store_->Read(
      [&](Tx& tx) { return tx.FindOpenBulkJob("backfill", doctor_, R"({"from":null})"); });
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());  // finished jobs are not resumed
  auto got = store_->Read([&](Tx& tx) { return tx.GetBulkJob(made->id); });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->state, "done");
  EXPECT_TRUE(got->finished_at.has_value());
  EXPECT_EQ(CodeOf(store_->Read([&](Tx& tx) { return tx.GetBulkJob(made->id + 100); })),
            ErrorCode::kNotFound);
}

TEST_P(BulkContract, LeaseByKeyFencesAgainstTheWorker) {
  Seed();
  auto a = Create(NewAppointment("2026-03-02T09:00:00Z"));
  ASSERT_TRUE(a);
  const std::string key = ReconcileJobKey(a->id);

  auto bulk = LeaseByKey(key, "bulk:1");
  ASSERT_TRUE(bulk.has_value());
  EXPECT_EQ(bulk->lease_owner, "bulk:1");
  // The worker finds nothing to lease, and a second taker by key neither.
  LeaseRequest req;
  req.owner = "worker";
  req.now = clock_.Now();
  auto leased = store_->Transact([&](Tx& tx) { return tx.LeaseJobs(req); });
  ASSERT_TRUE(leased);
  EXPECT_TRUE(leased->empty());
  EXPECT_FALSE(LeaseByKey(key, "bulk:2").has_value());
  EXPECT_FALSE(LeaseByKey("reconcile:999999", "bulk:1").has_value());

  // Once the lease runs out, another owner takes it and the first one is fenced off.
  clock_.Advance(seconds(16));
  auto again = LeaseByKey(key, "bulk:2");
  ASSERT_TRUE(again.has_value());
  EXPECT_GT(again->lease_seq, bulk->lease_seq);
  EXPECT_EQ(CodeOf(store_->Transact([&](Tx& tx) { return tx.CompleteJob(*bulk); })),
            ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(store_->Transact([&](Tx& tx) { return tx.CompleteJob(*again); }));
}

TEST_P(BulkContract, LeaseByKeyTakesAJobInABackoffButNotAParkedOne) {
  Seed();
  auto a = Create(NewAppointment("2026-03-02T09:00:00Z"));
  ASSERT_TRUE(a);
  const std::string key = ReconcileJobKey(a->id);
  auto held = LeaseByKey(key, "w");
  ASSERT_TRUE(held);
  ASSERT_TRUE(store_->Transact(
      [&](Tx& tx) { return tx.RetryJob(*held, clock_.Now() + seconds(300), "boom"); }));
  EXPECT_TRUE(LeaseByKey(key, "bulk:1").has_value());  // due later, but unleased
  auto b = Create(NewAppointment("2026-03-03T09:00:00Z"));
  ASSERT_TRUE(b);
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.ParkDoctorJobs(doctor_, "gone"); }));
  EXPECT_FALSE(LeaseByKey(ReconcileJobKey(b->id), "bulk:1").has_value());
}

INSTANTIATE_TEST_SUITE_P(Backends, BulkContract, ::testing::Values("sqlite", "postgres"),
                         BackendName);

}  // namespace
}  // namespace telemeet::store
