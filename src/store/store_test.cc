// The store contract: every test runs against SQLite and PostgreSQL.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "core/meeting.h"
#include "store/migrations.h"
#include "store/sqlite/sqlite_driver.h"
#include "store/store_test_util.h"

namespace telemeet::store {
namespace {

using core::AppointmentStatus;
using core::MeetingState;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

class StoreContract : public StoreFixture {};

TEST_P(StoreContract, MigrateTwiceIsSafeAndVersioned) {
  EXPECT_EQ(*store_->SchemaVersion(), Store::LatestSchemaVersion());
  auto again = store_->Migrate();
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(*again, Store::LatestSchemaVersion());
  EXPECT_EQ(*store_->SchemaVersion(), Store::LatestSchemaVersion());
}

TEST_P(StoreContract, RefusesANewerSchema) {
  ASSERT_TRUE(db_->ExecSql(
      "INSERT INTO schema_version (version, name, applied_at) VALUES (999, 'future', 'x')"));
  auto v = store_->Migrate();
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(v.error().message().find("newer"), std::string::npos) << v.error().message();
  EXPECT_EQ(*store_->SchemaVersion(), 999);
}

// A database at schema 1 (as an older telemeet left it, with data) is brought to the latest
// version in place, keeping its rows; deactivations kept as settings before version 4 become
// the services' and patients' active column.
TEST_P(StoreContract, UpgradesAnOlderSchemaInPlace) {
  auto old = testing::TestDatabase::Create(GetParam());
  ASSERT_TRUE(old) << old.error().ToString();
  const Dialect dialect = GetParam() == "postgres" ? Dialect::kPostgres : Dialect::kSqlite;
  std::string v1 = MigrationSql(Migrations()[0], dialect);
  ASSERT_TRUE((*old)->ExecSql(
      "CREATE TABLE schema_version (version BIGINT PRIMARY KEY, name TEXT NOT NULL, "
      "applied_at TEXT NOT NULL);" +
      v1 +
      "INSERT INTO schema_version VALUES (1, 'initial schema', '2026-01-01T00:00:00.000000Z');"
      "INSERT INTO doctors (name, email, time_zone, calendar_id, active, created_at) VALUES "
      "('Dr. Old', 'old@clinic.example', 'UTC', 'primary', 1, '2026-01-01T00:00:00.000000Z');"
      "INSERT INTO google_grants (doctor_id, account_email, scopes, sealed_refresh_token, "
      "access_token, status, last_error, updated_at) VALUES (1, 'old@gmail.example', '', "
      "'k1.r', '', 'active', '', '2026-01-01T00:00:00.000000Z');"
      "INSERT INTO services (name, telemedicine, default_duration_minutes, event_title_template, "
      "created_at) VALUES ('Video', 1, 30, '{service}', '2026-01-01T00:00:00.000000Z'), "
      "('Retired', 1, 30, '{service}', '2026-01-01T00:00:00.000000Z');"
      "INSERT INTO patients (name, email, phone, time_zone, created_at) VALUES "
      "('Mary', '', '', 'UTC', '2026-01-01T00:00:00.000000Z'), "
      "('Gone', '', '', 'UTC', '2026-01-01T00:00:00.000000Z');"
      "INSERT INTO settings (key, value) VALUES ('inactive:service:2', '1'), "
      "('inactive:patient:2', '1'), ('inactive:patient:1', '0'), ('policy.x', 'kept'), "
      "('login.failures:admin@clinic.example', '5 1800000000');"));
  auto s = OpenStore((*old)->url(), clock_);
  ASSERT_TRUE(s);
  EXPECT_EQ(*(*s)->SchemaVersion(), 1);
  auto v = (*s)->Migrate();
  ASSERT_TRUE(v) << v.error().ToString();
  EXPECT_EQ(*v, Store::LatestSchemaVersion());
  EXPECT_EQ(*(*s)->SchemaVersion(), Store::LatestSchemaVersion());
  auto g = (*s)->Read([&](Tx& tx) { return tx.GetGrant(1); });
  ASSERT_TRUE(g) << g.error().ToString();
  EXPECT_EQ(g->sealed_refresh_token, "k1.r");
  EXPECT_EQ(g->version, 0);
  ASSERT_TRUE((*s)->Transact([&](Tx& tx) { return tx.PutGrant(*g); }));
  EXPECT_EQ((*s)->Read([&](Tx& tx) { return tx.GetGrant(1); })->version, 1);

  auto read = [&](auto get, int64_t id) {
    return *(*s)->Read([&](Tx& tx) { return (tx.*get)(id); });
  };
  EXPECT_TRUE(read(&Tx::GetService, 1).active);
  EXPECT_FALSE(read(&Tx::GetService, 2).active);
  EXPECT_TRUE(read(&Tx::GetPatient, 1).active);
  EXPECT_FALSE(read(&Tx::GetPatient, 2).active);
  EXPECT_EQ(CodeOf((*s)->Read([&](Tx& tx) { return tx.GetSetting("inactive:service:2"); })),
            ErrorCode::kNotFound);
  EXPECT_EQ(CodeOf((*s)->Read([&](Tx& tx) { return tx.GetSetting("inactive:patient:1"); })),
            ErrorCode::kNotFound);
  EXPECT_EQ(*(*s)->Read([&](Tx& tx) { return tx.GetSetting("policy.x"); }), "kept");
  // Sign-in failures are counted in memory since version 7: the rows anyone could add go.
  EXPECT_EQ(CodeOf((*s)->Read(
                [&](Tx& tx) { return tx.GetSetting("login.failures:admin@clinic.example"); })),
            ErrorCode::kNotFound);
}

// Before version 5 the delivery log kept the transport's text ("Couldn't connect to server
// (Failed to connect to 10.0.0.7 port 22)"): an upgrade leaves only an error class.
TEST_P(StoreContract, UpgradeReplacesRawDeliveryErrorsWithClasses) {
  auto old = testing::TestDatabase::Create(GetParam());
  ASSERT_TRUE(old) << old.error().ToString();
  const Dialect dialect = GetParam() == "postgres" ? Dialect::kPostgres : Dialect::kSqlite;
  std::string sql =
      "CREATE TABLE schema_version (version BIGINT PRIMARY KEY, name TEXT NOT NULL, "
      "applied_at TEXT NOT NULL);";
  for (const Migration& m : Migrations()) {
    if (m.version > 4) break;
    sql += MigrationSql(m, dialect) + "INSERT INTO schema_version VALUES (" +
           std::to_string(m.version) + ", 'v', '2026-01-01T00:00:00.000000Z');";
  }
  const std::string at = "'2026-01-01T00:00:00.000000Z'";
  sql +=
      "INSERT INTO webhook_endpoints (url, sealed_secret, topics, active, created_at) VALUES "
      "('https://hooks.example/a', 'k1.s', '', 1, " +
      at +
      ");"
      "INSERT INTO outbox_events (topic, payload, created_at) VALUES ('meeting.ready', '{}', " +
      at + "), ('meeting.ready', '{}', " + at + "), ('meeting.ready', '{}', " + at +
      ");"
      "INSERT INTO webhook_deliveries (endpoint_id, event_id, status, attempts, response_status, "
      "last_error, updated_at) VALUES "
      "(1, 1, 'pending', 1, 0, 'POST http://10.0.0.7:22/: Couldn''t connect to server', " +
      at + "), (1, 2, 'pending', 1, 503, 'the endpoint answered HTTP 503', " + at +
      "), (1, 3, 'delivered', 1, 200, '', " + at + ");";
  ASSERT_TRUE((*old)->ExecSql(sql));
  auto s = OpenStore((*old)->url(), clock_);
  ASSERT_TRUE(s);
  ASSERT_EQ(*(*s)->SchemaVersion(), 4);
  ASSERT_TRUE((*s)->Migrate());
  std::vector<std::string> errors;
  for (int64_t event = 1; event <= 3; ++event) {
    auto page = (*s)->Read([&](Tx& tx) { return tx.ListDeliveries(event, {.limit = 10}); });
    ASSERT_TRUE(page);
    ASSERT_EQ(page->items.size(), 1u);
    errors.push_back(page->items[0].last_error);
  }
  EXPECT_EQ(errors, (std::vector<std::string>{"unknown", "http_5xx", ""}));
  auto endpoint = (*s)->Read([&](Tx& tx) { return tx.GetWebhookEndpoint(1); });
  ASSERT_TRUE(endpoint);
  EXPECT_EQ(endpoint->previous_sealed_secret, "");
  EXPECT_FALSE(endpoint->previous_secret_expires_at);
}

TEST_P(StoreContract, DoctorsRoundTripAndEmailIsUniqueIgnoringCase) {
  Seed();
  auto d = store_->Read([&](Tx& tx) { return tx.GetDoctor(doctor_); });
  ASSERT_TRUE(d) << d.error().ToString();
  EXPECT_EQ(d->name, "Dr. Anna Weber");
  EXPECT_EQ(d->time_zone, "Europe/Berlin");
  EXPECT_EQ(d->created_at, clock_.Now());
  core::Doctor dup = *d;
  dup.email = "ANNA@clinic.example";
  auto r = store_->Transact([&](Tx& tx) { return tx.CreateDoctor(dup); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(r.error().field(), "email");
  d->name = "Dr. Anna Weber-Schulz";
  auto u = store_->Transact([&](Tx& tx) { return tx.UpdateDoctor(*d); });
  ASSERT_TRUE(u);
  EXPECT_EQ(u->name, "Dr. Anna Weber-Schulz");
  EXPECT_EQ(CodeOf(store_->Read([&](Tx& tx) { return tx.GetDoctor(9999); })), ErrorCode::kNotFound);
}

TEST_P(StoreContract, ServicesAndPatientsKeepTheirActiveFlag) {
  core::Service service{.name = "Video consultation", .telemedicine = true, .active = false};
  auto sv = store_->Transact([&](Tx& tx) { return tx.CreateService(service); });
  ASSERT_TRUE(sv) << sv.error().ToString();
  EXPECT_FALSE(store_->Read([&](Tx& tx) { return tx.GetService(sv->id); })->active);
  sv->active = true;
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.UpdateService(*sv); }));
  EXPECT_TRUE(store_->Read([&](Tx& tx) { return tx.GetService(sv->id); })->active);

  core::Patient patient{.name = "Mary Seacole", .time_zone = "Europe/London"};
  auto pt = store_->Transact([&](Tx& tx) { return tx.CreatePatient(patient); });
  ASSERT_TRUE(pt) << pt.error().ToString();
  EXPECT_TRUE(pt->active);
  pt->active = false;
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.UpdatePatient(*pt); }));
  auto listed = store_->Read([&](Tx& tx) { return tx.ListPatients({}); });
  ASSERT_TRUE(listed) << listed.error().ToString();
  ASSERT_EQ(listed->items.size(), 1u);
  EXPECT_FALSE(listed->items[0].active);
}

// External refs (issue 16): unique per kind, not across kinds; NULL when unset, so any number
// of records have none; found by exact match; a taken one is refused naming the field, with
// the email rule of doctors still named as before.
TEST_P(StoreContract, ExternalRefsAreUniquePerKindAndFindTheirRecord) {
  Seed();
  auto d = store_->Transact([&](Tx& tx) -> Result<core::Doctor> {
    core::Doctor doc = TM_TRY(tx.GetDoctor(doctor_));
    doc.external_ref = "kivicare:doctor:12";
    return tx.UpdateDoctor(doc);
  });
  ASSERT_TRUE(d) << d.error().ToString();
  EXPECT_EQ(d->external_ref, "kivicare:doctor:12");
  core::Doctor other{
      .name = "Dr. B", .email = "b@clinic.example", .external_ref = "kivicare:doctor:12"};
  auto dup = store_->Transact([&](Tx& tx) { return tx.CreateDoctor(other); });
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(dup.error().field(), "external_ref");
  other.external_ref = "";
  other.email = d->email;
  auto same_email = store_->Transact([&](Tx& tx) { return tx.CreateDoctor(other); });
  ASSERT_FALSE(same_email);
  EXPECT_EQ(same_email.error().field(), "email");
  // Two patients without a ref, and one with the doctor's ref text: other kinds do not collide.
  for (std::string ref : {"", "", "kivicare:doctor:12"}) {
    core::Patient p{.name = "P", .external_ref = ref};
    auto made = store_->Transact([&](Tx& tx) { return tx.CreatePatient(p); });
    ASSERT_TRUE(made) << made.error().ToString();
  }
  auto found = store_->Read(
      [&](Tx& tx) { return tx.IdByExternalRef(RefKind::kDoctor, "kivicare:doctor:12"); });
  ASSERT_TRUE(found) << found.error().ToString();
  EXPECT_EQ(*found, doctor_);
  EXPECT_EQ(CodeOf(store_->Read([&](Tx& tx) {
              return tx.IdByExternalRef(RefKind::kDoctor, "KIVICARE:doctor:12");
            })),
            ErrorCode::kNotFound);
  EXPECT_EQ(CodeOf(store_->Read([&](Tx& tx) { return tx.IdByExternalRef(RefKind::kService, ""); })),
            ErrorCode::kNotFound);

  // An appointment's ref changes without a new revision; taken refs are refused; "" clears.
  core::Appointment na = NewAppointment("2026-03-30T08:00:00Z");
  na.external_ref = "kivicare:appointment:1";
  auto a = Create(na);
  ASSERT_TRUE(a) << a.error().ToString();
  auto b = Create(NewAppointment("2026-03-31T08:00:00Z"));
  ASSERT_TRUE(b) << b.error().ToString();
  auto taken = store_->Transact(
      [&](Tx& tx) { return tx.SetAppointmentExternalRef(b->id, "kivicare:appointment:1"); });
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().field(), "external_ref");
  auto set = store_->Transact(
      [&](Tx& tx) { return tx.SetAppointmentExternalRef(b->id, "kivicare:appointment:2"); });
  ASSERT_TRUE(set) << set.error().ToString();
  auto got = store_->Read([&](Tx& tx) { return tx.GetAppointment(b->id); });
  EXPECT_EQ(got->external_ref, "kivicare:appointment:2");
  EXPECT_EQ(got->revision, b->revision);
  EXPECT_EQ(*store_->Read([&](Tx& tx) {
    return tx.IdByExternalRef(RefKind::kAppointment, "kivicare:appointment:2");
  }),
            b->id);
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.SetAppointmentExternalRef(a->id, ""); }));
  EXPECT_EQ(CodeOf(store_->Read([&](Tx& tx) {
              return tx.IdByExternalRef(RefKind::kAppointment, "kivicare:appointment:1");
            })),
            ErrorCode::kNotFound);
  auto bad = store_->Transact(
      [&](Tx& tx) { return tx.SetAppointmentExternalRef(a->id, std::string(201, 'x')); });
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().field(), "external_ref");
}

TEST_P(StoreContract, InvalidInputNamesTheFieldAndStoresNothing) {
  core::Patient p;
  p.name = "Eve";
  p.email = "eve@";
  auto r = store_->Transact([&](Tx& tx) { return tx.CreatePatient(p); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().field(), "email");
  auto page = store_->Read([&](Tx& tx) { return tx.ListPatients({}); });
  ASSERT_TRUE(page);
  EXPECT_TRUE(page->items.empty());
}

TEST_P(StoreContract, AFailedTransactionLeavesNoPartialState) {
  Seed();
  Status s = store_->Run(TxMode::kWrite, [&](Tx& tx) -> Status {
    auto a = tx.CreateAppointment(NewAppointment("2026-03-30T08:00:00Z"));
    if (!a) return std::unexpected(a.error());
    return Fail(ErrorCode::kInvalidArgument, "changed my mind");
  });
  ASSERT_FALSE(s);
  auto list = store_->Read([&](Tx& tx) { return tx.ListAppointments({}, {}); });
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->items.empty());
  EXPECT_EQ(*store_->Read([&](Tx& tx) { return tx.CountJobs(std::nullopt); }), 0);
}

TEST_P(StoreContract, AppointmentChangesBumpRevisionAndKeepOneReconcileJob) {
  Seed();
  auto a = Create(NewAppointment("2026-03-30T08:00:00Z"));
  ASSERT_TRUE(a) << a.error().ToString();
  EXPECT_EQ(a->revision, 1);
  EXPECT_EQ(a->uid.size(), 32u);
  EXPECT_TRUE(core::IsValidEventId(core::EventIdFor(a->uid)));
  auto job = store_->Read([&](Tx& tx) { return tx.GetJob(ReconcileJobKey(a->id)); });
  ASSERT_TRUE(job) << job.error().ToString();
  EXPECT_EQ(job->kind, kReconcileJobKind);
  EXPECT_EQ(job->doctor_id, doctor_);
  EXPECT_EQ(job->run_at, clock_.Now());
  // Ten quick reschedules: ten revisions, still one job.
  for (int i = 1; i <= 10; ++i) {
    clock_.Advance(seconds(1));
    auto r = store_->Transact(
        [&](Tx& tx) { return tx.Reschedule(a->id, a->start + minutes(i), a->end + minutes(i)); });
    ASSERT_TRUE(r) << r.error().ToString();
    EXPECT_EQ(r->revision, 1 + i);
  }
  EXPECT_EQ(*store_->Read([&](Tx& tx) { return tx.CountJobs(std::nullopt); }), 1);
  auto got = store_->Read([&](Tx& tx) { return tx.GetAppointmentByUid(a->uid); });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->revision, 11);
  EXPECT_EQ(got->start, a->start + minutes(10));
}

TEST_P(StoreContract, AppointmentStatusMachineIsEnforced) {
  Seed();
  auto a = Create(NewAppointment("2026-03-30T08:00:00Z"));
  ASSERT_TRUE(a);
  auto set = [&](AppointmentStatus s) {
    return store_->Transact([&](Tx& tx) { return tx.SetStatus(a->id, s); });
  };
  ASSERT_TRUE(set(AppointmentStatus::kConfirmed));
  auto back = set(AppointmentStatus::kBooked);
  ASSERT_FALSE(back);
  EXPECT_EQ(back.error().code(), ErrorCode::kFailedPrecondition);
  auto c1 = set(AppointmentStatus::kCancelled);
  ASSERT_TRUE(c1);
  EXPECT_EQ(c1->revision, 3);
  auto c2 = set(AppointmentStatus::kCancelled);  // a repeat changes nothing
  ASSERT_TRUE(c2);
  EXPECT_EQ(c2->revision, 3);
  EXPECT_EQ(CodeOf(set(AppointmentStatus::kConfirmed)), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(CodeOf(store_->Transact([&](Tx& tx) {
              return tx.Reschedule(a->id, a->start + hours(1), a->end + hours(1));
            })),
            ErrorCode::kFailedPrecondition);
}

TEST_P(StoreContract, OverlappingConfirmedAppointmentsAreRefused) {
  Seed();
  auto first = NewAppointment("2026-03-30T08:00:00Z");
  first.status = AppointmentStatus::kConfirmed;
  ASSERT_TRUE(Create(first));
  auto clash = NewAppointment("2026-03-30T08:15:00Z");
  clash.status = AppointmentStatus::kConfirmed;
  auto r = Create(clash);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(r.error().field(), "start");
  // Booked (not confirmed) may overlap; confirming it then fails.
  auto booked = Create(NewAppointment("2026-03-30T08:15:00Z"));
  ASSERT_TRUE(booked);
  EXPECT_EQ(CodeOf(store_->Transact(
                [&](Tx& tx) { return tx.SetStatus(booked->id, AppointmentStatus::kConfirmed); })),
            ErrorCode::kFailedPrecondition);
  auto after = NewAppointment("2026-03-30T08:30:00Z");  // back to back is fine
  after.status = AppointmentStatus::kConfirmed;
  EXPECT_TRUE(Create(after));
}

TEST_P(StoreContract, StaleRevisionIsRefused) {
  Seed();
  auto a = Create(NewAppointment("2026-03-30T08:00:00Z"));
  ASSERT_TRUE(a);
  core::Appointment next = *a;
  next.notes = "bring the lab results";
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.UpdateAppointment(next, 1); }));
  next.notes = "stale edit";
  auto stale = store_->Transact([&](Tx& tx) { return tx.UpdateAppointment(next, 1); });
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(stale.error().field(), "revision");
}

TEST_P(StoreContract, AppointmentValidationAndMissingParties) {
  Seed();
  auto bad = NewAppointment("2026-03-30T08:00:00Z");
  bad.end = bad.start;
  EXPECT_EQ(Create(bad).error().field(), "end");
  auto ghost = NewAppointment("2026-03-30T08:00:00Z");
  ghost.patient_id = 4242;
  auto r = Create(ghost);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.error().field(), "patient_id");
}

TEST_P(StoreContract, MeetingsOnePerAppointmentAndEventIdsUniquePerCalendar) {
  Seed();
  auto a = Create(NewAppointment("2026-03-30T08:00:00Z"));
  auto b = Create(NewAppointment("2026-03-30T09:00:00Z"));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(CodeOf(store_->Read([&](Tx& tx) { return tx.GetMeeting(a->id); })),
            ErrorCode::kNotFound);
  core::Meeting m;
  m.appointment_id = a->id;
  m.doctor_id = doctor_;
  m.state = MeetingState::kCreating;
  m.event_id = core::EventIdFor(a->uid);
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutMeeting(m); }));
  m.state = MeetingState::kReady;
  m.join_url = "https://meet.google.com/abc-defg-hij";
  m.synced_start = a->start;
  m.synced_end = a->end;
  m.synced_revision = 1;
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutMeeting(m); }));
  auto got = store_->Read([&](Tx& tx) { return tx.GetMeeting(a->id); });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->state, MeetingState::kReady);
  EXPECT_EQ(got->join_url, m.join_url);
  EXPECT_EQ(got->synced_start, a->start);
  // The same event id for another appointment on the same calendar: refused.
  core::Meeting dup = m;
  dup.appointment_id = b->id;
  dup.state = MeetingState::kCreating;
  auto r = store_->Transact([&](Tx& tx) { return tx.PutMeeting(dup); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kAlreadyExists);
  auto view = store_->Read([&](Tx& tx) { return tx.LoadForReconcile(a->id); });
  ASSERT_TRUE(view) << view.error().ToString();
  EXPECT_EQ(view->appointment.uid, a->uid);
  EXPECT_EQ(view->service.id, service_);
  EXPECT_EQ(view->doctor.id, doctor_);
  EXPECT_EQ(view->patient.id, patient_);
  EXPECT_FALSE(view->grant.has_value());
  ASSERT_TRUE(view->meeting.has_value());
  EXPECT_EQ(view->meeting->state, MeetingState::kReady);
  EXPECT_FALSE(store_->Read([&](Tx& tx) { return tx.LoadForReconcile(b->id); })->meeting);
  // An illegal transition is refused too.
  m.state = MeetingState::kAwaitingDoctor;
  EXPECT_EQ(CodeOf(store_->Transact([&](Tx& tx) { return tx.PutMeeting(m); })),
            ErrorCode::kFailedPrecondition);
  auto list = store_->Read(
      [&](Tx& tx) { return tx.ListMeetings(MeetingState::kReady, doctor_, PageRequest{}); });
  ASSERT_TRUE(list);
  ASSERT_EQ(list->items.size(), 1u);
  EXPECT_EQ(list->items[0].appointment_id, a->id);
}

// M14: a meeting keeps what its event's attendees and reminders were set to, and a new email
// (or name) of the patient makes each of their live events due for a reconcile; other
// appointments and other changes of the patient do not.
TEST_P(StoreContract, PatientEmailChangeEnqueuesTheirLiveMeetings) {
  Seed();
  auto live = Create(NewAppointment("2026-03-30T08:00:00Z"));
  auto gone = Create(NewAppointment("2026-03-30T09:00:00Z"));
  auto waiting = Create(NewAppointment("2026-03-30T10:00:00Z"));
  ASSERT_TRUE(live && gone && waiting);
  auto put = [&](int64_t id, const std::string& uid, MeetingState state) {
    core::Meeting m;
    m.appointment_id = id;
    m.doctor_id = doctor_;
    m.state = MeetingState::kCreating;
    m.event_id = core::EventIdFor(uid);
    m.attendees_fingerprint = "g1:00000000000000aa";
    m.reminders_fingerprint = "popup:10";
    ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutMeeting(m); }));
    if (state == MeetingState::kCancelled) {
      m.state = MeetingState::kCancelling;
      ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutMeeting(m); }));
    }
    m.state = state;
    ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutMeeting(m); }));
  };
  put(live->id, live->uid, MeetingState::kReady);
  put(gone->id, gone->uid, MeetingState::kCancelled);
  auto read = store_->Read([&](Tx& tx) { return tx.GetMeeting(live->id); });
  ASSERT_TRUE(read);
  EXPECT_EQ(read->attendees_fingerprint, "g1:00000000000000aa");
  EXPECT_EQ(read->reminders_fingerprint, "popup:10");

  // Every job done: what follows is due only because of the patient's change.
  auto finish_all = [&] {
    ASSERT_TRUE(store_->Transact([&](Tx& tx) -> Status {
      LeaseRequest r;
      r.owner = "test";
      r.max = 100;
      r.lease_for = seconds(30);
      r.now = clock_.Now();
      auto jobs = TM_TRY(tx.LeaseJobs(r));
      for (const core::Job& j : jobs) TM_TRY(tx.CompleteJob(j));
      return Ok();
    }));
  };
  auto due = [&] {
    std::vector<std::string> keys;
    auto jobs = store_->Read(
        [&](Tx& tx) { return tx.ListJobs(kReconcileJobKind, core::JobState::kReady, {}); });
    EXPECT_TRUE(jobs);
    if (jobs) {
      for (const auto& j : jobs->items) keys.push_back(j.key);
    }
    return keys;
  };
  finish_all();
  ASSERT_TRUE(due().empty());
  auto patient = store_->Read([&](Tx& tx) { return tx.GetPatient(patient_); });
  ASSERT_TRUE(patient);
  core::Patient p = *patient;
  p.phone = "+49 30 1234567";
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.UpdatePatient(p); }));
  EXPECT_TRUE(due().empty()) << "a new phone number changes no event";
  p.email = "bob@new.example";
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.UpdatePatient(p); }));
  EXPECT_EQ(due(), std::vector<std::string>{ReconcileJobKey(live->id)});
}

// The calendar sync's rows: meetings found by event id, drift that PutMeeting leaves alone, and
// the per-doctor sync token and push channel.
TEST_P(StoreContract, CalendarSyncStateAndMeetingDrift) {
  Seed();
  auto a = Create(NewAppointment("2026-03-30T08:00:00Z"));
  ASSERT_TRUE(a);
  core::Meeting m;
  m.appointment_id = a->id;
  m.doctor_id = doctor_;
  m.state = MeetingState::kCreating;
  m.event_id = core::EventIdFor(a->uid);
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutMeeting(m); }));
  auto found =
      store_->Read([&](Tx& tx) { return tx.GetMeetingByEvent(doctor_, "primary", m.event_id); });
  ASSERT_TRUE(found) << found.error().ToString();
  EXPECT_EQ(found->appointment_id, a->id);
  EXPECT_TRUE(found->drift.empty());
  EXPECT_EQ(CodeOf(store_->Read(
                [&](Tx& tx) { return tx.GetMeetingByEvent(doctor_, "other", m.event_id); })),
            ErrorCode::kNotFound);
  ASSERT_TRUE(
      store_->Transact([&](Tx& tx) { return tx.SetMeetingDrift(a->id, "moved", "\"7\""); }));
  m.state = MeetingState::kReady;
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutMeeting(m); }));  // keeps the drift
  auto drifted = store_->Read([&](Tx& tx) { return tx.GetMeeting(a->id); });
  ASSERT_TRUE(drifted);
  EXPECT_EQ(drifted->state, MeetingState::kReady);
  EXPECT_EQ(drifted->drift, "moved");
  EXPECT_EQ(drifted->drift_etag, "\"7\"");
  EXPECT_EQ(CodeOf(store_->Transact([&](Tx& tx) { return tx.SetMeetingDrift(999, "", ""); })),
            ErrorCode::kNotFound);

  EXPECT_EQ(CodeOf(store_->Read([&](Tx& tx) { return tx.GetCalendarSync(doctor_); })),
            ErrorCode::kNotFound);
  CalendarSyncState sync;
  sync.doctor_id = doctor_;
  sync.sync_token = "tok-1";
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutCalendarSync(sync); }));
  sync.channel_id = "ch-1";
  sync.channel_token = "secret";
  sync.channel_expires_at = clock_.Now() + hours(24);
  sync.synced_at = clock_.Now();
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutCalendarSync(sync); }));
  auto got = store_->Read([&](Tx& tx) { return tx.GetCalendarSyncByChannel("ch-1"); });
  ASSERT_TRUE(got) << got.error().ToString();
  EXPECT_EQ(got->doctor_id, doctor_);
  EXPECT_EQ(got->sync_token, "tok-1");
  EXPECT_EQ(got->channel_token, "secret");
  EXPECT_EQ(got->channel_expires_at, clock_.Now() + hours(24));
  EXPECT_EQ(got->synced_at, clock_.Now());
  EXPECT_EQ(CodeOf(store_->Read([&](Tx& tx) { return tx.GetCalendarSyncByChannel(""); })),
            ErrorCode::kNotFound);
  sync.doctor_id = 999;
  EXPECT_EQ(CodeOf(store_->Transact([&](Tx& tx) { return tx.PutCalendarSync(sync); })),
            ErrorCode::kNotFound);

  EXPECT_TRUE(store_->Read([&](Tx& tx) { return tx.ListConnectedDoctors(); })->empty());
  core::GoogleGrant g;
  g.doctor_id = doctor_;
  g.sealed_refresh_token = "k1.r";
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutGrant(g); }));
  EXPECT_EQ(*store_->Read([&](Tx& tx) { return tx.ListConnectedDoctors(); }),
            std::vector<int64_t>{doctor_});
}

TEST_P(StoreContract, AdminRetryOfAFailedMeeting) {
  Seed();
  auto a = Create(NewAppointment("2026-03-30T08:00:00Z"));
  ASSERT_TRUE(a);
  core::Meeting m;
  m.appointment_id = a->id;
  m.doctor_id = doctor_;
  m.state = MeetingState::kCreating;
  m.event_id = core::EventIdFor(a->uid);
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutMeeting(m); }));
  EXPECT_EQ(CodeOf(store_->Transact([&](Tx& tx) { return tx.RetryFailedMeeting(a->id); })),
            ErrorCode::kFailedPrecondition);
  m.state = MeetingState::kFailed;
  m.last_error = "conference type refused";
  m.attempts = 3;
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutMeeting(m); }));
  // The job finished earlier; the retry brings it back.
  ASSERT_TRUE(store_->Transact([&](Tx& tx) -> Status {
    auto j = tx.LeaseJobs({.owner = "w", .max = 10, .now = clock_.Now()});
    if (!j) return std::unexpected(j.error());
    for (const auto& job : *j) {
      if (auto s = tx.CompleteJob(job); !s) return s;
    }
    return Ok();
  }));
  auto retried = store_->Transact([&](Tx& tx) { return tx.RetryFailedMeeting(a->id); });
  ASSERT_TRUE(retried) << retried.error().ToString();
  EXPECT_EQ(retried->state, MeetingState::kCreating);
  EXPECT_EQ(retried->conference_attempt, 2);
  EXPECT_EQ(retried->attempts, 0);
  EXPECT_TRUE(store_->Read([&](Tx& tx) { return tx.GetJob(ReconcileJobKey(a->id)); }));
}

TEST_P(StoreContract, GrantsPutLockAndDelete) {
  Seed();
  EXPECT_EQ(CodeOf(store_->Transact([&](Tx& tx) { return tx.LockGrant(doctor_); })),
            ErrorCode::kNotFound);
  core::GoogleGrant g;
  g.doctor_id = doctor_;
  g.account_email = "anna@gmail.example";
  g.scopes = "https://www.googleapis.com/auth/calendar";
  g.sealed_refresh_token = "k1.c2VhbGVk";
  g.access_token = "ya29.cached";
  g.access_token_expires_at = clock_.Now() + hours(1);
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutGrant(g); }));
  auto locked = store_->Transact([&](Tx& tx) -> Result<core::GoogleGrant> {
    auto l = tx.LockGrant(doctor_);
    if (!l) return l;
    l->access_token = "ya29.refreshed";
    l->access_token_expires_at = clock_.Now() + hours(2);
    if (auto s = tx.PutGrant(*l); !s) return std::unexpected(s.error());
    return tx.GetGrant(doctor_);
  });
  ASSERT_TRUE(locked) << locked.error().ToString();
  EXPECT_EQ(locked->version, 2);  // one write per PutGrant
  EXPECT_EQ(locked->access_token, "ya29.refreshed");
  EXPECT_EQ(locked->access_token_expires_at, clock_.Now() + hours(2));
  EXPECT_EQ(locked->sealed_refresh_token, "k1.c2VhbGVk");
  EXPECT_EQ(locked->status, core::GrantStatus::kActive);
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.DeleteGrant(doctor_); }));
  EXPECT_EQ(CodeOf(store_->Read([&](Tx& tx) { return tx.GetGrant(doctor_); })),
            ErrorCode::kNotFound);
  g.doctor_id = 777;
  EXPECT_EQ(CodeOf(store_->Transact([&](Tx& tx) { return tx.PutGrant(g); })), ErrorCode::kNotFound);
}

core::Job NewJob(std::string key, int64_t doctor = 0) {
  core::Job j;
  j.kind = "test";
  j.key = std::move(key);
  j.doctor_id = doctor;
  return j;
}

TEST_P(StoreContract, JobQueueCountsByKindAndState) {
  const Instant created = clock_.Now();
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(
        store_->Transact([&](Tx& tx) { return tx.UpsertJob(NewJob("job:" + std::to_string(i))); }));
  }
  core::Job deliver = NewJob("deliver:1");
  deliver.kind = "deliver";
  deliver.run_at = created - seconds(40);
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.UpsertJob(deliver); }));
  auto initial = store_->Read([&](Tx& tx) { return tx.JobQueueCounts(clock_.Now()); });
  ASSERT_TRUE(initial) << initial.error().ToString();
  EXPECT_EQ(initial->size(), 2u);  // test/ready and deliver/ready

  clock_.Advance(seconds(5));
  LeaseRequest req{
      .owner = "w1", .max = 4, .lease_for = seconds(30), .now = clock_.Now(), .kind = "test"};
  auto leased = store_->Transact([&](Tx& tx) { return tx.LeaseJobs(req); });
  ASSERT_TRUE(leased && leased->size() == 4u);
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.ParkJob((*leased)[0], "grant"); }));
  ASSERT_TRUE(store_->Transact(
      [&](Tx& tx) { return tx.RetryJob((*leased)[1], clock_.Now() + minutes(1), "timeout"); }));
  clock_.Advance(seconds(5));

  auto counts = store_->Read([&](Tx& tx) { return tx.JobQueueCounts(clock_.Now()); });
  ASSERT_TRUE(counts) << counts.error().ToString();
  std::map<std::string, JobQueueCount> by;
  for (const auto& c : *counts) by[c.kind + "/" + c.state] = c;
  ASSERT_EQ(by.size(), 5u);
  EXPECT_EQ(by["test/ready"].jobs, 2);
  EXPECT_EQ(by["test/ready"].oldest_run_at, created);
  EXPECT_EQ(by["test/leased"].jobs, 2);
  EXPECT_EQ(by["test/scheduled"].jobs, 1);
  EXPECT_EQ(by["test/parked"].jobs, 1);
  EXPECT_EQ(by["deliver/ready"].jobs, 1);
  EXPECT_EQ(by["deliver/ready"].oldest_run_at, created - seconds(40));

  // A lease that ran out is work waiting for a worker again.
  clock_.Advance(seconds(30));
  counts = store_->Read([&](Tx& tx) { return tx.JobQueueCounts(clock_.Now()); });
  ASSERT_TRUE(counts);
  by.clear();
  for (const auto& c : *counts) by[c.kind + "/" + c.state] = c;
  EXPECT_EQ(by["test/ready"].jobs, 4);
  EXPECT_EQ(by.count("test/leased"), 0u);
}

TEST_P(StoreContract, LeaseCompleteRetryAndRelease) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        store_->Transact([&](Tx& tx) { return tx.UpsertJob(NewJob("job:" + std::to_string(i))); }));
  }
  LeaseRequest req{.owner = "w1", .max = 3, .lease_for = seconds(30), .now = clock_.Now()};
  auto first = store_->Transact([&](Tx& tx) { return tx.LeaseJobs(req); });
  ASSERT_TRUE(first) << first.error().ToString();
  ASSERT_EQ(first->size(), 3u);
  for (const auto& j : *first) {
    EXPECT_EQ(j.lease_owner, "w1");
    EXPECT_EQ(j.lease_seq, 1);
    EXPECT_EQ(j.lease_expires_at, clock_.Now() + seconds(30));
  }
  req.owner = "w2";
  auto second = store_->Transact([&](Tx& tx) { return tx.LeaseJobs(req); });
  ASSERT_TRUE(second);
  EXPECT_EQ(second->size(), 2u);  // only the two not leased
  auto third = store_->Transact([&](Tx& tx) { return tx.LeaseJobs(req); });
  EXPECT_TRUE(third && third->empty());
  // Everything is leased: the next thing due is the first lease expiry.
  EXPECT_EQ(*store_->Read([&](Tx& tx) { return tx.NextDueAt(""); }), clock_.Now() + seconds(30));
  EXPECT_EQ(*store_->Read([&](Tx& tx) { return tx.NextDueAt("other-kind"); }), std::nullopt);

  const core::Job& done = (*first)[0];
  const core::Job& failed = (*first)[1];
  const core::Job& given_back = (*first)[2];
  ASSERT_TRUE(
      store_->Transact([&](Tx& tx) { return tx.ExtendLease(done, clock_.Now() + hours(1)); }));
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.CompleteJob(done); }));
  EXPECT_EQ(CodeOf(store_->Read([&](Tx& tx) { return tx.GetJob(done.key); })),
            ErrorCode::kNotFound);
  EXPECT_EQ(CodeOf(store_->Transact([&](Tx& tx) { return tx.CompleteJob(done); })),
            ErrorCode::kFailedPrecondition);
  Instant later = BackoffAfter(failed, clock_.Now());
  EXPECT_GE(later, clock_.Now() + seconds(1));
  ASSERT_TRUE(
      store_->Transact([&](Tx& tx) { return tx.RetryJob(failed, later, "503 from Google"); }));
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.ReleaseJob(given_back); }));
  auto f = store_->Read([&](Tx& tx) { return tx.GetJob(failed.key); });
  ASSERT_TRUE(f);
  EXPECT_EQ(f->attempts, 1);
  EXPECT_EQ(f->last_error, "503 from Google");
  EXPECT_TRUE(f->lease_owner.empty());
  EXPECT_EQ(f->run_at, later);
  // Now: only the released one is due; after the backoff both.
  req.owner = "w3";
  auto due = store_->Transact([&](Tx& tx) { return tx.LeaseJobs(req); });
  ASSERT_TRUE(due);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].key, given_back.key);
  EXPECT_EQ((*due)[0].lease_seq, 2);
  req.now = later;
  req.owner = "w4";
  auto retry = store_->Transact([&](Tx& tx) { return tx.LeaseJobs(req); });
  ASSERT_TRUE(retry);
  ASSERT_EQ(retry->size(), 1u);
  EXPECT_EQ((*retry)[0].key, failed.key);
}

// A restarted serve that owns the database (SQLite's serve lock) takes back at once what its
// dead predecessor leased: due now, the old holder fenced off; unleased, backed-off and parked
// jobs keep their times.
TEST_P(StoreContract, ReclaimedLeasesAreDueNowAndFenceTheOldHolder) {
  for (std::string key : {"held:1", "held:2", "waiting", "parked"}) {
    ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.UpsertJob(NewJob(key)); }));
  }
  LeaseRequest req{.owner = "dead", .max = 4, .lease_for = seconds(60), .now = clock_.Now()};
  auto held = store_->Transact([&](Tx& tx) { return tx.LeaseJobs(req); });
  ASSERT_TRUE(held) << held.error().ToString();
  ASSERT_EQ(held->size(), 4u);
  std::map<std::string, core::Job> by_key;
  for (const core::Job& j : *held) by_key[j.key] = j;
  const Instant backoff = clock_.Now() + minutes(5);
  ASSERT_TRUE(
      store_->Transact([&](Tx& tx) { return tx.RetryJob(by_key["waiting"], backoff, "x"); }));
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.ParkJob(by_key["parked"], "grant"); }));
  clock_.Advance(seconds(2));
  auto n = store_->Transact([&](Tx& tx) { return tx.ReclaimLeases(); });
  ASSERT_TRUE(n) << n.error().ToString();
  EXPECT_EQ(*n, 2);
  for (std::string key : {"held:1", "held:2"}) {
    auto j = store_->Read([&](Tx& tx) { return tx.GetJob(key); });
    ASSERT_TRUE(j);
    EXPECT_TRUE(j->lease_owner.empty()) << key;
    EXPECT_EQ(j->run_at, clock_.Now()) << key;
    // The old holder's lease is gone: its late result is refused.
    EXPECT_EQ(CodeOf(store_->Transact([&](Tx& tx) { return tx.CompleteJob(by_key[key]); })),
              ErrorCode::kFailedPrecondition);
  }
  EXPECT_EQ(store_->Read([&](Tx& tx) { return tx.GetJob("waiting"); })->run_at, backoff);
  EXPECT_EQ(store_->Read([&](Tx& tx) { return tx.GetJob("parked"); })->state,
            core::JobState::kParked);
  req.owner = "alive";
  req.now = clock_.Now();
  auto again = store_->Transact([&](Tx& tx) { return tx.LeaseJobs(req); });
  ASSERT_TRUE(again);
  EXPECT_EQ(again->size(), 2u);
}

TEST_P(StoreContract, ChangeWhileLeasedRunsAgainAfterCompletionNotInParallel) {
  Seed();
  auto a = Create(NewAppointment("2026-03-30T08:00:00Z"));
  ASSERT_TRUE(a);
  LeaseRequest req{.owner = "w1", .max = 10, .now = clock_.Now()};
  auto leased = store_->Transact([&](Tx& tx) { return tx.LeaseJobs(req); });
  ASSERT_TRUE(leased);
  ASSERT_EQ(leased->size(), 1u);
  clock_.Advance(seconds(1));
  ASSERT_TRUE(store_->Transact(
      [&](Tx& tx) { return tx.Reschedule(a->id, a->start + hours(1), a->end + hours(1)); }));
  req.owner = "w2";
  req.now = clock_.Now();
  auto other = store_->Transact([&](Tx& tx) { return tx.LeaseJobs(req); });
  ASSERT_TRUE(other);
  EXPECT_TRUE(other->empty()) << "a second worker must not get the leased job";
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.CompleteJob((*leased)[0]); }));
  auto again = store_->Transact([&](Tx& tx) { return tx.LeaseJobs(req); });
  ASSERT_TRUE(again);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].key, ReconcileJobKey(a->id));
  EXPECT_FALSE((*again)[0].rerun);
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.CompleteJob((*again)[0]); }));
  EXPECT_EQ(*store_->Read([&](Tx& tx) { return tx.CountJobs(std::nullopt); }), 0);
}

// The rerun rule of store.h, raced: a change (UpsertJob) commits while the holder's
// CompleteJob / RetryJob / ParkJob is already waiting for the row. On PostgreSQL the holder is
// seen blocked on the change's row lock (pg_stat_activity) before the change commits, which is
// the READ COMMITTED interleaving that used to delete the job with its rerun flag; on SQLite the
// holder waits for the write lock. Either way the job must survive, ready and due now.
TEST_P(StoreContract, ARerunSetDuringTheLeaseIsNeverLost) {
  const bool pg = GetParam() == "postgres";
  static int run = 0;
  const std::string app = "tm_holder_" + std::to_string(getpid()) + "_" + std::to_string(++run);
  std::string holder_url = db_->url();
  if (pg) holder_url += "&application_name=" + app;
  auto holder = OpenStore(holder_url, clock_);
  ASSERT_TRUE(holder) << holder.error().ToString();
  const std::string holder_waits =
      "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = '" + app +
      "' AND wait_event_type = 'Lock') THEN RAISE EXCEPTION 'not waiting yet'; END IF; END $$";

  enum class Op { kComplete, kRetry, kPark, kCompleteMany };
  for (Op op : {Op::kComplete, Op::kRetry, Op::kPark, Op::kCompleteMany}) {
    const std::string key = "race:" + std::to_string(static_cast<int>(op));
    SCOPED_TRACE(key);
    ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.UpsertJob(NewJob(key)); }));
    LeaseRequest req{.owner = "w1", .max = 1, .lease_for = seconds(30), .now = clock_.Now()};
    auto leased = store_->Transact([&](Tx& tx) { return tx.LeaseJobs(req); });
    ASSERT_TRUE(leased && leased->size() == 1u);
    const core::Job job = (*leased)[0];

    std::promise<void> upserted;
    bool saw_wait = !pg;
    std::thread change([&] {
      bool signalled = false;
      auto s = store_->Transact([&](Tx& tx) -> Status {
        auto j = tx.UpsertJob(NewJob(key));
        if (!j) return std::unexpected(j.error());
        if (!j->rerun) return Fail(ErrorCode::kInternal, "the change did not set rerun");
        if (!signalled) {
          signalled = true;
          upserted.set_value();
        }
        if (pg) {
          for (int i = 0; i < 500 && !saw_wait; ++i) {
            saw_wait = static_cast<bool>(db_->ExecSql(holder_waits));
            if (!saw_wait) std::this_thread::sleep_for(std::chrono::milliseconds(10));
          }
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(150));
        }
        return Ok();
      });
      EXPECT_TRUE(s) << s.error().ToString();
    });
    upserted.get_future().wait();
    Instant backoff = clock_.Now() + minutes(5);
    Status done = (*holder)->Transact([&](Tx& tx) -> Status {
      switch (op) {
        case Op::kComplete:
          return tx.CompleteJob(job);
        case Op::kRetry:
          return tx.RetryJob(job, backoff, "503 from Google");
        case Op::kPark:
          return tx.ParkJob(job, "needs_reconnect");
        case Op::kCompleteMany: {
          auto done = tx.CompleteJobs(std::span(&job, 1));
          if (!done) return std::unexpected(done.error());
          if (!done->front()) return Fail(ErrorCode::kFailedPrecondition, "lease lost");
          return Ok();
        }
      }
      return Ok();
    });
    change.join();
    ASSERT_TRUE(done) << done.error().ToString();
    EXPECT_TRUE(saw_wait) << "the holder never waited for the change's row lock";

    auto after = store_->Read([&](Tx& tx) { return tx.GetJob(key); });
    ASSERT_TRUE(after) << "the job was deleted with its rerun flag: " << after.error().ToString();
    EXPECT_EQ(after->state, core::JobState::kReady);
    EXPECT_TRUE(after->lease_owner.empty());
    EXPECT_FALSE(after->rerun);
    EXPECT_LE(after->run_at, clock_.Now()) << "the change must not wait out a backoff or a park";
    EXPECT_EQ(after->attempts, op == Op::kRetry ? 1 : 0);
    req.owner = "w2";
    auto again = store_->Transact([&](Tx& tx) { return tx.LeaseJobs(req); });
    ASSERT_TRUE(again);
    ASSERT_EQ(again->size(), 1u);
    EXPECT_EQ((*again)[0].key, key);
    ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.CompleteJob((*again)[0]); }));
  }
}

// Without a change during the lease the same calls keep their meaning: deleted, backed off,
// parked.
TEST_P(StoreContract, WithoutARerunJobsAreDeletedBackedOffOrParked) {
  for (const char* key : {"c", "r", "p"}) {
    ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.UpsertJob(NewJob(key)); }));
  }
  LeaseRequest req{.owner = "w1", .max = 3, .lease_for = seconds(30), .now = clock_.Now()};
  auto leased = store_->Transact([&](Tx& tx) { return tx.LeaseJobs(req); });
  ASSERT_TRUE(leased && leased->size() == 3u);
  std::map<std::string, core::Job> by_key;
  for (const auto& j : *leased) by_key[j.key] = j;
  Instant backoff = clock_.Now() + minutes(5);
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.CompleteJob(by_key["c"]); }));
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.RetryJob(by_key["r"], backoff, "x"); }));
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.ParkJob(by_key["p"], "gone"); }));
  EXPECT_EQ(CodeOf(store_->Read([&](Tx& tx) { return tx.GetJob("c"); })), ErrorCode::kNotFound);
  auto r = store_->Read([&](Tx& tx) { return tx.GetJob("r"); });
  ASSERT_TRUE(r);
  EXPECT_EQ(r->run_at, backoff);
  auto p = store_->Read([&](Tx& tx) { return tx.GetJob("p"); });
  ASSERT_TRUE(p);
  EXPECT_EQ(p->state, core::JobState::kParked);
}

TEST_P(StoreContract, ExpiredLeaseIsTakenOverAndTheOldHolderIsFenced) {
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.UpsertJob(NewJob("solo")); }));
  LeaseRequest req{.owner = "dead", .max = 1, .lease_for = seconds(30), .now = clock_.Now()};
  auto first = store_->Transact([&](Tx& tx) { return tx.LeaseJobs(req); });
  ASSERT_TRUE(first && first->size() == 1u);
  req.owner = "alive";
  req.now = clock_.Now();
  req.now = clock_.Now() + seconds(29);
  EXPECT_TRUE(store_->Transact([&](Tx& tx) { return tx.LeaseJobs(req); })->empty());
  req.now = clock_.Now() + seconds(31);
  auto taken = store_->Transact([&](Tx& tx) { return tx.LeaseJobs(req); });
  ASSERT_TRUE(taken && taken->size() == 1u);
  EXPECT_EQ((*taken)[0].lease_owner, "alive");
  EXPECT_EQ((*taken)[0].lease_seq, 2);
  for (auto op : {0, 1, 2}) {
    Status s = store_->Transact([&](Tx& tx) {
      switch (op) {
        case 0:
          return tx.CompleteJob((*first)[0]);
        case 1:
          return tx.ExtendLease((*first)[0], clock_.Now() + hours(1));
        default:
          return tx.RetryJob((*first)[0], clock_.Now(), "x");
      }
    });
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code(), ErrorCode::kFailedPrecondition);
    EXPECT_NE(s.error().message().find("lease lost"), std::string::npos);
  }
  EXPECT_TRUE(store_->Transact([&](Tx& tx) { return tx.CompleteJob((*taken)[0]); }));
}

TEST_P(StoreContract, DoctorJobsParkAndWakeOnReconnect) {
  Seed();
  auto a = Create(NewAppointment("2026-03-30T08:00:00Z"));
  auto b = Create(NewAppointment("2026-03-30T09:00:00Z"));
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.UpsertJob(NewJob("other-doctor")); }));
  // b's job already ran and left its meeting waiting for the doctor.
  ASSERT_TRUE(store_->Transact([&](Tx& tx) -> Status {
    auto all = tx.LeaseJobs({.owner = "w", .max = 10, .now = clock_.Now(), .kind = "reconcile"});
    if (!all) return std::unexpected(all.error());
    for (const auto& j : *all) {
      if (j.key == ReconcileJobKey(b->id)) {
        if (auto s = tx.CompleteJob(j); !s) return s;
      } else if (auto s = tx.ReleaseJob(j); !s) {
        return s;
      }
    }
    core::Meeting m;
    m.appointment_id = b->id;
    m.doctor_id = doctor_;
    m.state = MeetingState::kAwaitingDoctor;
    m.event_id = core::EventIdFor(b->uid);
    return tx.PutMeeting(m);
  }));
  auto parked = store_->Transact([&](Tx& tx) { return tx.ParkDoctorJobs(doctor_, "revoked"); });
  ASSERT_TRUE(parked);
  EXPECT_EQ(*parked, 1);  // a's job; the other doctor's job is untouched
  EXPECT_EQ(*store_->Read([&](Tx& tx) { return tx.CountJobs(core::JobState::kParked); }), 1);
  auto due = store_->Transact(
      [&](Tx& tx) { return tx.LeaseJobs({.owner = "w", .max = 10, .now = clock_.Now()}); });
  ASSERT_TRUE(due);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].key, "other-doctor");
  // A change while parked keeps it parked.
  ASSERT_TRUE(store_->Transact(
      [&](Tx& tx) { return tx.Reschedule(a->id, a->start + hours(1), a->end + hours(1)); }));
  EXPECT_EQ(store_->Read([&](Tx& tx) { return tx.GetJob(ReconcileJobKey(a->id)); })->state,
            core::JobState::kParked);
  clock_.Advance(seconds(5));
  auto woken = store_->Transact([&](Tx& tx) { return tx.WakeDoctor(doctor_); });
  ASSERT_TRUE(woken) << woken.error().ToString();
  EXPECT_EQ(*woken, 2);  // a's parked job + b's awaiting meeting
  auto after = store_->Transact(
      [&](Tx& tx) { return tx.LeaseJobs({.owner = "w2", .max = 10, .now = clock_.Now()}); });
  ASSERT_TRUE(after);
  std::set<std::string> keys;
  for (const auto& j : *after) keys.insert(j.key);
  EXPECT_EQ(keys, (std::set<std::string>{ReconcileJobKey(a->id), ReconcileJobKey(b->id)}));
}

TEST_P(StoreContract, OutboxEventsComeWithADeliveryJobAndDeliveries) {
  Seed();
  auto a = Create(NewAppointment("2026-03-30T08:00:00Z"));
  ASSERT_TRUE(a);
  auto ep = store_->Transact([&](Tx& tx) {
    core::WebhookEndpoint w;
    w.url = "https://hooks.example/telemeet";
    w.sealed_secret = "k1.secret";
    return tx.CreateWebhookEndpoint(w);
  });
  ASSERT_TRUE(ep);
  auto ev = store_->Transact([&](Tx& tx) {
    core::OutboxEvent e;
    e.topic = "meeting.ready";
    e.appointment_id = a->id;
    e.doctor_id = doctor_;
    e.payload = R"({"join_url":"https://meet.google.com/x"})";
    return tx.AppendOutbox(e);
  });
  ASSERT_TRUE(ev) << ev.error().ToString();
  auto job = store_->Read([&](Tx& tx) { return tx.GetJob("outbox:" + std::to_string(ev->id)); });
  ASSERT_TRUE(job);
  EXPECT_EQ(job->kind, kDeliverJobKind);
  core::WebhookDelivery d;
  d.endpoint_id = ep->id;
  d.event_id = ev->id;
  d.attempts = 1;
  d.response_status = 500;
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutDelivery(d); }));
  d.status = core::DeliveryStatus::kDelivered;
  d.attempts = 2;
  d.response_status = 204;
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutDelivery(d); }));
  auto list = store_->Read([&](Tx& tx) { return tx.ListDeliveries(ev->id, {}); });
  ASSERT_TRUE(list);
  ASSERT_EQ(list->items.size(), 1u);
  EXPECT_EQ(list->items[0].status, core::DeliveryStatus::kDelivered);
  EXPECT_EQ(list->items[0].response_status, 204);
  auto got = store_->Read([&](Tx& tx) { return tx.GetOutboxEvent(ev->id); });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->payload, ev->payload);
}

TEST_P(StoreContract, CursorPaginationVisitsEverythingOnce) {
  ASSERT_TRUE(store_->Transact([&](Tx& tx) -> Status {
    for (int i = 0; i < 25; ++i) {
      core::Doctor d;
      d.name = "Dr. " + std::to_string(i);
      d.email = "d" + std::to_string(i) + "@clinic.example";
      if (auto r = tx.CreateDoctor(d); !r) return std::unexpected(r.error());
    }
    return Ok();
  }));
  std::vector<int64_t> seen;
  PageRequest page{.limit = 10};
  int pages = 0;
  do {
    auto p = store_->Read([&](Tx& tx) { return tx.ListDoctors(page); });
    ASSERT_TRUE(p) << p.error().ToString();
    for (const auto& d : p->items) seen.push_back(d.id);
    page.cursor = p->next_cursor;
    ++pages;
  } while (!page.cursor.empty());
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seen.size(), 25u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), 25u);
  auto bad = store_->Read([&](Tx& tx) { return tx.ListDoctors({.limit = 10, .cursor = "zz!"}); });
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field(), "cursor");
  EXPECT_EQ(store_->Read([&](Tx& tx) { return tx.ListDoctors({.limit = 0}); }).error().field(),
            "limit");
}

TEST_P(StoreContract, AppointmentListFiltersAndPagesByStart) {
  Seed();
  // Created out of order; listed by start. Two share a start time (ties break by id).
  for (const char* s : {"2026-03-30T10:00:00Z", "2026-03-30T08:00:00Z", "2026-03-30T09:00:00Z",
                        "2026-03-30T08:00:00Z", "2026-04-02T08:00:00Z"}) {
    ASSERT_TRUE(Create(NewAppointment(s)));
  }
  AppointmentFilter f{
      .doctor_id = doctor_, .from = T("2026-03-30T00:00:00Z"), .to = T("2026-03-31T00:00:00Z")};
  std::vector<Instant> starts;
  PageRequest page{.limit = 2};
  do {
    auto p = store_->Read([&](Tx& tx) { return tx.ListAppointments(f, page); });
    ASSERT_TRUE(p) << p.error().ToString();
    for (const auto& a : p->items) starts.push_back(a.start);
    page.cursor = p->next_cursor;
  } while (!page.cursor.empty());
  EXPECT_EQ(starts, (std::vector<Instant>{T("2026-03-30T08:00:00Z"), T("2026-03-30T08:00:00Z"),
                                          T("2026-03-30T09:00:00Z"), T("2026-03-30T10:00:00Z")}));
  f.status = AppointmentStatus::kConfirmed;
  EXPECT_TRUE(store_->Read([&](Tx& tx) { return tx.ListAppointments(f, {}); })->items.empty());
}

// The reconciler's writes (issue 19): a meeting written only over the row it read, and the
// audit entries of one step in one statement.
TEST_P(StoreContract, PutMeetingIfWritesOnlyOverTheMeetingItRead) {
  Seed();
  auto a = Create(NewAppointment("2026-03-30T08:00:00Z"));
  auto b = Create(NewAppointment("2026-03-30T09:00:00Z"));
  ASSERT_TRUE(a && b);
  auto put_if = [&](std::optional<core::Meeting> expected, const core::Meeting& m) {
    return store_->Transact([&](Tx& tx) { return tx.PutMeetingIf(expected, m); });
  };
  auto stored = [&] { return *store_->Read([&](Tx& tx) { return tx.GetMeeting(a->id); }); };
  core::Meeting creating;
  creating.appointment_id = a->id;
  creating.doctor_id = doctor_;
  creating.state = MeetingState::kCreating;
  creating.event_id = core::EventIdFor(a->uid);
  EXPECT_EQ(put_if(std::nullopt, creating), true);
  // None expected, one there (another run wrote it first): nothing written.
  core::Meeting other = creating;
  other.last_error = "the other run";
  EXPECT_EQ(put_if(std::nullopt, other), false);
  EXPECT_EQ(stored().last_error, "");

  core::Meeting ready = creating;
  ready.state = MeetingState::kReady;
  ready.join_url = "https://meet.google.com/abc-defg-hij";
  ready.synced_start = a->start;
  ready.synced_end = a->end;
  ready.synced_revision = 1;
  // Expected at another conference attempt (an admin retry meanwhile): nothing written.
  core::Meeting retried = creating;
  retried.conference_attempt = creating.conference_attempt + 1;
  EXPECT_EQ(put_if(retried, ready), false);
  EXPECT_EQ(stored().state, MeetingState::kCreating);
  EXPECT_EQ(put_if(creating, ready), true);
  core::Meeting got = stored();
  EXPECT_EQ(got.state, MeetingState::kReady);
  EXPECT_EQ(got.join_url, ready.join_url);
  EXPECT_EQ(got.synced_start, a->start);
  EXPECT_EQ(got.synced_revision, 1);
  // Expected in a state it is no longer in: nothing written.
  core::Meeting failed = ready;
  failed.state = MeetingState::kFailed;
  failed.join_url.clear();
  EXPECT_EQ(put_if(creating, failed), false);
  EXPECT_EQ(stored().join_url, ready.join_url);
  // The transition is checked from the expected state, as PutMeeting checks it from the row.
  core::Meeting awaiting = ready;
  awaiting.state = MeetingState::kAwaitingDoctor;
  EXPECT_EQ(CodeOf(put_if(ready, awaiting)), ErrorCode::kFailedPrecondition);
  // Another appointment's meeting with the same event id on the same calendar: refused.
  core::Meeting dup = creating;
  dup.appointment_id = b->id;
  EXPECT_EQ(CodeOf(put_if(std::nullopt, dup)), ErrorCode::kAlreadyExists);

  // LoadForReconcile finds the grant once the doctor has one.
  core::GoogleGrant g;
  g.doctor_id = doctor_;
  g.sealed_refresh_token = "k1.r";
  g.status = core::GrantStatus::kActive;
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutGrant(g); }));
  auto view = store_->Read([&](Tx& tx) { return tx.LoadForReconcile(a->id); });
  ASSERT_TRUE(view) << view.error().ToString();
  ASSERT_TRUE(view->grant.has_value());
  EXPECT_EQ(view->grant->status, core::GrantStatus::kActive);
  EXPECT_EQ(view->grant->sealed_refresh_token, "k1.r");
  ASSERT_TRUE(view->meeting.has_value());
  EXPECT_EQ(view->meeting->join_url, ready.join_url);
  EXPECT_EQ(CodeOf(store_->Read([&](Tx& tx) { return tx.LoadForReconcile(b->id + 1000); })),
            ErrorCode::kNotFound);

  // Several at once (a worker's lease batch): each as read alone, an unknown id left out.
  const std::vector<int64_t> ids{b->id, b->id + 1000, a->id};
  auto views = store_->Read([&](Tx& tx) { return tx.LoadForReconcile(ids); });
  ASSERT_TRUE(views) << views.error().ToString();
  ASSERT_EQ(views->size(), 2u);
  for (const store::ReconcileView& v : *views) {
    auto alone = store_->Read([&](Tx& tx) { return tx.LoadForReconcile(v.appointment.id); });
    ASSERT_TRUE(alone);
    EXPECT_EQ(v.appointment.uid, alone->appointment.uid);
    EXPECT_EQ(v.doctor.id, alone->doctor.id);
    EXPECT_EQ(v.service.id, alone->service.id);
    EXPECT_EQ(v.patient.id, alone->patient.id);
    EXPECT_EQ(v.grant.has_value(), alone->grant.has_value());
    EXPECT_EQ(v.meeting.has_value(), alone->meeting.has_value());
    if (v.meeting) {
      EXPECT_EQ(v.meeting->join_url, alone->meeting->join_url);
    }
  }
  EXPECT_NE((*views)[0].appointment.id, (*views)[1].appointment.id);
  EXPECT_TRUE(store_->Read([&](Tx& tx) { return tx.LoadForReconcile(std::span<const int64_t>{}); })
                  ->empty());
}

TEST_P(StoreContract, InsertMeetingsIfAbsentWritesOnlyWhereNoMeetingIs) {
  Seed();
  auto a = Create(NewAppointment("2026-03-30T08:00:00Z"));
  auto b = Create(NewAppointment("2026-03-30T09:00:00Z"));
  auto c = Create(NewAppointment("2026-03-30T10:00:00Z"));
  ASSERT_TRUE(a && b && c);
  auto meeting_of = [&](const core::Appointment& x, std::string last_error) {
    core::Meeting m;
    m.appointment_id = x.id;
    m.doctor_id = doctor_;
    m.state = MeetingState::kCreating;
    m.event_id = core::EventIdFor(x.uid);
    m.last_error = std::move(last_error);
    return m;
  };
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutMeeting(meeting_of(*b, "first")); }));
  std::vector<core::Meeting> intents{meeting_of(*a, ""), meeting_of(*b, "second"),
                                     meeting_of(*c, "")};
  auto written = store_->Transact([&](Tx& tx) { return tx.InsertMeetingsIfAbsent(intents); });
  ASSERT_TRUE(written) << written.error().ToString();
  std::sort(written->begin(), written->end());
  EXPECT_EQ(*written, (std::vector<int64_t>{a->id, c->id}));
  auto get = [&](int64_t id) { return *store_->Read([&](Tx& tx) { return tx.GetMeeting(id); }); };
  EXPECT_EQ(get(a->id).state, MeetingState::kCreating);
  EXPECT_EQ(get(a->id).event_id, core::EventIdFor(a->uid));
  EXPECT_EQ(get(b->id).last_error, "first");  // the row there is left as it was
  EXPECT_EQ(get(c->id).event_id, core::EventIdFor(c->uid));
  // Another appointment's event id on the same calendar: refused, nothing written.
  auto d = Create(NewAppointment("2026-03-30T11:00:00Z"));
  auto e = Create(NewAppointment("2026-03-30T12:00:00Z"));
  ASSERT_TRUE(d && e);
  core::Meeting dup = meeting_of(*e, "");
  dup.event_id = core::EventIdFor(a->uid);
  std::vector<core::Meeting> clash{meeting_of(*d, ""), dup};
  EXPECT_EQ(CodeOf(store_->Transact([&](Tx& tx) { return tx.InsertMeetingsIfAbsent(clash); })),
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(CodeOf(store_->Read([&](Tx& tx) { return tx.GetMeeting(d->id); })),
            ErrorCode::kNotFound);
  EXPECT_TRUE(store_
                  ->Transact([&](Tx& tx) {
                    return tx.InsertMeetingsIfAbsent(std::span<const core::Meeting>{});
                  })
                  ->empty());
}

// The reconciler's batched commit (issue 19): PutMeetingIf for many, each decided alone.
TEST_P(StoreContract, PutMeetingsIfWritesOnlyTheMeetingsStillAsExpected) {
  Seed();
  std::vector<core::Appointment> appts;
  for (const char* at : {"2026-03-30T08:00:00Z", "2026-03-30T09:00:00Z", "2026-03-30T10:00:00Z",
                         "2026-03-30T11:00:00Z"}) {
    auto made = Create(NewAppointment(at));
    ASSERT_TRUE(made);
    appts.push_back(*made);
  }
  auto creating = [&](const core::Appointment& x) {
    core::Meeting m;
    m.appointment_id = x.id;
    m.doctor_id = doctor_;
    m.state = MeetingState::kCreating;
    m.event_id = core::EventIdFor(x.uid);
    return m;
  };
  auto ready = [&](core::Meeting m) {
    m.state = MeetingState::kReady;
    m.join_url = "https://meet.google.com/" + std::to_string(m.appointment_id);
    return m;
  };
  for (const auto& x : appts) {
    ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutMeeting(creating(x)); }));
  }
  // Meanwhile: b's meeting failed, c's got a new conference attempt (an admin retry).
  core::Meeting failed = creating(appts[1]);
  failed.state = MeetingState::kFailed;
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutMeeting(failed); }));
  core::Meeting retried = creating(appts[2]);
  retried.conference_attempt = 2;
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutMeeting(retried); }));

  std::vector<store::MeetingWrite> writes;
  for (const auto& x : appts) writes.push_back({creating(x), ready(creating(x))});
  auto written = store_->Transact([&](Tx& tx) { return tx.PutMeetingsIf(writes); });
  ASSERT_TRUE(written) << written.error().ToString();
  EXPECT_EQ(*written, (std::vector<bool>{true, false, false, true}));
  auto get = [&](int64_t id) { return *store_->Read([&](Tx& tx) { return tx.GetMeeting(id); }); };
  EXPECT_EQ(get(appts[0].id).state, MeetingState::kReady);
  EXPECT_EQ(get(appts[0].id).join_url, ready(creating(appts[0])).join_url);
  EXPECT_EQ(get(appts[1].id).state, MeetingState::kFailed);
  EXPECT_EQ(get(appts[2].id).state, MeetingState::kCreating);
  EXPECT_EQ(get(appts[2].id).conference_attempt, 2);
  EXPECT_EQ(get(appts[3].id).state, MeetingState::kReady);

  // Refused as a whole, nothing written: an appointment twice, a step the states do not allow,
  // another appointment's event id on the same calendar.
  auto e = Create(NewAppointment("2026-03-30T12:00:00Z"));
  ASSERT_TRUE(e);
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutMeeting(creating(*e)); }));
  const std::vector<store::MeetingWrite> twice{{creating(*e), ready(creating(*e))},
                                               {creating(*e), ready(creating(*e))}};
  EXPECT_EQ(CodeOf(store_->Transact([&](Tx& tx) { return tx.PutMeetingsIf(twice); })),
            ErrorCode::kInvalidArgument);
  core::Meeting cancelled = creating(*e);
  cancelled.state = MeetingState::kCancelled;
  const std::vector<store::MeetingWrite> illegal{{cancelled, ready(creating(*e))}};
  EXPECT_FALSE(store_->Transact([&](Tx& tx) { return tx.PutMeetingsIf(illegal); }));
  core::Meeting clash = ready(creating(*e));
  clash.event_id = core::EventIdFor(appts[0].uid);
  const std::vector<store::MeetingWrite> clashing{{creating(*e), clash}};
  EXPECT_EQ(CodeOf(store_->Transact([&](Tx& tx) { return tx.PutMeetingsIf(clashing); })),
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(get(e->id).state, MeetingState::kCreating);
  EXPECT_TRUE(store_
                  ->Transact([&](Tx& tx) {
                    return tx.PutMeetingsIf(std::span<const store::MeetingWrite>{});
                  })
                  ->empty());

  // A batch where one meeting moves to another event id (most keep theirs, and are written
  // without touching that column) stores the new id, and the others as they are.
  auto f = Create(NewAppointment("2026-03-30T13:00:00Z"));
  ASSERT_TRUE(f);
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutMeeting(creating(*f)); }));
  core::Meeting moved = ready(creating(*e));
  moved.event_id = core::EventIdFor(e->uid) + "v2";
  const std::vector<store::MeetingWrite> mixed{{creating(*e), moved},
                                               {creating(*f), ready(creating(*f))}};
  auto both = store_->Transact([&](Tx& tx) { return tx.PutMeetingsIf(mixed); });
  ASSERT_TRUE(both) << both.error().ToString();
  EXPECT_EQ(*both, (std::vector<bool>{true, true}));
  EXPECT_EQ(get(e->id).event_id, moved.event_id);
  EXPECT_EQ(get(e->id).state, MeetingState::kReady);
  EXPECT_EQ(get(f->id).event_id, core::EventIdFor(f->uid));
  EXPECT_EQ(get(f->id).join_url, ready(creating(*f)).join_url);
}

// CompleteJob for many: each job as CompleteJob alone would have it.
TEST_P(StoreContract, CompleteJobsEndsEachJobAsCompleteJobWould) {
  for (const char* key : {"a", "rerun", "taken", "d"}) {
    ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.UpsertJob(NewJob(key)); }));
  }
  LeaseRequest req{.owner = "w1", .max = 4, .lease_for = seconds(30), .now = clock_.Now()};
  auto leased = store_->Transact([&](Tx& tx) { return tx.LeaseJobs(req); });
  ASSERT_TRUE(leased && leased->size() == 4u);
  std::map<std::string, core::Job> by_key;
  for (const auto& j : *leased) by_key[j.key] = j;
  // A change during the lease, and a lease that ran out and went to another worker.
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.UpsertJob(NewJob("rerun")); }));
  clock_.Advance(seconds(31));
  ASSERT_TRUE(store_->Transact([&](Tx& tx) -> Status {
    if (auto s = tx.ExtendLease(by_key["a"], clock_.Now() + seconds(30)); !s) return s;
    if (auto s = tx.ExtendLease(by_key["rerun"], clock_.Now() + seconds(30)); !s) return s;
    return tx.ExtendLease(by_key["d"], clock_.Now() + seconds(30));
  }));
  auto stolen = store_->Transact(
      [&](Tx& tx) { return tx.LeaseJobs({.owner = "w2", .max = 4, .now = clock_.Now()}); });
  ASSERT_TRUE(stolen && stolen->size() == 1u);
  ASSERT_EQ((*stolen)[0].key, "taken");

  const std::vector<core::Job> jobs{by_key["a"], by_key["rerun"], by_key["taken"], by_key["d"]};
  auto done = store_->Transact([&](Tx& tx) { return tx.CompleteJobs(jobs); });
  ASSERT_TRUE(done) << done.error().ToString();
  EXPECT_EQ(*done, (std::vector<bool>{true, true, false, true}));
  EXPECT_EQ(CodeOf(store_->Read([&](Tx& tx) { return tx.GetJob("a"); })), ErrorCode::kNotFound);
  EXPECT_EQ(CodeOf(store_->Read([&](Tx& tx) { return tx.GetJob("d"); })), ErrorCode::kNotFound);
  auto again = store_->Read([&](Tx& tx) { return tx.GetJob("rerun"); });
  ASSERT_TRUE(again);
  EXPECT_EQ(again->state, core::JobState::kReady);
  EXPECT_TRUE(again->lease_owner.empty());
  EXPECT_FALSE(again->rerun);
  EXPECT_LE(again->run_at, clock_.Now());
  auto taken = store_->Read([&](Tx& tx) { return tx.GetJob("taken"); });
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->lease_owner, "w2");  // the other worker's lease is untouched
  EXPECT_EQ(taken->lease_seq, (*stolen)[0].lease_seq);
  EXPECT_TRUE(store_->Transact([&](Tx& tx) { return tx.CompleteJobs({}); })->empty());
}

TEST_P(StoreContract, AppendOutboxesGivesEveryEventItsIdAndDeliveryJobInOrder) {
  Seed();
  auto a = Create(NewAppointment("2026-03-30T08:00:00Z"));
  auto b = Create(NewAppointment("2026-03-30T09:00:00Z"));
  ASSERT_TRUE(a && b);
  std::vector<core::OutboxEvent> events;
  for (auto [topic, id] : {std::pair{"meeting.ready", b->id}, std::pair{"meeting.ready", a->id},
                           std::pair{"meeting.cancelled", b->id}}) {
    core::OutboxEvent e;
    e.topic = topic;
    e.appointment_id = id;
    e.doctor_id = doctor_;
    e.payload = R"({"appointment_id":)" + std::to_string(id) + R"(,"topic":")" + topic + R"("})";
    events.push_back(e);
  }
  auto appended = store_->Transact([&](Tx& tx) { return tx.AppendOutboxes(events); });
  ASSERT_TRUE(appended) << appended.error().ToString();
  ASSERT_EQ(appended->size(), 3u);
  for (size_t i = 0; i < events.size(); ++i) {
    const core::OutboxEvent& e = (*appended)[i];
    if (i > 0) {
      EXPECT_GT(e.id, (*appended)[i - 1].id);
    }
    auto stored = store_->Read([&](Tx& tx) { return tx.GetOutboxEvent(e.id); });
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->topic, events[i].topic);
    EXPECT_EQ(stored->appointment_id, events[i].appointment_id);
    EXPECT_EQ(stored->payload, events[i].payload);
    auto job = store_->Read([&](Tx& tx) { return tx.GetJob("outbox:" + std::to_string(e.id)); });
    ASSERT_TRUE(job) << job.error().ToString();
    EXPECT_EQ(job->kind, kDeliverJobKind);
    EXPECT_EQ(job->payload, std::to_string(e.id));
  }
  // One without a topic: refused, none of the batch written.
  events[1].topic.clear();
  const int64_t jobs_before = *store_->Read([&](Tx& tx) { return tx.CountJobs(std::nullopt); });
  EXPECT_EQ(CodeOf(store_->Transact([&](Tx& tx) { return tx.AppendOutboxes(events); })),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(*store_->Read([&](Tx& tx) { return tx.CountJobs(std::nullopt); }), jobs_before);
}

TEST_P(StoreContract, UpsertJobsIsUpsertJobForEach) {
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.UpsertJob(NewJob("held")); }));
  auto leased = store_->Transact([&](Tx& tx) {
    return tx.LeaseJobs({.owner = "w", .max = 1, .lease_for = seconds(30), .now = clock_.Now()});
  });
  ASSERT_TRUE(leased && leased->size() == 1u);
  const std::vector<core::Job> jobs{NewJob("new"), NewJob("held")};
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.UpsertJobs(jobs); }));
  auto fresh = store_->Read([&](Tx& tx) { return tx.GetJob("new"); });
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->state, core::JobState::kReady);
  EXPECT_TRUE(fresh->lease_owner.empty());
  auto held = store_->Read([&](Tx& tx) { return tx.GetJob("held"); });
  ASSERT_TRUE(held);
  EXPECT_TRUE(held->rerun);  // changed while leased: runs again after its holder
  EXPECT_EQ(held->lease_owner, "w");
  const std::vector<core::Job> twice{NewJob("x"), NewJob("x")};
  EXPECT_EQ(CodeOf(store_->Transact([&](Tx& tx) { return tx.UpsertJobs(twice); })),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(store_->Read([&](Tx& tx) { return tx.GetJob("x"); })), ErrorCode::kNotFound);
}

TEST_P(StoreContract, AppendAuditsWritesEveryEntryInOrder) {
  Seed();
  auto a = Create(NewAppointment("2026-03-30T08:00:00Z"));
  ASSERT_TRUE(a);
  auto before = store_->Read([&](Tx& tx) { return tx.ListAudit(a->id, {.limit = 100}); });
  ASSERT_TRUE(before);
  std::vector<core::AuditEntry> entries;
  for (std::string action : {"google.events.insert", "meeting.state", "meeting.retry_scheduled"}) {
    core::AuditEntry e;
    e.appointment_id = a->id;
    e.actor = "worker:test";
    e.action = action;
    e.detail = R"({"n":)" + std::to_string(entries.size()) + "}";
    entries.push_back(e);
  }
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.AppendAudits(entries); }));
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.AppendAudits({}); }));
  auto after = store_->Read([&](Tx& tx) { return tx.ListAudit(a->id, {.limit = 100}); });
  ASSERT_TRUE(after);
  ASSERT_EQ(after->items.size(), before->items.size() + 3);
  for (size_t i = 0; i < 3; ++i) {
    const core::AuditEntry& got = after->items[before->items.size() + i];
    EXPECT_EQ(got.action, entries[i].action);
    EXPECT_EQ(got.detail, entries[i].detail);
    EXPECT_EQ(got.actor, "worker:test");
    EXPECT_EQ(got.at, clock_.Now());
  }
  // An unknown appointment: refused, nothing written.
  entries[0].appointment_id = a->id + 1000;
  EXPECT_EQ(CodeOf(store_->Transact([&](Tx& tx) { return tx.AppendAudits(entries); })),
            ErrorCode::kNotFound);
  EXPECT_EQ(store_->Read([&](Tx& tx) { return tx.ListAudit(a->id, {.limit = 100}); })->items.size(),
            before->items.size() + 3);
}

TEST_P(StoreContract, AuditTrailIsPerAppointmentAndOrdered) {
  Seed();
  auto a = Create(NewAppointment("2026-03-30T08:00:00Z"));
  ASSERT_TRUE(a);
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(seconds(1));
    ASSERT_TRUE(store_->Transact([&](Tx& tx) {
      core::AuditEntry e;
      e.appointment_id = a->id;
      e.actor = "worker:test";
      e.action = "google.events.insert";
      e.detail = R"({"status":200,"latency_ms":)" + std::to_string(10 + i) + "}";
      return tx.AppendAudit(e);
    }));
  }
  auto page = store_->Read([&](Tx& tx) { return tx.ListAudit(a->id, {.limit = 2}); });
  ASSERT_TRUE(page);
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_LT(page->items[0].at, page->items[1].at);
  auto rest = store_->Read(
      [&](Tx& tx) { return tx.ListAudit(a->id, {.limit = 2, .cursor = page->next_cursor}); });
  ASSERT_TRUE(rest);
  ASSERT_EQ(rest->items.size(), 1u);
  EXPECT_EQ(rest->items[0].detail, R"({"status":200,"latency_ms":12})");
  EXPECT_TRUE(rest->next_cursor.empty());
}

TEST_P(StoreContract, IdempotencyKeysAreUniqueUntilTheyExpire) {
  core::IdempotencyRecord rec;
  rec.key = "api_key:1:abc";
  rec.request_hash = "h1";
  rec.response_status = 201;
  rec.response_body = R"({"id":5})";
  rec.expires_at = clock_.Now() + hours(24);
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutIdempotency(rec); }));
  auto again = store_->Transact([&](Tx& tx) { return tx.PutIdempotency(rec); });
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kAlreadyExists);
  auto got = store_->Read([&](Tx& tx) { return tx.GetIdempotency(rec.key); });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->response_status, 201);
  EXPECT_EQ(got->response_body, rec.response_body);
  clock_.Advance(hours(25));
  EXPECT_EQ(CodeOf(store_->Read([&](Tx& tx) { return tx.GetIdempotency(rec.key); })),
            ErrorCode::kNotFound);
  rec.created_at = clock_.Now();
  rec.expires_at = clock_.Now() + hours(24);
  rec.request_hash = "h2";
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutIdempotency(rec); }));
  EXPECT_EQ(store_->Read([&](Tx& tx) { return tx.GetIdempotency(rec.key); })->request_hash, "h2");
}

TEST_P(StoreContract, ApiKeysUsersAndSessions) {
  Seed();
  core::ApiKey k;
  k.name = "EHR integration";
  k.prefix = "tmk_abc";
  k.key_hash = "sha256:deadbeef";
  k.scopes = "appointments:write";
  auto key = store_->Transact([&](Tx& tx) { return tx.CreateApiKey(k); });
  ASSERT_TRUE(key);
  EXPECT_EQ(CodeOf(store_->Transact([&](Tx& tx) { return tx.CreateApiKey(k); })),
            ErrorCode::kAlreadyExists);
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.RevokeApiKey(key->id); }));
  auto revoked = store_->Read([&](Tx& tx) { return tx.GetApiKeyByPrefix("tmk_abc"); });
  ASSERT_TRUE(revoked);
  EXPECT_TRUE(revoked->revoked_at.has_value());
  EXPECT_EQ(revoked->key_hash, "sha256:deadbeef");

  core::User u;
  u.email = "Anna@Clinic.example";
  u.name = "Anna";
  u.role = core::Role::kDoctor;
  u.doctor_id = doctor_;
  u.password_hash = "$argon2id$v=19$...";
  auto user = store_->Transact([&](Tx& tx) { return tx.CreateUser(u); });
  ASSERT_TRUE(user) << user.error().ToString();
  u.email = "anna@clinic.EXAMPLE";
  EXPECT_EQ(CodeOf(store_->Transact([&](Tx& tx) { return tx.CreateUser(u); })),
            ErrorCode::kAlreadyExists);
  auto by_email = store_->Read([&](Tx& tx) { return tx.GetUserByEmail("ANNA@clinic.example"); });
  ASSERT_TRUE(by_email);
  EXPECT_EQ(by_email->id, user->id);
  EXPECT_EQ(by_email->doctor_id, doctor_);

  core::Session s;
  s.token_hash = "th1";
  s.user_id = user->id;
  s.csrf_token = "csrf";
  s.expires_at = clock_.Now() + hours(8);
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.CreateSession(s); }));
  EXPECT_TRUE(store_->Read([&](Tx& tx) { return tx.GetSession("th1", clock_.Now()); }));
  EXPECT_EQ(
      CodeOf(store_->Read([&](Tx& tx) { return tx.GetSession("th1", clock_.Now() + hours(9)); })),
      ErrorCode::kNotFound);
  EXPECT_EQ(*store_->Transact([&](Tx& tx) { return tx.DeleteUserSessions(user->id); }), 1);
}

TEST_P(StoreContract, AccessLinksOAuthStatesAndSettings) {
  Seed();
  auto a = Create(NewAppointment("2026-03-30T08:00:00Z"));
  ASSERT_TRUE(a);
  core::AccessLink l;
  l.appointment_id = a->id;
  l.token_hash = "lh1";
  l.expires_at = clock_.Now() + hours(48);
  auto link = store_->Transact([&](Tx& tx) { return tx.CreateAccessLink(l); });
  ASSERT_TRUE(link);
  EXPECT_TRUE(store_->Read([&](Tx& tx) { return tx.GetAccessLink("lh1", clock_.Now()); }));
  EXPECT_FALSE(
      store_->Read([&](Tx& tx) { return tx.GetAccessLink("lh1", clock_.Now() + hours(49)); }));
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.RevokeAccessLink(link->id); }));
  EXPECT_EQ(CodeOf(store_->Read([&](Tx& tx) { return tx.GetAccessLink("lh1", clock_.Now()); })),
            ErrorCode::kNotFound);
  EXPECT_EQ(store_->Read([&](Tx& tx) { return tx.ListAccessLinks(a->id); })->size(), 1u);

  core::OAuthState st;
  st.state_hash = "sh1";
  st.doctor_id = doctor_;
  st.sealed_verifier = "k1.v";
  st.return_to = "/doctor";
  st.expires_at = clock_.Now() + minutes(10);
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutOAuthState(st); }));
  auto used = store_->Transact([&](Tx& tx) { return tx.ConsumeOAuthState("sh1", clock_.Now()); });
  ASSERT_TRUE(used);
  EXPECT_EQ(used->doctor_id, doctor_);
  EXPECT_EQ(
      CodeOf(store_->Transact([&](Tx& tx) { return tx.ConsumeOAuthState("sh1", clock_.Now()); })),
      ErrorCode::kNotFound);
  st.state_hash = "sh2";
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutOAuthState(st); }));
  EXPECT_EQ(CodeOf(store_->Transact(
                [&](Tx& tx) { return tx.ConsumeOAuthState("sh2", clock_.Now() + minutes(11)); })),
            ErrorCode::kNotFound);

  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutSetting("policy.at_booking", "0"); }));
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutSetting("policy.at_booking", "1"); }));
  EXPECT_EQ(*store_->Read([&](Tx& tx) { return tx.GetSetting("policy.at_booking"); }), "1");
  EXPECT_EQ(CodeOf(store_->Read([&](Tx& tx) { return tx.GetSetting("nope"); })),
            ErrorCode::kNotFound);
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutSetting("meeting.b", "2"); }));
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutSetting("meeting.a", "1"); }));
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutSetting("meetings", "x"); }));
  auto meeting = store_->Read([&](Tx& tx) { return tx.ListSettings("meeting."); });
  ASSERT_TRUE(meeting) << meeting.error().ToString();
  using KV = std::pair<std::string, std::string>;
  EXPECT_EQ(*meeting, (std::vector<KV>{{"meeting.a", "1"}, {"meeting.b", "2"}}));
  EXPECT_EQ(store_->Read([&](Tx& tx) { return tx.ListSettings(); })->size(), 4u);
  EXPECT_EQ(*store_->Transact([&](Tx& tx) { return tx.DeleteSetting("policy.at_booking"); }), true);
  EXPECT_EQ(CodeOf(store_->Read([&](Tx& tx) { return tx.GetSetting("policy.at_booking"); })),
            ErrorCode::kNotFound);
  EXPECT_EQ(*store_->Transact([&](Tx& tx) { return tx.DeleteSetting("policy.at_booking"); }),
            false);
}

TEST_P(StoreContract, WebhookEndpointIsReadById) {
  core::WebhookEndpoint w;
  w.url = "https://hooks.example/a";
  w.sealed_secret = "k1.sealed";
  w.topics = "meeting.ready";
  w.active = false;
  auto created = store_->Transact([&](Tx& tx) { return tx.CreateWebhookEndpoint(w); });
  ASSERT_TRUE(created);
  auto read = store_->Read([&](Tx& tx) { return tx.GetWebhookEndpoint(created->id); });
  ASSERT_TRUE(read);
  EXPECT_EQ(read->url, "https://hooks.example/a");
  EXPECT_EQ(read->sealed_secret, "k1.sealed");
  EXPECT_EQ(read->topics, "meeting.ready");
  EXPECT_FALSE(read->active);
  EXPECT_EQ(read->created_at, created->created_at);
  EXPECT_EQ(CodeOf(store_->Read([&](Tx& tx) { return tx.GetWebhookEndpoint(created->id + 1); })),
            ErrorCode::kNotFound);
}

TEST_P(StoreContract, WebhookSecretRotationKeepsThePreviousSecretUntilItExpires) {
  core::WebhookEndpoint w;
  w.url = "https://hooks.example/a";
  w.sealed_secret = "k1.first";
  auto created = store_->Transact([&](Tx& tx) { return tx.CreateWebhookEndpoint(w); });
  ASSERT_TRUE(created);
  EXPECT_EQ(created->previous_sealed_secret, "");
  EXPECT_FALSE(created->previous_secret_expires_at);
  EXPECT_FALSE(created->secret_rotated_at);

  Instant grace_end = FromUnixSeconds(1'900'000'000);
  auto rotated = store_->Transact(
      [&](Tx& tx) { return tx.RotateWebhookSecret(created->id, "k1.second", grace_end); });
  ASSERT_TRUE(rotated) << rotated.error().ToString();
  EXPECT_EQ(rotated->sealed_secret, "k1.second");
  EXPECT_EQ(rotated->previous_sealed_secret, "k1.first");
  EXPECT_EQ(rotated->previous_secret_expires_at, grace_end);
  ASSERT_TRUE(rotated->secret_rotated_at);

  // Read back by id and in the list the dispatcher walks; an update leaves rotation alone.
  auto read = store_->Read([&](Tx& tx) { return tx.GetWebhookEndpoint(created->id); });
  ASSERT_TRUE(read);
  EXPECT_EQ(read->previous_sealed_secret, "k1.first");
  EXPECT_EQ(read->previous_secret_expires_at, grace_end);
  EXPECT_EQ(read->secret_rotated_at, rotated->secret_rotated_at);
  read->topics = "meeting.ready";
  auto updated = store_->Transact([&](Tx& tx) { return tx.UpdateWebhookEndpoint(*read); });
  ASSERT_TRUE(updated);
  auto listed = store_->Read([&](Tx& tx) { return tx.ListWebhookEndpoints({.limit = 10}); });
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->items.size(), 1u);
  EXPECT_EQ(listed->items[0].sealed_secret, "k1.second");
  EXPECT_EQ(listed->items[0].previous_sealed_secret, "k1.first");
  EXPECT_EQ(listed->items[0].previous_secret_expires_at, grace_end);

  // A second rotation drops the first secret: only the one it replaces stays.
  auto again = store_->Transact(
      [&](Tx& tx) { return tx.RotateWebhookSecret(created->id, "k1.third", grace_end); });
  ASSERT_TRUE(again);
  EXPECT_EQ(again->sealed_secret, "k1.third");
  EXPECT_EQ(again->previous_sealed_secret, "k1.second");
  EXPECT_EQ(CodeOf(store_->Transact([&](Tx& tx) {
              return tx.RotateWebhookSecret(created->id + 1, "k1.x", grace_end);
            })),
            ErrorCode::kNotFound);
}

TEST_P(StoreContract, TransactRetriesConflictsABoundedNumberOfTimes) {
  int calls = 0;
  Status s = store_->Run(TxMode::kWrite, [&](Tx& tx) -> Status {
    ++calls;
    if (auto r = tx.PutSetting("k", std::to_string(calls)); !r) return r;
    if (calls < 3) return Fail(ErrorCode::kAborted, "serialization failure");
    return Ok();
  });
  ASSERT_TRUE(s);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(*store_->Read([&](Tx& tx) { return tx.GetSetting("k"); }), "3");
  calls = 0;
  Status never = store_->Run(TxMode::kWrite, [&](Tx&) -> Status {
    ++calls;
    return Fail(ErrorCode::kAborted, "always");
  });
  ASSERT_FALSE(never);
  EXPECT_EQ(never.error().code(), ErrorCode::kAborted);
  EXPECT_EQ(calls, StoreOptions{}.max_tx_attempts);
  calls = 0;
  (void)store_->Run(TxMode::kWrite, [&](Tx&) -> Status {
    ++calls;
    return Fail(ErrorCode::kInvalidArgument, "not retried");
  });
  EXPECT_EQ(calls, 1);
}

TEST_P(StoreContract, ConcurrentMigrationsOfAFreshDatabaseAgree) {
  auto fresh = testing::TestDatabase::Create(GetParam());
  ASSERT_TRUE(fresh) << fresh.error().ToString();
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < 4; ++i) {
    auto s = OpenStore((*fresh)->url(), clock_);
    ASSERT_TRUE(s) << s.error().ToString();
    stores.push_back(std::move(*s));
  }
  std::vector<Result<int>> results(4, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] { results[i] = stores[i]->Migrate(); });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) {
    ASSERT_TRUE(r) << r.error().ToString();
    EXPECT_EQ(*r, Store::LatestSchemaVersion());
  }
  EXPECT_EQ(*stores[0]->SchemaVersion(), Store::LatestSchemaVersion());
}

// Token refresh single flight across instances: while one store holds the grant's lock, another
// store's LockGrant waits, and then reads what the first one wrote.
TEST_P(StoreContract, LockGrantMakesASecondInstanceWaitAndSeeTheRefresh) {
  Seed();
  core::GoogleGrant g;
  g.doctor_id = doctor_;
  g.account_email = "anna@gmail.example";
  g.sealed_refresh_token = "k1.r";
  g.access_token = "old";
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.PutGrant(g); }));
  auto other = OpenStore(db_->url(), clock_);
  ASSERT_TRUE(other);
  std::promise<void> locked;
  std::string seen_by_second;
  std::thread first([&] {
    auto s = store_->Transact([&](Tx& tx) -> Status {
      auto l = tx.LockGrant(doctor_);
      if (!l) return std::unexpected(l.error());
      locked.set_value();
      // Give the second instance time to reach its LockGrant and block on it.
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      l->access_token = "refreshed";
      return tx.PutGrant(*l);
    });
    EXPECT_TRUE(s) << s.error().ToString();
  });
  locked.get_future().wait();
  auto second = (*other)->Transact([&](Tx& tx) { return tx.LockGrant(doctor_); });
  first.join();
  ASSERT_TRUE(second) << second.error().ToString();
  EXPECT_EQ(second->access_token, "refreshed");
}

// A one-statement read answers as Read does, errors included; a second statement is refused
// (it would read another snapshot), and the store stays usable.
TEST_P(StoreContract, AReadOfOneStatementRefusesASecond) {
  Seed();
  auto a = Create(NewAppointment("2026-03-02T09:00:00Z"));
  ASSERT_TRUE(a) << a.error().ToString();
  auto got = store_->ReadStatement([&](Tx& tx) { return tx.GetAppointment(a->id); });
  ASSERT_TRUE(got) << got.error().ToString();
  EXPECT_EQ(got->uid, a->uid);
  auto missing = store_->ReadStatement([&](Tx& tx) { return tx.GetAppointment(a->id + 100); });
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  bool first = false;
  auto two = store_->ReadStatement([&](Tx& tx) -> Result<core::Appointment> {
    first = TM_TRY(tx.GetAppointment(a->id)).id == a->id;
    return tx.GetAppointment(a->id);
  });
  EXPECT_TRUE(first);
  ASSERT_FALSE(two);
  EXPECT_EQ(two.error().code(), ErrorCode::kInternal);
  // Nothing is left open: a write and a read of it go through.
  ASSERT_TRUE(store_->Transact([&](Tx& tx) { return tx.SetAppointmentExternalRef(a->id, "x"); }));
  auto after = store_->ReadStatement([&](Tx& tx) { return tx.GetAppointment(a->id); });
  ASSERT_TRUE(after);
  EXPECT_EQ(after->external_ref, "x");
}

// The API's one-statement read of an appointment (Tx::GetAppointmentView) finds exactly what the
// separate reads find: the appointment, its meeting and reconcile job when they exist, and the
// newest access link not revoked (without its token hash).
TEST_P(StoreContract, AppointmentViewIsWhatTheSeparateReadsFind) {
  Seed();
  auto a = Create(NewAppointment("2026-03-02T09:00:00Z"));
  ASSERT_TRUE(a) << a.error().ToString();
  auto b = Create(NewAppointment("2026-03-03T09:00:00Z"));
  ASSERT_TRUE(b) << b.error().ToString();
  // b: its job done, no meeting, no link.
  ASSERT_TRUE(store_->Transact([&](Tx& tx) -> Status {
    LeaseRequest lease;
    lease.owner = "w";
    for (const core::Job& j : TM_TRY(tx.LeaseJobs(lease))) {
      if (j.key == ReconcileJobKey(b->id)) TM_TRY(tx.CompleteJob(j));
    }
    return Ok();
  }));
  auto bare = store_->Read([&](Tx& tx) { return tx.GetAppointmentView(b->id); });
  ASSERT_TRUE(bare) << bare.error().ToString();
  EXPECT_EQ(bare->appointment.id, b->id);
  EXPECT_EQ(bare->appointment.uid, b->uid);
  EXPECT_FALSE(bare->meeting);
  EXPECT_FALSE(bare->job);
  EXPECT_FALSE(bare->access_link);
  EXPECT_FALSE(bare->attendance);
  EXPECT_FALSE(bare->access);

  // a: a meeting, its job retried, three links of which the newest is revoked.
  int64_t live = 0;
  Status put = store_->Transact([&](Tx& tx) -> Status {
    TM_TRY(tx.PutMeeting({.appointment_id = a->id,
                          .doctor_id = doctor_,
                          .calendar_id = "primary",
                          .state = core::MeetingState::kReady,
                          .event_id = "tmabc123",
                          .conference_id = "abc-defg-hij",
                          .join_url = "https://meet.google.com/abc-defg-hij",
                          .event_url = "https://calendar.google.com/event?eid=1",
                          .etag = "\"3\"",
                          .synced_revision = 1,
                          .synced_start = a->start,
                          .synced_end = a->end,
                          .conference_attempt = 2,
                          .attempts = 1,
                          .last_error = "slow"}));
    for (int i = 0; i < 3; ++i) {
      auto l = TM_TRY(
          tx.CreateAccessLink({.appointment_id = a->id,
                               .token_hash = "h" + std::to_string(i),
                               .expires_at = T("2026-04-01T00:00:00Z") + std::chrono::seconds(i)}));
      if (i == 1) live = l.id;
      if (i == 2) TM_TRY(tx.RevokeAccessLink(l.id));
    }
    core::AttendanceRecord seen{.appointment_id = a->id,
                                .state = core::AttendanceState::kWaiting,
                                .polls = 2,
                                .last_error = "records not there yet",
                                .next_look_at = T("2026-03-02T10:00:00Z")};
    seen.facts.doctor_joined = true;
    seen.facts.overlap = std::chrono::seconds(90);
    seen.facts.first_join = T("2026-03-02T08:58:00Z");
    TM_TRY(tx.PutAttendance(seen));
    TM_TRY(tx.PutMeetingAccess({.appointment_id = a->id,
                                .meeting_code = "abc-defg-hij",
                                .wanted = "RESTRICTED",
                                .state = "retrying",
                                .last_error = "backend error"}));
    return Ok();
  });
  ASSERT_TRUE(put) << put.error().ToString();
  clock_.Advance(std::chrono::minutes(1));
  ASSERT_TRUE(store_->Transact([&](Tx& tx) -> Status {
    LeaseRequest lease;
    lease.owner = "w";
    for (const core::Job& j : TM_TRY(tx.LeaseJobs(lease))) {
      TM_TRY(tx.RetryJob(j, clock_.Now() + std::chrono::seconds(30), "timeout"));
    }
    return Ok();
  }));
  // As the API reads it: one statement, no transaction around it.
  auto v = store_->ReadStatement([&](Tx& tx) { return tx.GetAppointmentView(a->id); });
  ASSERT_TRUE(v) << v.error().ToString();
  auto m = store_->Read([&](Tx& tx) { return tx.GetMeeting(a->id); });
  auto j = store_->Read([&](Tx& tx) { return tx.GetJob(ReconcileJobKey(a->id)); });
  auto appt = store_->Read([&](Tx& tx) { return tx.GetAppointment(a->id); });
  ASSERT_TRUE(m && j && appt);
  auto seen = store_->Read([&](Tx& tx) { return tx.GetAttendance(a->id); });
  auto access = store_->Read([&](Tx& tx) { return tx.GetMeetingAccess(a->id); });
  ASSERT_TRUE(seen && access);
  ASSERT_TRUE(v->attendance);
  EXPECT_EQ(v->attendance->state, seen->state);
  EXPECT_EQ(v->attendance->outcome, seen->outcome);
  EXPECT_EQ(v->attendance->polls, 2);
  EXPECT_EQ(v->attendance->facts.doctor_joined, true);
  EXPECT_EQ(v->attendance->facts.overlap, std::chrono::seconds(90));
  EXPECT_EQ(v->attendance->facts.first_join, seen->facts.first_join);
  EXPECT_EQ(v->attendance->facts.last_leave, std::nullopt);
  EXPECT_EQ(v->attendance->last_error, "records not there yet");
  EXPECT_EQ(v->attendance->next_look_at, seen->next_look_at);
  EXPECT_EQ(v->attendance->updated_at, seen->updated_at);
  ASSERT_TRUE(v->access);
  EXPECT_EQ(v->access->meeting_code, "abc-defg-hij");
  EXPECT_EQ(v->access->wanted, "RESTRICTED");
  EXPECT_EQ(v->access->applied, "");
  EXPECT_EQ(v->access->state, "retrying");
  EXPECT_EQ(v->access->last_error, "backend error");
  EXPECT_EQ(v->access->updated_at, access->updated_at);
  EXPECT_EQ(v->appointment.uid, appt->uid);
  EXPECT_EQ(v->appointment.start, appt->start);
  EXPECT_EQ(v->appointment.end, appt->end);
  EXPECT_EQ(v->appointment.revision, appt->revision);
  EXPECT_EQ(v->appointment.created_at, appt->created_at);
  EXPECT_EQ(v->appointment.updated_at, appt->updated_at);
  EXPECT_EQ(v->appointment.status, appt->status);
  EXPECT_EQ(v->appointment.patient_id, patient_);
  ASSERT_TRUE(v->meeting);
  EXPECT_EQ(v->meeting->state, core::MeetingState::kReady);
  EXPECT_EQ(v->meeting->event_id, m->event_id);
  EXPECT_EQ(v->meeting->conference_id, m->conference_id);
  EXPECT_EQ(v->meeting->join_url, m->join_url);
  EXPECT_EQ(v->meeting->event_url, m->event_url);
  EXPECT_EQ(v->meeting->etag, "\"3\"");
  EXPECT_EQ(v->meeting->synced_start, a->start);
  EXPECT_EQ(v->meeting->synced_end, a->end);
  EXPECT_EQ(v->meeting->conference_attempt, 2);
  EXPECT_EQ(v->meeting->attempts, 1);
  EXPECT_EQ(v->meeting->last_error, "slow");
  EXPECT_EQ(v->meeting->updated_at, m->updated_at);
  ASSERT_TRUE(v->job);
  EXPECT_EQ(v->job->id, j->id);
  EXPECT_EQ(v->job->state, core::JobState::kReady);
  EXPECT_EQ(v->job->run_at, clock_.Now() + std::chrono::seconds(30));
  EXPECT_EQ(v->job->attempts, 1);
  EXPECT_EQ(v->job->last_error, "timeout");
  EXPECT_EQ(v->job->lease_seq, j->lease_seq);
  ASSERT_TRUE(v->access_link);
  EXPECT_EQ(v->access_link->id, live);
  EXPECT_EQ(v->access_link->appointment_id, a->id);
  EXPECT_EQ(v->access_link->expires_at, T("2026-04-01T00:00:01Z"));
  EXPECT_TRUE(v->access_link->token_hash.empty());
  EXPECT_FALSE(v->access_link->revoked_at);

  auto missing = store_->Read([&](Tx& tx) { return tx.GetAppointmentView(a->id + 1000); });
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

// A booking that names a doctor, service or patient that does not exist is refused naming the
// field (the three checked in one statement), and nothing is written.
TEST_P(StoreContract, ABookingOfSomeoneWhoDoesNotExistNamesTheField) {
  Seed();
  for (auto [field, make] : {std::pair<std::string, std::function<void(core::Appointment&)>>{
                                 "doctor_id", [](core::Appointment& a) { a.doctor_id = 9999; }},
                             {"service_id", [](core::Appointment& a) { a.service_id = 9999; }},
                             {"patient_id", [](core::Appointment& a) { a.patient_id = 9999; }}}) {
    core::Appointment a = NewAppointment("2026-03-02T09:00:00Z");
    make(a);
    auto made = Create(a);
    ASSERT_FALSE(made) << field;
    EXPECT_EQ(made.error().code(), ErrorCode::kNotFound) << field;
    EXPECT_EQ(made.error().field(), field);
    EXPECT_EQ(made.error().message(), field + " 9999 does not exist");
  }
  auto none = store_->Read([&](Tx& tx) { return tx.ListAppointments({}, {}); });
  ASSERT_TRUE(none) << none.error().ToString();
  EXPECT_TRUE(none->items.empty());
  EXPECT_TRUE(Create(NewAppointment("2026-03-02T09:00:00Z")));
}

// Store::CommittedMark (the GET answers' cache keys on it): on SQLite every commit changes it,
// whoever makes it: this store, another connection to the file (as the CLI's), another process
// (Python's sqlite3 module here); a read or a refused write does not. PostgreSQL has none.
TEST_P(StoreContract, CommittedMarkChangesWithEveryCommitByAnyoneAndOnlyThen) {
  Seed();
  auto a = Create(NewAppointment("2026-03-02T09:00:00Z"));
  ASSERT_TRUE(a) << a.error().ToString();
  const std::optional<CommitMark> first = store_->CommittedMark();
  if (GetParam() == "postgres") {
    EXPECT_FALSE(first) << "other instances commit through their own sessions";
    return;
  }
  ASSERT_TRUE(first);
  ASSERT_TRUE(store_->Read([&](Tx& tx) { return tx.GetAppointmentView(a->id); }));
  EXPECT_EQ(store_->CommittedMark(), first) << "a read commits nothing";
  auto refused = store_->Transact([&](Tx& tx) -> Status {
    TM_TRY(tx.SetAppointmentExternalRef(a->id, "rolled back"));
    return Fail(ErrorCode::kFailedPrecondition, "no");
  });
  ASSERT_FALSE(refused);
  EXPECT_EQ(store_->CommittedMark(), first) << "a rolled back write commits nothing";

  // Each commit of this store gives a mark never seen before.
  std::vector<CommitMark> seen = {*first};
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(store_->Transact(
        [&](Tx& tx) { return tx.SetAppointmentExternalRef(a->id, "r" + std::to_string(i)); }));
    auto mark = store_->CommittedMark();
    ASSERT_TRUE(mark);
    for (const CommitMark& before : seen) EXPECT_NE(*mark, before) << "commit " << i;
    seen.push_back(*mark);
  }

  // Another connection to the same file, as `telemeet backfill` opens it beside serve.
  auto other = OpenStore(db_->url(), clock_);
  ASSERT_TRUE(other) << other.error().ToString();
  ASSERT_TRUE((*other)->Transact([&](Tx& tx) { return tx.SetAppointmentExternalRef(a->id, "o"); }));
  auto after_other = store_->CommittedMark();
  ASSERT_TRUE(after_other);
  EXPECT_NE(*after_other, seen.back());

  // Another process, through its own SQLite library.
  const std::string path = db_->url().substr(std::string_view("sqlite://").size());
  const std::string script =
      "import sqlite3, sys\n"
      "c = sqlite3.connect(sys.argv[1])\n"
      "c.execute('UPDATE appointments SET external_ref = ? WHERE id = ?', ('py', "
      "int(sys.argv[2])))\n"
      "c.commit()\n";
  const std::string id = std::to_string(a->id);
  const char* argv[] = {"python3", "-c", script.c_str(), path.c_str(), id.c_str(), nullptr};
  pid_t pid = 0;
  ASSERT_EQ(
      posix_spawnp(&pid, "python3", nullptr, nullptr, const_cast<char* const*>(argv), environ), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "python3 failed: " << status;
  auto after_process = store_->CommittedMark();
  ASSERT_TRUE(after_process);
  EXPECT_NE(*after_process, *after_other);
  auto now = store_->ReadStatement([&](Tx& tx) { return tx.GetAppointment(a->id); });
  ASSERT_TRUE(now);
  EXPECT_EQ(now->external_ref, "py");
  EXPECT_EQ(store_->CommittedMark(), after_process);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContract, ::testing::Values("sqlite", "postgres"),
                         BackendName);

// Backend-independent pieces.

TEST(StoreUrlTest, UnknownSchemesAndEmptyPathsAreRefused) {
  FakeClock clock;
  auto r = OpenStore("mysql://localhost/db", clock);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().field(), "storage.url");
  EXPECT_EQ(CodeOf(OpenStore("sqlite:", clock)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(OpenStore("sqlite:///tmp/x.db?bogus=1", clock)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(OpenStore("sqlite:///nonexistent-dir/sub/x.db", clock)),
            ErrorCode::kUnavailable);
}

// The WAL is checkpointed into the database file by the driver's own thread (SQLite's automatic
// checkpoint, inside a commit, is replaced), and stays bounded under a writer that never pauses.
TEST(SqliteDriverTest, TheWalIsCheckpointedWithoutTheWriter) {
  char tmpl[] = "/tmp/telemeet-wal-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string path = dir + "/wal.db";
  auto size = [](const std::string& file) {
    std::error_code ec;
    auto n = std::filesystem::file_size(file, ec);
    return ec ? uintmax_t{0} : n;
  };
  {
    auto driver = OpenSqlite(path, {.synchronous = "NORMAL"});
    ASSERT_TRUE(driver) << driver.error().ToString();
    auto exec = [&](std::string_view sql) {
      return (*driver)->RunTx(TxMode::kWrite, [&](Conn& c) -> Status {
        auto r = c.Exec(sql, {});
        if (!r) return std::unexpected(r.error());
        return Ok();
      });
    };
    ASSERT_TRUE(exec("CREATE TABLE blobs (b BLOB)"));
    constexpr std::string_view kInsertTen =
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10) "
        "INSERT INTO blobs SELECT randomblob(4000) FROM n";
    // 150 commits of 40 KB: about 1,500 pages of WAL, past the 1,000-page checkpoint mark.
    for (int i = 0; i < 150; ++i) {
      ASSERT_TRUE(exec(kInsertTen));
    }
    auto deadline = std::chrono::steady_clock::now() + seconds(20);
    while (size(path) < 4'000'000 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_GE(size(path), 4'000'000u) << "nothing was checkpointed into the database file";
    // A writer that never pauses outruns the thread's checkpoints, whose WAL then never
    // restarts; past 4,000 pages (16.5 MB of frames) its commit checkpoints the rest itself.
    for (int i = 0; i < 600; ++i) ASSERT_TRUE(exec(kInsertTen));
    EXPECT_LT(size(path + "-wal"), 17'500'000u);
    int64_t rows = 0;
    ASSERT_TRUE((*driver)->RunTx(TxMode::kRead, [&](Conn& c) -> Status {
      auto r = c.Exec("SELECT count(*) FROM blobs", {});
      if (!r) return std::unexpected(r.error());
      rows = r->rows.at(0).Int(0);
      return Ok();
    }));
    EXPECT_EQ(rows, 7500);
  }
  std::filesystem::remove_all(dir);
}

TEST(BackoffTest, GrowsExponentiallyWithBoundedJitterAndCaps) {
  core::Job j;
  j.id = 17;
  Instant now = T("2026-01-01T00:00:00Z");
  auto delay = [&](int attempts) {
    j.attempts = attempts;
    return BackoffAfter(j, now) - now;
  };
  EXPECT_GE(delay(0), seconds(1));
  EXPECT_LE(delay(0), std::chrono::milliseconds(1125));
  EXPECT_GE(delay(3), seconds(8));
  EXPECT_LE(delay(3), seconds(9));
  EXPECT_GE(delay(20), minutes(5));
  EXPECT_LE(delay(20), seconds(300) + seconds(300) / 8);
  EXPECT_GE(delay(1000), minutes(5));
}

}  // namespace
}  // namespace telemeet::store
