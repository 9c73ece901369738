#include "store/migrations.h"

#include <array>

namespace telemeet::store {
namespace {

constexpr std::string_view kV1 = R"sql(
CREATE TABLE doctors (
  id {ID},
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  time_zone TEXT NOT NULL,
  calendar_id TEXT NOT NULL,
  active BIGINT NOT NULL DEFAULT 1,
  created_at {TIME} NOT NULL
);
CREATE UNIQUE INDEX doctors_email ON doctors (lower(email));

CREATE TABLE services (
  id {ID},
  name TEXT NOT NULL,
  telemedicine BIGINT NOT NULL,
  default_duration_minutes BIGINT NOT NULL,
  event_title_template TEXT NOT NULL,
  created_at {TIME} NOT NULL
);

CREATE TABLE patients (
  id {ID},
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  phone TEXT NOT NULL,
  time_zone TEXT NOT NULL,
  created_at {TIME} NOT NULL
);

CREATE TABLE appointments (
  id {ID},
  uid TEXT NOT NULL UNIQUE,
  doctor_id BIGINT NOT NULL REFERENCES doctors (id),
  service_id BIGINT NOT NULL REFERENCES services (id),
  patient_id BIGINT NOT NULL REFERENCES patients (id),
  start_at {TIME} NOT NULL,
  end_at {TIME} NOT NULL,
  time_zone TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('booked', 'confirmed', 'completed', 'cancelled')),
  revision BIGINT NOT NULL,
  notes TEXT NOT NULL,
  created_at {TIME} NOT NULL,
  updated_at {TIME} NOT NULL,
  CHECK (end_at > start_at)
);
CREATE INDEX appointments_doctor_start ON appointments (doctor_id, start_at);
CREATE INDEX appointments_start ON appointments (start_at, id);
CREATE INDEX appointments_patient ON appointments (patient_id);

CREATE TABLE meetings (
  appointment_id BIGINT PRIMARY KEY REFERENCES appointments (id),
  doctor_id BIGINT NOT NULL REFERENCES doctors (id),
  calendar_id TEXT NOT NULL,
  state TEXT NOT NULL,
  event_id TEXT NOT NULL,
  conference_id TEXT NOT NULL,
  join_url TEXT NOT NULL,
  event_url TEXT NOT NULL,
  etag TEXT NOT NULL,
  synced_revision BIGINT NOT NULL,
  synced_start {TIME},
  synced_end {TIME},
  conference_attempt BIGINT NOT NULL,
  attempts BIGINT NOT NULL,
  last_error TEXT NOT NULL,
  updated_at {TIME} NOT NULL,
  UNIQUE (doctor_id, calendar_id, event_id)
);
CREATE INDEX meetings_state ON meetings (state, appointment_id);
CREATE INDEX meetings_doctor_state ON meetings (doctor_id, state);

CREATE TABLE google_grants (
  doctor_id BIGINT PRIMARY KEY REFERENCES doctors (id),
  account_email TEXT NOT NULL,
  scopes TEXT NOT NULL,
  sealed_refresh_token TEXT NOT NULL,
  access_token TEXT NOT NULL,
  access_token_expires_at {TIME},
  status TEXT NOT NULL,
  last_error TEXT NOT NULL,
  updated_at {TIME} NOT NULL
);

CREATE TABLE jobs (
  id {ID},
  kind TEXT NOT NULL,
  key TEXT NOT NULL UNIQUE,
  doctor_id BIGINT,
  payload TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('ready', 'parked')),
  run_at {TIME} NOT NULL,
  attempts BIGINT NOT NULL,
  last_error TEXT NOT NULL,
  lease_owner TEXT,
  lease_seq BIGINT NOT NULL,
  rerun BIGINT NOT NULL,
  created_at {TIME} NOT NULL
);
CREATE INDEX jobs_due ON jobs (state, run_at, id);
CREATE INDEX jobs_doctor ON jobs (doctor_id, state);

CREATE TABLE outbox_events (
  id {ID},
  topic TEXT NOT NULL,
  appointment_id BIGINT,
  doctor_id BIGINT,
  payload TEXT NOT NULL,
  created_at {TIME} NOT NULL
);

CREATE TABLE webhook_endpoints (
  id {ID},
  url TEXT NOT NULL,
  sealed_secret TEXT NOT NULL,
  topics TEXT NOT NULL,
  active BIGINT NOT NULL,
  created_at {TIME} NOT NULL
);

CREATE TABLE webhook_deliveries (
  id {ID},
  endpoint_id BIGINT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  event_id BIGINT NOT NULL REFERENCES outbox_events (id),
  status TEXT NOT NULL,
  attempts BIGINT NOT NULL,
  response_status BIGINT NOT NULL,
  last_error TEXT NOT NULL,
  updated_at {TIME} NOT NULL,
  UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id, id);

CREATE TABLE audit_entries (
  id {ID},
  appointment_id BIGINT NOT NULL REFERENCES appointments (id),
  at {TIME} NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX audit_entries_appointment ON audit_entries (appointment_id, id);

CREATE TABLE idempotency_keys (
  key TEXT PRIMARY KEY,
  request_hash TEXT NOT NULL,
  response_status BIGINT NOT NULL,
  response_body TEXT NOT NULL,
  created_at {TIME} NOT NULL,
  expires_at {TIME} NOT NULL
);

CREATE TABLE api_keys (
  id {ID},
  name TEXT NOT NULL,
  prefix TEXT NOT NULL UNIQUE,
  key_hash TEXT NOT NULL,
  scopes TEXT NOT NULL,
  created_at {TIME} NOT NULL,
  revoked_at {TIME},
  last_used_at {TIME}
);

CREATE TABLE users (
  id {ID},
  email TEXT NOT NULL,
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('admin', 'doctor')),
  password_hash TEXT NOT NULL,
  doctor_id BIGINT REFERENCES doctors (id),
  disabled BIGINT NOT NULL,
  created_at {TIME} NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (lower(email));

CREATE TABLE sessions (
  id {ID},
  token_hash TEXT NOT NULL UNIQUE,
  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  csrf_token TEXT NOT NULL,
  created_at {TIME} NOT NULL,
  expires_at {TIME} NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE access_links (
  id {ID},
  appointment_id BIGINT NOT NULL REFERENCES appointments (id),
  token_hash TEXT NOT NULL UNIQUE,
  created_at {TIME} NOT NULL,
  expires_at {TIME} NOT NULL,
  revoked_at {TIME}
);
CREATE INDEX access_links_appointment ON access_links (appointment_id);

CREATE TABLE oauth_states (
  state_hash TEXT PRIMARY KEY,
  doctor_id BIGINT NOT NULL REFERENCES doctors (id),
  sealed_verifier TEXT NOT NULL,
  return_to TEXT NOT NULL,
  created_at {TIME} NOT NULL,
  expires_at {TIME} NOT NULL
);

CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
)sql";

// The grant's write counter, for the token provider's optimistic checks and for logs.
constexpr std::string_view kV2 = R"sql(
ALTER TABLE google_grants ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
)sql";

// Changes made in Google Calendar by hand (M16): the drift a meeting shows (what the doctor did
// to the event: "moved", "deleted"; empty when in step) and the etag of the event version that
// was reported, so a change is reported once; per doctor calendar the incremental-sync token and
// the push channel.
constexpr std::string_view kV3 = R"sql(
ALTER TABLE meetings ADD COLUMN drift TEXT NOT NULL DEFAULT '';
ALTER TABLE meetings ADD COLUMN drift_etag TEXT NOT NULL DEFAULT '';
CREATE TABLE calendar_syncs (
  doctor_id BIGINT PRIMARY KEY REFERENCES doctors (id),
  calendar_id TEXT NOT NULL,
  sync_token TEXT NOT NULL,
  channel_id TEXT NOT NULL,
  channel_resource_id TEXT NOT NULL,
  channel_token TEXT NOT NULL,
  channel_address TEXT NOT NULL,
  channel_expires_at {TIME},
  synced_at {TIME},
  updated_at {TIME} NOT NULL
);
CREATE INDEX calendar_syncs_channel ON calendar_syncs (channel_id);
)sql";

// Services and patients get the active flag doctors have. Earlier versions kept a deactivation
// as the setting "inactive:<service|patient>:<id>" = "1"; those settings become the column.
constexpr std::string_view kV4 = R"sql(
ALTER TABLE services ADD COLUMN active BIGINT NOT NULL DEFAULT 1;
ALTER TABLE patients ADD COLUMN active BIGINT NOT NULL DEFAULT 1;
UPDATE services SET active = 0 WHERE id IN (
  SELECT CAST(substr(key, 18) AS BIGINT) FROM settings
  WHERE key LIKE 'inactive:service:%' AND value = '1');
UPDATE patients SET active = 0 WHERE id IN (
  SELECT CAST(substr(key, 18) AS BIGINT) FROM settings
  WHERE key LIKE 'inactive:patient:%' AND value = '1');
DELETE FROM settings WHERE key LIKE 'inactive:service:%' OR key LIKE 'inactive:patient:%';
)sql";

// Retention and the admin audit (issue 15, items 10 and 11).
// admin_audit is its own table: audit_entries.appointment_id is NOT NULL and its trail is read
// per appointment, while admin changes belong to no appointment and are read across the whole
// install (by time, actor or kind). The time indexes let the janitor find what retention
// deletes without scanning whole tables inside a write transaction.
constexpr std::string_view kV5 = R"sql(
CREATE TABLE admin_audit (
  id {ID},
  at {TIME} NOT NULL,
  actor TEXT NOT NULL,
  kind TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX admin_audit_at ON admin_audit (at);
CREATE INDEX admin_audit_actor ON admin_audit (actor, id);
CREATE INDEX admin_audit_kind ON admin_audit (kind, id);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);
CREATE INDEX oauth_states_expires ON oauth_states (expires_at);
CREATE INDEX access_links_expires ON access_links (expires_at);
CREATE INDEX outbox_events_created ON outbox_events (created_at);
CREATE INDEX webhook_deliveries_updated ON webhook_deliveries (updated_at);
CREATE INDEX audit_entries_at ON audit_entries (at);
)sql";

// Webhook secret rotation: the replaced secret (sealed like the current one, same AAD) keeps
// signing deliveries beside the new one until it expires. The delivery log now records an
// error class instead of the transport's text ("refused", "http_5xx"); older rows get theirs
// from the status they kept, or "unknown".
constexpr std::string_view kV6 = R"sql(
ALTER TABLE webhook_endpoints ADD COLUMN previous_sealed_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE webhook_endpoints ADD COLUMN previous_secret_expires_at {TIME};
ALTER TABLE webhook_endpoints ADD COLUMN secret_rotated_at {TIME};
UPDATE webhook_deliveries SET last_error = CASE
  WHEN response_status BETWEEN 100 AND 599
    THEN 'http_' || CAST(response_status / 100 AS TEXT) || 'xx'
  ELSE 'unknown' END
WHERE last_error <> '';
)sql";

// Failed sign-ins are counted in memory now (api/login_throttle.h): the rows earlier versions
// kept per email, which anyone could add unauthenticated, go.
constexpr std::string_view kV7 = R"sql(
DELETE FROM settings WHERE key LIKE 'login.failures:%';
)sql";

// The booking system's own ids (issue 16, M21): an integrator finds its records by them. NULL
// when unset, so the unique indexes hold only the ids that exist.
constexpr std::string_view kV8 = R"sql(
ALTER TABLE doctors ADD COLUMN external_ref TEXT;
ALTER TABLE services ADD COLUMN external_ref TEXT;
ALTER TABLE patients ADD COLUMN external_ref TEXT;
ALTER TABLE appointments ADD COLUMN external_ref TEXT;
CREATE UNIQUE INDEX doctors_external_ref ON doctors (external_ref);
CREATE UNIQUE INDEX services_external_ref ON services (external_ref);
CREATE UNIQUE INDEX patients_external_ref ON patients (external_ref);
CREATE UNIQUE INDEX appointments_external_ref ON appointments (external_ref);
)sql";

// Patient reminder emails (M23): one row per reminder ever claimed, keyed by appointment, the
// start it was for and its lead time, so a reminder goes once whichever instance sees it due,
// and a moved appointment's new time gets reminders of its own. The row lives as long as its
// appointment (appointments are never deleted).
constexpr std::string_view kV9 = R"sql(
CREATE TABLE patient_reminders (
  appointment_id BIGINT NOT NULL REFERENCES appointments (id),
  start_at {TIME} NOT NULL,
  lead_seconds BIGINT NOT NULL,
  outcome TEXT NOT NULL,
  claimed_at {TIME} NOT NULL,
  PRIMARY KEY (appointment_id, start_at, lead_seconds)
);
)sql";

// Recurring series (M15): the rule a series was expanded from, and on each occurrence (an
// ordinary appointment with its own lifecycle, meeting and reconcile job) the series it belongs
// to and the start the rule gave it (a single-event series names Google's instance by it,
// however often the occurrence moves). Nullable: most appointments belong to none.
constexpr std::string_view kV10 = R"sql(
CREATE TABLE appointment_series (
  id {ID},
  uid TEXT NOT NULL UNIQUE,
  doctor_id BIGINT NOT NULL REFERENCES doctors (id),
  service_id BIGINT NOT NULL REFERENCES services (id),
  patient_id BIGINT NOT NULL REFERENCES patients (id),
  rrule TEXT NOT NULL,
  time_zone TEXT NOT NULL,
  mode TEXT NOT NULL CHECK (mode IN ('per_occurrence', 'single_event')),
  first_start {TIME} NOT NULL,
  first_end {TIME} NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'cancelled')),
  notes TEXT NOT NULL,
  created_at {TIME} NOT NULL,
  updated_at {TIME} NOT NULL,
  CHECK (first_end > first_start)
);
CREATE INDEX appointment_series_doctor ON appointment_series (doctor_id, id);
ALTER TABLE appointments ADD COLUMN series_id BIGINT REFERENCES appointment_series (id);
ALTER TABLE appointments ADD COLUMN original_start {TIME};
CREATE INDEX appointments_series ON appointments (series_id, start_at);
)sql";

// Patient invitations and the event's reminders (issue 16, M14/M23): what the event's attendees
// and reminders were last set to, as digests (core/meeting.h), so a change of the patient's
// email or of the meeting policy is patched without asking Google. '' is what every earlier
// event has: no attendees, the calendar's default reminders.
constexpr std::string_view kV11 = R"sql(
ALTER TABLE meetings ADD COLUMN attendees_fingerprint TEXT NOT NULL DEFAULT '';
ALTER TABLE meetings ADD COLUMN reminders_fingerprint TEXT NOT NULL DEFAULT '';
)sql";

// Google quota shared by every instance on one database (issue 17): permits counted per scope
// (the project, or one doctor) and fixed window (a number of the rate limiter's windows since the
// epoch), and a scope's slow-down after a rate-limit answer. Rows of past windows are purged by
// the instances as they go (StoreQuotaBudget), so the table holds a minute or so.
constexpr std::string_view kV12 = R"sql(
CREATE TABLE google_quota_windows (
  scope TEXT NOT NULL,
  window_no BIGINT NOT NULL,
  cap BIGINT NOT NULL,
  used BIGINT NOT NULL,
  granted BIGINT NOT NULL,
  PRIMARY KEY (scope, window_no)
);
CREATE TABLE google_quota_slowdowns (
  scope TEXT PRIMARY KEY,
  permille BIGINT NOT NULL,
  slow_until {TIME} NOT NULL,
  window_no BIGINT NOT NULL
);
)sql";

// Bulk work through batch (issue 17, M20/M29): one row per resync, backfill or
// cancel-on-disconnect job, with its progress, so a job resumes where it stopped and
// GET /api/v1/jobs/{id} can show it. cursor_id is the last appointment handled (they go by id);
// failures is a JSON array of the first ones.
constexpr std::string_view kV13 = R"sql(
CREATE TABLE bulk_jobs (
  id {ID},
  kind TEXT NOT NULL,
  doctor_id BIGINT NOT NULL,
  params TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
  total_count BIGINT NOT NULL,
  done_count BIGINT NOT NULL,
  failed_count BIGINT NOT NULL,
  cursor_id BIGINT NOT NULL,
  failures TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at {TIME} NOT NULL,
  updated_at {TIME} NOT NULL,
  finished_at {TIME}
);
CREATE INDEX bulk_jobs_open ON bulk_jobs (kind, doctor_id, state);
)sql";

// Attendance from Meet's records and who may join (issue 18, M31/M32): per appointment, the
// summary of its conference records in counts and times (never a participant's name) with the
// looks still due, and the access type the policy wants for its Meet space with what the patch
// gave. Rows live as long as their appointment.
constexpr std::string_view kV14 = R"sql(
CREATE TABLE attendance_summaries (
  appointment_id BIGINT PRIMARY KEY REFERENCES appointments (id),
  state TEXT NOT NULL CHECK (state IN ('waiting', 'final', 'scope_missing', 'unavailable')),
  outcome TEXT NOT NULL DEFAULT '',
  polls BIGINT NOT NULL DEFAULT 0,
  conferences BIGINT NOT NULL DEFAULT 0,
  doctor_joined BIGINT NOT NULL DEFAULT 0,
  others_joined BIGINT NOT NULL DEFAULT 0,
  overlap_seconds BIGINT NOT NULL DEFAULT 0,
  first_join {TIME},
  last_leave {TIME},
  running BIGINT NOT NULL DEFAULT 0,
  action TEXT NOT NULL DEFAULT '',
  last_error TEXT NOT NULL DEFAULT '',
  checked_at {TIME},
  next_look_at {TIME},
  updated_at {TIME} NOT NULL
);
CREATE TABLE meeting_access (
  appointment_id BIGINT PRIMARY KEY REFERENCES appointments (id),
  meeting_code TEXT NOT NULL,
  wanted TEXT NOT NULL,
  applied TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL,
  last_error TEXT NOT NULL DEFAULT '',
  updated_at {TIME} NOT NULL
);
)sql";

// Due jobs of one kind in lease order, on PostgreSQL. Every worker (reconcile, webhook
// deliveries, email, meet) leases and asks for its next due time by kind; with (state, run_at, id)
// PostgreSQL scanned the whole table and sorted it for each lease (bench/reconcile: ~1 ms a lease,
// the costliest statement of a reconcile run), stepping over every other kind's due jobs. SQLite
// walks jobs_due in run_at order and stops at the first rows of the kind; there the new index
// only cost writes, and its planner took it for listings by kind (then sorting them by id).
constexpr std::string_view kV15 = R"sql(
{POSTGRES}CREATE INDEX jobs_kind_due ON jobs (kind, state, run_at, id);
)sql";

// The doctor's jobs and meetings indexed only where a doctor's are looked up: parked jobs (a
// reconnect wakes them) and meetings waiting for the doctor (a reconnect reconciles them).
// (doctor_id, state) over every job and meeting put each commit's rows on as many index pages
// as the commit had doctors, every one a page for the WAL and then the database, for lookups
// that never asked for them: parking a doctor's ready jobs reads the queue by state (jobs_due),
// and a doctor's meeting list by its doctor goes through (doctor_id, calendar_id, event_id).
// bench/reconcile on SQLite: 14 % fewer bytes written a job, 4 % less CPU.
constexpr std::string_view kV16 = R"sql(
DROP INDEX jobs_doctor;
CREATE INDEX jobs_doctor_parked ON jobs (doctor_id) WHERE state = 'parked';
DROP INDEX meetings_doctor_state;
CREATE INDEX meetings_doctor_waiting ON meetings (doctor_id, appointment_id)
  WHERE state IN ('awaiting_doctor', 'needs_reconnect');
)sql";

constexpr std::array<Migration, 16> kMigrations{{
    {1, "initial schema", kV1},
    {2, "google_grants.version", kV2},
    {3, "meeting drift and calendar sync state", kV3},
    {4, "services.active and patients.active", kV4},
    {5, "admin audit and retention indexes", kV5},
    {6, "webhook secret rotation", kV6},
    {7, "sign-in failures out of the settings", kV7},
    {8, "external_ref on doctors, services, patients and appointments", kV8},
    {9, "patient reminders", kV9},
    {10, "appointment series", kV10},
    {11, "meeting attendees and reminders fingerprints", kV11},
    {12, "Google quota shared by instances", kV12},
    {13, "bulk jobs", kV13},
    {14, "attendance summaries and meeting access types", kV14},
    {15, "jobs due by kind", kV15},
    {16, "doctor indexes only for parked jobs and waiting meetings", kV16},
}};

void ReplaceAll(std::string& s, std::string_view from, std::string_view to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
}

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

std::string MigrationSql(const Migration& m, Dialect dialect) {
  std::string sql(m.sql);
  if (dialect == Dialect::kPostgres) {
    ReplaceAll(sql, "{POSTGRES}", "");
    ReplaceAll(sql, "{ID}", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY");
    // Byte order, whatever the database's default collation: the text is a fixed-width UTC
    // instant, so byte order is time order.
    ReplaceAll(sql, "{TIME}", "TEXT COLLATE \"C\"");
  } else {
    // A line for PostgreSQL alone is left out.
    for (size_t pos = sql.find("{POSTGRES}"); pos != std::string::npos;
         pos = sql.find("{POSTGRES}", pos)) {
      size_t end = sql.find('\n', pos);
      sql.erase(pos, end == std::string::npos ? std::string::npos : end - pos + 1);
    }
    ReplaceAll(sql, "{ID}", "INTEGER PRIMARY KEY");
    ReplaceAll(sql, "{TIME}", "TEXT");
  }
  return sql;
}

}  // namespace telemeet::store
