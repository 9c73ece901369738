// Tx operations on Google grants, the job queue, the outbox and webhook bookkeeping.
#include <fmt/format.h>

#include <algorithm>

#include "store/store.h"
#include "store/tx_internal.h"

namespace telemeet::store {

using namespace internal;  // NOLINT(google-build-using-namespace): the file's own helpers

namespace {

std::string Sql(std::string_view format_with_cols, std::string_view cols) {
  return fmt::format(fmt::runtime(format_with_cols), cols);
}

SqlValue IdOrNull(int64_t id) { return id ? SqlValue(id) : SqlValue(nullptr); }

SqlValue TimeOrNull(Instant t) { return t == Instant{} ? SqlValue(nullptr) : TimeValue(t); }

Status LeaseLost(const core::Job& job) { return std::unexpected(LeaseLostError(job)); }

}  // namespace

Error LeaseLostError(const core::Job& job) {
  return Error(ErrorCode::kFailedPrecondition,
               fmt::format("lease lost: job {} is no longer leased by {} (seq {})", job.key,
                           job.lease_owner, job.lease_seq));
}

bool IsLeaseLost(const Error& e) {
  return e.code() == ErrorCode::kFailedPrecondition && e.message().starts_with("lease lost");
}

// --- Grants ---

Result<core::GoogleGrant> Tx::GetGrant(int64_t doctor_id) {
  auto row = ExecOne(Sql("SELECT {} FROM google_grants WHERE doctor_id = ?", kGrantCols),
                     {doctor_id}, fmt::format("Google grant of doctor {}", doctor_id));
  if (!row) return std::unexpected(row.error());
  return GrantFrom(*row);
}

Result<core::GoogleGrant> Tx::LockGrant(int64_t doctor_id) {
  if (!postgres()) return GetGrant(doctor_id);  // the write transaction holds the lock
  auto row = ExecOne(Sql("SELECT {} FROM google_grants WHERE doctor_id = ? FOR UPDATE", kGrantCols),
                     {doctor_id}, fmt::format("Google grant of doctor {}", doctor_id));
  if (!row) return std::unexpected(row.error());
  return GrantFrom(*row);
}

Status Tx::PutGrant(const core::GoogleGrant& g) {
  auto r = Exec(
      "INSERT INTO google_grants (doctor_id, account_email, scopes, sealed_refresh_token, "
      "access_token, access_token_expires_at, status, last_error, updated_at, version) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT (doctor_id) DO UPDATE SET "
      "version = google_grants.version + 1, "
      "account_email = excluded.account_email, scopes = excluded.scopes, "
      "sealed_refresh_token = excluded.sealed_refresh_token, "
      "access_token = excluded.access_token, "
      "access_token_expires_at = excluded.access_token_expires_at, status = excluded.status, "
      "last_error = excluded.last_error, updated_at = excluded.updated_at",
      {g.doctor_id, g.account_email, g.scopes, g.sealed_refresh_token, g.access_token,
       TimeOrNull(g.access_token_expires_at), std::string(core::Name(g.status)), g.last_error,
       TimeValue(Now())});
  if (!r) {
    if (r.error().code() == ErrorCode::kFailedPrecondition) {
      return Fail(ErrorCode::kNotFound, fmt::format("doctor {} does not exist", g.doctor_id),
                  "doctor_id");
    }
    return std::unexpected(r.error());
  }
  return Ok();
}

Status Tx::DeleteGrant(int64_t doctor_id) {
  auto r = Exec("DELETE FROM google_grants WHERE doctor_id = ?", {doctor_id});
  if (!r) return std::unexpected(r.error());
  if (r->affected == 0) {
    return Fail(ErrorCode::kNotFound, fmt::format("doctor {} has no Google grant", doctor_id));
  }
  return Ok();
}

// --- Jobs ---

namespace {

// UpsertJob's statement: the columns, one new job's row, and what an existing one takes.
constexpr std::string_view kJobInsert =
    "INSERT INTO jobs (kind, key, doctor_id, payload, state, run_at, attempts, last_error, "
    "lease_owner, lease_seq, rerun, created_at) VALUES ";
constexpr std::string_view kJobRow = "(?, ?, ?, ?, 'ready', ?, 0, '', NULL, 0, 0, ?)";
constexpr std::string_view kJobUpsert =
    " ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, payload = excluded.payload, "
    "doctor_id = excluded.doctor_id, "
    "rerun = CASE WHEN jobs.lease_owner IS NULL THEN jobs.rerun ELSE 1 END, "
    "run_at = CASE WHEN jobs.lease_owner IS NULL AND excluded.run_at < jobs.run_at "
    "THEN excluded.run_at ELSE jobs.run_at END";

Status CheckNewJob(const core::Job& job) {
  if (job.key.empty() || job.kind.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "a job needs a kind and a key", "key");
  }
  return Ok();
}

void AddJobRow(std::vector<SqlValue>& params, const core::Job& job, Instant now) {
  params.emplace_back(job.kind);
  params.emplace_back(job.key);
  params.emplace_back(IdOrNull(job.doctor_id));
  params.emplace_back(job.payload);
  params.emplace_back(TimeValue(job.run_at == Instant{} ? now : job.run_at));
  params.emplace_back(TimeValue(now));
}

}  // namespace

Result<core::Job> Tx::UpsertJob(const core::Job& job) {
  TM_TRY(CheckNewJob(job));
  static const std::string kSql =
      fmt::format("{}{}{} RETURNING {}", kJobInsert, kJobRow, kJobUpsert, kJobCols);
  std::vector<SqlValue> params;
  params.reserve(6);
  AddJobRow(params, job, Now());
  auto r = conn_.Exec(kSql, params);
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return Fail(ErrorCode::kInternal, "job upsert returned no row");
  return JobFrom(r->rows.front());
}

Status Tx::UpsertJobs(std::span<const core::Job> jobs) {
  if (jobs.empty()) return Ok();
  std::vector<SqlValue> params;
  params.reserve(jobs.size() * 6);
  const Instant now = Now();
  for (const core::Job& job : jobs) {
    TM_TRY(CheckNewJob(job));
    if (std::ranges::count(jobs, job.key, &core::Job::key) > 1) {
      return Fail(ErrorCode::kInvalidArgument, fmt::format("job {} comes twice", job.key), "key");
    }
    AddJobRow(params, job, now);
  }
  auto r = conn_.Exec(fmt::format("{}{}{}", kJobInsert, Repeated(kJobRow, jobs.size()), kJobUpsert),
                      params);
  if (!r) return std::unexpected(r.error());
  return Ok();
}

Result<core::Job> Tx::UpsertReconcileJob(int64_t appointment_id, int64_t doctor_id) {
  core::Job job;
  job.kind = std::string(kReconcileJobKind);
  job.key = ReconcileJobKey(appointment_id);
  job.doctor_id = doctor_id;
  job.payload = std::to_string(appointment_id);
  job.run_at = Now();
  return UpsertJob(job);
}

Result<core::Job> Tx::EnqueueReconcile(int64_t appointment_id) {
  auto row = ExecOne("SELECT doctor_id FROM appointments WHERE id = ?", {appointment_id},
                     fmt::format("appointment {}", appointment_id));
  if (!row) return std::unexpected(row.error());
  return UpsertReconcileJob(appointment_id, row->Int(0));
}

Result<core::Job> Tx::GetJob(std::string_view key) {
  // Built once, and the not-found message only when needed: an API read of an appointment
  // asks for its job, which it often does not have (bench/api's profile).
  static const std::string kSelect = Sql("SELECT {} FROM jobs WHERE key = ?", kJobCols);
  auto r = Exec(kSelect, {std::string(key)});
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return Fail(ErrorCode::kNotFound, fmt::format("job {} does not exist", key));
  return JobFrom(r->rows.front());
}

Result<std::vector<core::Job>> Tx::LeaseJobs(const LeaseRequest& req) {
  if (req.owner.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "a lease needs an owner", "owner");
  }
  if (req.max < 1 || req.lease_for <= std::chrono::microseconds::zero()) {
    return Fail(ErrorCode::kInvalidArgument, "lease max and duration must be positive", "max");
  }
  Instant now = req.now == Instant{} ? Now() : req.now;
  std::string sql = fmt::format(
      "UPDATE jobs SET lease_owner = ?, lease_seq = lease_seq + 1, run_at = ? "
      "WHERE id IN (SELECT id FROM jobs WHERE state = 'ready' AND run_at <= ?{} "
      "ORDER BY run_at, id LIMIT ?{}) RETURNING {}",
      req.kind.empty() ? "" : " AND kind = ?", postgres() ? " FOR UPDATE SKIP LOCKED" : "",
      kJobCols);
  std::vector<SqlValue> params{req.owner, TimeValue(now + req.lease_for), TimeValue(now)};
  if (!req.kind.empty()) params.emplace_back(req.kind);
  params.emplace_back(int64_t{req.max});
  auto r = conn_.Exec(sql, params);
  if (!r) return std::unexpected(r.error());
  std::vector<core::Job> jobs;
  jobs.reserve(r->rows.size());
  for (const Row& row : r->rows) jobs.push_back(JobFrom(row));
  return jobs;
}

Result<int64_t> Tx::ReclaimLeases() {
  auto r = Exec(
      "UPDATE jobs SET lease_owner = NULL, lease_seq = lease_seq + 1, rerun = 0, run_at = ? "
      "WHERE lease_owner IS NOT NULL AND state = 'ready'",
      {TimeValue(Now())});
  if (!r) return std::unexpected(r.error());
  return r->affected;
}

Status Tx::LeasedUpdate(const core::Job& job, std::string_view set_clause,
                        std::initializer_list<SqlValue> params) {
  std::vector<SqlValue> all(params);
  all.emplace_back(job.id);
  all.emplace_back(job.lease_owner);
  all.emplace_back(job.lease_seq);
  auto r = conn_.Exec(fmt::format("UPDATE jobs SET {} WHERE id = ? AND lease_owner = ? AND "
                                  "lease_seq = ?",
                                  set_clause),
                      all);
  if (!r) return std::unexpected(r.error());
  if (r->affected == 0) return LeaseLost(job);
  return Ok();
}

Status Tx::ExtendLease(const core::Job& job, Instant until) {
  return LeasedUpdate(job, "run_at = ?", {TimeValue(until)});
}

Status Tx::CompleteJob(const core::Job& job) {
  // Each statement decides on the row as it is when the statement locks it, so a rerun set by a
  // concurrent UpsertJob is never deleted with the job: under PostgreSQL's READ COMMITTED a
  // DELETE waiting for UpsertJob's row lock re-checks `rerun = 0` on the committed version and
  // skips the row, and the UPDATE below (a new statement, a new snapshot) then sees the flag.
  // (SQLite's write transactions are serial; the same statements are correct there too.)
  auto r = Exec("DELETE FROM jobs WHERE id = ? AND lease_owner = ? AND lease_seq = ? AND rerun = 0",
                {job.id, job.lease_owner, job.lease_seq});
  if (!r) return std::unexpected(r.error());
  if (r->affected > 0) return Ok();
  // Changed while we worked on it: run again now, from the latest state.
  auto again = Exec(
      "UPDATE jobs SET lease_owner = NULL, rerun = 0, run_at = ?, attempts = 0, last_error = '' "
      "WHERE id = ? AND lease_owner = ? AND lease_seq = ? AND rerun = 1",
      {TimeValue(Now()), job.id, job.lease_owner, job.lease_seq});
  if (!again) return std::unexpected(again.error());
  if (again->affected == 0) return LeaseLost(job);
  return Ok();
}

Result<std::vector<bool>> Tx::CompleteJobs(std::span<const core::Job> jobs) {
  std::vector<bool> done(jobs.size(), false);
  if (jobs.empty()) return done;
  // CompleteJob's two statements, each over every job still open: the ones held by the lease
  // named (id, owner, seq), found by id.
  auto run = [&](std::string_view head, int rerun, std::vector<SqlValue> params) -> Status {
    std::vector<size_t> open;
    std::vector<int64_t> ids;
    for (size_t i = 0; i < jobs.size(); ++i) {
      if (done[i]) continue;
      open.push_back(i);
      ids.push_back(jobs[i].id);
    }
    if (open.empty()) return Ok();
    const size_t before = params.size();
    const std::string in = InList("id", ids, params);
    const size_t listed = params.size() - before;  // the leases, as many (the last repeated)
    for (size_t k = 0; k < listed; ++k) {
      const core::Job& job = jobs[open[std::min(k, open.size() - 1)]];
      params.emplace_back(job.id);
      params.emplace_back(job.lease_owner);
      params.emplace_back(job.lease_seq);
    }
    auto r = conn_.Exec(
        fmt::format("{} WHERE rerun = {} AND {} AND (id, lease_owner, lease_seq) "
                    "IN (VALUES {}) RETURNING id",
                    head, rerun, in, Repeated("(CAST(? AS BIGINT), ?, CAST(? AS BIGINT))", listed)),
        params);
    if (!r) return std::unexpected(r.error());
    for (const Row& row : r->rows) {
      for (size_t i : open) {
        if (jobs[i].id == row.Int(0)) done[i] = true;
      }
    }
    return Ok();
  };
  // As CompleteJob: deleted unless a rerun was asked for meanwhile; then released, due now.
  TM_TRY(run("DELETE FROM jobs", 0, {}));
  if (std::ranges::find(done, false) == done.end()) return done;
  TM_TRY(
      run("UPDATE jobs SET lease_owner = NULL, rerun = 0, run_at = ?, attempts = 0, "
          "last_error = ''",
          1, {TimeValue(Now())}));
  return done;
}

// RetryJob and ParkJob read `rerun` in the UPDATE that releases the lease: PostgreSQL evaluates
// the SET expressions on the row version it locked (the latest committed one), so a flag set by
// a concurrent UpsertJob is seen, never overwritten unseen.
Status Tx::RetryJob(const core::Job& job, Instant run_at, std::string_view error) {
  return LeasedUpdate(job,
                      "lease_owner = NULL, attempts = attempts + 1, last_error = ?, "
                      "run_at = CASE WHEN rerun = 1 THEN ? ELSE ? END, rerun = 0",
                      {std::string(error.substr(0, 2000)), TimeValue(Now()), TimeValue(run_at)});
}

Status Tx::ReleaseJob(const core::Job& job) {
  return LeasedUpdate(job, "lease_owner = NULL, rerun = 0, run_at = ?", {TimeValue(Now())});
}

Status Tx::ParkJob(const core::Job& job, std::string_view reason) {
  return LeasedUpdate(job,
                      "lease_owner = NULL, last_error = ?, "
                      "state = CASE WHEN rerun = 1 THEN 'ready' ELSE 'parked' END, "
                      "run_at = CASE WHEN rerun = 1 THEN ? ELSE run_at END, rerun = 0",
                      {std::string(reason.substr(0, 2000)), TimeValue(Now())});
}

Result<int64_t> Tx::ParkDoctorJobs(int64_t doctor_id, std::string_view reason) {
  // Unleased jobs and jobs whose lease ran out (their holder is gone; clearing the owner
  // fences it off).
  auto r = Exec(
      "UPDATE jobs SET state = 'parked', lease_owner = NULL, rerun = 0, last_error = ? "
      "WHERE doctor_id = ? AND state = 'ready' AND (lease_owner IS NULL OR run_at <= ?)",
      {std::string(reason.substr(0, 2000)), doctor_id, TimeValue(Now())});
  if (!r) return std::unexpected(r.error());
  return r->affected;
}

Result<int64_t> Tx::WakeDoctor(int64_t doctor_id) {
  auto woken = Exec(
      "UPDATE jobs SET state = 'ready', run_at = ?, last_error = '' "
      "WHERE doctor_id = ? AND state = 'parked'",
      {TimeValue(Now()), doctor_id});
  if (!woken) return std::unexpected(woken.error());
  int64_t count = woken->affected;
  auto waiting = Exec(
      "SELECT appointment_id FROM meetings WHERE doctor_id = ? "
      "AND state IN ('awaiting_doctor', 'needs_reconnect') ORDER BY appointment_id",
      {doctor_id});
  if (!waiting) return std::unexpected(waiting.error());
  for (const Row& row : waiting->rows) {
    auto job = UpsertReconcileJob(row.Int(0), doctor_id);
    if (!job) return std::unexpected(job.error());
    ++count;
  }
  return count;
}

Result<Page<core::Job>> Tx::ListJobs(std::string_view kind, std::optional<core::JobState> state,
                                     const PageRequest& page) {
  std::string sql = Sql("SELECT {} FROM jobs WHERE 1 = 1", kJobCols);
  std::vector<SqlValue> params;
  if (!kind.empty()) {
    sql += " AND kind = ?";
    params.emplace_back(std::string(kind));
  }
  if (state) {
    sql += " AND state = ?";
    params.emplace_back(std::string(core::Name(*state)));
  }
  return PageById<core::Job>(conn_, std::move(sql), std::move(params), page, JobFrom);
}

Result<int64_t> Tx::CountJobs(std::optional<core::JobState> state) {
  auto r =
      state ? Exec("SELECT count(*) FROM jobs WHERE state = ?", {std::string(core::Name(*state))})
            : Exec("SELECT count(*) FROM jobs", {});
  if (!r) return std::unexpected(r.error());
  return r->rows.at(0).Int(0);
}

Result<std::vector<JobQueueCount>> Tx::JobQueueCounts(Instant now) {
  auto r = Exec(
      "SELECT kind, CASE WHEN state = 'parked' THEN 'parked' "
      "WHEN lease_owner IS NOT NULL AND run_at > ? THEN 'leased' "
      "WHEN run_at <= ? THEN 'ready' ELSE 'scheduled' END, count(*), MIN(run_at) "
      "FROM jobs GROUP BY 1, 2 ORDER BY 1, 2",
      {TimeValue(now), TimeValue(now)});
  if (!r) return std::unexpected(r.error());
  std::vector<JobQueueCount> out;
  for (const auto& row : r->rows) {
    out.push_back(JobQueueCount{.kind = row.Text(0),
                                .state = row.Text(1),
                                .jobs = row.Int(2),
                                .oldest_run_at = row.OptTime(3)});
  }
  return out;
}

Result<std::optional<Instant>> Tx::NextDueAt(std::string_view kind) {
  auto r = kind.empty() ? Exec("SELECT MIN(run_at) FROM jobs WHERE state = 'ready'", {})
                        : Exec("SELECT MIN(run_at) FROM jobs WHERE state = 'ready' AND kind = ?",
                               {std::string(kind)});
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) return std::optional<Instant>();
  return r->rows[0].OptTime(0);
}

// --- Outbox and webhooks ---

Result<core::OutboxEvent> Tx::AppendOutbox(core::OutboxEvent e) {
  std::vector<core::OutboxEvent> one;
  one.push_back(std::move(e));
  auto appended = AppendOutboxes(std::move(one));
  if (!appended) return std::unexpected(appended.error());
  return std::move(appended->front());
}

Result<std::vector<core::OutboxEvent>> Tx::AppendOutboxes(std::vector<core::OutboxEvent> events) {
  if (events.empty()) return events;
  const Instant now = Now();
  std::vector<SqlValue> params;
  params.reserve(events.size() * 5);
  for (core::OutboxEvent& e : events) {
    if (e.topic.empty()) return Fail(ErrorCode::kInvalidArgument, "topic is required", "topic");
    e.created_at = now;
    params.emplace_back(e.topic);
    params.emplace_back(IdOrNull(e.appointment_id));
    params.emplace_back(IdOrNull(e.doctor_id));
    params.emplace_back(e.payload);
    params.emplace_back(TimeValue(now));
  }
  auto r = conn_.Exec(
      fmt::format("INSERT INTO outbox_events (topic, appointment_id, doctor_id, payload, "
                  "created_at) VALUES {} RETURNING id, appointment_id, topic",
                  Repeated("(?, ?, ?, ?, ?)", events.size())),
      params);
  if (!r) return std::unexpected(r.error());
  // The rows' ids ascend in the order of the VALUES list (one statement's rows, numbered as it
  // inserts them), whatever order RETURNING lists them in; the check makes sure.
  std::vector<const Row*> rows;
  for (const Row& row : r->rows) rows.push_back(&row);
  std::ranges::sort(rows, {}, [](const Row* row) { return row->Int(0); });
  if (rows.size() != events.size()) {
    return Fail(ErrorCode::kInternal, "outbox insert returned a row count unlike its own");
  }
  std::vector<core::Job> deliveries;
  deliveries.reserve(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    core::OutboxEvent& e = events[i];
    if (rows[i]->Int(1) != e.appointment_id || rows[i]->Text(2) != e.topic) {
      return Fail(ErrorCode::kInternal, "outbox insert returned its rows out of order");
    }
    e.id = rows[i]->Int(0);
    core::Job job;
    job.kind = std::string(kDeliverJobKind);
    job.key = fmt::format("outbox:{}", e.id);
    job.payload = std::to_string(e.id);
    job.run_at = now;
    deliveries.push_back(std::move(job));
  }
  TM_TRY(UpsertJobs(deliveries));
  return events;
}

namespace {
core::OutboxEvent OutboxFrom(const Row& r) {
  core::OutboxEvent e;
  e.id = r.Int(0);
  e.topic = r.Text(1);
  e.appointment_id = r.Int(2);
  e.doctor_id = r.Int(3);
  e.payload = r.Text(4);
  e.created_at = r.Time(5);
  return e;
}
constexpr std::string_view kOutboxCols =
    "id, topic, appointment_id, doctor_id, payload, created_at";

core::WebhookEndpoint EndpointFrom(const Row& r) {
  core::WebhookEndpoint w;
  w.id = r.Int(0);
  w.url = r.Text(1);
  w.sealed_secret = r.Text(2);
  w.topics = r.Text(3);
  w.active = r.Bool(4);
  w.created_at = r.Time(5);
  w.previous_sealed_secret = r.Text(6);
  w.previous_secret_expires_at = r.OptTime(7);
  w.secret_rotated_at = r.OptTime(8);
  return w;
}
constexpr std::string_view kEndpointCols =
    "id, url, sealed_secret, topics, active, created_at, previous_sealed_secret, "
    "previous_secret_expires_at, secret_rotated_at";

core::WebhookDelivery DeliveryFrom(const Row& r) {
  core::WebhookDelivery d;
  d.id = r.Int(0);
  d.endpoint_id = r.Int(1);
  d.event_id = r.Int(2);
  d.status = core::ParseDeliveryStatus(r.Text(3)).value_or(core::DeliveryStatus::kPending);
  d.attempts = static_cast<int32_t>(r.Int(4));
  d.response_status = static_cast<int32_t>(r.Int(5));
  d.last_error = r.Text(6);
  d.updated_at = r.Time(7);
  return d;
}
constexpr std::string_view kDeliveryCols =
    "id, endpoint_id, event_id, status, attempts, response_status, last_error, updated_at";
}  // namespace

Result<core::OutboxEvent> Tx::GetOutboxEvent(int64_t id) {
  auto row = ExecOne(Sql("SELECT {} FROM outbox_events WHERE id = ?", kOutboxCols), {id},
                     fmt::format("outbox event {}", id));
  if (!row) return std::unexpected(row.error());
  return OutboxFrom(*row);
}

Result<Page<core::OutboxEvent>> Tx::ListOutbox(const PageRequest& page) {
  return PageById<core::OutboxEvent>(
      conn_, Sql("SELECT {} FROM outbox_events WHERE 1 = 1", kOutboxCols), {}, page, OutboxFrom);
}

Result<core::WebhookEndpoint> Tx::CreateWebhookEndpoint(core::WebhookEndpoint w) {
  if (!w.url.starts_with("https://") && !w.url.starts_with("http://")) {
    return Fail(ErrorCode::kInvalidArgument, "url must be an http(s) URL", "url");
  }
  w.created_at = Now();
  auto row = ExecOne(
      "INSERT INTO webhook_endpoints (url, sealed_secret, topics, active, created_at) "
      "VALUES (?, ?, ?, ?, ?) RETURNING id",
      {w.url, w.sealed_secret, w.topics, int64_t{w.active}, TimeValue(w.created_at)},
      "webhook endpoint");
  if (!row) return std::unexpected(row.error());
  w.id = row->Int(0);
  return w;
}

Result<core::WebhookEndpoint> Tx::UpdateWebhookEndpoint(const core::WebhookEndpoint& w) {
  if (!w.url.starts_with("https://") && !w.url.starts_with("http://")) {
    return Fail(ErrorCode::kInvalidArgument, "url must be an http(s) URL", "url");
  }
  auto row = ExecOne(Sql("UPDATE webhook_endpoints SET url = ?, sealed_secret = ?, topics = ?, "
                         "active = ? WHERE id = ? RETURNING {}",
                         kEndpointCols),
                     {w.url, w.sealed_secret, w.topics, int64_t{w.active}, w.id},
                     fmt::format("webhook endpoint {}", w.id));
  if (!row) return std::unexpected(row.error());
  return EndpointFrom(*row);
}

Result<core::WebhookEndpoint> Tx::GetWebhookEndpoint(int64_t id) {
  auto row = ExecOne(Sql("SELECT {} FROM webhook_endpoints WHERE id = ?", kEndpointCols), {id},
                     fmt::format("webhook endpoint {}", id));
  if (!row) return std::unexpected(row.error());
  return EndpointFrom(*row);
}

Result<core::WebhookEndpoint> Tx::LockWebhookEndpoint(int64_t id) {
  if (!postgres()) return GetWebhookEndpoint(id);  // the write transaction holds the lock
  auto row = ExecOne(Sql("SELECT {} FROM webhook_endpoints WHERE id = ? FOR UPDATE", kEndpointCols),
                     {id}, fmt::format("webhook endpoint {}", id));
  if (!row) return std::unexpected(row.error());
  return EndpointFrom(*row);
}

Status Tx::ResealWebhookSecrets(int64_t id, std::string_view sealed_secret,
                                std::string_view previous_sealed_secret) {
  auto r = Exec(
      "UPDATE webhook_endpoints SET sealed_secret = ?, previous_sealed_secret = ? WHERE id = ?",
      {std::string(sealed_secret), std::string(previous_sealed_secret), id});
  if (!r) return std::unexpected(r.error());
  if (r->affected == 0) return Fail(ErrorCode::kNotFound, fmt::format("webhook endpoint {}", id));
  return Ok();
}

Result<core::WebhookEndpoint> Tx::RotateWebhookSecret(int64_t id, std::string_view sealed_secret,
                                                      Instant previous_expires_at) {
  // One statement: the right-hand sides see the row as it was, so the current secret moves to
  // previous_sealed_secret even when two rotations race.
  auto row =
      ExecOne(Sql("UPDATE webhook_endpoints SET previous_sealed_secret = sealed_secret, "
                  "sealed_secret = ?, previous_secret_expires_at = ?, "
                  "secret_rotated_at = ? WHERE id = ? RETURNING {}",
                  kEndpointCols),
              {std::string(sealed_secret), TimeValue(previous_expires_at), TimeValue(Now()), id},
              fmt::format("webhook endpoint {}", id));
  if (!row) return std::unexpected(row.error());
  return EndpointFrom(*row);
}

Status Tx::DeleteWebhookEndpoint(int64_t id) {
  auto r = Exec("DELETE FROM webhook_endpoints WHERE id = ?", {id});
  if (!r) return std::unexpected(r.error());
  if (r->affected == 0) {
    return Fail(ErrorCode::kNotFound, fmt::format("webhook endpoint {} does not exist", id));
  }
  return Ok();
}

Result<Page<core::WebhookEndpoint>> Tx::ListWebhookEndpoints(const PageRequest& page) {
  return PageById<core::WebhookEndpoint>(
      conn_, Sql("SELECT {} FROM webhook_endpoints WHERE 1 = 1", kEndpointCols), {}, page,
      EndpointFrom);
}

Result<core::WebhookDelivery> Tx::PutDelivery(core::WebhookDelivery d) {
  d.updated_at = Now();
  auto row =
      ExecOne(Sql("INSERT INTO webhook_deliveries (endpoint_id, event_id, status, attempts, "
                  "response_status, last_error, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                  "ON CONFLICT (endpoint_id, event_id) DO UPDATE SET status = excluded.status, "
                  "attempts = excluded.attempts, response_status = excluded.response_status, "
                  "last_error = excluded.last_error, updated_at = excluded.updated_at RETURNING {}",
                  kDeliveryCols),
              {d.endpoint_id, d.event_id, std::string(core::Name(d.status)), int64_t{d.attempts},
               int64_t{d.response_status}, d.last_error, TimeValue(d.updated_at)},
              "webhook delivery");
  if (!row) {
    if (row.error().code() == ErrorCode::kFailedPrecondition) {
      return Fail(ErrorCode::kNotFound, "the endpoint or the event does not exist", "event_id");
    }
    return std::unexpected(row.error());
  }
  return DeliveryFrom(*row);
}

Result<Page<core::WebhookDelivery>> Tx::ListDeliveries(int64_t event_id, const PageRequest& page) {
  return PageById<core::WebhookDelivery>(
      conn_, Sql("SELECT {} FROM webhook_deliveries WHERE event_id = ?", kDeliveryCols), {event_id},
      page, DeliveryFrom);
}

}  // namespace telemeet::store
