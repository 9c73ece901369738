// The store contract for retention and the admin audit: every test runs against SQLite and
// PostgreSQL. Each table is filled, the clock moves, and the purge empties what has expired.
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "store/retention.h"
#include "store/store_test_util.h"

namespace telemeet::store {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;

class RetentionContract : public StoreFixture {
 protected:
  // Rows left in `table`.
  int64_t Rows(std::string_view table) {
    auto n = db_->QueryInt(fmt::format("SELECT COUNT(*) FROM {}", table));
    EXPECT_TRUE(n) << n.error().ToString();
    return n.value_or(-1);
  }

  std::map<std::string, int64_t> PurgeNow(bool dry_run = false, int32_t batch = 500) {
    PurgeOptions options;
    options.dry_run = dry_run;
    options.batch = batch;
    auto counts = Purge(*store_, policy_, clock_.Now(), options);
    EXPECT_TRUE(counts) << counts.error().ToString();
    std::map<std::string, int64_t> out;
    if (!counts) return out;
    EXPECT_EQ(counts->size(), kRetentionTables.size());
    for (const PurgeCount& c : *counts) out[std::string(c.table)] = c.rows;
    return out;
  }

  // Sessions, OAuth states and idempotency records expire within a day; two access links (one
  // revoked now, one expiring in a day); three outbox events: one whose deliver job finished
  // (with a delivery), one whose deliver job is still there, one with an email job left; one
  // entry in the appointment's audit trail and one in the admin audit; two bulk jobs, one
  // finished now and one still running.
  void Fill() {
    Seed();
    auto appointment = Create(NewAppointment("2026-03-10T09:00:00Z"));
    ASSERT_TRUE(appointment) << appointment.error().ToString();
    const Instant now = clock_.Now();
    auto filled = store_->Transact([&](Tx& tx) -> Status {
      core::User u{.email = "admin@clinic.example",
                   .name = "Admin",
                   .role = core::Role::kAdmin,
                   .password_hash = "x"};
      auto user = TM_TRY(tx.CreateUser(u));
      TM_TRY(tx.CreateSession(
          core::Session{.token_hash = "s1", .user_id = user.id, .expires_at = now + hours(12)}));
      TM_TRY(tx.PutOAuthState(core::OAuthState{.state_hash = "o1",
                                               .doctor_id = doctor_,
                                               .sealed_verifier = "v",
                                               .return_to = "/",
                                               .expires_at = now + minutes(10)}));
      TM_TRY(tx.PutIdempotency(core::IdempotencyRecord{.key = "k1",
                                                       .request_hash = "h",
                                                       .response_status = 201,
                                                       .response_body = "{}",
                                                       .expires_at = now + hours(24)}));
      TM_TRY(tx.CreateAccessLink(core::AccessLink{
          .appointment_id = appointment->id, .token_hash = "l1", .expires_at = now + days(1)}));
      auto revoked = TM_TRY(tx.CreateAccessLink(core::AccessLink{
          .appointment_id = appointment->id, .token_hash = "l2", .expires_at = now + days(90)}));
      TM_TRY(tx.RevokeAccessLink(revoked.id));
      auto endpoint = TM_TRY(tx.CreateWebhookEndpoint(
          core::WebhookEndpoint{.url = "https://hooks.example/x", .sealed_secret = "-"}));
      for (int i = 0; i < 3; ++i) {
        auto e = TM_TRY(tx.AppendOutbox(core::OutboxEvent{
            .topic = "meeting.ready", .appointment_id = appointment->id, .payload = "{}"}));
        events_.push_back(e.id);
      }
      TM_TRY(tx.PutDelivery(core::WebhookDelivery{.endpoint_id = endpoint.id,
                                                  .event_id = events_[0],
                                                  .status = core::DeliveryStatus::kDelivered,
                                                  .attempts = 1,
                                                  .response_status = 200}));
      TM_TRY(tx.UpsertJob(core::Job{.kind = "email",
                                    .key = fmt::format("email:{}:patient", events_[2]),
                                    .payload = "{}",
                                    .run_at = now}));
      TM_TRY(tx.AppendAudit(core::AuditEntry{.appointment_id = appointment->id,
                                             .actor = "user:1",
                                             .action = "appointment.created",
                                             .detail = "{}"}));
      TM_TRY(tx.AppendAdminAudit(core::AdminAuditEntry{
          .actor = "user:1", .kind = "settings", .action = "settings.meetings.updated"}));
      BulkJob finished = TM_TRY(tx.CreateBulkJob(
          BulkJob{.kind = "resync", .doctor_id = doctor_, .created_by = "cli:root"}));
      finished.state = "done";
      finished.finished_at = now;
      TM_TRY(tx.SaveBulkProgress(finished));
      BulkJob running = TM_TRY(tx.CreateBulkJob(
          BulkJob{.kind = "backfill", .doctor_id = doctor_, .created_by = "cli:root"}));
      running.state = "running";
      TM_TRY(tx.SaveBulkProgress(running));
      return Ok();
    });
    ASSERT_TRUE(filled) << filled.error().ToString();
    // The first event's webhook delivery is done: its deliver job completes (and is deleted);
    // the events' deliver jobs for the second and third stay, the third's is completed too so
    // only its email job holds it.
    auto done = store_->Transact([&](Tx& tx) -> Status {
      LeaseRequest lease;
      lease.owner = "test";
      lease.max = 10;
      lease.now = clock_.Now();
      lease.kind = std::string(kDeliverJobKind);
      auto jobs = TM_TRY(tx.LeaseJobs(lease));
      for (const core::Job& j : jobs) {
        if (j.payload != std::to_string(events_[1])) TM_TRY(tx.CompleteJob(j));
      }
      return Ok();
    });
    ASSERT_TRUE(done) << done.error().ToString();
  }

  RetentionPolicy policy_{.days = days(30), .audit_days = days(3650)};
  std::vector<int64_t> events_;
};

TEST_P(RetentionContract, EachTableIsEmptiedOnceItsTimeHasCome) {
  Fill();
  const std::map<std::string, int64_t> none = {
      {"sessions", 0},           {"oauth_states", 0},  {"idempotency_keys", 0}, {"access_links", 0},
      {"webhook_deliveries", 0}, {"outbox_events", 0}, {"audit_entries", 0},    {"admin_audit", 0},
      {"bulk_jobs", 0}};
  EXPECT_EQ(PurgeNow(/*dry_run=*/true), none);
  EXPECT_EQ(PurgeNow(), none);
  EXPECT_EQ(Rows("sessions"), 1);

  // Two days on: what expires within a day is gone; the rest waits for retention.days.
  clock_.Advance(days(2));
  auto expired = none;
  expired["sessions"] = expired["oauth_states"] = expired["idempotency_keys"] = 1;
  EXPECT_EQ(PurgeNow(/*dry_run=*/true), expired);
  EXPECT_EQ(Rows("sessions"), 1) << "a dry run deletes nothing";
  EXPECT_EQ(PurgeNow(), expired);
  for (auto table : {"sessions", "oauth_states", "idempotency_keys"}) EXPECT_EQ(Rows(table), 0);
  EXPECT_EQ(Rows("access_links"), 2);
  EXPECT_EQ(Rows("outbox_events"), 3);

  // A retention period after: links (expired, revoked), the delivery, the one event nothing
  // needs any more and the finished bulk job. The event with a pending deliver job, the one with
  // an email job and the running bulk job stay.
  clock_.Advance(days(30));
  auto old = none;
  old["access_links"] = 2;
  old["webhook_deliveries"] = 1;
  old["outbox_events"] = 1;
  old["bulk_jobs"] = 1;
  EXPECT_EQ(PurgeNow(/*dry_run=*/true), old);
  EXPECT_EQ(PurgeNow(), old);
  EXPECT_EQ(Rows("access_links"), 0);
  EXPECT_EQ(Rows("webhook_deliveries"), 0);
  EXPECT_EQ(Rows("outbox_events"), 2);
  EXPECT_EQ(CodeOf(store_->Read([&](Tx& tx) { return tx.GetOutboxEvent(events_[0]); })),
            ErrorCode::kNotFound);
  EXPECT_EQ(Rows("audit_entries"), 1);
  EXPECT_EQ(Rows("admin_audit"), 1);
  EXPECT_EQ(Rows("bulk_jobs"), 1);
  EXPECT_EQ(*db_->QueryInt("SELECT COUNT(*) FROM bulk_jobs WHERE state = 'running'"), 1)
      << "a bulk job still running is never purged";

  // Once their jobs are finished, those two go too.
  ASSERT_TRUE(store_->Transact([&](Tx& tx) -> Status {
    LeaseRequest lease;
    lease.owner = "test";
    lease.max = 10;
    lease.now = clock_.Now();
    for (const core::Job& j : TM_TRY(tx.LeaseJobs(lease))) TM_TRY(tx.CompleteJob(j));
    return Ok();
  }));
  auto finished = none;
  finished["outbox_events"] = 2;
  EXPECT_EQ(PurgeNow(), finished);
  EXPECT_EQ(Rows("outbox_events"), 0);

  // Audit entries stay for retention.audit_days; an entry written now outlives the old ones.
  clock_.Advance(days(3650 - 31));
  ASSERT_TRUE(store_->Transact([&](Tx& tx) {
    return tx.AppendAdminAudit(
        core::AdminAuditEntry{.actor = "user:1", .kind = "user", .action = "user.updated"});
  }));
  auto audits = none;
  audits["audit_entries"] = audits["admin_audit"] = 1;
  EXPECT_EQ(PurgeNow(), audits);
  EXPECT_EQ(Rows("audit_entries"), 0);
  EXPECT_EQ(Rows("admin_audit"), 1);
}

TEST_P(RetentionContract, AnOldDeliveryWrittenAfterThePurgeOfDeliveriesGoesWithItsEvent) {
  Fill();
  clock_.Advance(days(40));
  // Purge the outbox alone, without the delivery step before it: the delivery row of the
  // first event must not stop its deletion (foreign key) nor survive it.
  auto n = store_->Transact([&](Tx& tx) {
    return tx.PurgeExpired(RetentionTable::kOutboxEvents, CutoffsFor(policy_, clock_.Now()), 10);
  });
  ASSERT_TRUE(n) << n.error().ToString();
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(Rows("webhook_deliveries"), 0);
}

TEST_P(RetentionContract, ABacklogGoesInBoundedBatches) {
  Seed();
  ASSERT_TRUE(store_->Transact([&](Tx& tx) -> Status {
    for (int i = 0; i < 7; ++i) {
      TM_TRY(tx.AppendAdminAudit(core::AdminAuditEntry{
          .actor = "user:1", .kind = "user", .action = fmt::format("user.updated.{}", i)}));
    }
    return Ok();
  }));
  clock_.Advance(days(3651));
  auto one = store_->Transact([&](Tx& tx) {
    return tx.PurgeExpired(RetentionTable::kAdminAudit, CutoffsFor(policy_, clock_.Now()), 3);
  });
  ASSERT_TRUE(one);
  EXPECT_EQ(*one, 3) << "one batch deletes at most its limit";
  EXPECT_EQ(Rows("admin_audit"), 4);
  EXPECT_EQ(PurgeNow(false, /*batch=*/2)["admin_audit"], 4);
  EXPECT_EQ(Rows("admin_audit"), 0);
}

TEST_P(RetentionContract, AStopRequestEndsThePurgeBetweenBatches) {
  Seed();
  ASSERT_TRUE(store_->Transact([&](Tx& tx) -> Status {
    for (int i = 0; i < 5; ++i) {
      TM_TRY(tx.AppendAdminAudit(
          core::AdminAuditEntry{.actor = "user:1", .kind = "user", .action = "user.updated"}));
    }
    return Ok();
  }));
  clock_.Advance(days(3651));
  int asked = 0;
  PurgeOptions options;
  options.batch = 2;
  options.should_stop = [&] { return ++asked > 8; };  // 7 tables with one batch each, then 1
  auto counts = Purge(*store_, policy_, clock_.Now(), options);
  ASSERT_TRUE(counts) << counts.error().ToString();
  auto admin = std::find_if(counts->begin(), counts->end(),
                            [](const PurgeCount& c) { return c.table == "admin_audit"; });
  ASSERT_NE(admin, counts->end());
  EXPECT_EQ(admin->rows, 2) << "the purge stopped after admin_audit's first batch";
  EXPECT_EQ(Rows("admin_audit"), 3);
}

TEST_P(RetentionContract, AdminAuditListsNewestFirstFilteredAndPaged) {
  ASSERT_TRUE(store_->Transact([&](Tx& tx) -> Status {
    for (auto [actor, kind] : {std::pair{"user:1", "settings"}, std::pair{"user:2", "user"},
                               std::pair{"user:1", "api_key"}, std::pair{"user:1", "user"}}) {
      TM_TRY(tx.AppendAdminAudit(core::AdminAuditEntry{.actor = actor,
                                                       .kind = kind,
                                                       .action = std::string(kind) + ".x",
                                                       .target = "t",
                                                       .detail = R"({"a":1})"}));
      clock_.Advance(minutes(1));
    }
    return Ok();
  }));
  auto list = [&](AdminAuditFilter f, int32_t limit, std::string cursor = "") {
    PageRequest page;
    page.limit = limit;
    page.cursor = std::move(cursor);
    auto p = store_->Read([&](Tx& tx) { return tx.ListAdminAudit(f, page); });
    EXPECT_TRUE(p) << p.error().ToString();
    return p.value_or(Page<core::AdminAuditEntry>{});
  };
  auto all = list({}, 10);
  ASSERT_EQ(all.items.size(), 4u);
  EXPECT_GT(all.items[0].id, all.items[3].id) << "newest first";
  EXPECT_EQ(all.items[0].action, "user.x");
  EXPECT_EQ(all.items[0].detail, R"({"a":1})");
  EXPECT_EQ(all.items[3].at, T("2026-03-01T08:00:00Z"));
  EXPECT_TRUE(all.next_cursor.empty());

  auto first = list({.actor = "user:1"}, 2);
  ASSERT_EQ(first.items.size(), 2u);
  EXPECT_EQ(first.items[0].kind, "user");
  EXPECT_EQ(first.items[1].kind, "api_key");
  ASSERT_FALSE(first.next_cursor.empty());
  auto second = list({.actor = "user:1"}, 2, first.next_cursor);
  ASSERT_EQ(second.items.size(), 1u);
  EXPECT_EQ(second.items[0].kind, "settings");
  EXPECT_TRUE(second.next_cursor.empty());

  auto users = list({.kind = "user"}, 10);
  ASSERT_EQ(users.items.size(), 2u);
  EXPECT_EQ(users.items[1].actor, "user:2");
  EXPECT_EQ(list({.actor = "user:2", .kind = "user"}, 10).items.size(), 1u);
  EXPECT_TRUE(list({.actor = "user:9"}, 10).items.empty());

  EXPECT_EQ(CodeOf(store_->Transact([&](Tx& tx) {
              return tx.AppendAdminAudit(core::AdminAuditEntry{.actor = "user:1", .kind = "user"});
            })),
            ErrorCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Backends, RetentionContract, ::testing::Values("sqlite", "postgres"),
                         BackendName);

}  // namespace
}  // namespace telemeet::store
