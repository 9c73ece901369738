#include "api/auth.h"

#include <charconv>

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
  std::string bearer_hash = TokenHash(bearer);
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
  if (!key->last_used_at || now - *key->last_used_at >= deps.options.api_key_touch_interval) {
    // Best effort: a failed touch must not fail the request.
    (void)deps.store.Transact([&](store::Tx& tx) { return tx.TouchApiKey(key->id, now); });
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

// "count until_unix" under login.failures:<email>.
struct Failures {
  int count = 0;
  int64_t locked_until = 0;
};

std::string FailuresKey(std::string_view email) { return "login.failures:" + ToLower(email); }

Failures ReadFailures(store::Tx& tx, std::string_view email) {
  Failures f;
  auto v = tx.GetSetting(FailuresKey(email));
  if (!v) return f;
  auto parts = Split(*v, ' ');
  if (parts.size() != 2) return f;
  std::from_chars(parts[0].data(), parts[0].data() + parts[0].size(), f.count);
  std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), f.locked_until);
  return f;
}

Status WriteFailures(store::Tx& tx, std::string_view email, const Failures& f) {
  return tx.PutSetting(FailuresKey(email),
                       std::to_string(f.count) + " " + std::to_string(f.locked_until));
}

Status LockedError(int64_t locked_until, Instant now) {
  int64_t minutes = (locked_until - ToUnixSeconds(now) + 59) / 60;
  return Fail(ErrorCode::kResourceExhausted, "too many failed sign-ins; try again in " +
                                                 std::to_string(minutes) + " minute" +
                                                 (minutes == 1 ? "" : "s"));
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

Status AuthorizePatientRead(const Principal& p, int64_t patient_id, store::Tx& tx) {
  if (p.kind != Principal::Kind::kDoctor) return Ok();
  store::AppointmentFilter f{.doctor_id = p.doctor_id, .patient_id = patient_id};
  auto page = tx.ListAppointments(f, {.limit = 1});
  if (!page) return std::unexpected(page.error());
  if (page->items.empty()) return Denied("a doctor may only see their own patients");
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

Result<LoginResult> Login(ApiDeps& deps, std::string_view email, std::string_view password) {
  Instant now = deps.clock.Now();
  struct Before {
    Failures failures;
    std::optional<core::User> user;
  };
  auto before = deps.store.Read([&](store::Tx& tx) -> Result<Before> {
    Before b;
    b.failures = ReadFailures(tx, email);
    auto u = tx.GetUserByEmail(email);
    if (u) {
      b.user = *u;
    } else if (u.error().code() != ErrorCode::kNotFound) {
      return std::unexpected(u.error());
    }
    return b;
  });
  if (!before) return std::unexpected(before.error());
  if (before->failures.locked_until > ToUnixSeconds(now)) {
    return std::unexpected(LockedError(before->failures.locked_until, now).error());
  }
  // Verify outside any transaction: Argon2id takes tens of milliseconds. An unknown email is
  // checked against a dummy hash, so the time taken does not tell which emails exist.
  bool ok = false;
  if (before->user) {
    ok = crypto::VerifyPassword(before->user->password_hash, password) && !before->user->disabled;
  } else {
    (void)crypto::VerifyPassword(DummyHash(deps.options.password_limits), password);
  }
  if (!ok) {
    bool locked = false;
    auto s = deps.store.Transact([&](store::Tx& tx) -> Status {
      Failures f = ReadFailures(tx, email);
      if (f.locked_until > ToUnixSeconds(now)) {
        locked = true;
        return Ok();
      }
      if (f.locked_until != 0) f = {};  // an old lock ran out: start counting afresh
      if (++f.count >= deps.options.max_login_failures) {
        f.locked_until = ToUnixSeconds(now) + deps.options.lockout.count();
      }
      return WriteFailures(tx, email, f);
    });
    if (!s) return std::unexpected(s.error());
    if (locked) return Fail(ErrorCode::kResourceExhausted, "too many failed sign-ins");
    return Fail(ErrorCode::kUnauthenticated, "wrong email or password");
  }
  LoginResult out;
  out.user = *before->user;
  out.token = crypto::RandomToken(32);
  auto session = deps.store.Transact([&](store::Tx& tx) -> Result<core::Session> {
    if (auto s = WriteFailures(tx, email, {}); !s) return std::unexpected(s.error());
    core::Session s{.token_hash = TokenHash(out.token),
                    .user_id = out.user.id,
                    .csrf_token = crypto::RandomToken(24),
                    .expires_at = now + deps.options.session_ttl};
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

}  // namespace telemeet::api
