// Tx operations on access control and small keyed records: idempotency keys, API keys, users,
// sessions, patient access links, OAuth connect states and settings.
#include <fmt/format.h>

#include "core/validation.h"
#include "store/store.h"
#include "store/tx_internal.h"

namespace telemeet::store {

using namespace internal;  // NOLINT(google-build-using-namespace): the file's own helpers

namespace {

std::string Sql(std::string_view format_with_cols, std::string_view cols) {
  return fmt::format(fmt::runtime(format_with_cols), cols);
}

Status Required(std::string_view value, std::string_view field) {
  if (value.empty()) {
    return Fail(ErrorCode::kInvalidArgument, fmt::format("{} is required", field),
                std::string(field));
  }
  return Ok();
}

constexpr std::string_view kApiKeyCols =
    "id, name, prefix, key_hash, scopes, created_at, revoked_at, last_used_at";
core::ApiKey ApiKeyFrom(const Row& r) {
  core::ApiKey k;
  k.id = r.Int(0);
  k.name = r.Text(1);
  k.prefix = r.Text(2);
  k.key_hash = r.Text(3);
  k.scopes = r.Text(4);
  k.created_at = r.Time(5);
  k.revoked_at = r.OptTime(6);
  k.last_used_at = r.OptTime(7);
  return k;
}

constexpr std::string_view kUserCols =
    "id, email, name, role, password_hash, doctor_id, disabled, created_at";
core::User UserFrom(const Row& r) {
  core::User u;
  u.id = r.Int(0);
  u.email = r.Text(1);
  u.name = r.Text(2);
  u.role = core::ParseRole(r.Text(3)).value_or(core::Role::kDoctor);
  u.password_hash = r.Text(4);
  u.doctor_id = r.Int(5);
  u.disabled = r.Bool(6);
  u.created_at = r.Time(7);
  return u;
}

constexpr std::string_view kSessionCols =
    "id, token_hash, user_id, csrf_token, created_at, expires_at";
core::Session SessionFrom(const Row& r) {
  core::Session s;
  s.id = r.Int(0);
  s.token_hash = r.Text(1);
  s.user_id = r.Int(2);
  s.csrf_token = r.Text(3);
  s.created_at = r.Time(4);
  s.expires_at = r.Time(5);
  return s;
}

constexpr std::string_view kLinkCols =
    "id, appointment_id, token_hash, created_at, expires_at, revoked_at";
core::AccessLink LinkFrom(const Row& r) {
  core::AccessLink l;
  l.id = r.Int(0);
  l.appointment_id = r.Int(1);
  l.token_hash = r.Text(2);
  l.created_at = r.Time(3);
  l.expires_at = r.Time(4);
  l.revoked_at = r.OptTime(5);
  return l;
}

}  // namespace

// --- Idempotency ---

Status Tx::PutIdempotency(const core::IdempotencyRecord& rec) {
  if (auto s = Required(rec.key, "key"); !s) return s;
  // An expired record with the same key is replaced; a live one is a conflict.
  auto r = Exec(
      "INSERT INTO idempotency_keys (key, request_hash, response_status, response_body, "
      "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (key) DO UPDATE SET request_hash = excluded.request_hash, "
      "response_status = excluded.response_status, response_body = excluded.response_body, "
      "created_at = excluded.created_at, expires_at = excluded.expires_at "
      "WHERE idempotency_keys.expires_at <= excluded.created_at",
      {rec.key, rec.request_hash, int64_t{rec.response_status}, rec.response_body,
       TimeValue(rec.created_at == Instant{} ? Now() : rec.created_at), TimeValue(rec.expires_at)});
  if (!r) return std::unexpected(r.error());
  if (r->affected == 0) {
    return Fail(ErrorCode::kAlreadyExists, "the idempotency key was used already", "key");
  }
  return Ok();
}

Result<core::IdempotencyRecord> Tx::GetIdempotency(std::string_view key) {
  auto row = ExecOne(
      "SELECT key, request_hash, response_status, response_body, created_at, expires_at "
      "FROM idempotency_keys WHERE key = ? AND expires_at > ?",
      {std::string(key), TimeValue(Now())}, "idempotency key");
  if (!row) return std::unexpected(row.error());
  core::IdempotencyRecord rec;
  rec.key = row->Text(0);
  rec.request_hash = row->Text(1);
  rec.response_status = static_cast<int32_t>(row->Int(2));
  rec.response_body = row->Text(3);
  rec.created_at = row->Time(4);
  rec.expires_at = row->Time(5);
  return rec;
}

Result<int64_t> Tx::DeleteExpiredIdempotency(Instant now) {
  auto r = Exec("DELETE FROM idempotency_keys WHERE expires_at <= ?", {TimeValue(now)});
  if (!r) return std::unexpected(r.error());
  return r->affected;
}

// --- API keys ---

Result<core::ApiKey> Tx::CreateApiKey(core::ApiKey k) {
  if (auto s = core::ValidateName(k.name, "name"); !s) return std::unexpected(s.error());
  if (auto s = Required(k.prefix, "prefix"); !s) return std::unexpected(s.error());
  if (auto s = Required(k.key_hash, "key_hash"); !s) return std::unexpected(s.error());
  k.created_at = Now();
  k.revoked_at.reset();
  k.last_used_at.reset();
  auto row = ExecOne(
      "INSERT INTO api_keys (name, prefix, key_hash, scopes, created_at) "
      "VALUES (?, ?, ?, ?, ?) RETURNING id",
      {k.name, k.prefix, k.key_hash, k.scopes, TimeValue(k.created_at)}, "api key");
  if (!row) return std::unexpected(row.error());
  k.id = row->Int(0);
  return k;
}

Result<core::ApiKey> Tx::GetApiKeyByPrefix(std::string_view prefix) {
  auto row = ExecOne(Sql("SELECT {} FROM api_keys WHERE prefix = ?", kApiKeyCols),
                     {std::string(prefix)}, "api key");
  if (!row) return std::unexpected(row.error());
  return ApiKeyFrom(*row);
}

Result<Page<core::ApiKey>> Tx::ListApiKeys(const PageRequest& page) {
  return PageById<core::ApiKey>(conn_, Sql("SELECT {} FROM api_keys WHERE 1 = 1", kApiKeyCols), {},
                                page, ApiKeyFrom);
}

Status Tx::RevokeApiKey(int64_t id) {
  auto r = Exec("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?",
                {TimeValue(Now()), id});
  if (!r) return std::unexpected(r.error());
  if (r->affected == 0)
    return Fail(ErrorCode::kNotFound, fmt::format("api key {} does not exist", id));
  return Ok();
}

Status Tx::TouchApiKey(int64_t id, Instant used_at) {
  auto r = Exec("UPDATE api_keys SET last_used_at = ? WHERE id = ?", {TimeValue(used_at), id});
  if (!r) return std::unexpected(r.error());
  if (r->affected == 0)
    return Fail(ErrorCode::kNotFound, fmt::format("api key {} does not exist", id));
  return Ok();
}

// --- Users and sessions ---

Result<core::User> Tx::CreateUser(core::User u) {
  if (auto s = core::ValidateEmail(u.email, "email"); !s) return std::unexpected(s.error());
  if (auto s = core::ValidateName(u.name, "name"); !s) return std::unexpected(s.error());
  u.created_at = Now();
  auto row = ExecOne(
      "INSERT INTO users (email, name, role, password_hash, doctor_id, disabled, created_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
      {u.email, u.name, std::string(core::Name(u.role)), u.password_hash,
       u.doctor_id ? SqlValue(u.doctor_id) : SqlValue(nullptr), int64_t{u.disabled},
       TimeValue(u.created_at)},
      "user");
  if (!row) {
    if (row.error().code() == ErrorCode::kAlreadyExists) {
      return Fail(ErrorCode::kAlreadyExists, "a user with this email exists", "email");
    }
    if (row.error().code() == ErrorCode::kFailedPrecondition) {
      return Fail(ErrorCode::kNotFound, fmt::format("doctor {} does not exist", u.doctor_id),
                  "doctor_id");
    }
    return std::unexpected(row.error());
  }
  u.id = row->Int(0);
  return u;
}

Result<core::User> Tx::GetUser(int64_t id) {
  auto row = ExecOne(Sql("SELECT {} FROM users WHERE id = ?", kUserCols), {id},
                     fmt::format("user {}", id));
  if (!row) return std::unexpected(row.error());
  return UserFrom(*row);
}

Result<core::User> Tx::GetUserByEmail(std::string_view email) {
  auto row =
      ExecOne(Sql("SELECT {} FROM users WHERE lower(email) = lower(CAST(? AS TEXT))", kUserCols),
              {std::string(email)}, "user");
  if (!row) return std::unexpected(row.error());
  return UserFrom(*row);
}

Result<core::User> Tx::UpdateUser(const core::User& u) {
  if (auto s = core::ValidateEmail(u.email, "email"); !s) return std::unexpected(s.error());
  if (auto s = core::ValidateName(u.name, "name"); !s) return std::unexpected(s.error());
  auto r = Exec(
      "UPDATE users SET email = ?, name = ?, role = ?, password_hash = ?, doctor_id = ?, "
      "disabled = ? WHERE id = ?",
      {u.email, u.name, std::string(core::Name(u.role)), u.password_hash,
       u.doctor_id ? SqlValue(u.doctor_id) : SqlValue(nullptr), int64_t{u.disabled}, u.id});
  if (!r) return std::unexpected(r.error());
  if (r->affected == 0)
    return Fail(ErrorCode::kNotFound, fmt::format("user {} does not exist", u.id));
  return GetUser(u.id);
}

Result<Page<core::User>> Tx::ListUsers(const PageRequest& page) {
  return PageById<core::User>(conn_, Sql("SELECT {} FROM users WHERE 1 = 1", kUserCols), {}, page,
                              UserFrom);
}

Result<core::Session> Tx::CreateSession(core::Session s) {
  if (auto v = Required(s.token_hash, "token_hash"); !v) return std::unexpected(v.error());
  s.created_at = Now();
  auto row = ExecOne(
      "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) "
      "VALUES (?, ?, ?, ?, ?) RETURNING id",
      {s.token_hash, s.user_id, s.csrf_token, TimeValue(s.created_at), TimeValue(s.expires_at)},
      "session");
  if (!row) {
    if (row.error().code() == ErrorCode::kFailedPrecondition) {
      return Fail(ErrorCode::kNotFound, fmt::format("user {} does not exist", s.user_id),
                  "user_id");
    }
    return std::unexpected(row.error());
  }
  s.id = row->Int(0);
  return s;
}

Result<core::Session> Tx::GetSession(std::string_view token_hash, Instant now) {
  auto row =
      ExecOne(Sql("SELECT {} FROM sessions WHERE token_hash = ? AND expires_at > ?", kSessionCols),
              {std::string(token_hash), TimeValue(now)}, "session");
  if (!row) return std::unexpected(row.error());
  return SessionFrom(*row);
}

Status Tx::ExtendSession(std::string_view token_hash, Instant expires_at) {
  // Never past what it had already (an absolute limit set at creation is the caller's).
  auto r = Exec(
      "UPDATE sessions SET expires_at = ? WHERE token_hash = ? AND expires_at < ? AND "
      "expires_at > ?",
      {TimeValue(expires_at), std::string(token_hash), TimeValue(expires_at), TimeValue(Now())});
  if (!r) return std::unexpected(r.error());
  return Ok();
}

Status Tx::DeleteSession(std::string_view token_hash) {
  auto r = Exec("DELETE FROM sessions WHERE token_hash = ?", {std::string(token_hash)});
  if (!r) return std::unexpected(r.error());
  if (r->affected == 0) return Fail(ErrorCode::kNotFound, "session does not exist");
  return Ok();
}

Result<int64_t> Tx::DeleteUserSessions(int64_t user_id) {
  auto r = Exec("DELETE FROM sessions WHERE user_id = ?", {user_id});
  if (!r) return std::unexpected(r.error());
  return r->affected;
}

Result<int64_t> Tx::DeleteExpiredSessions(Instant now) {
  auto r = Exec("DELETE FROM sessions WHERE expires_at <= ?", {TimeValue(now)});
  if (!r) return std::unexpected(r.error());
  return r->affected;
}

// --- Access links ---

Result<core::AccessLink> Tx::CreateAccessLink(core::AccessLink l) {
  if (auto v = Required(l.token_hash, "token_hash"); !v) return std::unexpected(v.error());
  l.created_at = Now();
  l.revoked_at.reset();
  if (l.expires_at <= l.created_at) {
    return Fail(ErrorCode::kInvalidArgument, "expires_at must be in the future", "expires_at");
  }
  auto row = ExecOne(
      "INSERT INTO access_links (appointment_id, token_hash, created_at, expires_at) "
      "VALUES (?, ?, ?, ?) RETURNING id",
      {l.appointment_id, l.token_hash, TimeValue(l.created_at), TimeValue(l.expires_at)},
      "access link");
  if (!row) {
    if (row.error().code() == ErrorCode::kFailedPrecondition) {
      return Fail(ErrorCode::kNotFound,
                  fmt::format("appointment {} does not exist", l.appointment_id), "appointment_id");
    }
    return std::unexpected(row.error());
  }
  l.id = row->Int(0);
  return l;
}

Result<core::AccessLink> Tx::GetAccessLink(std::string_view token_hash, Instant now) {
  auto row = ExecOne(Sql("SELECT {} FROM access_links WHERE token_hash = ? AND expires_at > ? "
                         "AND revoked_at IS NULL",
                         kLinkCols),
                     {std::string(token_hash), TimeValue(now)}, "access link");
  if (!row) return std::unexpected(row.error());
  return LinkFrom(*row);
}

Result<std::vector<core::AccessLink>> Tx::ListAccessLinks(int64_t appointment_id) {
  static const std::string kSelect =
      Sql("SELECT {} FROM access_links WHERE appointment_id = ? ORDER BY id", kLinkCols);
  auto r = Exec(kSelect, {appointment_id});
  if (!r) return std::unexpected(r.error());
  std::vector<core::AccessLink> out;
  for (const Row& row : r->rows) out.push_back(LinkFrom(row));
  return out;
}

Status Tx::RevokeAccessLink(int64_t id) {
  auto r = Exec("UPDATE access_links SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?",
                {TimeValue(Now()), id});
  if (!r) return std::unexpected(r.error());
  if (r->affected == 0) {
    return Fail(ErrorCode::kNotFound, fmt::format("access link {} does not exist", id));
  }
  return Ok();
}

// --- OAuth states ---

Status Tx::PutOAuthState(const core::OAuthState& st) {
  if (auto v = Required(st.state_hash, "state_hash"); !v) return v;
  auto r = Exec(
      "INSERT INTO oauth_states (state_hash, doctor_id, sealed_verifier, return_to, "
      "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
      {st.state_hash, st.doctor_id, st.sealed_verifier, st.return_to,
       TimeValue(st.created_at == Instant{} ? Now() : st.created_at), TimeValue(st.expires_at)});
  if (!r) {
    if (r.error().code() == ErrorCode::kFailedPrecondition) {
      return Fail(ErrorCode::kNotFound, fmt::format("doctor {} does not exist", st.doctor_id),
                  "doctor_id");
    }
    return std::unexpected(r.error());
  }
  return Ok();
}

Result<core::OAuthState> Tx::ConsumeOAuthState(std::string_view state_hash, Instant now) {
  auto r = Exec(
      "DELETE FROM oauth_states WHERE state_hash = ? RETURNING state_hash, doctor_id, "
      "sealed_verifier, return_to, created_at, expires_at",
      {std::string(state_hash)});
  if (!r) return std::unexpected(r.error());
  if (r->rows.empty()) {
    return Fail(ErrorCode::kNotFound, "the sign-in state is unknown or was used already");
  }
  const Row& row = r->rows[0];
  core::OAuthState st;
  st.state_hash = row.Text(0);
  st.doctor_id = row.Int(1);
  st.sealed_verifier = row.Text(2);
  st.return_to = row.Text(3);
  st.created_at = row.Time(4);
  st.expires_at = row.Time(5);
  if (st.expires_at <= now) return Fail(ErrorCode::kNotFound, "the sign-in state has expired");
  return st;
}

// --- Settings ---

Result<std::string> Tx::GetSetting(std::string_view key) {
  auto row = ExecOne("SELECT value FROM settings WHERE key = ?", {std::string(key)},
                     fmt::format("setting {}", key));
  if (!row) return std::unexpected(row.error());
  return row->Text(0);
}

Status Tx::PutSetting(std::string_view key, std::string_view value) {
  if (auto v = Required(key, "key"); !v) return v;
  auto r = Exec(
      "INSERT INTO settings (key, value) VALUES (?, ?) "
      "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      {std::string(key), std::string(value)});
  if (!r) return std::unexpected(r.error());
  return Ok();
}

Status Tx::LockForTransaction(int64_t key, bool shared) {
  if (!postgres()) return Ok();
  auto r =
      Exec(fmt::format("SELECT pg_advisory_xact_lock{}({})", shared ? "_shared" : "", key), {});
  if (!r) return std::unexpected(r.error());
  return Ok();
}

Result<bool> Tx::DeleteSetting(std::string_view key) {
  auto r = Exec("DELETE FROM settings WHERE key = ?", {std::string(key)});
  if (!r) return std::unexpected(r.error());
  return r->affected > 0;
}

Result<std::vector<std::pair<std::string, std::string>>> Tx::ListSettings(std::string_view prefix) {
  auto r = prefix.empty()
               ? Exec("SELECT key, value FROM settings ORDER BY key", {})
               : Exec("SELECT key, value FROM settings WHERE substr(key, 1, ?) = ? ORDER BY key",
                      {static_cast<int64_t>(prefix.size()), std::string(prefix)});
  if (!r) return std::unexpected(r.error());
  std::vector<std::pair<std::string, std::string>> out;
  for (const Row& row : r->rows) out.emplace_back(row.Text(0), row.Text(1));
  return out;
}

}  // namespace telemeet::store
