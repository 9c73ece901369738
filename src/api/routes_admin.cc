// Sessions (sign-in), users, API keys, settings (Google OAuth client, meeting policies), webhook
// endpoints and the event/delivery log.
#include <algorithm>

#include "api/accounts.h"
#include "api/admin_audit.h"
#include "api/google_settings.h"
#include "api/idempotency.h"
#include "api/request.h"
#include "api/views.h"
#include "api/webhooks.h"
#include "core/attendance.h"
#include "core/meeting.h"
#include "core/validation.h"
#include "crypto/keyring.h"
#include "crypto/random.h"
#include "google/oauth_client.h"
#include "net/json.h"
#include "sync/attendance.h"

namespace telemeet::api {

using nlohmann::json;

namespace {

constexpr net::RouteOptions kOffload{.offload = true};

std::unexpected<Error> Invalid(std::string message, std::string field) {
  return Fail(ErrorCode::kInvalidArgument, std::move(message), std::move(field));
}

Status NeedKeys(ApiDeps& deps) {
  if (deps.keys == nullptr || deps.keys->empty()) {
    return Fail(ErrorCode::kUnavailable, "no master key is configured to seal secrets");
  }
  return Ok();
}

// --- Sessions ---

void RegisterSession(net::Router& r, ApiDeps& deps) {
  r.Post("/api/v1/session",
         Handle(deps, Access::kPublic,
                [](Call& c) -> Result<net::Response> {
                  auto body = Body::Parse(c.req, c.deps.options, {"email", "password"});
                  if (!body) return std::unexpected(body.error());
                  auto email = body->String("email");
                  if (!email) return std::unexpected(email.error());
                  auto password = body->String("password");
                  if (!password) return std::unexpected(password.error());
                  std::chrono::seconds retry_after{0};
                  auto login = Login(c.deps,
                                     {.email = *email,
                                      .password = *password,
                                      .remote_address = ClientAddress(c.req, c.deps.options.trusted_proxies),
                                      .device_cookie = CookieValue(c.req, kDeviceCookie)
                                                           .value_or("")},
                                     &retry_after);
                  if (!login) {
                    if (retry_after.count() == 0) return std::unexpected(login.error());
                    net::Response refused = net::ErrorResponse(login.error());
                    refused.headers.Set("Retry-After", std::to_string(retry_after.count()));
                    return refused;
                  }
                  net::Response resp =
                      net::JsonResponse(201, {{"user", UserJson(login->user)},
                                              {"csrf_token", login->session.csrf_token},
                                              {"expires_at", TimeJson(login->session.expires_at)}});
                  resp.headers.Add("Set-Cookie", SessionCookie(c.deps.options, login->token,
                                                               c.deps.options.session_ttl));
                  resp.headers.Add("Set-Cookie", DeviceCookieHeader(c.deps.options,
                                                                    login->device_cookie));
                  resp.headers.Set("Cache-Control", "no-store");
                  return resp;
                }),
         kOffload);
  r.Get("/api/v1/session",
        Handle(
            deps, Access::kRead,
            [](Call& c) -> Result<net::Response> {
              const Principal& p = c.principal;
              json out = {{"actor", p.actor}, {"can_read", p.can_read}, {"can_write", p.can_write}};
              if (p.user_id != 0) {
                auto u = c.deps.store.Read([&](store::Tx& tx) { return tx.GetUser(p.user_id); });
                if (!u) return std::unexpected(u.error());
                out["user"] = UserJson(*u);
                out["csrf_token"] = p.csrf_token;
              }
              net::Response resp = net::JsonResponse(200, out);
              resp.headers.Set("Cache-Control", "no-store");
              return resp;
            }),
        kOffload);
  r.Delete("/api/v1/session",
           Handle(deps, Access::kWrite,
                  [](Call& c) -> Result<net::Response> {
                    if (!c.principal.via_cookie) {
                      return Fail(ErrorCode::kFailedPrecondition,
                                  "API keys have no session to end");
                    }
                    auto token = CookieValue(c.req, kSessionCookie).value_or("");
                    auto s = c.deps.store.Transact(
                        [&](store::Tx& tx) { return tx.DeleteSession(TokenHash(token)); });
                    if (!s && s.error().code() != ErrorCode::kNotFound) {
                      return std::unexpected(s.error());
                    }
                    net::Response resp = net::Response::Empty(204);
                    resp.headers.Set("Set-Cookie", SessionCookie(c.deps.options, "", {}));
                    return resp;
                  }),
           kOffload);
}

// --- Users ---

void RegisterUsers(net::Router& r, ApiDeps& deps) {
  r.Post("/api/v1/users",
         Handle(deps, Access::kAdmin,
                [](Call& c) -> Result<net::Response> {
                  auto body = TM_TRY(Body::Parse(
                      c.req, c.deps.options, {"email", "name", "password", "role", "doctor_id"}));
                  // TM_TRY stays outside brace initializers (a statement expression there
                  // leaks on the early return under g++ 12).
                  NewUser u;
                  u.email = TM_TRY(body.String("email"));
                  u.name = TM_TRY(body.OptString("name"));
                  u.role = TM_TRY(body.String("role"));
                  u.doctor_id = TM_TRY(body.OptInt("doctor_id"));
                  u.password = TM_TRY(body.String("password"));
                  // The password is no part of what makes a retry the same request: its hash
                  // is not kept beside the key.
                  json same = body.json();
                  same.erase("password");
                  auto key = TM_TRY(IdempotencyKey::From(c, "users", same.dump()));
                  return CreateOnce(c, key, [&]() -> Result<net::Response> {
                    auto out = TM_TRY(CreateUser(
                        c.deps.store, u, c.principal.actor, c.deps.options.password_limits,
                        [&](store::Tx& tx, const core::User& made) {
                          return key.Remember(tx, c.deps, 201, UserJson(made));
                        }));
                    return net::JsonResponse(201, UserJson(out));
                  });
                }),
         kOffload);
  r.Get("/api/v1/users",
        Handle(deps, Access::kAdmin,
               [](Call& c) -> Result<net::Response> {
                 auto page = PageFrom(c.req);
                 if (!page) return std::unexpected(page.error());
                 auto p = c.deps.store.Read([&](store::Tx& tx) { return tx.ListUsers(*page); });
                 if (!p) return std::unexpected(p.error());
                 return net::JsonResponse(200, PageJson(*p, UserJson));
               }),
        kOffload);
  r.Patch("/api/v1/users/{id}",
          Handle(deps, Access::kAdmin,
                 [](Call& c) -> Result<net::Response> {
                   const int64_t id = TM_TRY(PathId(c.req, "user"));
                   auto body =
                       TM_TRY(Body::Parse(c.req, c.deps.options, {"name", "password", "disabled"}));
                   UserChange change;
                   change.name = TM_TRY(body.OptString("name"));
                   change.password = TM_TRY(body.OptString("password"));
                   change.disabled = TM_TRY(body.OptBool("disabled"));
                   auto out =
                       TM_TRY(UpdateUser(c.deps.store, id, change, c.principal.actor,
                                          c.deps.options.password_limits));
                   return net::JsonResponse(200, UserJson(out));
                 }),
          kOffload);
}

// --- API keys ---

void RegisterApiKeys(net::Router& r, ApiDeps& deps) {
  r.Post("/api/v1/api_keys",
         Handle(deps, Access::kAdmin,
                [](Call& c) -> Result<net::Response> {
                  auto body = Body::Parse(c.req, c.deps.options, {"name", "scopes"});
                  if (!body) return std::unexpected(body.error());
                  auto name = body->String("name");
                  if (!name) return std::unexpected(name.error());
                  auto scopes = body->OptStrings("scopes");
                  if (!scopes) return std::unexpected(scopes.error());
                  auto joined =
                      TM_TRY(JoinScopes(scopes->value_or(std::vector<std::string>{"read"})));
                  auto idem = TM_TRY(IdempotencyKey::From(c, "api_keys", body->json().dump()));
                  return CreateOnce(c, idem, [&]() -> Result<net::Response> {
                    auto audit = ApiKeyCreatedAudit(c.principal.actor);
                    auto also = [&](store::Tx& tx, const core::ApiKey& made) -> Status {
                      TM_TRY(audit(tx, made));
                      json kept = ApiKeyJson(made);
                      kept["secret"] = nullptr;  // never kept: a replay cannot show it
                      return idem.Remember(tx, c.deps, 201, kept);
                    };
                    auto key = TM_TRY(CreateApiKey(c.deps.store, *name, joined, also));
                    json out = ApiKeyJson(key.key);
                    out["secret"] = key.secret;  // shown once
                    net::Response resp = net::JsonResponse(201, out);
                    resp.headers.Set("Cache-Control", "no-store");
                    return resp;
                  });
                }),
         kOffload);
  r.Get("/api/v1/api_keys",
        Handle(deps, Access::kAdmin,
               [](Call& c) -> Result<net::Response> {
                 auto page = PageFrom(c.req);
                 if (!page) return std::unexpected(page.error());
                 auto p = c.deps.store.Read([&](store::Tx& tx) { return tx.ListApiKeys(*page); });
                 if (!p) return std::unexpected(p.error());
                 return net::JsonResponse(200, PageJson(*p, ApiKeyJson));
               }),
        kOffload);
  r.Delete("/api/v1/api_keys/{id}",
           Handle(deps, Access::kAdmin,
                  [](Call& c) -> Result<net::Response> {
                    auto id = PathId(c.req, "api key");
                    if (!id) return std::unexpected(id.error());
                    auto s = RevokeApiKey(c.deps.store, *id, c.principal.actor);
                    if (!s) return std::unexpected(s.error());
                    if (c.deps.auth_cache) c.deps.auth_cache->EvictKey(*id);
                    return net::Response::Empty(204);
                  }),
           kOffload);
}

// --- Settings ---

std::string SettingOr(store::Tx& tx, std::string_view key, std::string fallback) {
  auto v = tx.GetSetting(key);
  return v && !v->empty() ? *v : fallback;
}

// What the Google settings say: saved values over the configured defaults. The secret is never
// returned, only whether there is one. restart_required: saved settings this process does not
// use (sandbox mode, or an OAuth client without a live configuration).
Result<json> GoogleSettingsJson(store::Tx& tx, ApiDeps& deps) {
  google::OAuthConfig defaults;
  if (deps.google_config != nullptr) {
    defaults = deps.google_config->defaults();
  } else if (deps.oauth != nullptr) {
    defaults = deps.oauth->config();
  }
  if (defaults.redirect_uri.empty()) {
    defaults.redirect_uri = deps.options.public_url + "/oauth/google/callback";
  }
  bool saved_any = false;
  for (std::string_view key : {kGoogleClientIdSetting, kGoogleClientSecretSetting,
                               kGoogleRedirectUriSetting, kGoogleScopeSetting}) {
    saved_any = saved_any || !SettingOr(tx, key, "").empty();
  }
  const bool sandbox = deps.google_config != nullptr && deps.google_config->sandbox();
  const bool saved_client = !SettingOr(tx, kGoogleClientIdSetting, "").empty();
  json notice = nullptr;
  if (sandbox && saved_client) {
    notice = kRestartToLeaveSandbox;
  } else if (deps.google_config == nullptr && saved_any) {
    notice = "saved; this telemeet reads the Google settings at start-up: restart it to use them";
  }
  return json{{"object", "google_settings"},
              {"client_id", SettingOr(tx, kGoogleClientIdSetting, defaults.client_id)},
              {"client_secret_set", !SettingOr(tx, kGoogleClientSecretSetting, "").empty() ||
                                        !defaults.client_secret.empty()},
              {"redirect_uri", SettingOr(tx, kGoogleRedirectUriSetting, defaults.redirect_uri)},
              {"scope", SettingOr(tx, kGoogleScopeSetting, defaults.scope)},
              {"sandbox", sandbox},
              {"restart_required", !notice.is_null()},
              {"notice", notice}};
}

// A PATCH of one Google setting: absent (unchanged), null (back to the configured default) or
// a new value.
struct SettingChange {
  std::string_view key;
  bool reset = false;
  std::optional<std::string> value;
};

Result<SettingChange> ChangeOf(const Body& body, std::string_view field, std::string_view key) {
  SettingChange change{.key = key};
  if (body.json().contains(field) && body.json()[field].is_null()) {
    change.reset = true;
    return change;
  }
  change.value = TM_TRY(body.OptString(field));
  if (change.value && Trim(*change.value).empty()) {
    return Invalid(std::string(field) + " is empty (send null to go back to the configured value)",
                   std::string(field));
  }
  return change;
}

Status CheckScope(std::string_view scope) {
  for (std::string_view s : Split(scope, ' ')) {
    if (s == google::kCalendarScope || s == google::kCalendarEventsScope) return Ok();
  }
  return Invalid("scope must include " + std::string(google::kCalendarScope) + " or " +
                     std::string(google::kCalendarEventsScope),
                 "scope");
}

// The admin audit of a Google settings save: the fields changed, the ones reset to the
// configured value, and the new values, except the client secret's (named only).
json GoogleSettingsAudit(const SettingChange (&changes)[4]) {
  static constexpr std::string_view kFields[4] = {"client_id", "client_secret", "redirect_uri",
                                                  "scope"};
  json detail = {{"changed", json::array()}, {"reset", json::array()}};
  for (int i = 0; i < 4; ++i) {
    if (changes[i].reset) detail["reset"].push_back(kFields[i]);
    if (!changes[i].value) continue;
    detail["changed"].push_back(kFields[i]);
    if (kFields[i] != "client_secret") detail[std::string(kFields[i])] = *changes[i].value;
  }
  return detail;
}

Result<net::Response> PatchGoogleSettings(Call& c) {
  auto body = TM_TRY(
      Body::Parse(c.req, c.deps.options, {"client_id", "client_secret", "redirect_uri", "scope"}));
  // One TM_TRY per statement: an early return from inside a brace initializer leaks the
  // elements already built (see TM_TRY in base/error.h).
  SettingChange changes[4];
  changes[0] = TM_TRY(ChangeOf(body, "client_id", kGoogleClientIdSetting));
  changes[1] = TM_TRY(ChangeOf(body, "client_secret", kGoogleClientSecretSetting));
  changes[2] = TM_TRY(ChangeOf(body, "redirect_uri", kGoogleRedirectUriSetting));
  changes[3] = TM_TRY(ChangeOf(body, "scope", kGoogleScopeSetting));
  if (const auto& uri = changes[2].value;
      uri && !uri->starts_with("https://") && !uri->starts_with("http://")) {
    return Invalid("redirect_uri must be an http(s) URL", "redirect_uri");
  }
  if (changes[3].value) TM_TRY(CheckScope(*changes[3].value));
  if (std::optional<std::string>& secret = changes[1].value) {
    TM_TRY(NeedKeys(c.deps));
    secret = TM_TRY(google::SealClientSecret(*c.deps.keys, *secret));
  }
  auto out = TM_TRY(c.deps.store.Transact([&](store::Tx& tx) -> Result<json> {
    for (const SettingChange& change : changes) {
      if (change.reset) TM_TRY(tx.DeleteSetting(change.key));
      if (change.value) TM_TRY(tx.PutSetting(change.key, *change.value));
    }
    TM_TRY(AuditAdminChange(tx, c.principal, "google_settings", "google_settings.updated",
                            "settings:google", GoogleSettingsAudit(changes)));
    return GoogleSettingsJson(tx, c.deps);
  }));
  // The next connect, callback, refresh or revoke of this process uses the saved values.
  if (c.deps.google_config != nullptr) TM_TRY(c.deps.google_config->Reload());
  return net::JsonResponse(200, out);
}

// POST /api/v1/settings/google/test: does Google accept the client id and secret?
Result<net::Response> TestGoogleSettings(Call& c) {
  if (c.deps.oauth == nullptr) {
    return Fail(ErrorCode::kUnavailable, "Google is not configured: save a client id first");
  }
  if (c.deps.google_config != nullptr) c.deps.google_config->ReloadIfStale();
  const google::OAuthConfig cfg = c.deps.oauth->config();
  json out = {{"object", "google_settings_test"},
              {"client_id", cfg.client_id},
              {"sandbox", c.deps.google_config != nullptr && c.deps.google_config->sandbox()}};
  google::GoogleStatus checked = c.deps.oauth->CheckClient();
  if (checked) {
    out.update({{"ok", true},
                {"reason", nullptr},
                {"message", "Google accepts the client id and secret"}});
  } else {
    const google::GoogleError& e = checked.error();
    std::string message =
        e.kind() == google::ErrorKind::kInvalidClient
            ? "Google does not accept the client id and secret (invalid_client): copy them again "
              "from the Google Cloud console's OAuth client"
            : "Google did not confirm the client: " + e.message();
    out.update({{"ok", false},
                {"reason", google::ErrorKindName(e.kind())},
                {"message", std::move(message)}});
  }
  return net::JsonResponse(200, out);
}

Result<json> MeetingSettingsJson(store::Tx& tx, const ApiOptions& options) {
  const std::string min_minutes =
      SettingOr(tx, "attendance.min_minutes", std::to_string(options.attendance_min_minutes));
  return json{
      {"object", "meeting_settings"},
      {"create_on", SettingOr(tx, "meeting.create_on", "confirmation")},
      {"send_updates", SettingOr(tx, "meeting.send_updates", "none")},
      {"cancel_mode", SettingOr(tx, "meeting.cancel_mode", "delete")},
      {"invite_patient", SettingOr(tx, "meeting.invite_patient",
                                   options.meeting_invite_patient ? "true" : "false") == "true"},
      {"event_reminders",
       SettingOr(tx, "meeting.event_reminders", options.meeting_event_reminders)},
      {"access_type", SettingOr(tx, "meeting.access_type", options.meeting_access_type)},
      {"attendance", SettingOr(tx, "attendance.mode", options.attendance_mode)},
      {"attendance_min_minutes", std::atoi(min_minutes.c_str())}};
}

Status OneOf(const std::optional<std::string>& v, std::initializer_list<std::string_view> allowed,
             std::string_view field) {
  if (!v) return Ok();
  if (std::find(allowed.begin(), allowed.end(), *v) != allowed.end()) return Ok();
  std::string list;
  for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  return Invalid(std::string(field) + " must be one of: " + list, std::string(field));
}

void RegisterSettings(net::Router& r, ApiDeps& deps) {
  r.Get("/api/v1/settings/google",
        Handle(deps, Access::kAdmin,
               [](Call& c) -> Result<net::Response> {
                 auto out = c.deps.store.Read(
                     [&](store::Tx& tx) { return GoogleSettingsJson(tx, c.deps); });
                 if (!out) return std::unexpected(out.error());
                 return net::JsonResponse(200, *out);
               }),
        kOffload);
  r.Patch("/api/v1/settings/google", Handle(deps, Access::kAdmin, PatchGoogleSettings), kOffload);
  r.Post("/api/v1/settings/google/test", Handle(deps, Access::kAdmin, TestGoogleSettings),
         kOffload);
  r.Get("/api/v1/settings/meetings",
        Handle(deps, Access::kAdmin,
               [](Call& c) -> Result<net::Response> {
                 auto out = c.deps.store.Read(
                     [&](store::Tx& tx) { return MeetingSettingsJson(tx, c.deps.options); });
                 if (!out) return std::unexpected(out.error());
                 return net::JsonResponse(200, *out);
               }),
        kOffload);
  r.Patch(
      "/api/v1/settings/meetings",
      Handle(deps, Access::kAdmin,
             [](Call& c) -> Result<net::Response> {
               auto body = Body::Parse(c.req, c.deps.options,
                                       {"create_on", "send_updates", "cancel_mode",
                                        "invite_patient", "event_reminders", "access_type",
                                        "attendance", "attendance_min_minutes"});
               if (!body) return std::unexpected(body.error());
               auto create_on = body->OptString("create_on");
               if (!create_on) return std::unexpected(create_on.error());
               auto send_updates = body->OptString("send_updates");
               if (!send_updates) return std::unexpected(send_updates.error());
               auto cancel_mode = body->OptString("cancel_mode");
               if (!cancel_mode) return std::unexpected(cancel_mode.error());
               if (auto s = OneOf(*create_on, {"booking", "confirmation"}, "create_on"); !s) {
                 return std::unexpected(s.error());
               }
               if (auto s = OneOf(*send_updates, {"all", "externalOnly", "none"}, "send_updates");
                   !s) {
                 return std::unexpected(s.error());
               }
               if (auto s = OneOf(*cancel_mode, {"delete", "mark_cancelled"}, "cancel_mode"); !s) {
                 return std::unexpected(s.error());
               }
               auto invite = TM_TRY(body->OptBool("invite_patient"));
               std::optional<std::string> invite_patient;
               if (invite) invite_patient = *invite ? "true" : "false";
               auto event_reminders = TM_TRY(body->OptString("event_reminders"));
               if (event_reminders) {
                 // Saved in its normal form ("popup:10,email:60").
                 auto r = TM_TRY(core::ParseEventReminders(*event_reminders, "event_reminders"));
                 event_reminders = core::FormatEventReminders(r);
               }
               // Issue 18: who may join, and attendance from Meet's records.
               auto access_type = TM_TRY(body->OptString("access_type"));
               if (access_type) TM_TRY(core::MeetAccessTypeFor(*access_type, "access_type"));
               auto attendance = TM_TRY(body->OptString("attendance"));
               if (attendance) TM_TRY(core::ParseAttendanceMode(*attendance, "attendance"));
               std::optional<std::string> min_minutes;
               if (auto m = TM_TRY(body->OptInt("attendance_min_minutes"))) {
                 if (*m < 0 || *m > core::kMaxAttendanceMinMinutes) {
                   return Invalid("attendance_min_minutes must be between 0 and " +
                                      std::to_string(core::kMaxAttendanceMinMinutes),
                                  "attendance_min_minutes");
                 }
                 min_minutes = std::to_string(*m);
               }
               const core::MeetPolicy meet_defaults = core::MeetPolicyDefaults(
                   c.deps.options.attendance_mode, c.deps.options.attendance_min_minutes,
                   c.deps.options.meeting_access_type);
               bool meet_work = false;
               auto out = c.deps.store.Transact([&](store::Tx& tx) -> Result<json> {
                 meet_work = false;
                 // The reconciler's commits decide by the policy under this lock: none sees the
                 // old one once this transaction has looked for the ready meetings.
                 TM_TRY(sync::LockMeetPolicyForChange(tx));
                 const core::MeetPolicy before = TM_TRY(sync::MeetPolicyOf(tx, meet_defaults));
                 for (auto [key, v] : {std::pair{"meeting.access_type", &access_type},
                                       std::pair{"attendance.mode", &attendance},
                                       std::pair{"attendance.min_minutes", &min_minutes}}) {
                   if (!*v) continue;
                   TM_TRY(tx.PutSetting(key, **v));
                 }
                 for (auto [key, v] : {std::pair{"meeting.create_on", &*create_on},
                                       std::pair{"meeting.send_updates", &*send_updates},
                                       std::pair{"meeting.cancel_mode", &*cancel_mode},
                                       std::pair{"meeting.invite_patient", &invite_patient},
                                       std::pair{"meeting.event_reminders", &event_reminders}}) {
                   if (!*v) continue;
                   if (auto s = tx.PutSetting(key, **v); !s) return std::unexpected(s.error());
                 }
                 json detail = {{"changed", json::array()}};
                 for (auto [field, v] : {std::pair{"create_on", &*create_on},
                                         std::pair{"send_updates", &*send_updates},
                                         std::pair{"cancel_mode", &*cancel_mode},
                                         std::pair{"invite_patient", &invite_patient},
                                         std::pair{"event_reminders", &event_reminders},
                                         std::pair{"access_type", &access_type},
                                         std::pair{"attendance", &attendance},
                                         std::pair{"attendance_min_minutes", &min_minutes}}) {
                   if (!*v) continue;
                   detail["changed"].push_back(field);
                   detail[field] = **v;
                 }
                 if (invite_patient) detail["invite_patient"] = *invite;
                 // A Meet policy that comes to ask for new work (attendance where it was off,
                 // another access type) applies to the meetings that exist already: their meet
                 // jobs are made due (at most sync::kReadyMeetWorkLimit), and the audit entry
                 // says how many. Attendance off, or another mode of it, asks nothing new of
                 // them (a summary already made stays as it is).
                 const core::MeetPolicy after = TM_TRY(sync::MeetPolicyOf(tx, meet_defaults));
                 const bool attendance_on = before.attendance == core::AttendanceMode::kOff &&
                                            after.attendance != core::AttendanceMode::kOff;
                 const bool access_changed =
                     !after.access_type.empty() && after.access_type != before.access_type;
                 if (attendance_on || access_changed) {
                   const int made = TM_TRY(sync::ScheduleReadyMeetWork(tx, 0, c.deps.clock.Now()));
                   detail["meet_jobs"] = made;
                   if (made == sync::kReadyMeetWorkLimit) detail["meet_jobs_limited"] = true;
                   meet_work = made > 0;
                 }
                 TM_TRY(AuditAdminChange(tx, c.principal, "settings", "settings.meetings.updated",
                                         "settings:meetings", detail));
                 return MeetingSettingsJson(tx, c.deps.options);
               });
               if (!out) return std::unexpected(out.error());
               if (meet_work) NotifyWork(c.deps);
               return net::JsonResponse(200, *out);
             }),
      kOffload);
}

// --- Webhook endpoints and the event log ---

// The integrator reads the event and delivery log with its API key; admins too; doctors not.
Status AuthorizeEventLog(const Principal& p) {
  if (p.kind == Principal::Kind::kDoctor) {
    return Fail(ErrorCode::kPermissionDenied,
                "the event log is for administrators and integrators");
  }
  return Ok();
}

Result<std::string> TopicsFrom(const std::vector<std::string>& topics) {
  std::string joined;
  for (const std::string& t : topics) {
    if (std::find(kWebhookTopics.begin(), kWebhookTopics.end(), t) == kWebhookTopics.end()) {
      return Invalid("unknown topic \"" + t + "\"", "topics");
    }
    if (!joined.empty()) joined += ' ';
    joined += t;
  }
  return joined;
}

// The destination rule is the dispatcher's (ApiOptions::webhook_destinations), applied early
// so a URL that can never be delivered to is refused when saved; names are checked again on
// their resolved addresses at each delivery.
Status CheckUrl(std::string_view url, const ApiOptions& options) {
  if (!url.starts_with("https://") && !url.starts_with("http://")) {
    return Invalid("url must be an http(s) URL", "url");
  }
  if (url.size() > 2048) return Invalid("url is longer than 2048 characters", "url");
  if (auto s = options.webhook_destinations.CheckUrl(url); !s) {
    return Invalid(s.error().message() +
                       " (see the configuration keys webhooks.allow_http and "
                       "webhooks.allowed_hosts)",
                   "url");
  }
  return Ok();
}

// How long deliveries stay signed with the replaced secret too, after a rotation.
constexpr std::chrono::seconds kDefaultRotationGrace = std::chrono::hours(24);
constexpr std::chrono::seconds kMaxRotationGrace = std::chrono::days(7);

void RegisterWebhooks(net::Router& r, ApiDeps& deps) {
  r.Post("/api/v1/webhook_endpoints",
         Handle(deps, Access::kAdmin,
                [](Call& c) -> Result<net::Response> {
                  if (auto k = NeedKeys(c.deps); !k) return std::unexpected(k.error());
                  auto body = Body::Parse(c.req, c.deps.options, {"url", "topics", "active"});
                  if (!body) return std::unexpected(body.error());
                  auto url = body->String("url");
                  if (!url) return std::unexpected(url.error());
                  if (auto s = CheckUrl(*url, c.deps.options); !s) {
                    return std::unexpected(s.error());
                  }
                  auto topics = body->OptStrings("topics");
                  if (!topics) return std::unexpected(topics.error());
                  auto joined = TopicsFrom(topics->value_or(std::vector<std::string>{}));
                  if (!joined) return std::unexpected(joined.error());
                  auto active = body->OptBool("active");
                  if (!active) return std::unexpected(active.error());
                  auto idem =
                      TM_TRY(IdempotencyKey::From(c, "webhook_endpoints", body->json().dump()));
                  return CreateOnce(c, idem, [&]() -> Result<net::Response> {
                    std::string secret = "whsec_" + crypto::RandomToken(32);
                    auto out =
                        c.deps.store.Transact([&](store::Tx& tx) -> Result<core::WebhookEndpoint> {
                          core::WebhookEndpoint e{.url = *url,
                                                  .sealed_secret = "-",
                                                  .topics = *joined,
                                                  .active = active->value_or(true)};
                          auto created = tx.CreateWebhookEndpoint(e);
                          if (!created) return created;
                          // The AAD binds the sealed secret to its endpoint id, known only now.
                          auto sealed = c.deps.keys->Seal(secret, WebhookSecretAad(created->id));
                          if (!sealed) return std::unexpected(sealed.error());
                          created->sealed_secret = *sealed;
                          TM_TRY(AuditWebhookEndpoint(tx, c.principal, "webhook_endpoint.created",
                                                      *created, {"url", "topics", "active"}));
                          auto updated = TM_TRY(tx.UpdateWebhookEndpoint(*created));
                          json kept = WebhookEndpointJson(updated);
                          kept["secret"] = nullptr;  // never kept: a replay cannot show it
                          TM_TRY(idem.Remember(tx, c.deps, 201, kept));
                          return updated;
                        });
                    if (!out) return std::unexpected(out.error());
                    json j = WebhookEndpointJson(*out);
                    j["secret"] = secret;  // shown once
                    net::Response resp = net::JsonResponse(201, j);
                    resp.headers.Set("Cache-Control", "no-store");
                    return resp;
                  });
                }),
         kOffload);
  r.Get("/api/v1/webhook_endpoints",
        Handle(deps, Access::kAdmin,
               [](Call& c) -> Result<net::Response> {
                 auto page = PageFrom(c.req);
                 if (!page) return std::unexpected(page.error());
                 auto p = c.deps.store.Read(
                     [&](store::Tx& tx) { return tx.ListWebhookEndpoints(*page); });
                 if (!p) return std::unexpected(p.error());
                 return net::JsonResponse(200, PageJson(*p, WebhookEndpointJson));
               }),
        kOffload);
  r.Get("/api/v1/webhook_endpoints/{id}",
        Handle(deps, Access::kAdmin,
               [](Call& c) -> Result<net::Response> {
                 int64_t id = TM_TRY(PathId(c.req, "webhook endpoint"));
                 auto e = TM_TRY(
                     c.deps.store.Read([&](store::Tx& tx) { return tx.GetWebhookEndpoint(id); }));
                 return net::JsonResponse(200, WebhookEndpointJson(e));
               }),
        kOffload);
  r.Patch("/api/v1/webhook_endpoints/{id}",
          Handle(deps, Access::kAdmin,
                 [](Call& c) -> Result<net::Response> {
                   auto id = PathId(c.req, "webhook endpoint");
                   if (!id) return std::unexpected(id.error());
                   auto body = Body::Parse(c.req, c.deps.options, {"url", "topics", "active"});
                   if (!body) return std::unexpected(body.error());
                   auto url = body->OptString("url");
                   if (!url) return std::unexpected(url.error());
                   if (*url) {
                     if (auto s = CheckUrl(**url, c.deps.options); !s) {
                       return std::unexpected(s.error());
                     }
                   }
                   auto topics = body->OptStrings("topics");
                   if (!topics) return std::unexpected(topics.error());
                   std::optional<std::string> joined;
                   if (*topics) {
                     auto j = TopicsFrom(**topics);
                     if (!j) return std::unexpected(j.error());
                     joined = *j;
                   }
                   auto active = body->OptBool("active");
                   if (!active) return std::unexpected(active.error());
                   auto out =
                       c.deps.store.Transact([&](store::Tx& tx) -> Result<core::WebhookEndpoint> {
                         core::WebhookEndpoint e = TM_TRY(tx.LockWebhookEndpoint(*id));
                         if (*url) e.url = **url;
                         if (joined) e.topics = *joined;
                         if (*active) e.active = **active;
                         std::vector<std::string_view> changed;
                         for (auto [field, set] : {std::pair{"url", url->has_value()},
                                                   std::pair{"topics", joined.has_value()},
                                                   std::pair{"active", active->has_value()}}) {
                           if (set) changed.push_back(field);
                         }
                         TM_TRY(AuditWebhookEndpoint(tx, c.principal, "webhook_endpoint.updated", e,
                                                     changed));
                         return tx.UpdateWebhookEndpoint(e);
                       });
                   if (!out) return std::unexpected(out.error());
                   return net::JsonResponse(200, WebhookEndpointJson(*out));
                 }),
          kOffload);
  r.Delete("/api/v1/webhook_endpoints/{id}",
           Handle(deps, Access::kAdmin,
                  [](Call& c) -> Result<net::Response> {
                    auto id = PathId(c.req, "webhook endpoint");
                    if (!id) return std::unexpected(id.error());
                    auto s = c.deps.store.Transact([&](store::Tx& tx) -> Status {
                      TM_TRY(tx.DeleteWebhookEndpoint(*id));
                      return AuditWebhookEndpoint(tx, c.principal, "webhook_endpoint.deleted",
                                                  core::WebhookEndpoint{.id = *id}, {});
                    });
                    if (!s) return std::unexpected(s.error());
                    return net::Response::Empty(204);
                  }),
           kOffload);
  // A new secret, shown once; the replaced one keeps signing beside it for `grace` seconds.
  r.Post("/api/v1/webhook_endpoints/{id}/rotate_secret",
         Handle(deps, Access::kAdmin,
                [](Call& c) -> Result<net::Response> {
                  TM_TRY(NeedKeys(c.deps));
                  int64_t id = TM_TRY(PathId(c.req, "webhook endpoint"));
                  std::chrono::seconds grace = kDefaultRotationGrace;
                  if (!c.req.body.empty()) {
                    Body body = TM_TRY(Body::Parse(c.req, c.deps.options, {"grace"}));
                    std::optional<int64_t> seconds = TM_TRY(body.OptInt("grace"));
                    if (seconds && (*seconds < 0 || *seconds > kMaxRotationGrace.count())) {
                      return Invalid("grace must be between 0 and " +
                                         std::to_string(kMaxRotationGrace.count()) + " seconds",
                                     "grace");
                    }
                    if (seconds) grace = std::chrono::seconds(*seconds);
                  }
                  std::string secret = "whsec_" + crypto::RandomToken(32);
                  std::string sealed = TM_TRY(c.deps.keys->Seal(secret, WebhookSecretAad(id)));
                  Instant until = c.deps.clock.Now() + grace;
                  core::WebhookEndpoint out = TM_TRY(
                      c.deps.store.Transact([&](store::Tx& tx) -> Result<core::WebhookEndpoint> {
                        auto rotated = TM_TRY(tx.RotateWebhookSecret(id, sealed, until));
                        TM_TRY(AuditWebhookEndpoint(tx, c.principal,
                                                    "webhook_endpoint.secret_rotated", rotated, {}));
                        return rotated;
                      }));
                  json j = WebhookEndpointJson(out);
                  j["secret"] = secret;  // shown once
                  net::Response resp = net::JsonResponse(200, j);
                  resp.headers.Set("Cache-Control", "no-store");
                  return resp;
                }),
         kOffload);
  r.Get("/api/v1/events",
        Handle(deps, Access::kRead,
               [](Call& c) -> Result<net::Response> {
                 if (auto s = AuthorizeEventLog(c.principal); !s) return std::unexpected(s.error());
                 auto page = PageFrom(c.req);
                 if (!page) return std::unexpected(page.error());
                 auto p = c.deps.store.Read([&](store::Tx& tx) { return tx.ListOutbox(*page); });
                 if (!p) return std::unexpected(p.error());
                 return net::JsonResponse(200, PageJson(*p, OutboxEventJson));
               }),
        kOffload);
  r.Get("/api/v1/events/{id}/deliveries",
        Handle(deps, Access::kRead,
               [](Call& c) -> Result<net::Response> {
                 if (auto s = AuthorizeEventLog(c.principal); !s) return std::unexpected(s.error());
                 auto id = PathId(c.req, "event");
                 if (!id) return std::unexpected(id.error());
                 auto page = PageFrom(c.req);
                 if (!page) return std::unexpected(page.error());
                 auto out = c.deps.store.Read([&](store::Tx& tx) -> Result<json> {
                   auto e = tx.GetOutboxEvent(*id);
                   if (!e) return std::unexpected(e.error());
                   auto p = tx.ListDeliveries(*id, *page);
                   if (!p) return std::unexpected(p.error());
                   return PageJson(*p, DeliveryJson);
                 });
                 if (!out) return std::unexpected(out.error());
                 return net::JsonResponse(200, *out);
               }),
        kOffload);
}

}  // namespace

void RegisterAdminRoutes(net::Router& router, ApiDeps& deps) {
  RegisterSession(router, deps);
  RegisterUsers(router, deps);
  RegisterApiKeys(router, deps);
  RegisterSettings(router, deps);
  RegisterWebhooks(router, deps);
}

}  // namespace telemeet::api
