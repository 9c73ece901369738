// Appointments (create with Idempotency-Key, read, list, confirm, reschedule, cancel, complete),
// their meetings (read, retry), audit trail and patient access links.
#include <algorithm>
#include <cstdlib>

#include "api/request.h"
#include "api/views.h"
#include "core/appointment.h"
#include "core/time.h"
#include "crypto/random.h"
#include "net/json.h"

namespace telemeet::api {

using nlohmann::json;

namespace {

constexpr size_t kMaxIdempotencyKey = 255;

// The answer a write produced inside its transaction (committed even when it is a refusal that
// wrote nothing, like an idempotency conflict).
struct Outcome {
  int status = 200;
  json body;
};

net::Response Render(const Outcome& o) { return net::JsonResponse(o.status, o.body); }

Status Audit(store::Tx& tx, int64_t appointment_id, const Principal& p, std::string action,
             json detail = json::object()) {
  core::AuditEntry e{.appointment_id = appointment_id,
                     .actor = p.actor,
                     .action = std::move(action),
                     .detail = detail.dump()};
  auto r = tx.AppendAudit(e);
  if (!r) return std::unexpected(r.error());
  return Ok();
}

Result<core::Appointment> LoadOwned(store::Tx& tx, const Principal& p, int64_t id) {
  auto a = tx.GetAppointment(id);
  if (!a) {
    if (a.error().code() == ErrorCode::kNotFound) {
      return Fail(ErrorCode::kNotFound, "appointment " + std::to_string(id) + " does not exist");
    }
    return a;
  }
  if (auto s = AuthorizeDoctor(p, a->doctor_id); !s) return std::unexpected(s.error());
  return a;
}

// The doctor, service or patient a booking names, as read: kNotFound when it does not exist,
// kFailedPrecondition when it is deactivated, both naming `field`.
template <typename T>
Result<T> Bookable(Result<T> found, std::string_view kind, int64_t id, std::string_view field) {
  const std::string what = std::string(kind) + " " + std::to_string(id);
  if (!found) {
    if (found.error().code() != ErrorCode::kNotFound) return found;
    return Fail(ErrorCode::kNotFound, what + " does not exist", std::string(field));
  }
  if (!found->active) {
    return Fail(ErrorCode::kFailedPrecondition, what + " is deactivated", std::string(field));
  }
  return found;
}

// A new patient access link; returns its URL (the token is only ever in this URL).
Result<std::string> IssueAccessLink(store::Tx& tx, ApiDeps& deps, const core::Appointment& a) {
  std::string token = crypto::RandomToken(32);
  Instant now = deps.clock.Now();
  Instant expires = std::max(a.end, now) + deps.options.access_link_after_end;
  auto link = tx.CreateAccessLink(
      {.appointment_id = a.id, .token_hash = TokenHash(token), .expires_at = expires});
  if (!link) return std::unexpected(link.error());
  // The token travels as the "token" parameter, which access logs redact (base/redact.h).
  return deps.options.public_url + "/p?token=" + token;
}

// The fields of a patient created inside a booking.
constexpr std::array<std::string_view, 4> kNewPatientFields = {"name", "email", "phone",
                                                               "time_zone"};

Result<Outcome> CreateAppointment(Call& c, const Body& body, const std::string& idem_key,
                                  const std::string& request_hash) {
  ApiDeps& deps = c.deps;
  auto doctor_id = body.Int("doctor_id");
  if (!doctor_id) return std::unexpected(doctor_id.error());
  if (auto s = AuthorizeDoctor(c.principal, *doctor_id); !s) return std::unexpected(s.error());
  auto service_id = body.Int("service_id");
  if (!service_id) return std::unexpected(service_id.error());
  // The patient: an existing one by id, or a new one described inline ("patient": {...}),
  // which is how a doctor books someone new (doctors cannot create patients otherwise).
  std::optional<int64_t> patient_id = TM_TRY(body.OptInt("patient_id"));
  std::optional<core::Patient> new_patient;
  if (auto inline_patient = TM_TRY(body.OptObject("patient", kNewPatientFields))) {
    if (patient_id) {
      return Fail(ErrorCode::kInvalidArgument, "give patient_id or patient, not both", "patient");
    }
    new_patient.emplace();
    TM_TRY(ApplyPatient(*inline_patient, *new_patient));
    if (new_patient->time_zone.empty()) new_patient->time_zone = "UTC";
  } else if (!patient_id) {
    return Fail(ErrorCode::kInvalidArgument, "patient_id is required", "patient_id");
  }
  auto start_text = body.String("start");
  if (!start_text) return std::unexpected(start_text.error());
  auto end_text = body.OptString("end");
  if (!end_text) return std::unexpected(end_text.error());
  auto zone = body.OptString("time_zone");
  if (!zone) return std::unexpected(zone.error());
  auto status_text = body.OptString("status");
  if (!status_text) return std::unexpected(status_text.error());
  auto notes = body.OptString("notes");
  if (!notes) return std::unexpected(notes.error());
  core::AppointmentStatus status = core::AppointmentStatus::kBooked;
  if (*status_text) {
    auto st = core::ParseAppointmentStatus(**status_text, "status");
    if (!st) return std::unexpected(st.error());
    status = *st;
  }

  return deps.store.Transact([&](store::Tx& tx) -> Result<Outcome> {
    if (!idem_key.empty()) {
      auto prior = tx.GetIdempotency(idem_key);
      if (prior) {
        if (prior->request_hash != request_hash) {
          json error = json::object();
          error["code"] = "idempotency_key_reused";
          error["message"] =
              "this Idempotency-Key was used with a different request; use a new key for a new "
              "request";
          error["field"] = "Idempotency-Key";
          return Outcome{422, json{{"error", std::move(error)}}};
        }
        json replay = json::parse(prior->response_body, nullptr, false);
        return Outcome{prior->response_status, std::move(replay)};
      }
      if (prior.error().code() != ErrorCode::kNotFound) return std::unexpected(prior.error());
    }
    auto doctor = Bookable(tx.GetDoctor(*doctor_id), "doctor", *doctor_id, "doctor_id");
    if (!doctor) return std::unexpected(doctor.error());
    auto service = Bookable(tx.GetService(*service_id), "service", *service_id, "service_id");
    if (!service) return std::unexpected(service.error());
    if (new_patient) {
      patient_id = TM_TRY(tx.CreatePatient(*new_patient)).id;
    } else {
      // A doctor books only their own patients; another's answers as a missing one would.
      TM_TRY(AuthorizePatientRead(c.principal, *patient_id, tx, "patient_id"));
      TM_TRY(Bookable(tx.GetPatient(*patient_id), "patient", *patient_id, "patient_id"));
    }
    core::Appointment a;
    a.doctor_id = *doctor_id;
    a.service_id = *service_id;
    a.patient_id = *patient_id;
    a.time_zone = zone->value_or(doctor->time_zone);
    if (auto s = core::ValidateTimeZone(a.time_zone, "time_zone"); !s) {
      return std::unexpected(s.error());
    }
    auto start = ParseTime(*start_text, a.time_zone, "start");
    if (!start) return std::unexpected(start.error());
    a.start = *start;
    if (*end_text) {
      auto end = ParseTime(**end_text, a.time_zone, "end");
      if (!end) return std::unexpected(end.error());
      a.end = *end;
    } else {
      a.end = a.start + std::chrono::minutes(service->default_duration_minutes);
    }
    a.status = status;
    a.notes = notes->value_or("");
    auto created = tx.CreateAppointment(a);
    if (!created) return std::unexpected(created.error());
    auto url = IssueAccessLink(tx, deps, *created);
    if (!url) return std::unexpected(url.error());
    if (auto s = Audit(tx, created->id, c.principal, "appointment.created",
                       {{"status", core::Name(created->status)},
                        {"start", core::FormatRfc3339(created->start)},
                        {"end", core::FormatRfc3339(created->end)}});
        !s) {
      return std::unexpected(s.error());
    }
    auto out = AppointmentJson(tx, *created, *url);
    if (!out) return std::unexpected(out.error());
    if (!idem_key.empty()) {
      // The stored answer never holds the link's token: a replay shows the link without url.
      json stored = *out;
      stored["access_link"]["url"] = nullptr;
      core::IdempotencyRecord rec{.key = idem_key,
                                  .request_hash = request_hash,
                                  .response_status = 201,
                                  .response_body = stored.dump(),
                                  .expires_at = deps.clock.Now() + deps.options.idempotency_ttl};
      if (auto s = tx.PutIdempotency(rec); !s) return std::unexpected(s.error());
    }
    return Outcome{201, std::move(*out)};
  });
}

Result<net::Response> HandleCreate(Call& c) {
  {
    auto body = Body::Parse(
        c.req, c.deps.options,
        {"doctor_id", "service_id", "patient_id", "patient", "start", "end", "time_zone", "status",
         "notes"});
    if (!body) return std::unexpected(body.error());
    std::string idem_key;
    std::string request_hash;
    if (auto header = c.req.Header("Idempotency-Key")) {
      std::string_view k = Trim(*header);
      bool printable = std::all_of(k.begin(), k.end(), [](char ch) { return ch > 32 && ch < 127; });
      if (k.empty() || k.size() > kMaxIdempotencyKey || !printable) {
        return Fail(ErrorCode::kInvalidArgument,
                    "Idempotency-Key must be 1 to 255 printable characters", "Idempotency-Key");
      }
      idem_key = c.principal.actor + ":appointments:" + std::string(k);
      request_hash = TokenHash(body->json().dump());
    }
    auto out = CreateAppointment(c, *body, idem_key, request_hash);
    if (!out && out.error().code() == ErrorCode::kAlreadyExists && out.error().field() == "key") {
      // A concurrent request with the same key committed first: answer as a retry would.
      out = CreateAppointment(c, *body, idem_key, request_hash);
    }
    if (!out) return std::unexpected(out.error());
    net::Response resp = Render(*out);
    if (out->status == 201) NotifyWork(c.deps);
    return resp;
  }
}

// confirm, cancel, complete: one status change.
CallHandler StatusAction(core::AppointmentStatus to, std::string action) {
  return [to, action](Call& c) -> Result<net::Response> {
    auto id = PathId(c.req, "appointment");
    if (!id) return std::unexpected(id.error());
    std::optional<std::string> reason;
    if (!Trim(c.req.body).empty()) {
      auto body = Body::Parse(c.req, c.deps.options, {"reason"});
      if (!body) return std::unexpected(body.error());
      auto r = body->OptString("reason");
      if (!r) return std::unexpected(r.error());
      reason = *r;
    }
    auto out = c.deps.store.Transact([&](store::Tx& tx) -> Result<json> {
      auto a = LoadOwned(tx, c.principal, *id);
      if (!a) return std::unexpected(a.error());
      auto updated = tx.SetStatus(*id, to);
      if (!updated) return std::unexpected(updated.error());
      if (updated->revision != a->revision) {
        json detail = {{"from", core::Name(a->status)}, {"to", core::Name(to)}};
        if (reason) detail["reason"] = *reason;
        if (auto s = Audit(tx, *id, c.principal, action, detail); !s) {
          return std::unexpected(s.error());
        }
      }
      return AppointmentJson(tx, *updated);
    });
    if (!out) return std::unexpected(out.error());
    NotifyWork(c.deps);
    return net::JsonResponse(200, *out);
  };
}

Result<net::Response> Reschedule(Call& c) {
  auto id = PathId(c.req, "appointment");
  if (!id) return std::unexpected(id.error());
  auto body = Body::Parse(c.req, c.deps.options, {"start", "end", "time_zone"});
  if (!body) return std::unexpected(body.error());
  auto start_text = body->String("start");
  if (!start_text) return std::unexpected(start_text.error());
  auto end_text = body->OptString("end");
  if (!end_text) return std::unexpected(end_text.error());
  auto zone = body->OptString("time_zone");
  if (!zone) return std::unexpected(zone.error());
  auto out = c.deps.store.Transact([&](store::Tx& tx) -> Result<json> {
    auto a = LoadOwned(tx, c.principal, *id);
    if (!a) return std::unexpected(a.error());
    core::Appointment next = *a;
    if (*zone) {
      if (auto s = core::ValidateTimeZone(**zone, "time_zone"); !s) {
        return std::unexpected(s.error());
      }
      next.time_zone = **zone;
    }
    auto start = ParseTime(*start_text, next.time_zone, "start");
    if (!start) return std::unexpected(start.error());
    next.start = *start;
    if (*end_text) {
      auto end = ParseTime(**end_text, next.time_zone, "end");
      if (!end) return std::unexpected(end.error());
      next.end = *end;
    } else {
      next.end = next.start + (a->end - a->start);  // keep the duration
    }
    auto updated = tx.UpdateAppointment(next);
    if (!updated) return std::unexpected(updated.error());
    if (updated->revision != a->revision) {
      if (auto s = Audit(tx, *id, c.principal, "appointment.rescheduled",
                         {{"from", core::FormatRfc3339(a->start)},
                          {"to", core::FormatRfc3339(updated->start)},
                          {"end", core::FormatRfc3339(updated->end)}});
          !s) {
        return std::unexpected(s.error());
      }
    }
    return AppointmentJson(tx, *updated);
  });
  if (!out) return std::unexpected(out.error());
  NotifyWork(c.deps);
  return net::JsonResponse(200, *out);
}

Result<net::Response> List(Call& c) {
  auto page = PageFrom(c.req);
  if (!page) return std::unexpected(page.error());
  auto params = c.req.QueryParams().value_or(KeyValues{});
  store::AppointmentFilter f;
  auto id_param = [&](std::string_view name, int64_t& out) -> Status {
    auto v = FindValue(params, name);
    if (!v) return Ok();
    char* end = nullptr;
    long long n = std::strtoll(v->c_str(), &end, 10);
    if (v->empty() || *end != '\0' || n <= 0) {
      return Fail(ErrorCode::kInvalidArgument, std::string(name) + " must be a positive integer",
                  std::string(name));
    }
    out = n;
    return Ok();
  };
  if (auto s = id_param("doctor_id", f.doctor_id); !s) return std::unexpected(s.error());
  if (auto s = id_param("patient_id", f.patient_id); !s) return std::unexpected(s.error());
  if (auto st = FindValue(params, "status")) {
    auto parsed = core::ParseAppointmentStatus(*st, "status");
    if (!parsed) return std::unexpected(parsed.error());
    f.status = *parsed;
  }
  for (auto [name, target] : {std::pair{"from", &f.from}, std::pair{"to", &f.to}}) {
    if (auto t = FindValue(params, name)) {
      auto parsed = core::ParseRfc3339(*t, name);
      if (!parsed) return std::unexpected(parsed.error());
      *target = *parsed;
    }
  }
  if (c.principal.kind == Principal::Kind::kDoctor) {
    if (f.doctor_id != 0 && f.doctor_id != c.principal.doctor_id) {
      return std::unexpected(AuthorizeDoctor(c.principal, f.doctor_id).error());
    }
    f.doctor_id = c.principal.doctor_id;
  }
  auto out = c.deps.store.Read([&](store::Tx& tx) -> Result<json> {
    auto p = tx.ListAppointments(f, *page);
    if (!p) return std::unexpected(p.error());
    json data = json::array();
    for (const core::Appointment& a : p->items) {
      auto j = AppointmentJson(tx, a);
      if (!j) return std::unexpected(j.error());
      data.push_back(std::move(*j));
    }
    return json{{"data", std::move(data)},
                {"next_cursor", p->next_cursor.empty() ? json(nullptr) : json(p->next_cursor)}};
  });
  if (!out) return std::unexpected(out.error());
  return net::JsonResponse(200, *out);
}

void RegisterAppointments(net::Router& r, ApiDeps& deps) {
  const net::RouteOptions reads = StoreReadRoute(deps);
  const net::RouteOptions writes = StoreWriteRoute(deps);
  r.Post("/api/v1/appointments", Handle(deps, Access::kWrite, HandleCreate), writes);
  r.Get("/api/v1/appointments", Handle(deps, Access::kRead, List), reads);
  r.Get("/api/v1/appointments/{id}",
        Handle(deps, Access::kRead,
               [](Call& c) -> Result<net::Response> {
                 auto id = PathId(c.req, "appointment");
                 if (!id) return std::unexpected(id.error());
                 auto out = c.deps.store.Read([&](store::Tx& tx) -> Result<json> {
                   auto a = LoadOwned(tx, c.principal, *id);
                   if (!a) return std::unexpected(a.error());
                   return AppointmentJson(tx, *a);
                 });
                 if (!out) return std::unexpected(out.error());
                 return net::JsonResponse(200, *out);
               }),
        reads);
  r.Post("/api/v1/appointments/{id}/confirm",
         Handle(deps, Access::kWrite,
                StatusAction(core::AppointmentStatus::kConfirmed, "appointment.confirmed")),
         writes);
  r.Post("/api/v1/appointments/{id}/cancel",
         Handle(deps, Access::kWrite,
                StatusAction(core::AppointmentStatus::kCancelled, "appointment.cancelled")),
         writes);
  r.Post("/api/v1/appointments/{id}/complete",
         Handle(deps, Access::kWrite,
                StatusAction(core::AppointmentStatus::kCompleted, "appointment.completed")),
         writes);
  r.Post("/api/v1/appointments/{id}/reschedule", Handle(deps, Access::kWrite, Reschedule), writes);

  r.Get("/api/v1/appointments/{id}/meeting",
        Handle(deps, Access::kRead,
               [](Call& c) -> Result<net::Response> {
                 auto id = PathId(c.req, "appointment");
                 if (!id) return std::unexpected(id.error());
                 auto out = c.deps.store.Read([&](store::Tx& tx) -> Result<json> {
                   auto a = LoadOwned(tx, c.principal, *id);
                   if (!a) return std::unexpected(a.error());
                   auto j = AppointmentJson(tx, *a);
                   if (!j) return j;
                   return (*j)["meeting"];
                 });
                 if (!out) return std::unexpected(out.error());
                 return net::JsonResponse(200, *out);
               }),
        reads);
  // M13: the meeting as Google has it now. Read rules as for the appointment (another doctor's
  // is a 404) and a write permission, since the stored meeting changes.
  r.Post("/api/v1/appointments/{id}/meeting/refresh",
         Handle(deps, Access::kWrite,
                [](Call& c) -> Result<net::Response> {
                  int64_t id = TM_TRY(PathId(c.req, "appointment"));
                  TM_TRY(c.deps.store.Read(
                      [&](store::Tx& tx) { return LoadOwned(tx, c.principal, id); }));
                  if (!c.deps.refresh_meeting) {
                    return Fail(ErrorCode::kUnavailable,
                                "refreshing meetings from Google is not available here");
                  }
                  std::chrono::seconds retry_after{0};
                  Status refreshed = c.deps.refresh_meeting(id, c.principal.actor, &retry_after);
                  if (!refreshed) {
                    if (retry_after.count() == 0) return std::unexpected(refreshed.error());
                    net::Response refused = net::ErrorResponse(refreshed.error());
                    refused.headers.Set("Retry-After", std::to_string(retry_after.count()));
                    return refused;
                  }
                  json out = TM_TRY(c.deps.store.Read([&](store::Tx& tx) -> Result<json> {
                    core::Appointment a = TM_TRY(LoadOwned(tx, c.principal, id));
                    json j = TM_TRY(AppointmentJson(tx, a));
                    return j["meeting"];
                  }));
                  NotifyWork(c.deps);  // webhooks of a new link or a drift
                  return net::JsonResponse(200, out);
                }),
         writes);
  r.Post("/api/v1/appointments/{id}/meeting/retry",
         Handle(deps, Access::kWrite,
                [](Call& c) -> Result<net::Response> {
                  auto id = PathId(c.req, "appointment");
                  if (!id) return std::unexpected(id.error());
                  auto out = c.deps.store.Transact([&](store::Tx& tx) -> Result<json> {
                    auto a = LoadOwned(tx, c.principal, *id);
                    if (!a) return std::unexpected(a.error());
                    auto m = tx.RetryFailedMeeting(*id);
                    if (!m) {
                      if (m.error().code() == ErrorCode::kNotFound) {
                        return Fail(
                            ErrorCode::kFailedPrecondition,
                            "appointment " + std::to_string(*id) + " has no meeting to retry",
                            "meeting.state");
                      }
                      return std::unexpected(m.error());
                    }
                    if (auto s = Audit(tx, *id, c.principal, "meeting.retry_requested",
                                       {{"conference_attempt", m->conference_attempt}});
                        !s) {
                      return std::unexpected(s.error());
                    }
                    auto j = AppointmentJson(tx, *a);
                    if (!j) return j;
                    return (*j)["meeting"];
                  });
                  if (!out) return std::unexpected(out.error());
                  NotifyWork(c.deps);
                  return net::JsonResponse(200, *out);
                }),
         writes);
  r.Get("/api/v1/appointments/{id}/audit",
        Handle(deps, Access::kRead,
               [](Call& c) -> Result<net::Response> {
                 auto id = PathId(c.req, "appointment");
                 if (!id) return std::unexpected(id.error());
                 auto page = PageFrom(c.req);
                 if (!page) return std::unexpected(page.error());
                 auto out = c.deps.store.Read([&](store::Tx& tx) -> Result<json> {
                   auto a = LoadOwned(tx, c.principal, *id);
                   if (!a) return std::unexpected(a.error());
                   auto p = tx.ListAudit(*id, *page);
                   if (!p) return std::unexpected(p.error());
                   return PageJson(*p, AuditJson);
                 });
                 if (!out) return std::unexpected(out.error());
                 return net::JsonResponse(200, *out);
               }),
        reads);

  // Reissue the patient link (the old one stops working) / revoke it.
  r.Post("/api/v1/appointments/{id}/access_link",
         Handle(deps, Access::kWrite,
                [](Call& c) -> Result<net::Response> {
                  auto id = PathId(c.req, "appointment");
                  if (!id) return std::unexpected(id.error());
                  auto out = c.deps.store.Transact([&](store::Tx& tx) -> Result<json> {
                    auto a = LoadOwned(tx, c.principal, *id);
                    if (!a) return std::unexpected(a.error());
                    auto links = tx.ListAccessLinks(*id);
                    if (!links) return std::unexpected(links.error());
                    for (const auto& l : *links) {
                      if (l.revoked_at) continue;
                      if (auto s = tx.RevokeAccessLink(l.id); !s) return std::unexpected(s.error());
                    }
                    auto url = IssueAccessLink(tx, c.deps, *a);
                    if (!url) return std::unexpected(url.error());
                    if (auto s = Audit(tx, *id, c.principal, "access_link.issued"); !s) {
                      return std::unexpected(s.error());
                    }
                    auto j = AppointmentJson(tx, *a, *url);
                    if (!j) return j;
                    return (*j)["access_link"];
                  });
                  if (!out) return std::unexpected(out.error());
                  return net::JsonResponse(201, *out);
                }),
         writes);
  r.Delete("/api/v1/appointments/{id}/access_link",
           Handle(deps, Access::kWrite,
                  [](Call& c) -> Result<net::Response> {
                    auto id = PathId(c.req, "appointment");
                    if (!id) return std::unexpected(id.error());
                    auto s = c.deps.store.Transact([&](store::Tx& tx) -> Status {
                      auto a = LoadOwned(tx, c.principal, *id);
                      if (!a) return std::unexpected(a.error());
                      auto links = tx.ListAccessLinks(*id);
                      if (!links) return std::unexpected(links.error());
                      for (const auto& l : *links) {
                        if (l.revoked_at) continue;
                        if (auto v = tx.RevokeAccessLink(l.id); !v) return v;
                      }
                      return Audit(tx, *id, c.principal, "access_link.revoked");
                    });
                    if (!s) return std::unexpected(s.error());
                    return net::Response::Empty(204);
                  }),
           writes);

  // What a patient's link shows: their one appointment, nothing else.
  r.Get("/api/v1/access",
        Handle(deps, Access::kPublic,
               [](Call& c) -> Result<net::Response> {
                 auto out = c.deps.store.Read([&](store::Tx& tx) -> Result<json> {
                   std::string token =
                       c.req.Header("X-Access-Token").value_or(c.req.Query("token").value_or(""));
                   auto a = AccessLinkAppointment(tx, token, c.deps.clock.Now());
                   if (!a) return std::unexpected(a.error());
                   auto doctor = tx.GetDoctor(a->doctor_id);
                   if (!doctor) return std::unexpected(doctor.error());
                   auto service = tx.GetService(a->service_id);
                   if (!service) return std::unexpected(service.error());
                   auto full = AppointmentJson(tx, *a);
                   if (!full) return full;
                   const json& m = (*full)["meeting"];
                   return json{{"object", "patient_appointment"}, {"start", TimeJson(a->start)},
                               {"end", TimeJson(a->end)},         {"time_zone", a->time_zone},
                               {"status", core::Name(a->status)}, {"doctor_name", doctor->name},
                               {"service_name", service->name},   {"meeting_state", m["state"]},
                               {"join_url", m["join_url"]}};
                 });
                 if (!out) return std::unexpected(out.error());
                 net::Response resp = net::JsonResponse(200, *out);
                 resp.headers.Set("Cache-Control", "no-store");
                 resp.headers.Set("Referrer-Policy", "no-referrer");
                 return resp;
               }),
        reads);

  r.Get("/api/v1/meetings",
        Handle(deps, Access::kRead,
               [](Call& c) -> Result<net::Response> {
                 auto page = PageFrom(c.req);
                 if (!page) return std::unexpected(page.error());
                 std::optional<core::MeetingState> state;
                 if (auto st = c.req.Query("state")) {
                   auto parsed = core::ParseMeetingState(*st, "state");
                   if (!parsed) return std::unexpected(parsed.error());
                   state = *parsed;
                 }
                 int64_t doctor_id =
                     c.principal.kind == Principal::Kind::kDoctor ? c.principal.doctor_id : 0;
                 auto out = c.deps.store.Read([&](store::Tx& tx) -> Result<json> {
                   auto p = tx.ListMeetings(state, doctor_id, *page);
                   if (!p) return std::unexpected(p.error());
                   json data = json::array();
                   for (const core::Meeting& m : p->items) {
                     std::optional<core::Job> job;
                     if (auto j = tx.GetJob(store::ReconcileJobKey(m.appointment_id))) job = *j;
                     data.push_back(MeetingJson(m, job, m.appointment_id));
                   }
                   return json{{"data", std::move(data)},
                               {"next_cursor",
                                p->next_cursor.empty() ? json(nullptr) : json(p->next_cursor)}};
                 });
                 if (!out) return std::unexpected(out.error());
                 return net::JsonResponse(200, *out);
               }),
        reads);
}

}  // namespace

void RegisterAppointmentRoutes(net::Router& router, ApiDeps& deps) {
  RegisterAppointments(router, deps);
}

}  // namespace telemeet::api
