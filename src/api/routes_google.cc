// A doctor's Google connection (M2, M5, M6): start the connect flow, the browser's callback,
// status, test, disconnect.
#include <algorithm>
#include <cstdlib>

#include "api/admin_audit.h"
#include "api/google_settings.h"
#include "api/jobs.h"
#include "api/request.h"
#include "api/views.h"
#include "base/strings.h"
#include "core/meeting.h"
#include "core/time.h"
#include "crypto/keyring.h"
#include "crypto/random.h"
#include "google/calendar_client.h"
#include "google/grant_store.h"
#include "google/oauth_client.h"
#include "google/token_provider.h"
#include "net/json.h"
#include "obs/log.h"
#include "sync/bulk.h"
#include "sync/attendance.h"

namespace telemeet::api {

using nlohmann::json;

namespace {

constexpr net::RouteOptions kOffload{.offload = true};

// The plain-language page a doctor sees at the end of the connect flow, with a way back to
// their page; dressed as the web UI's pages when the app gave a renderer.
net::Response Page(const ApiDeps& deps, int status, std::string_view title, std::string_view text) {
  // "/" sends a signed-in admin or doctor to their own page, anyone else to the sign-in.
  const BrowserPage page{.status = status,
                         .title = title,
                         .message = text,
                         .link_href = "/",
                         .link_text = "Back to your page"};
  if (deps.render_page) return deps.render_page(page);
  std::string html =
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>" +
      HtmlEscape(page.title) + " - telemeet</title></head><body><main><h1>" +
      HtmlEscape(page.title) + "</h1><p>" + HtmlEscape(page.message) + "</p><p><a href=\"" +
      HtmlEscape(page.link_href) + "\">" + HtmlEscape(page.link_text) +
      "</a></p></main></body></html>";
  net::Response r = net::Response::Html(page.status, std::move(html));
  r.headers.Set("Cache-Control", "no-store");
  r.headers.Set("Content-Security-Policy", "default-src 'none'");
  r.headers.Set("Referrer-Policy", "no-referrer");
  return r;
}

// The verifier is sealed to its state and, for a flow started from a browser session, to a
// random nonce kept in that browser's tm_oauth cookie: only a callback carrying the cookie can
// open it, so a consent link lured out of one browser cannot be completed in another. Not the
// session cookie: it is SameSite=Strict, and a browser does not send it on the navigation from
// Google back to the callback (another site); tm_oauth is Lax, which a top-level GET carries. A
// flow started with an API key is bound to no browser (the integrator hands the link on).
constexpr std::string_view kOAuthCookie = "tm_oauth";

std::string StateAad(std::string_view state_hash, std::string_view nonce_hash) {
  std::string aad = "oauth_state:" + std::string(state_hash) + "/verifier";
  if (!nonce_hash.empty()) aad += "/browser:" + std::string(nonce_hash);
  return aad;
}

// The Set-Cookie value binding a flow to this browser for as long as the state lives; an empty
// nonce clears it.
std::string OAuthCookie(const ApiOptions& options, std::string_view nonce) {
  std::string c = std::string(kOAuthCookie) + "=" + std::string(nonce) +
                  "; Path=/oauth/google/callback; HttpOnly; SameSite=Lax; Max-Age=" +
                  std::to_string(nonce.empty() ? 0 : options.oauth_state_ttl.count());
  if (options.public_url.starts_with("https://")) c += "; Secure";
  return c;
}

// A flow started: the authorization URL, and the cookie to set in a browser that started it.
struct Started {
  json body;
  std::string set_cookie;  // empty for API keys
};

Status NeedGoogle(ApiDeps& deps) {
  if (deps.oauth == nullptr || deps.keys == nullptr || deps.tokens == nullptr) {
    return Fail(ErrorCode::kUnavailable,
                "Google is not configured: set the OAuth client in the settings first");
  }
  return Ok();
}

// Settings saved by another instance reach this one's Google routes within reload_after.
void FreshGoogleSettings(ApiDeps& deps) {
  if (deps.google_config != nullptr) deps.google_config->ReloadIfStale();
}

// Starts a connect flow for the doctor: a random single-use state (stored hashed, expiring,
// bound to the doctor) and a sealed PKCE verifier. Returns the authorization URL.
// The Meet features a doctor may allow on top of the calendar (issue 18), by incremental
// authorization: their scopes are added to the connect flow's.
Result<std::vector<std::string>> FeatureScopes(const std::vector<std::string>& features,
                                               std::string_view field) {
  std::vector<std::string> scopes;
  for (const std::string& f : features) {
    std::vector<std::string> more = sync::MeetFeatureScopes(f);
    if (more.empty()) {
      return Fail(ErrorCode::kInvalidArgument,
                  std::string(field) + " may name attendance and access_type, not \"" + f + "\"",
                  std::string(field));
    }
    scopes.insert(scopes.end(), more.begin(), more.end());
  }
  return scopes;
}

Result<Started> StartConnect(Call& c, int64_t doctor_id, std::string return_to,
                             const std::vector<std::string>& extra_scopes = {}) {
  // Who may comes first: a caller without the right learns nothing about the configuration.
  TM_TRY(AuthorizeDoctor(c.principal, doctor_id));
  TM_TRY(NeedGoogle(c.deps));
  auto doctor = c.deps.store.Read([&](store::Tx& tx) { return tx.GetDoctor(doctor_id); });
  if (!doctor) return std::unexpected(doctor.error());
  FreshGoogleSettings(c.deps);
  std::string state = crypto::RandomToken(32);
  auto auth = c.deps.oauth->BuildAuthorizationUrl(state, doctor->email, extra_scopes);
  if (!auth) return std::unexpected(auth.error());
  std::string state_hash = TokenHash(state);
  std::string nonce = c.principal.via_cookie ? crypto::RandomToken(24) : std::string();
  auto sealed = c.deps.keys->Seal(auth->code_verifier,
                                  StateAad(state_hash, nonce.empty() ? "" : TokenHash(nonce)));
  if (!sealed) return std::unexpected(sealed.error());
  Instant expires = c.deps.clock.Now() + c.deps.options.oauth_state_ttl;
  auto put = c.deps.store.Transact([&](store::Tx& tx) -> Status {
    TM_TRY(tx.PutOAuthState({.state_hash = state_hash,
                             .doctor_id = doctor_id,
                             .sealed_verifier = *sealed,
                             .return_to = return_to,
                             .expires_at = expires}));
    // Whoever completes it, the flow is traceable to who started it: an integrator's flow is
    // bound to no browser, so its key is what the audit can name.
    return AuditAdminChange(tx, c.principal, "google_connection", "google.connect_started",
                            "doctor:" + std::to_string(doctor_id),
                            {{"bound_to_browser", !nonce.empty()}});
  });
  if (!put) return std::unexpected(put.error());
  return Started{json{{"object", "google_connect"},
                      {"authorization_url", auth->url},
                      {"expires_at", TimeJson(expires)}},
                 nonce.empty() ? std::string() : OAuthCookie(c.deps.options, nonce)};
}

// True when absolute URL `r` lies on one of `origins` (integrations.allowed_return_origins):
// its scheme://host[:port] equals a listed origin exactly (ASCII case aside). Userinfo is refused
// ("https://clinic.example@evil.example/" goes to evil.example), so is the backslash (browsers
// read it as a slash) and any space: they are how a URL names a host other than the one it seems
// to.
bool OnAllowedOrigin(std::string_view r, const std::vector<std::string>& origins) {
  if (r.find_first_of(" \\") != std::string_view::npos) return false;
  size_t scheme_end = r.find("://");
  if (scheme_end == std::string_view::npos) return false;
  std::string_view scheme = r.substr(0, scheme_end);
  if (!EqualsIgnoreCase(scheme, "https") && !EqualsIgnoreCase(scheme, "http")) return false;
  std::string_view origin = r.substr(0, r.find_first_of("/?#", scheme_end + 3));
  if (origin.find('@') != std::string_view::npos) return false;
  return std::any_of(origins.begin(), origins.end(),
                     [&](const std::string& o) { return EqualsIgnoreCase(origin, o); });
}

// Where the browser goes after a successful connect, or empty: a path on this site, or an
// absolute URL on one of `origins` (the booking system that started the flow). Not "//host" or
// "/\\host" (browsers read both as another site: an open redirect), and no CR, LF or other
// control character: the value becomes a Location header, where CR LF would start a header of
// the caller's choosing.
std::string SafeReturnTo(std::string_view r, const std::vector<std::string>& origins) {
  bool controls = std::any_of(r.begin(), r.end(), [](unsigned char ch) {
    return ch < 0x20 || ch == 0x7f;
  });
  if (controls || r.size() >= 2048) return {};
  if (r.starts_with("/") && !r.starts_with("//") && r.find('\\') == std::string_view::npos &&
      r.size() < 512) {
    return std::string(r);
  }
  if (OnAllowedOrigin(r, origins)) return std::string(r);
  return {};
}

// M2: Google refused the redirect URI telemeet sent (not registered for the client, or changed
// in the settings between the start of the flow and its end).
net::Response RedirectMismatchPage(ApiDeps& deps) {
  return Page(deps, 400, "The Google settings do not match",
              "Google refused the sign-in because the return address telemeet gave it (" +
                  deps.oauth->config().redirect_uri +
                  ") is not registered for this clinic's Google client. Please ask your clinic "
                  "administrator to add it to the client's authorized redirect URIs in the Google "
                  "Cloud console, then press \"Connect Google\" again.");
}

net::Response Callback(net::Request& req, ApiDeps& deps) {
  auto params = req.QueryParams().value_or(KeyValues{});
  auto state = FindValue(params, "state");
  auto code = FindValue(params, "code");
  auto error = FindValue(params, "error");
  if (!state || state->empty()) {
    return Page(deps, 400, "This sign-in link is incomplete",
                "The answer from Google did not carry the sign-in reference telemeet needs. "
                "Please go back to telemeet and press \"Connect Google\" again.");
  }
  if (deps.oauth == nullptr || deps.keys == nullptr || deps.tokens == nullptr) {
    return Page(deps, 503, "Google is not set up yet",
                "Your clinic administrator has not configured the Google connection yet.");
  }
  Instant now = deps.clock.Now();
  std::string state_hash = TokenHash(*state);
  auto st =
      deps.store.Transact([&](store::Tx& tx) { return tx.ConsumeOAuthState(state_hash, now); });
  if (!st) {
    if (st.error().code() == ErrorCode::kNotFound) {
      return Page(deps, 400, "This sign-in link has expired or was already used",
                  "For your safety each Google sign-in works once and for a few minutes only. "
                  "Please go back to telemeet and press \"Connect Google\" again.");
    }
    return Page(deps, 503, "Something went wrong on our side",
                "telemeet could not check your sign-in right now. Please try again shortly.");
  }
  // Bound to the doctor who started it: a signed-in doctor cannot finish another's flow.
  if (CookieValue(req, kSessionCookie)) {
    if (auto p = Authenticate(req, deps);
        p && p->kind == Principal::Kind::kDoctor && p->doctor_id != st->doctor_id) {
      return Page(deps, 400, "This sign-in belongs to someone else",
                  "This Google sign-in was started for another doctor's account. Please press "
                  "\"Connect Google\" on your own page.");
    }
  }
  if (error) {
    if (*error == "access_denied") {
      return Page(deps, 400, "Google access was not allowed",
                  "You chose not to give telemeet access to your Google Calendar, so no "
                  "consultation links can be created. To try again, press \"Connect Google\" "
                  "and choose Allow.");
    }
    if (*error == "redirect_uri_mismatch") return RedirectMismatchPage(deps);
    return Page(deps, 400, "Google could not complete the sign-in",
                "Google reported a problem (" + *error +
                    "). Please ask your clinic administrator to check the Google settings.");
  }
  if (!code || code->empty()) {
    return Page(deps, 400, "This sign-in link is incomplete",
                "The answer from Google carried no authorization code. Please press \"Connect "
                "Google\" again.");
  }
  // Bound to the browser that started it, if one did (StateAad).
  std::string nonce = CookieValue(req, kOAuthCookie).value_or("");
  Result<std::string> verifier = Fail(ErrorCode::kNotFound, "no browser binding");
  if (!nonce.empty()) {
    verifier = deps.keys->Open(st->sealed_verifier, StateAad(state_hash, TokenHash(nonce)));
  }
  if (!verifier) verifier = deps.keys->Open(st->sealed_verifier, StateAad(state_hash, ""));
  if (!verifier) {
    return Page(deps, 400, "This sign-in belongs to another browser",
                "This Google sign-in was started in another browser or by another signed-in "
                "user, so telemeet cannot finish it here. Please sign in to telemeet in this "
                "browser and press \"Connect Google\" again.");
  }
  FreshGoogleSettings(deps);
  auto grant = deps.oauth->ExchangeCode(*code, *verifier);
  if (!grant) {
    const google::GoogleError& e = grant.error();
    obs::Log().Warn("google connect failed",
                    {{"doctor_id", st->doctor_id}, {"kind", google::ErrorKindName(e.kind())}});
    if (e.reason() == "redirect_uri_mismatch") return RedirectMismatchPage(deps);
    switch (e.kind()) {
      case google::ErrorKind::kScopeNotGranted:
        return Page(deps, 400, "Calendar access is missing",
                    "You signed in, but the box allowing telemeet to manage your calendar "
                    "events was not ticked. Please press \"Connect Google\" again and tick it.");
      case google::ErrorKind::kInvalidGrant:
        return Page(deps, 400, "This Google sign-in has expired",
                    "Google no longer accepts this sign-in (it expired or was used already). "
                    "Please press \"Connect Google\" again.");
      case google::ErrorKind::kInvalidClient:
        return Page(deps, 502, "The Google settings are wrong",
                    "Google did not accept telemeet's client settings. Please ask your clinic "
                    "administrator to check the Google client id and secret.");
      default:
        return Page(deps, 502, "Google did not answer as expected",
                    "telemeet could not finish the sign-in with Google. Please try again in a "
                    "few minutes.");
    }
  }
  std::string email;
  if (deps.calendar != nullptr) {
    auto cal = deps.calendar->PrimaryCalendarWithToken(grant->access_token);
    if (cal) email = cal->id;
  }
  std::string doctor = std::to_string(st->doctor_id);
  if (auto s = deps.tokens->StoreNewGrant(doctor, *grant, email); !s) {
    return Page(deps, 500, "Something went wrong on our side",
                "telemeet could not save your Google connection. Please try again.");
  }
  // Work parked while the doctor had no grant resumes now. The doctor's Google id (the ID
  // token's sub, when openid was granted for attendance) is kept for telling the doctor among
  // Meet's participants; a grant without one keeps the earlier id only for the same account.
  const std::string sub = google::IdTokenSubject(grant->id_token, deps.oauth->config().client_id);
  auto woke = deps.store.Transact([&](store::Tx& tx) -> Result<int64_t> {
    if (!sub.empty() && !email.empty()) {
      TM_TRY(tx.PutSetting(sync::GoogleSubjectSettingKey(st->doctor_id),
                           sync::GoogleSubjectSettingValue(sub, email)));
    }
    // Meet features allowed now apply to the meetings that exist already, when the policy
    // asks for any.
    const core::MeetPolicy policy =
        TM_TRY(sync::MeetPolicyOf(tx, core::MeetPolicyDefaults(deps.options.attendance_mode,
                                                               deps.options.attendance_min_minutes,
                                                               deps.options.meeting_access_type)));
    if (policy.WantsWork()) {
      TM_TRY(sync::ScheduleReadyMeetWork(tx, st->doctor_id, deps.clock.Now()));
    }
    return tx.WakeDoctor(st->doctor_id);
  });
  if (!woke) {
    obs::Log().Warn("waking the doctor's work failed", {{"doctor_id", st->doctor_id}});
  }
  NotifyWork(deps);
  net::Response done;
  if (std::string to = SafeReturnTo(st->return_to, deps.options.allowed_return_origins);
      !to.empty()) {
    done = net::Response::Redirect(to, 303);
  } else {
    done = Page(deps, 200, "Google Calendar is connected",
                "telemeet is now connected" + (email.empty() ? std::string() : " to " + email) +
                    ". Your telemedicine appointments will appear in your Google Calendar with "
                    "a Google Meet link. You can close this page.");
  }
  if (!nonce.empty()) done.headers.Add("Set-Cookie", OAuthCookie(deps.options, ""));
  return done;
}

Result<json> GrantStatus(store::Tx& tx, int64_t doctor_id) {
  auto g = tx.GetGrant(doctor_id);
  if (!g) {
    if (g.error().code() != ErrorCode::kNotFound) return std::unexpected(g.error());
    json out{
        {"object", "google_connection"}, {"doctor_id", doctor_id},   {"connected", false},
        {"status", "not_connected"},     {"account_email", nullptr}, {"scopes", json::array()},
        {"last_error", nullptr},         {"updated_at", nullptr}};
    out["features"] = {{"attendance", "missing"}, {"access_type", "missing"}};
    return out;
  }
  json scopes = json::array();
  for (std::string_view s : Split(g->scopes, ' ')) {
    if (!s.empty()) scopes.push_back(std::string(s));
  }
  // What each Meet feature needs and whether the grant has it (issue 18).
  json features = json::object();
  for (std::string_view f : {"attendance", "access_type"}) {
    features[f] = sync::GrantCovers(g->scopes, f) ? "granted" : "missing";
  }
  return json{{"object", "google_connection"},
              {"doctor_id", doctor_id},
              {"connected", g->status == core::GrantStatus::kActive},
              {"status", core::Name(g->status)},
              {"account_email", g->account_email.empty() ? json(nullptr) : json(g->account_email)},
              {"scopes", std::move(scopes)},
              {"features", std::move(features)},
              {"last_error", g->last_error.empty() ? json(nullptr) : json(g->last_error)},
              {"updated_at", TimeJson(g->updated_at)}};
}

// --- Disconnect (M5) ---

// What happens to the doctor's future meetings: keep (default) leaves their events at Google,
// cancel deletes them first.
enum class OnDisconnect { kKeep, kCancel };

Result<OnDisconnect> DisconnectChoice(const net::Request& req) {
  std::optional<std::string> m = req.Query("meetings");
  if (!m || *m == "keep") return OnDisconnect::kKeep;
  if (*m == "cancel") return OnDisconnect::kCancel;
  return Fail(ErrorCode::kInvalidArgument, "meetings must be keep or cancel", "meetings");
}

// meetings=cancel: the deletes are bulk work, never done inside the request (DESIGN "Growing
// it"): a bulk job the service's bulk worker runs through batch requests, which then stops the
// push channel, revokes and removes the grant (sync/bulk.h). A second request while one is
// open answers with that one.
Result<net::Response> StartDisconnectCancel(Call& c, int64_t id) {
  if (c.deps.calendar == nullptr) return Fail(ErrorCode::kUnavailable, "Google is not configured");
  const store::BulkJob job =
      TM_TRY(c.deps.store.Transact([&](store::Tx& tx) -> Result<store::BulkJob> {
        auto open = TM_TRY(tx.FindOpenBulkJob(sync::kBulkDisconnectCancel, id, "{}"));
        if (open) return *open;
        store::BulkJob j;
        j.kind = std::string(sync::kBulkDisconnectCancel);
        j.doctor_id = id;
        j.params = "{}";
        j.created_by = c.principal.actor;
        store::BulkJob made = TM_TRY(tx.CreateBulkJob(std::move(j)));
        TM_TRY(AuditAdminChange(tx, c.principal, "google_connection", "google.disconnect_started",
                                "doctor:" + std::to_string(id),
                                {{"meetings", "cancel"}, {"bulk_job_id", made.id}}));
        return made;
      }));
  NotifyWork(c.deps);
  json body = BulkJobJson(job);
  body["meetings"] = "cancel";
  net::Response resp = net::JsonResponse(202, body);
  resp.headers.Set("Location", body["url"].get<std::string>());
  return resp;
}

// DELETE /api/v1/doctors/{id}/google?meetings=keep|cancel. keep: revokes the grant at Google
// and deletes it here; the future meetings' events stay in the doctor's calendar and their
// links keep working; what changes later waits for the doctor (awaiting_doctor/needs_reconnect
// once the worker looks). The calendar's push channel is stopped (best effort) and the grant is
// removed, also when Google cannot be reached for the revoke (the answer says so). cancel: 202
// with a bulk job (StartDisconnectCancel) that deletes the future events, records each as
// meeting.cancelled, then does the same.
Result<net::Response> Disconnect(Call& c) {
  const int64_t id = TM_TRY(PathId(c.req, "doctor"));
  TM_TRY(AuthorizeDoctor(c.principal, id));
  const OnDisconnect choice = TM_TRY(DisconnectChoice(c.req));
  const std::string doctor = std::to_string(id);
  auto grant = c.deps.store.Read([&](store::Tx& tx) { return tx.GetGrant(id); });
  if (!grant) {
    if (grant.error().code() == ErrorCode::kNotFound) {
      return Fail(ErrorCode::kFailedPrecondition, "doctor " + doctor + " has no Google connection");
    }
    return std::unexpected(grant.error());
  }
  FreshGoogleSettings(c.deps);
  if (choice == OnDisconnect::kCancel) return StartDisconnectCancel(c, id);

  // Stop the calendar's push channel while the grant still works (after the revoke Google would
  // refuse it, and its pushes would go on until it expires). The sync state forgets the channel
  // and its sync token: a reconnect opens a new channel and syncs in full, since what happened
  // in between was not followed.
  auto sync = c.deps.store.Read([&](store::Tx& tx) { return tx.GetCalendarSync(id); });
  if (!sync && sync.error().code() != ErrorCode::kNotFound) return std::unexpected(sync.error());
  if (sync && !sync->channel_id.empty() && c.deps.calendar != nullptr) {
    auto stopped =
        c.deps.calendar->StopChannel(doctor, sync->channel_id, sync->channel_resource_id);
    if (!stopped) {
      obs::Log().Warn("stopping the Google push channel on disconnect failed",
                      {{"doctor_id", id}, {"error", stopped.error().ToString()}});
    }
  }

  // Revoke at Google; a grant Google cannot be reached for is still removed here.
  bool revoked = false;
  std::string revoke_error;
  if (c.deps.oauth != nullptr && c.deps.keys != nullptr && !grant->sealed_refresh_token.empty()) {
    auto token = c.deps.keys->Open(grant->sealed_refresh_token,
                                   google::GrantAad(doctor, google::kRefreshTokenPurpose));
    if (token) {
      auto rv = c.deps.oauth->Revoke(*token);
      revoked = rv.has_value();
      if (!rv) revoke_error = rv.error().ToString();
    } else {
      revoke_error = "the stored token cannot be opened";
    }
  }
  const Instant now = c.deps.clock.Now();
  TM_TRY(c.deps.store.Transact([&](store::Tx& tx) -> Status {
    TM_TRY(tx.DeleteGrant(id));
    if (sync) {
      store::CalendarSyncState cleared{.doctor_id = id, .calendar_id = sync->calendar_id};
      cleared.updated_at = now;
      TM_TRY(tx.PutCalendarSync(cleared));
    }
    return Ok();
  }));
  if (c.deps.tokens != nullptr) c.deps.tokens->Forget(doctor);
  NotifyWork(c.deps);
  return net::JsonResponse(
      200, {{"object", "google_connection"},
            {"doctor_id", id},
            {"connected", false},
            {"revoked_at_google", revoked},
            {"revoke_error", revoke_error.empty() ? json(nullptr) : json(revoke_error)},
            {"meetings", "keep"},
            {"cancelled_appointment_ids", json::array()},
            {"cancel_errors", json::array()}});
}

}  // namespace

void RegisterGoogleRoutes(net::Router& r, ApiDeps& deps) {
  r.Post("/api/v1/doctors/{id}/google/connect",
         Handle(deps, Access::kWrite,
                [](Call& c) -> Result<net::Response> {
                  auto id = PathId(c.req, "doctor");
                  if (!id) return std::unexpected(id.error());
                  std::string return_to;
                  std::vector<std::string> extra_scopes;
                  if (!Trim(c.req.body).empty()) {
                    auto body = Body::Parse(c.req, c.deps.options, {"return_to", "features"});
                    if (!body) return std::unexpected(body.error());
                    if (auto f = TM_TRY(body->OptStrings("features"))) {
                      extra_scopes = TM_TRY(FeatureScopes(*f, "features"));
                    }
                    auto rt = body->OptString("return_to");
                    if (!rt) return std::unexpected(rt.error());
                    if (*rt) {
                      return_to = SafeReturnTo(**rt, c.deps.options.allowed_return_origins);
                      if (return_to.empty()) {
                        return Fail(ErrorCode::kInvalidArgument,
                                    "return_to must be a path on this site, like /doctor, or a "
                                    "URL on an origin listed in "
                                    "integrations.allowed_return_origins",
                                    "return_to");
                      }
                    }
                  }
                  auto out = StartConnect(c, *id, return_to, extra_scopes);
                  if (!out) return std::unexpected(out.error());
                  net::Response resp = net::JsonResponse(201, out->body);
                  if (!out->set_cookie.empty()) resp.headers.Add("Set-Cookie", out->set_cookie);
                  return resp;
                }),
         kOffload);

  // The browser way in: a signed-in doctor (or admin) is sent straight to Google.
  r.Get(
      "/oauth/google/start",
      Handle(deps, Access::kRead,
             [](Call& c) -> Result<net::Response> {
               int64_t doctor_id = c.principal.doctor_id;
               if (auto q = c.req.Query("doctor_id")) {
                 doctor_id = std::atoll(q->c_str());
               }
               if (doctor_id <= 0) {
                 return Fail(ErrorCode::kInvalidArgument, "doctor_id is required", "doctor_id");
               }
               if (!c.principal.via_cookie) {
                 return Fail(ErrorCode::kPermissionDenied,
                             "the browser flow needs a signed-in user; integrators use "
                             "POST /api/v1/doctors/{id}/google/connect");
               }
               std::vector<std::string> features;
               for (std::string_view f : Split(c.req.Query("features").value_or(""), ',')) {
                 if (!f.empty()) features.emplace_back(f);
               }
               auto extra_scopes = TM_TRY(FeatureScopes(features, "features"));
               auto out = StartConnect(
                   c, doctor_id, SafeReturnTo(c.req.Query("return_to").value_or(""),
                                               c.deps.options.allowed_return_origins), extra_scopes);
               if (!out) return std::unexpected(out.error());
               net::Response resp = net::Response::Redirect(
                   out->body["authorization_url"].get<std::string>(), 302);
               if (!out->set_cookie.empty()) resp.headers.Add("Set-Cookie", out->set_cookie);
               return resp;
             }),
      kOffload);

  r.Get(
      "/oauth/google/callback", [&deps](net::Request& req) { return Callback(req, deps); },
      kOffload);

  r.Get("/api/v1/doctors/{id}/google",
        Handle(deps, Access::kRead,
               [](Call& c) -> Result<net::Response> {
                 auto id = PathId(c.req, "doctor");
                 if (!id) return std::unexpected(id.error());
                 if (auto s = AuthorizeDoctor(c.principal, *id); !s)
                   return std::unexpected(s.error());
                 auto out = c.deps.store.Read([&](store::Tx& tx) -> Result<json> {
                   auto d = tx.GetDoctor(*id);
                   if (!d) return std::unexpected(d.error());
                   return GrantStatus(tx, *id);
                 });
                 if (!out) return std::unexpected(out.error());
                 return net::JsonResponse(200, *out);
               }),
        kOffload);

  r.Post("/api/v1/doctors/{id}/google/test",
         Handle(deps, Access::kWrite,
                [](Call& c) -> Result<net::Response> {
                  auto id = PathId(c.req, "doctor");
                  if (!id) return std::unexpected(id.error());
                  if (auto s = AuthorizeDoctor(c.principal, *id); !s)
                    return std::unexpected(s.error());
                  if (c.deps.calendar == nullptr) {
                    return Fail(ErrorCode::kUnavailable, "Google is not configured");
                  }
                  auto d = c.deps.store.Read([&](store::Tx& tx) { return tx.GetDoctor(*id); });
                  if (!d) return std::unexpected(d.error());
                  auto cal = c.deps.calendar->PrimaryCalendar(std::to_string(*id));
                  if (!cal) {
                    const google::GoogleError& e = cal.error();
                    return net::JsonResponse(
                        200, {{"object", "google_connection_test"},
                              {"ok", false},
                              {"reason", google::ErrorKindName(e.kind())},
                              {"needs_reconnect",
                               e.NeedsReconnect() || e.kind() == google::ErrorKind::kNotConnected},
                              {"message", e.message()}});
                  }
                  return net::JsonResponse(200, {{"object", "google_connection_test"},
                                                 {"ok", true},
                                                 {"account_email", cal->id},
                                                 {"time_zone", cal->time_zone}});
                }),
         kOffload);

  r.Delete("/api/v1/doctors/{id}/google", Handle(deps, Access::kWrite, Disconnect), kOffload);
}

}  // namespace telemeet::api
