// Recurring series (M15): create a series (Idempotency-Key as for appointments), read it with
// its occurrences and their meetings, list series, cancel the rest of a series, move its future
// occurrences. Each occurrence is an appointment with its own lifecycle (routes_appointments.cc
// changes one occurrence like any appointment); these routes change many in one transaction.
#include <algorithm>
#include <cstdlib>
#include <map>

#include "api/booking.h"
#include "api/idempotency.h"
#include "api/request.h"
#include "api/views.h"
#include "core/recurrence.h"
#include "core/time.h"
#include "crypto/random.h"
#include "net/json.h"

namespace telemeet::api {

using nlohmann::json;

namespace {

// A shift of a series' future occurrences: at most a week either way, so a typo cannot move a
// series by months.
constexpr int64_t kMaxShiftMinutes = 7 * 24 * 60;

// The series, when the principal may see it: a doctor's session sees only their own (another
// doctor's answers 403, as appointments do).
Result<core::AppointmentSeries> LoadOwnedSeries(store::Tx& tx, const Principal& p, int64_t id) {
  auto s = tx.GetSeries(id);
  if (!s) {
    if (s.error().code() == ErrorCode::kNotFound) {
      return Fail(ErrorCode::kNotFound,
                  "appointment series " + std::to_string(id) + " does not exist");
    }
    return s;
  }
  TM_TRY(AuthorizeDoctor(p, s->doctor_id));
  return s;
}

// The series; with `occurrences`, each occurrence as GET /appointments/{id} shows it (meeting
// included; `links` holds patient URLs issued just now, by appointment id, shown once). Lists
// leave the occurrences out: three reads each, for up to 100 occurrences per series.
enum class Occurrences { kInclude, kCountOnly };
Result<json> SeriesJson(store::Tx& tx, const core::AppointmentSeries& s,
                        Occurrences with = Occurrences::kInclude,
                        const std::map<int64_t, std::string>& links = {}) {
  json occurrences = json::array();
  size_t total = 0;
  int active = 0;
  for (const core::Appointment& a : TM_TRY(tx.ListSeriesAppointments(s.id))) {
    ++total;
    if (a.status != core::AppointmentStatus::kCancelled) ++active;
    if (with == Occurrences::kCountOnly) continue;
    auto it = links.find(a.id);
    occurrences.push_back(TM_TRY(AppointmentJson(tx, a, it == links.end() ? "" : it->second)));
  }
  json out = json::object();
  out["id"] = s.id;
  out["object"] = "appointment_series";
  out["uid"] = s.uid;
  out["doctor_id"] = s.doctor_id;
  out["service_id"] = s.service_id;
  out["patient_id"] = s.patient_id;
  out["rrule"] = s.rrule;
  out["time_zone"] = s.time_zone;
  out["mode"] = core::Name(s.mode);
  out["status"] = core::Name(s.status);
  out["start"] = TimeJson(s.first_start);
  out["end"] = TimeJson(s.first_end);
  out["notes"] = s.notes;
  out["occurrence_count"] = total;
  out["active_occurrence_count"] = active;
  out["created_at"] = TimeJson(s.created_at);
  out["updated_at"] = TimeJson(s.updated_at);
  if (with == Occurrences::kInclude) out["occurrences"] = std::move(occurrences);
  return out;
}

// The refusal of one occurrence, naming which: "occurrence 3 (2026-03-30): ...".
Error ForOccurrence(const Error& e, size_t index, std::string_view local_date) {
  return Error(e.code(),
               "occurrence " + std::to_string(index + 1) + " (" + std::string(local_date) +
                   "): " + e.message(),
               e.field());
}

// Creates the series the body describes, or answers an earlier request with the same key;
// `created` says which.
Result<net::Response> CreateSeries(Call& c, const Body& body, const IdempotencyKey& idem,
                                   bool& created) {
  ApiDeps& deps = c.deps;
  const int64_t doctor_id = TM_TRY(body.Int("doctor_id"));
  TM_TRY(AuthorizeDoctor(c.principal, doctor_id));
  const int64_t service_id = TM_TRY(body.Int("service_id"));
  const BookingPatient booked_patient = TM_TRY(BookingPatient::From(body));
  const std::string start_text = TM_TRY(body.String("start"));
  const std::optional<std::string> end_text = TM_TRY(body.OptString("end"));
  const std::optional<std::string> zone = TM_TRY(body.OptString("time_zone"));
  const core::Recurrence rule = TM_TRY(core::ParseRecurrence(TM_TRY(body.String("rrule"))));
  core::SeriesMode mode = core::SeriesMode::kPerOccurrence;
  if (auto m = TM_TRY(body.OptString("mode"))) mode = TM_TRY(core::ParseSeriesMode(*m, "mode"));
  const bool confirm = TM_TRY(body.OptBool("confirm")).value_or(false);
  const std::string notes = TM_TRY(body.OptString("notes")).value_or("");

  return deps.store.Transact([&](store::Tx& tx) -> Result<net::Response> {
    if (auto earlier = TM_TRY(idem.Earlier(tx))) return std::move(*earlier);
    auto doctor = TM_TRY(Bookable(tx.GetDoctor(doctor_id), "doctor", doctor_id, "doctor_id"));
    auto service = TM_TRY(Bookable(tx.GetService(service_id), "service", service_id, "service_id"));
    const int64_t patient = TM_TRY(booked_patient.Resolve(tx, c.principal));
    core::AppointmentSeries s;
    s.doctor_id = doctor_id;
    s.service_id = service_id;
    s.patient_id = patient;
    s.time_zone = zone.value_or(doctor.time_zone);
    TM_TRY(core::ValidateTimeZone(s.time_zone, "time_zone"));
    s.first_start = TM_TRY(ParseTime(start_text, s.time_zone, "start"));
    s.first_end = end_text ? TM_TRY(ParseTime(*end_text, s.time_zone, "end"))
                           : s.first_start + std::chrono::minutes(service.default_duration_minutes);
    s.rrule = core::FormatRecurrence(rule);
    s.mode = mode;
    s.notes = notes;
    const std::vector<core::Occurrence> occurrences =
        TM_TRY(core::ExpandRecurrence(rule, s.first_start, s.first_end, s.time_zone));
    s = TM_TRY(tx.CreateSeries(s));

    std::map<int64_t, std::string> links;
    for (size_t i = 0; i < occurrences.size(); ++i) {
      core::Appointment a;
      a.doctor_id = doctor_id;
      a.service_id = service_id;
      a.patient_id = patient;
      a.start = occurrences[i].start;
      a.end = occurrences[i].end;
      a.time_zone = s.time_zone;
      a.status = confirm ? core::AppointmentStatus::kConfirmed : core::AppointmentStatus::kBooked;
      a.notes = notes;
      a.series_id = s.id;
      auto created = tx.CreateAppointment(a);
      if (!created)
        return std::unexpected(ForOccurrence(created.error(), i, occurrences[i].local_date));
      links[created->id] = TM_TRY(IssueAccessLink(tx, deps, *created));
      TM_TRY(AuditAppointment(tx, created->id, c.principal, "appointment.created",
                              {{"status", core::Name(created->status)},
                               {"start", core::FormatRfc3339(created->start)},
                               {"end", core::FormatRfc3339(created->end)},
                               {"series_id", s.id}}));
    }
    json out = TM_TRY(SeriesJson(tx, s, Occurrences::kInclude, links));
    // The stored answer never holds a link's token: a replay shows the links without url.
    json stored = out;
    for (json& o : stored["occurrences"]) {
      if (o["access_link"].is_object()) o["access_link"]["url"] = nullptr;
    }
    TM_TRY(idem.Remember(tx, deps, 201, stored));
    created = true;
    return net::JsonResponse(201, out);
  });
}

Result<net::Response> HandleCreate(Call& c) {
  const Body body = TM_TRY(Body::Parse(c.req, c.deps.options,
                                       {"doctor_id", "service_id", "patient_id", "patient", "start",
                                        "end", "time_zone", "rrule", "mode", "confirm", "notes"}));
  const auto idem = TM_TRY(IdempotencyKey::From(c, "appointment_series", body.json().dump()));
  bool created = false;
  auto out = CreateSeries(c, body, idem, created);
  if (!out && IdempotencyKey::LostRace(out.error())) {
    // A concurrent request with the same key committed first: answer as a retry would.
    out = CreateSeries(c, body, idem, created);
  }
  if (!out) return std::unexpected(out.error());
  if (created) NotifyWork(c.deps);
  return std::move(*out);
}

// What a change of the series does to its future occurrences.
struct SeriesChange {
  bool cancel = false;
  std::optional<std::string> time_of_day;  // "HH:MM" local
  std::optional<int64_t> shift_minutes;    // of the local wall time
  std::optional<std::string> reason;
};

// The occurrences a change applies to: those not yet begun, neither cancelled nor completed.
bool IsFuture(const core::Appointment& a, Instant now) {
  return a.start > now && a.status != core::AppointmentStatus::kCancelled &&
         a.status != core::AppointmentStatus::kCompleted;
}

Result<json> ApplyChange(Call& c, int64_t id, const SeriesChange& change) {
  return c.deps.store.Transact([&](store::Tx& tx) -> Result<json> {
    core::AppointmentSeries s = TM_TRY(LoadOwnedSeries(tx, c.principal, id));
    const Instant now = c.deps.clock.Now();
    if (s.status == core::SeriesStatus::kCancelled &&
        (change.time_of_day || change.shift_minutes)) {
      return Fail(ErrorCode::kFailedPrecondition,
                  "appointment series " + std::to_string(id) + " is cancelled", "status");
    }
    const std::vector<core::Appointment> all = TM_TRY(tx.ListSeriesAppointments(s.id));
    for (size_t i = 0; i < all.size(); ++i) {
      const core::Appointment& a = all[i];
      if (!IsFuture(a, now)) continue;
      const std::string local_date =
          TM_TRY(core::FormatWithOffset(a.start, a.time_zone)).substr(0, 10);
      if (change.cancel) {
        auto done = tx.SetStatus(a.id, core::AppointmentStatus::kCancelled);
        if (!done) return std::unexpected(ForOccurrence(done.error(), i, local_date));
        json detail = {{"from", core::Name(a.status)}, {"to", "cancelled"}, {"series_id", s.id}};
        if (change.reason) detail["reason"] = *change.reason;
        TM_TRY(AuditAppointment(tx, a.id, c.principal, "appointment.cancelled", detail));
        continue;
      }
      Result<Instant> start =
          change.time_of_day
              ? core::AtLocalTimeOfDay(a.start, a.time_zone, *change.time_of_day, "time_of_day")
              : core::ShiftWallTime(a.start, a.time_zone,
                                    std::chrono::minutes(*change.shift_minutes), "shift_minutes");
      if (!start) return std::unexpected(ForOccurrence(start.error(), i, local_date));
      core::Appointment next = a;
      next.start = *start;
      next.end = *start + (a.end - a.start);
      auto moved = tx.UpdateAppointment(next);
      if (!moved) return std::unexpected(ForOccurrence(moved.error(), i, local_date));
      if (moved->revision != a.revision) {
        TM_TRY(AuditAppointment(tx, a.id, c.principal, "appointment.rescheduled",
                                {{"from", core::FormatRfc3339(a.start)},
                                 {"to", core::FormatRfc3339(moved->start)},
                                 {"end", core::FormatRfc3339(moved->end)},
                                 {"series_id", s.id}}));
      }
      if (a.start == s.first_start) {
        s.first_start = moved->start;
        s.first_end = moved->end;
      }
    }
    if (change.cancel) s.status = core::SeriesStatus::kCancelled;
    s = TM_TRY(tx.UpdateSeries(s));
    return SeriesJson(tx, s);
  });
}

Result<net::Response> HandlePatch(Call& c) {
  const int64_t id = TM_TRY(PathId(c.req, "appointment series"));
  const Body body = TM_TRY(
      Body::Parse(c.req, c.deps.options, {"status", "time_of_day", "shift_minutes", "reason"}));
  SeriesChange change;
  change.reason = TM_TRY(body.OptString("reason"));
  if (auto st = TM_TRY(body.OptString("status"))) {
    auto status = TM_TRY(core::ParseSeriesStatus(*st, "status"));
    if (status != core::SeriesStatus::kCancelled) {
      return Fail(ErrorCode::kInvalidArgument,
                  "status can only become cancelled (a cancelled series is not restarted; create "
                  "a new one)",
                  "status");
    }
    change.cancel = true;
  }
  change.time_of_day = TM_TRY(body.OptString("time_of_day"));
  change.shift_minutes = TM_TRY(body.OptInt("shift_minutes"));
  if (change.shift_minutes &&
      (*change.shift_minutes == 0 || std::abs(*change.shift_minutes) > kMaxShiftMinutes)) {
    return Fail(ErrorCode::kInvalidArgument,
                "shift_minutes must be non-zero and at most " + std::to_string(kMaxShiftMinutes) +
                    " (a week) either way",
                "shift_minutes");
  }
  const int given = int{change.cancel} + int{change.time_of_day.has_value()} +
                    int{change.shift_minutes.has_value()};
  if (given != 1) {
    return Fail(ErrorCode::kInvalidArgument,
                "give exactly one of status (cancelled), time_of_day or shift_minutes",
                given == 0 ? "status" : "time_of_day");
  }
  json out = TM_TRY(ApplyChange(c, id, change));
  NotifyWork(c.deps);
  return net::JsonResponse(200, out);
}

Result<net::Response> HandleDelete(Call& c) {
  const int64_t id = TM_TRY(PathId(c.req, "appointment series"));
  json out = TM_TRY(ApplyChange(c, id, {.cancel = true}));
  NotifyWork(c.deps);
  return net::JsonResponse(200, out);
}

Result<net::Response> HandleGet(Call& c) {
  const int64_t id = TM_TRY(PathId(c.req, "appointment series"));
  json out = TM_TRY(c.deps.store.Read([&](store::Tx& tx) -> Result<json> {
    return SeriesJson(tx, TM_TRY(LoadOwnedSeries(tx, c.principal, id)));
  }));
  return net::JsonResponse(200, out);
}

// The series without their occurrences; a doctor sees their own.
Result<net::Response> HandleList(Call& c) {
  const store::PageRequest page = TM_TRY(PageFrom(c.req));
  int64_t doctor_id = 0;
  if (auto d = c.req.Query("doctor_id")) {
    char* end = nullptr;
    long long n = std::strtoll(d->c_str(), &end, 10);
    if (d->empty() || *end != '\0' || n <= 0) {
      return Fail(ErrorCode::kInvalidArgument, "doctor_id must be a positive integer", "doctor_id");
    }
    doctor_id = n;
    TM_TRY(AuthorizeDoctor(c.principal, doctor_id));
  }
  if (c.principal.kind == Principal::Kind::kDoctor) doctor_id = c.principal.doctor_id;
  json out = TM_TRY(c.deps.store.Read([&](store::Tx& tx) -> Result<json> {
    auto p = TM_TRY(tx.ListSeries(doctor_id, page));
    json data = json::array();
    for (const core::AppointmentSeries& s : p.items) {
      data.push_back(TM_TRY(SeriesJson(tx, s, Occurrences::kCountOnly)));
    }
    return json{{"data", std::move(data)},
                {"next_cursor", p.next_cursor.empty() ? json(nullptr) : json(p.next_cursor)}};
  }));
  return net::JsonResponse(200, out);
}

}  // namespace

void RegisterSeriesRoutes(net::Router& r, ApiDeps& deps) {
  const net::RouteOptions reads = StoreReadRoute(deps);
  const net::RouteOptions writes = StoreWriteRoute(deps);
  r.Post("/api/v1/appointment_series", Handle(deps, Access::kWrite, HandleCreate), writes);
  r.Get("/api/v1/appointment_series", Handle(deps, Access::kRead, HandleList), reads);
  r.Get("/api/v1/appointment_series/{id}", Handle(deps, Access::kRead, HandleGet), reads);
  r.Patch("/api/v1/appointment_series/{id}", Handle(deps, Access::kWrite, HandlePatch), writes);
  r.Delete("/api/v1/appointment_series/{id}", Handle(deps, Access::kWrite, HandleDelete), writes);
}

}  // namespace telemeet::api
