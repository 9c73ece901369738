// Who is calling (authentication) and what they may do (authorization), in one place so the
// REST routes and the web UI apply the same rules.
//
//   Result<Principal> p = Authenticate(req, deps);          // 401 without valid credentials
//   if (auto s = RequireWrite(*p); !s) return s;             // 403 for a read-only key
//   if (auto s = AuthorizeDoctor(*p, appt.doctor_id); !s)    // 403 for another doctor
//     return s;
//
// The rules:
//   - admin (session): everything;
//   - doctor (session): only data of their own doctor record: that doctor, its appointments,
//     meetings, audit, Google connection, and patients it has appointments with; services are
//     readable; no catalog writes, no admin routes;
//   - API key: scope "read" for GETs, "write" for changes; never the admin routes (settings,
//     keys, users, webhook endpoints);
//   - patient access link: that one appointment, read only (AccessLinkAppointment).
// Cookie-authenticated writes must carry the session's CSRF token in X-CSRF-Token.
//
// Thread-safe (stateless functions over the store).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/api.h"
#include "api/login_throttle.h"
#include "base/background_loop.h"
#include "base/error.h"
#include "core/types.h"
#include "net/http.h"

namespace telemeet::api {

struct Principal {
  enum class Kind { kAdmin, kDoctor, kApiKey };
  Kind kind = Kind::kApiKey;
  int64_t user_id = 0;     // sessions
  int64_t doctor_id = 0;   // doctor sessions
  int64_t api_key_id = 0;  // API keys
  bool can_read = false;
  bool can_write = false;
  bool via_cookie = false;
  std::string csrf_token;  // sessions
  // "user:3", "api_key:7": recorded in the audit trail and scoping idempotency keys.
  std::string actor;
};

inline constexpr std::string_view kSessionCookie = "tm_session";

// Verified API keys by the SHA-256 of their full bearer value (raw bytes), for
// ApiOptions::api_key_cache_ttl.
// Thread-safe.
class AuthCache {
 public:
  std::optional<Principal> Get(const std::string& bearer_hash, Instant now,
                               std::chrono::milliseconds ttl);
  void Put(const std::string& bearer_hash, const Principal& p, Instant now);
  void EvictKey(int64_t api_key_id);

 private:
  static constexpr size_t kMaxEntries = 4096;
  struct Entry {
    Principal principal;
    Instant cached_at;
  };
  std::mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_;  // guarded by mu_
};

// What authentication learns about use (an API key's last use, a session's sliding expiry),
// written once a second in one transaction by a thread of its own rather than by the request:
// with SQLite a read runs on an I/O thread, which must never wait for the store's one writer.
//
//   deps.usage->Start();   // after RegisterApiRoutes made it
//   ...
//   deps.usage->Stop();    // before the store goes: writes what is pending
//
// Not started (tests), nothing is written until Flush. Thread-safe; Start and Stop from one
// controlling thread.
class UsageRecorder {
 public:
  explicit UsageRecorder(store::Store& store);
  ~UsageRecorder();  // stops the thread; writes nothing (the store may be gone)
  UsageRecorder(const UsageRecorder&) = delete;
  UsageRecorder& operator=(const UsageRecorder&) = delete;

  void Start();
  void Stop();

  void ApiKeyUsed(int64_t api_key_id, Instant at);
  void SessionUsed(const std::string& token_hash, Instant expires_at);
  // Writes what is pending now.
  Status Flush();

 private:
  store::Store& store_;
  std::mutex mu_;
  std::map<int64_t, Instant> keys_;                // guarded by mu_
  std::map<std::string, Instant> sessions_;        // guarded by mu_
  std::unique_ptr<BackgroundLoop> loop_;           // last: stops before the maps go
};

// The stored form of a bearer secret, session token or access-link token: hex SHA-256.
std::string TokenHash(std::string_view token);

// Splits "tm_<12 hex>_<secret>" into prefix and secret; nullopt when malformed.
struct ParsedKey {
  std::string prefix;
  std::string secret;
};
std::optional<ParsedKey> ParseApiKey(std::string_view bearer);

// The value of cookie `name` in a Cookie header, or nullopt.
std::optional<std::string> CookieValue(const net::Request& req, std::string_view name);

// The client's address for throttling: the peer, or, when the peer is one of
// `trusted_proxies` (server.trusted_proxies) and sent X-Forwarded-For, the address that proxy
// saw (the header's last entry: entries before it come from the client and prove nothing).
// Any other peer's header is ignored: a client could send a new one with every guess.
std::string ClientAddress(const net::Request& req,
                          const std::vector<std::string>& trusted_proxies);

// Resolves the request's credentials. kUnauthenticated when there are none, when a key is
// unknown, malformed, wrong or revoked, or when the session is unknown, expired or its user
// disabled. Writes last_used_at of an API key at most every api_key_touch_interval.
Result<Principal> Authenticate(const net::Request& req, ApiDeps& deps);

// kPermissionDenied unless the principal may read / write at all (API key scopes; CSRF token
// for cookie writes is checked here too, as kPermissionDenied naming X-CSRF-Token).
Status RequireRead(const Principal& p);
Status RequireWrite(const Principal& p, const net::Request& req);
// kPermissionDenied unless an admin session.
Status RequireAdmin(const Principal& p);
// Doctor-owned data: kPermissionDenied for a doctor session of another doctor.
Status AuthorizeDoctor(const Principal& p, int64_t doctor_id);
// Catalog changes (doctors, services, patients): admin or a write-scoped key.
Status AuthorizeCatalogWrite(const Principal& p);
// A patient record: admins and keys; a doctor only with an appointment with that patient. For
// anyone else's patient a doctor gets the kNotFound a missing patient gives ("patient 7 does
// not exist", naming `field`), so patient ids cannot be probed.
Status AuthorizePatientRead(const Principal& p, int64_t patient_id, store::Tx& tx,
                            std::string_view field = {});

// The appointment a patient access-link token opens; kNotFound when the token is unknown,
// revoked or expired (one message for all, so nothing leaks).
Result<core::Appointment> AccessLinkAppointment(store::Tx& tx, std::string_view token, Instant now);

// Sign-in with email + password (Argon2id), throttled by deps.login_throttle (login_throttle.h)
// before the password is checked. kInvalidArgument naming the field for an email that is not
// one or a password longer than kMaxPasswordBytes (nothing is counted or written);
// kResourceExhausted with `retry_after` set while the address or the account must wait;
// kUnauthenticated for a wrong email or password (one message for both).
inline constexpr size_t kMaxPasswordBytes = 1024;
inline constexpr std::string_view kDeviceCookie = "tm_device";
struct LoginAttempt {
  std::string_view email;
  std::string_view password;
  std::string_view remote_address;
  std::string_view device_cookie;  // the tm_device cookie sent, or empty
};
struct LoginResult {
  core::User user;
  core::Session session;
  std::string token;          // the cookie value; only its hash is stored
  std::string device_cookie;  // a new tm_device value for this browser
};
Result<LoginResult> Login(ApiDeps& deps, const LoginAttempt& attempt,
                          std::chrono::seconds* retry_after = nullptr);

// The Set-Cookie header value for a session token (HttpOnly, SameSite=Strict, Path=/, Secure
// when public_url is https); an empty token clears the cookie.
std::string SessionCookie(const ApiOptions& options, std::string_view token,
                          std::chrono::seconds max_age);
// The Set-Cookie header value of a device cookie (LoginThrottle): sent only to the sign-in
// route, HttpOnly, kept a year.
std::string DeviceCookieHeader(const ApiOptions& options, std::string_view value);

}  // namespace telemeet::api
