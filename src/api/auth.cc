#include "api/auth.h"

#include <algorithm>

#include "core/validation.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace telemeet::api {

namespace {

constexpr size_t kPrefixHexChars = 12;

Result<Principal> Unauthenticated(std::string message) {
  return Fail(ErrorCode::kUnauthenticated, std::move(message));
}

Status Denied(std::string message, std::string field = {}) {
  return Fail(ErrorCode::kPermissionDenied, std::move(message), std::move(field));
}

bool HasScope(std::string_view scopes, std::string_view want) {
  for (std::string_view s : Split(scopes, ' ')) {
    if (s == want) return true;
  }
  return false;
}

Result<Principal> FromApiKey(std::string_view bearer, ApiDeps& deps) {
  auto parsed = ParseApiKey(bearer);
  if (!parsed) return Unauthenticated("the API key is malformed");
  Instant now = deps.clock.Now();
  // The cache's key only: the raw digest, spared the hex of TokenHash.
  std::string bearer_hash = crypto::Sha256(bearer);
  if (deps.auth_cache) {
    if (auto p = deps.auth_cache->Get(bearer_hash, now, deps.options.api_key_cache_ttl)) return *p;
  }
  auto key = deps.store.Read([&](store::Tx& tx) { return tx.GetApiKeyByPrefix(parsed->prefix); });
  if (!key) {
    if (key.error().code() == ErrorCode::kNotFound) return Unauthenticated("unknown API key");
    return std::unexpected(key.error());
  }
  if (!crypto::ConstantTimeEquals(TokenHash(parsed->secret), key->key_hash)) {
    return Unauthenticated("unknown API key");
  }
  if (key->revoked_at) return Unauthenticated("the API key was revoked");
  if (deps.usage &&
      (!key->last_used_at || now - *key->last_used_at >= deps.options.api_key_touch_interval)) {
    deps.usage->ApiKeyUsed(key->id, now);
  }
  Principal p;
  p.kind = Principal::Kind::kApiKey;
  p.api_key_id = key->id;
  p.can_write = HasScope(key->scopes, "write");
  p.can_read = HasScope(key->scopes, "read") || p.can_write;
  p.actor = "api_key:" + std::to_string(key->id);
  if (deps.auth_cache) deps.auth_cache->Put(bearer_hash, p, now);
  return p;
}

Result<Principal> FromSession(std::string_view token, ApiDeps& deps) {
  Instant now = deps.clock.Now();
  struct Found {
    core::Session session;
    core::User user;
  };
  auto found = deps.store.Read([&](store::Tx& tx) -> Result<Found> {
    auto s = tx.GetSession(TokenHash(token), now);
    if (!s) return std::unexpected(s.error());
    auto u = tx.GetUser(s->user_id);
    if (!u) return std::unexpected(u.error());
    return Found{*s, *u};
  });
  if (!found) {
    if (found.error().code() == ErrorCode::kNotFound) {
      return Unauthenticated("the session is unknown or has expired; sign in again");
    }
    return std::unexpected(found.error());
  }
  if (found->user.disabled) return Unauthenticated("the account is disabled");
  // The idle timeout slides with use, never past the absolute limit; written in the
  // background, and only once a minute's worth of it has gone, so reads stay reads.
  const core::Session& session = found->session;
  Instant slid = std::min(now + deps.options.session_idle,
                          session.created_at + deps.options.session_ttl);
  if (deps.usage && slid - session.expires_at >= std::chrono::minutes(1)) {
    deps.usage->SessionUsed(session.token_hash, slid);
  }
  Principal p;
  p.kind =
      found->user.role == core::Role::kAdmin ? Principal::Kind::kAdmin : Principal::Kind::kDoctor;
  p.user_id = found->user.id;
  p.doctor_id = found->user.doctor_id;
  p.can_read = p.can_write = true;
  p.via_cookie = true;
  p.csrf_token = found->session.csrf_token;
  p.actor = "user:" + std::to_string(found->user.id);
  return p;
}

const std::string& DummyHash(const crypto::PasswordLimits& limits) {
  static const std::string hash =
      crypto::HashPassword(crypto::RandomToken(16), limits).value_or(std::string());
  return hash;
}

}  // namespace

std::optional<Principal> AuthCache::Get(const std::string& bearer_hash, Instant now,
                                        std::chrono::milliseconds ttl) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(bearer_hash);
  if (it == entries_.end()) return std::nullopt;
  if (now - it->second.cached_at >= ttl || now < it->second.cached_at) {
    entries_.erase(it);
    return std::nullopt;
  }
  return it->second.principal;
}

void AuthCache::Put(const std::string& bearer_hash, const Principal& p, Instant now) {
  std::lock_guard lock(mu_);
  if (entries_.size() >= kMaxEntries) entries_.clear();
  entries_[bearer_hash] = Entry{p, now};
}

void AuthCache::EvictKey(int64_t api_key_id) {
  std::lock_guard lock(mu_);
  std::erase_if(entries_,
                [&](const auto& e) { return e.second.principal.api_key_id == api_key_id; });
}

UsageRecorder::UsageRecorder(store::Store& store)
    : store_(store),
      loop_(std::make_unique<BackgroundLoop>(
          [this] {
            (void)Flush();
            return false;
          },
          std::chrono::seconds(1))) {}

UsageRecorder::~UsageRecorder() { loop_->Stop(); }

void UsageRecorder::Start() { loop_->Start(); }

void UsageRecorder::Stop() {
  loop_->Stop();
  (void)Flush();
}

void UsageRecorder::ApiKeyUsed(int64_t api_key_id, Instant at) {
  std::lock_guard lock(mu_);
  Instant& t = keys_[api_key_id];
  t = std::max(t, at);
}

void UsageRecorder::SessionUsed(const std::string& token_hash, Instant expires_at) {
  std::lock_guard lock(mu_);
  if (sessions_.size() >= 100'000) return;  // a second's worth never comes near this
  Instant& t = sessions_[token_hash];
  t = std::max(t, expires_at);
}

Status UsageRecorder::Flush() {
  std::map<int64_t, Instant> keys;
  std::map<std::string, Instant> sessions;
  {
    std::lock_guard lock(mu_);
    keys.swap(keys_);
    sessions.swap(sessions_);
  }
  if (keys.empty() && sessions.empty()) return Ok();
  return store_.Transact([&](store::Tx& tx) -> Status {
    for (const auto& [id, at] : keys) {
      // A key deleted meanwhile is no reason to lose the others.
      if (auto s = tx.TouchApiKey(id, at); !s && s.error().code() != ErrorCode::kNotFound) {
        return s;
      }
    }
    for (const auto& [hash, expires] : sessions) TM_TRY(tx.ExtendSession(hash, expires));
    return Ok();
  });
}

std::string TokenHash(std::string_view token) { return crypto::HexEncode(crypto::Sha256(token)); }

std::optional<ParsedKey> ParseApiKey(std::string_view bearer) {
  if (!bearer.starts_with("tm_")) return std::nullopt;
  bearer.remove_prefix(3);
  if (bearer.size() < kPrefixHexChars + 2 || bearer[kPrefixHexChars] != '_') return std::nullopt;
  ParsedKey k{std::string(bearer.substr(0, kPrefixHexChars)),
              std::string(bearer.substr(kPrefixHexChars + 1))};
  for (char c : k.prefix) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  if (k.secret.size() < 16 || k.secret.size() > 128) return std::nullopt;
  return k;
}

std::optional<std::string> CookieValue(const net::Request& req, std::string_view name) {
  for (const auto& [header, value] : req.headers) {
    if (!EqualsIgnoreCase(header, "Cookie")) continue;
    for (std::string_view part : Split(value, ';')) {
      part = Trim(part);
      size_t eq = part.find('=');
      if (eq != std::string_view::npos && part.substr(0, eq) == name) {
        return std::string(part.substr(eq + 1));
      }
    }
  }
  return std::nullopt;
}

std::string ClientAddress(const net::Request& req,
                          const std::vector<std::string>& trusted_proxies) {
  auto forwarded = req.Header("X-Forwarded-For");
  bool trusted = std::find(trusted_proxies.begin(), trusted_proxies.end(), req.remote_address) !=
                 trusted_proxies.end();
  if (!trusted || !forwarded) return req.remote_address;
  std::string_view last = *forwarded;
  if (size_t comma = last.rfind(','); comma != std::string_view::npos) {
    last = last.substr(comma + 1);
  }
  last = Trim(last);
  if (last.empty() || last.size() > 64) return req.remote_address;
  return std::string(last);
}

Result<Principal> Authenticate(const net::Request& req, ApiDeps& deps) {
  if (auto auth = req.Header("Authorization")) {
    std::string_view v = Trim(*auth);
    if (v.size() < 7 || !EqualsIgnoreCase(v.substr(0, 7), "Bearer ")) {
      return Unauthenticated("the Authorization header must be \"Bearer <API key>\"");
    }
    return FromApiKey(Trim(v.substr(7)), deps);
  }
  if (auto cookie = CookieValue(req, kSessionCookie); cookie && !cookie->empty()) {
    return FromSession(*cookie, deps);
  }
  return Unauthenticated("authentication required: an API key as Bearer token or a session");
}

Status RequireRead(const Principal& p) {
  if (!p.can_read) return Denied("this API key lacks the read scope");
  return Ok();
}

Status RequireWrite(const Principal& p, const net::Request& req) {
  if (!p.can_write) return Denied("this API key lacks the write scope");
  if (p.via_cookie) {
    auto token = req.Header("X-CSRF-Token");
    if (!token || p.csrf_token.empty() || !crypto::ConstantTimeEquals(*token, p.csrf_token)) {
      return Denied("a valid X-CSRF-Token header is required for this change", "X-CSRF-Token");
    }
  }
  return Ok();
}

Status RequireAdmin(const Principal& p) {
  if (p.kind != Principal::Kind::kAdmin) return Denied("only an administrator may do this");
  return Ok();
}

Status AuthorizeDoctor(const Principal& p, int64_t doctor_id) {
  if (p.kind == Principal::Kind::kDoctor && p.doctor_id != doctor_id) {
    return Denied("a doctor may only see and change their own data");
  }
  return Ok();
}

Status AuthorizeCatalogWrite(const Principal& p) {
  if (p.kind == Principal::Kind::kDoctor) {
    return Denied("doctors cannot change doctors, services or patients; ask an administrator");
  }
  return Ok();
}

Status AuthorizePatientRead(const Principal& p, int64_t patient_id, store::Tx& tx,
                            std::string_view field) {
  if (p.kind != Principal::Kind::kDoctor) return Ok();
  store::AppointmentFilter f{.doctor_id = p.doctor_id, .patient_id = patient_id};
  auto page = tx.ListAppointments(f, {.limit = 1});
  if (!page) return std::unexpected(page.error());
  if (page->items.empty()) {
    return Fail(ErrorCode::kNotFound, "patient " + std::to_string(patient_id) + " does not exist",
                std::string(field));
  }
  return Ok();
}

Result<core::Appointment> AccessLinkAppointment(store::Tx& tx, std::string_view token,
                                                Instant now) {
  auto link = tx.GetAccessLink(TokenHash(token), now);
  if (!link) {
    if (link.error().code() == ErrorCode::kNotFound) {
      return Fail(ErrorCode::kNotFound, "this link is unknown, revoked or expired");
    }
    return std::unexpected(link.error());
  }
  return tx.GetAppointment(link->appointment_id);
}

Result<LoginResult> Login(ApiDeps& deps, const LoginAttempt& attempt,
                          std::chrono::seconds* retry_after) {
  // Checked before anything is counted: a value that is not an email is not an account.
  TM_TRY(core::ValidateEmail(attempt.email, "email"));
  if (attempt.password.size() > kMaxPasswordBytes) {
    return Fail(ErrorCode::kInvalidArgument,
                "password is longer than " + std::to_string(kMaxPasswordBytes) + " bytes",
                "password");
  }
  std::string email = ToLower(attempt.email);
  Instant now = deps.clock.Now();
  LoginThrottle& throttle = *deps.login_throttle;
  LoginThrottle::Attempt counted =
      throttle.Begin(attempt.remote_address, email, attempt.device_cookie, now);
  if (!counted.allowed) {
    if (retry_after != nullptr) *retry_after = counted.retry_after;
    int64_t secs = counted.retry_after.count();
    std::string wait = secs >= 120 ? std::to_string((secs + 59) / 60) + " minutes"
                                   : std::to_string(secs) + (secs == 1 ? " second" : " seconds");
    return Fail(ErrorCode::kResourceExhausted,
                std::string("too many failed sign-ins ") +
                    (counted.by_address ? "from this address" : "for this account") +
                    "; try again in " + wait);
  }
  auto user = deps.store.Read([&](store::Tx& tx) -> Result<std::optional<core::User>> {
    auto u = tx.GetUserByEmail(email);
    if (u) return std::optional<core::User>(*u);
    if (u.error().code() == ErrorCode::kNotFound) return std::optional<core::User>();
    return std::unexpected(u.error());
  });
  if (!user) {
    throttle.Succeeded(counted, now);  // not a guess: the store failed
    return std::unexpected(user.error());
  }
  // Verify outside any transaction: Argon2id takes tens of milliseconds. An unknown email is
  // checked against a dummy hash, so the time taken does not tell which emails exist.
  bool ok = false;
  if (*user) {
    ok = crypto::VerifyPassword((*user)->password_hash, attempt.password) && !(*user)->disabled;
  } else {
    (void)crypto::VerifyPassword(DummyHash(deps.options.password_limits), attempt.password);
  }
  if (!ok) {
    throttle.Failed(counted, deps.clock.Now());
    return Fail(ErrorCode::kUnauthenticated, "wrong email or password");
  }
  throttle.Succeeded(counted, now);
  LoginResult out;
  out.user = **user;
  out.token = crypto::RandomToken(32);
  out.device_cookie = throttle.DeviceCookie(email);
  auto session = deps.store.Transact([&](store::Tx& tx) -> Result<core::Session> {
    core::Session s{
        .token_hash = TokenHash(out.token),
        .user_id = out.user.id,
        .csrf_token = crypto::RandomToken(24),
        .expires_at = now + std::min(deps.options.session_idle, deps.options.session_ttl)};
    return tx.CreateSession(s);
  });
  if (!session) return std::unexpected(session.error());
  out.session = *session;
  return out;
}

std::string SessionCookie(const ApiOptions& options, std::string_view token,
                          std::chrono::seconds max_age) {
  std::string c = std::string(kSessionCookie) + "=" + std::string(token) +
                  "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                  std::to_string(token.empty() ? 0 : max_age.count());
  if (options.public_url.starts_with("https://")) c += "; Secure";
  return c;
}

std::string DeviceCookieHeader(const ApiOptions& options, std::string_view value) {
  std::string c = std::string(kDeviceCookie) + "=" + std::string(value) +
                  "; Path=/api/v1/session; HttpOnly; SameSite=Strict; Max-Age=31536000";
  if (options.public_url.starts_with("https://")) c += "; Secure";
  return c;
}

}  // namespace telemeet::api
