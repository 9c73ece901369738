// The REST API under /api/v1 (issue 7): doctors, services, patients, appointments with their
// meetings, audit trail and patient access links, Google connection, admin settings, API keys,
// users and sessions, webhook endpoints and their delivery log, and the OpenAPI document. Also
// the browser side of the Google connect flow (/oauth/google/start and /oauth/google/callback).
//
//   api::ApiDeps deps{.store = *store, .clock = clock, .oauth = &oauth, .tokens = &tokens,
//                     .calendar = &calendar, .keys = &keyring,
//                     .on_work_enqueued = [&] { worker.Nudge(); },
//                     .options = {.public_url = "https://telemeet.clinic.example"}};
//   api::RegisterApiRoutes(router, deps);   // deps must outlive the router
//   auto admin = api::CreateAdmin(*store, "admin@clinic.example", password);
//
// Callers authenticate with an integrator API key ("Authorization: Bearer tm_<prefix>_<secret>",
// scopes read/write) or a web session cookie (admin or doctor; writes need X-CSRF-Token). One
// authorization module (auth.h) decides: an admin may do everything, a doctor only what concerns
// their own doctor record, an API key what its scopes allow, a patient link its one appointment.
//
// Every handler touching the store runs on the server's worker pool and makes at most one write
// transaction, so a refused request leaves nothing behind. Handlers are safe for concurrent use.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/login_throttle.h"
#include "base/clock.h"
#include "base/error.h"
#include "core/types.h"
#include "crypto/password.h"
#include "net/destination_policy.h"
#include "net/router.h"
#include "store/store.h"

namespace telemeet::google {
class OAuthClient;
class TokenProvider;
class CalendarClient;
}  // namespace telemeet::google

namespace telemeet::crypto {
class KeyRing;
}

namespace telemeet::sync {
class GoogleAvailability;
}

namespace telemeet::obs {
class Registry;
}

namespace telemeet::api {

struct ApiOptions {
  // How browsers and integrators reach this service ("https://telemeet.clinic.example"); patient
  // access links and the default OAuth redirect URI are built from it. No trailing slash.
  std::string public_url = "http://127.0.0.1:8080";
  // Argon2id limits for new passwords (tests pass crypto::PasswordLimits::Minimum()).
  crypto::PasswordLimits password_limits = crypto::PasswordLimits::Interactive();
  // Failed sign-ins: per address and per account, in memory (login_throttle.h).
  LoginThrottleOptions login_throttle{};
  // Peers (reverse proxies) whose X-Forwarded-For names the client (auth.h ClientAddress).
  std::vector<std::string> trusted_proxies{};
  // A session ends `session_ttl` after sign-in, or `session_idle` after its last use.
  std::chrono::seconds session_ttl{std::chrono::hours(12)};
  std::chrono::seconds session_idle{std::chrono::minutes(30)};
  std::chrono::seconds idempotency_ttl{std::chrono::hours(24)};
  std::chrono::seconds oauth_state_ttl{std::chrono::minutes(10)};
  // A patient access link expires this long after the appointment ends.
  std::chrono::seconds access_link_after_end{std::chrono::days(7)};
  // API keys' last_used_at is written at most this often per key (reads stay read-only).
  std::chrono::seconds api_key_touch_interval{60};
  // A verified API key is remembered this long in this process (0 = never), saving a store read
  // per request. A key revoked through this process stops at once; one revoked through another
  // instance works here for at most this long.
  std::chrono::milliseconds api_key_cache_ttl{2000};
  // GET /api/v1/appointments/{id} (and .../meeting) answers kept until the next commit
  // (view_cache.h; SQLite only), at most this many of each (0 = none).
  size_t view_cache_entries = 4096;
  size_t max_body_bytes = 64 * 1024;  // larger bodies: 413
  // Where webhook endpoints may point (the dispatcher's policy): a URL is checked when it is
  // saved, its resolved addresses again when a delivery connects. Default: https only, no
  // internal address.
  net::DestinationPolicy webhook_destinations{};
  // Patient reminders' lead times from the configuration (notify.reminders), largest first;
  // what GET /api/v1/settings/reminders answers until an admin saves others.
  std::vector<std::chrono::seconds> reminder_lead_times{std::chrono::hours(24),
                                                        std::chrono::hours(1)};
  // The booking policy google_busy ("ignore", "warn", "refuse") until the settings API sets one.
  std::string google_busy_default = "warn";
  // The configuration's defaults of two meeting policies (config meeting.invite_patient and
  // meeting.event_reminders), answered while the settings hold none.
  bool meeting_invite_patient = false;
  std::string meeting_event_reminders = "default";
  // Origins ("https://clinic.example", exact scheme://host[:port]) besides this site that a
  // Google connect's return_to may lead back to (config integrations.allowed_return_origins).
  std::vector<std::string> allowed_return_origins{};
  // Defaults of the Meet policies (issue 18) until an admin saves them.
  std::string meeting_access_type = "default";
  std::string attendance_mode = "off";
  int attendance_min_minutes = 5;
};

class AppointmentViewCache;
class AuthCache;
class LiveGoogleConfig;
class LoginThrottle;
class UsageRecorder;

// A page the API answers to a person's browser (the last step of the Google connect flow): a
// title, a message and one link onward, all plain text (the renderer escapes them).
struct BrowserPage {
  int status = 200;
  std::string_view title;
  std::string_view message;
  std::string_view link_href;
  std::string_view link_text;
};

// Renders a BrowserPage as a complete response: the HTML and its headers. The API layer sits
// below the web UI, so the UI's look (stylesheet, header, sandbox banner, security policy)
// reaches it through this hook: web::BrowserPages makes one.
using PageRenderer = std::function<net::Response(const BrowserPage&)>;

struct ApiDeps {
  store::Store& store;
  Clock& clock;
  // The Google side; null when Google is not configured (the connect routes answer 503).
  google::OAuthClient* oauth = nullptr;
  // The live OAuth client configuration `oauth` reads (google_settings.h): saving the Google
  // settings reloads it, the Google routes refresh it when stale. Null: `oauth` has a fixed
  // configuration and saved settings apply after a restart (the answer says so).
  LiveGoogleConfig* google_config = nullptr;
  google::TokenProvider* tokens = nullptr;
  google::CalendarClient* calendar = nullptr;
  // Google's busy times through the free/busy cache (sync/availability.h); null: availability
  // answers from telemeet's own appointments and bookings are never checked against Google.
  sync::GoogleAvailability* availability = nullptr;
  // Seals the OAuth client secret, PKCE verifiers and webhook secrets at rest; opens grants to
  // revoke them. Required for settings, connect and webhook endpoints (else 503).
  crypto::KeyRing* keys = nullptr;
  // Called after a commit that made work due (appointment changes, retries, reconnects): wire
  // it to the reconciler worker's Nudge so it does not wait for its next poll.
  std::function<void()> on_work_enqueued{};
  ApiOptions options{};
  // Where the routes count what is worth watching (the kept answers' hits and misses); null:
  // nothing is counted.
  obs::Registry* metrics = nullptr;
  // Dresses the browser pages above as the web UI's pages (serve.cc passes web::BrowserPages).
  // Null: a bare HTML page with the same words.
  PageRenderer render_page{};
  // POST /api/v1/appointments/{id}/meeting/refresh's work (M13; serve.cc wires
  // sync::MeetingRefresher): reads the event from Google again and corrects the stored meeting,
  // naming `actor` in the audit trail. kResourceExhausted sets *retry_after (429 Retry-After);
  // kFailedPrecondition when there is no event to read. Null: the route answers 503.
  std::function<Status(int64_t appointment_id, std::string_view actor,
                       std::chrono::seconds* retry_after)>
      refresh_meeting{};
  // Internal state of the routes, created by RegisterApiRoutes: the API key cache, the
  // sign-in throttle, the writer of usage times and the kept appointment answers.
  std::shared_ptr<AuthCache> auth_cache{};
  std::shared_ptr<LoginThrottle> login_throttle{};
  std::shared_ptr<UsageRecorder> usage{};
  std::shared_ptr<AppointmentViewCache> view_cache{};     // GET /appointments/{id}
  std::shared_ptr<AppointmentViewCache> meeting_cache{};  // GET /appointments/{id}/meeting
};

// Registers every /api/v1 route, /oauth/google/start and /oauth/google/callback, and installs
// the JSON error renderer on `router`. `deps` must outlive the router.
void RegisterApiRoutes(net::Router& router, ApiDeps& deps);

// The OpenAPI 3 document (src/api/openapi.json, embedded at build time).
std::string_view OpenApiDocument();

// Creates an admin user named "Administrator" (CreateUser in accounts.h). kAlreadyExists
// (field "email") when a user with that email exists; kInvalidArgument for a bad email or a
// password shorter than 10 characters.
Result<core::User> CreateAdmin(
    store::Store& store, std::string_view email, std::string_view password,
    const crypto::PasswordLimits& limits = crypto::PasswordLimits::Interactive());

// A new integrator API key: the full secret "tm_<prefix>_<secret>" is returned once and only its
// SHA-256 is stored. Scopes: "read", "write" (space separated, at least one).
struct NewApiKey {
  core::ApiKey key;
  std::string secret;
};
// `also`, when given, runs in the transaction that stores the key (the admin audit).
Result<NewApiKey> CreateApiKey(
    store::Store& store, std::string_view name, std::string_view scopes,
    const std::function<Status(store::Tx&, const core::ApiKey&)>& also = {});

}  // namespace telemeet::api
