// Appointments (create with Idempotency-Key, read, list, confirm, reschedule, cancel, complete),
// their meetings (read, retry), audit trail and patient access links.
#include <algorithm>
#include <cstdlib>

#include "api/availability.h"
#include "api/booking.h"
#include "api/idempotency.h"
#include "api/request.h"
#include "api/view_cache.h"
#include "api/views.h"
#include "core/appointment.h"
#include "core/time.h"
#include "crypto/random.h"
#include "net/json.h"

namespace telemeet::api {

using nlohmann::json;

namespace {

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

// A GET of what one appointment's view shows, rendered by `render`: the answer kept since the
// last commit if there is one (view_cache.h), else one statement (issue 19). The mark is taken
// before the read, so a commit during the read keeps its answer from ever being used.
Result<net::Response> ViewAnswer(
    Call& c, AppointmentViewCache& cache,
    const std::function<std::string(const store::AppointmentView&)>& render) {
  const int64_t id = TM_TRY(PathId(c.req, "appointment"));
  const std::optional<store::CommitMark> mark = c.deps.store.CommittedMark();
  if (auto kept = cache.Find(id, mark)) {
    TM_TRY(AuthorizeDoctor(c.principal, kept->doctor_id));
    return net::JsonTextResponse(200, std::move(kept->body));
  }
  auto v = c.deps.store.ReadStatement([&](store::Tx& tx) { return tx.GetAppointmentView(id); });
  if (!v && v.error().code() == ErrorCode::kNotFound) {
    return Fail(ErrorCode::kNotFound, "appointment " + std::to_string(id) + " does not exist");
  }
  if (!v) return std::unexpected(v.error());
  std::string body = render(*v);
  cache.Put(id, mark, {v->appointment.doctor_id, body});
  TM_TRY(AuthorizeDoctor(c.principal, v->appointment.doctor_id));
  return net::JsonTextResponse(200, std::move(body));
}

// Creates the appointment the body describes, or answers an earlier request with the same key.
// `created` says which (the reconciler has new work only then). `warnings` go into the answer.
Result<net::Response> CreateAppointment(Call& c, const Body& body, const IdempotencyKey& key,
                                        const json& warnings, bool& created) {
  ApiDeps& deps = c.deps;
  auto doctor_id = body.Int("doctor_id");
  if (!doctor_id) return std::unexpected(doctor_id.error());
  if (auto s = AuthorizeDoctor(c.principal, *doctor_id); !s) return std::unexpected(s.error());
  auto service_id = body.Int("service_id");
  if (!service_id) return std::unexpected(service_id.error());
  const BookingPatient patient = TM_TRY(BookingPatient::From(body));
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
  std::optional<std::string> external_ref = TM_TRY(body.OptString("external_ref"));
  core::AppointmentStatus status = core::AppointmentStatus::kBooked;
  if (*status_text) {
    auto st = core::ParseAppointmentStatus(**status_text, "status");
    if (!st) return std::unexpected(st.error());
    status = *st;
  }

  return deps.store.Transact([&](store::Tx& tx) -> Result<net::Response> {
    // Checked in the create's own transaction: one round trip less than CreateOnce's read.
    if (auto earlier = TM_TRY(key.Earlier(tx))) return std::move(*earlier);
    auto doctor = Bookable(tx.GetDoctor(*doctor_id), "doctor", *doctor_id, "doctor_id");
    if (!doctor) return std::unexpected(doctor.error());
    auto service = Bookable(tx.GetService(*service_id), "service", *service_id, "service_id");
    if (!service) return std::unexpected(service.error());
    core::Appointment a;
    a.doctor_id = *doctor_id;
    a.service_id = *service_id;
    a.patient_id = TM_TRY(patient.Resolve(tx, c.principal));
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
    a.external_ref = external_ref.value_or("");
    auto made = tx.CreateAppointment(a);
    if (!made) return std::unexpected(made.error());
    auto url = IssueAccessLink(tx, deps, *made);
    if (!url) return std::unexpected(url.error());
    if (auto s = AuditAppointment(tx, made->id, c.principal, "appointment.created",
                                  {{"status", core::Name(made->status)},
                                   {"start", core::FormatRfc3339(made->start)},
                                   {"end", core::FormatRfc3339(made->end)}});
        !s) {
      return std::unexpected(s.error());
    }
    auto out = AppointmentJson(tx, *made, *url);
    if (!out) return std::unexpected(out.error());
    (*out)["warnings"] = warnings;
    // The stored answer never holds the link's token: a replay shows the link without url.
    json stored = *out;
    stored["access_link"]["url"] = nullptr;
    TM_TRY(key.Remember(tx, deps, 201, stored));
    created = true;
    return net::JsonResponse(201, *out);
  });
}

// The booking policy's check of a new appointment (availability.h), before its transaction.
// What the check cannot resolve (a missing doctor, a bad time, another doctor's booking) it
// leaves to the transaction, which refuses it with the usual error; a replay of an idempotent
// request is never checked (its appointment's own event would count as busy).
Result<BookingVerdict> CheckCreate(Call& c, const Body& body, const IdempotencyKey& key) {
  if (c.deps.availability == nullptr) return BookingVerdict{};
  auto doctor_id = body.Int("doctor_id");
  auto service_id = body.Int("service_id");
  auto start_text = body.String("start");
  auto end_text = body.OptString("end");
  auto zone = body.OptString("time_zone");
  auto status_text = body.OptString("status");
  if (!doctor_id || !service_id || !start_text || !end_text || !zone || !status_text ||
      !AuthorizeDoctor(c.principal, *doctor_id)) {
    return BookingVerdict{};
  }
  auto check = c.deps.store.Read([&](store::Tx& tx) -> Result<std::optional<BookingCheck>> {
    if (auto earlier = TM_TRY(key.Earlier(tx))) return std::nullopt;  // a replay: not checked
    auto doctor = tx.GetDoctor(*doctor_id);
    auto service = tx.GetService(*service_id);
    if (!doctor || !service) return std::nullopt;
    BookingCheck check = TM_TRY(PrepareCheck(tx, c.deps.options, *doctor));
    if (*status_text) {
      auto st = core::ParseAppointmentStatus(**status_text, "status");
      if (!st) return std::nullopt;
      check.status = *st;
    }
    const std::string z = zone->value_or(doctor->time_zone);
    auto start = ParseTime(*start_text, z, "start");
    if (!start) return std::nullopt;
    check.times = {*start, *start + std::chrono::minutes(service->default_duration_minutes)};
    if (*end_text) {
      auto end = ParseTime(**end_text, z, "end");
      if (!end) return std::nullopt;
      check.times.end = *end;
    }
    return check;
  });
  if (!check) return std::unexpected(check.error());
  if (!*check) return BookingVerdict{};
  return CheckGoogleBusy(c.deps, **check);
}

Result<net::Response> HandleCreate(Call& c) {
  {
    auto body = Body::Parse(c.req, c.deps.options,
                            {"doctor_id", "service_id", "patient_id", "patient", "start", "end",
                             "time_zone", "status", "notes", "external_ref"});
    if (!body) return std::unexpected(body.error());
    auto key = TM_TRY(IdempotencyKey::From(c, "appointments", body->json().dump()));
    BookingVerdict verdict = TM_TRY(CheckCreate(c, *body, key));
    if (verdict.refusal) return std::move(*verdict.refusal);
    bool created = false;
    auto out = CreateAppointment(c, *body, key, verdict.warnings, created);
    if (!out && IdempotencyKey::LostRace(out.error())) {
      // A concurrent request with the same key committed first: answer as a retry would.
      out = CreateAppointment(c, *body, key, verdict.warnings, created);
    }
    if (!out) return std::unexpected(out.error());
    if (created) NotifyWork(c.deps);
    return std::move(*out);
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
        if (auto s = AuditAppointment(tx, *id, c.principal, action, detail); !s) {
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

// The booking policy's check of new times for an appointment (availability.h). Its own event,
// at the appointment's stored times and at the times it has at Google as last synced, is not
// busy. What cannot be resolved is left to the transaction.
Result<BookingVerdict> CheckReschedule(Call& c, int64_t id, const std::string& start_text,
                                       const std::optional<std::string>& end_text,
                                       const std::optional<std::string>& zone) {
  if (c.deps.availability == nullptr) return BookingVerdict{};
  auto check = c.deps.store.Read([&](store::Tx& tx) -> Result<std::optional<BookingCheck>> {
    auto a = LoadOwned(tx, c.principal, id);
    if (!a) return std::nullopt;
    auto doctor = TM_TRY(tx.GetDoctor(a->doctor_id));
    BookingCheck check = TM_TRY(PrepareCheck(tx, c.deps.options, doctor));
    check.status = a->status;
    const std::string z = zone.value_or(a->time_zone);
    auto start = ParseTime(start_text, z, "start");
    if (!start) return std::nullopt;
    check.times = {*start, *start + (a->end - a->start)};
    if (end_text) {
      auto end = ParseTime(*end_text, z, "end");
      if (!end) return std::nullopt;
      check.times.end = *end;
    }
    if (check.times == core::Interval{a->start, a->end}) return std::nullopt;
    check.own.push_back({a->start, a->end});
    if (auto m = tx.GetMeeting(id); m && !m->event_id.empty()) {
      check.own.push_back({m->synced_start, m->synced_end});
    }
    return check;
  });
  if (!check) return std::unexpected(check.error());
  if (!*check) return BookingVerdict{};
  return CheckGoogleBusy(c.deps, **check);
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
  BookingVerdict verdict = TM_TRY(CheckReschedule(c, *id, *start_text, *end_text, *zone));
  if (verdict.refusal) return std::move(*verdict.refusal);
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
      if (auto s = AuditAppointment(tx, *id, c.principal, "appointment.rescheduled",
                                    {{"from", core::FormatRfc3339(a->start)},
                                     {"to", core::FormatRfc3339(updated->start)},
                                     {"end", core::FormatRfc3339(updated->end)}});
          !s) {
        return std::unexpected(s.error());
      }
    }
    auto j = TM_TRY(AppointmentJson(tx, *updated));
    j["warnings"] = verdict.warnings;
    return j;
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
  if (auto ref = FindValue(params, "external_ref")) f.external_ref = *ref;
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
  // Booking and rescheduling may ask Google (the google_busy policy): on the worker pool, and
  // outside the store's transaction, where one slow answer would hold a whole group commit.
  const net::RouteOptions checked =
      deps.availability != nullptr ? net::RouteOptions{.offload = true} : writes;
  r.Post("/api/v1/appointments", Handle(deps, Access::kWrite, HandleCreate), checked);
  r.Get("/api/v1/appointments", Handle(deps, Access::kRead, List), reads);
  r.Get("/api/v1/appointments/{id}",
        Handle(deps, Access::kRead,
               [](Call& c) {
                 return ViewAnswer(c, *c.deps.view_cache,
                                   [](auto& v) { return AppointmentViewText(v); });
               }),
        reads);
  // PATCH changes what is not the consultation itself: the booking system's id ("" removes
  // it). Times move by reschedule and the status by its actions, each with its own rules.
  r.Patch("/api/v1/appointments/{id}",
          Handle(deps, Access::kWrite,
                 [](Call& c) -> Result<net::Response> {
                   const int64_t id = TM_TRY(PathId(c.req, "appointment"));
                   Body body = TM_TRY(Body::Parse(c.req, c.deps.options, {"external_ref"}));
                   const std::string ref = TM_TRY(body.String("external_ref"));
                   auto out = TM_TRY(c.deps.store.Transact([&](store::Tx& tx) -> Result<json> {
                     core::Appointment a = TM_TRY(LoadOwned(tx, c.principal, id));
                     if (a.external_ref == ref) return AppointmentJson(tx, a);
                     core::Appointment changed = TM_TRY(tx.SetAppointmentExternalRef(id, ref));
                     TM_TRY(AuditAppointment(
                         tx, id, c.principal, "appointment.external_ref_changed",
                         {{"from", RefJson(a.external_ref)}, {"to", RefJson(ref)}}));
                     return AppointmentJson(tx, changed);
                   }));
                   return net::JsonResponse(200, out);
                 }),
          writes);
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
  r.Post("/api/v1/appointments/{id}/reschedule", Handle(deps, Access::kWrite, Reschedule), checked);

  // Integrators poll this one for the link (connectors/kivicare does).
  r.Get("/api/v1/appointments/{id}/meeting",
        Handle(deps, Access::kRead,
               [](Call& c) {
                 return ViewAnswer(c, *c.deps.meeting_cache,
                                   [](auto& v) { return MeetingViewText(v); });
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
                    if (auto s = AuditAppointment(tx, *id, c.principal, "meeting.retry_requested",
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
                    if (auto s = AuditAppointment(tx, *id, c.principal, "access_link.issued"); !s) {
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
                      return AuditAppointment(tx, *id, c.principal, "access_link.revoked");
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
