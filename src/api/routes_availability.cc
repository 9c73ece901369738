// The doctor's availability (M17): GET /doctors/{id}/availability, the booking policy's
// settings (GET/PATCH /settings/booking), working hours and the booking check (availability.h).
#include <algorithm>
#include <charconv>

#include "api/admin_audit.h"
#include "api/availability.h"
#include "api/views.h"
#include "core/time.h"
#include "net/json.h"

namespace telemeet::api {

using nlohmann::json;

namespace {

constexpr std::chrono::days kMaxRange{62};
constexpr size_t kMaxSlots = 1'000;
constexpr int64_t kMinSlotMinutes = 5;
constexpr int64_t kMaxSlotMinutes = 12 * 60;
// Appointments last at most this long (core/validation.h), so one that overlaps a range starts
// at most this long before it.
constexpr std::chrono::hours kLookBack{12};
constexpr int kMaxAppointmentPages = 20;  // of 1,000: a doctor's appointments in 62 days

json IntervalsJson(const std::vector<core::Interval>& intervals) {
  json out = json::array();
  for (const core::Interval& i : intervals) {
    out.push_back({{"start", core::FormatRfc3339(i.start)}, {"end", core::FormatRfc3339(i.end)}});
  }
  return out;
}

bool HoldsTime(core::AppointmentStatus s) {
  return s == core::AppointmentStatus::kBooked || s == core::AppointmentStatus::kConfirmed;
}

// The doctor's booked and confirmed appointments overlapping `range`.
Result<std::vector<core::Interval>> OwnBusy(store::Tx& tx, int64_t doctor_id,
                                            core::Interval range) {
  store::AppointmentFilter f;
  f.doctor_id = doctor_id;
  f.from = range.start - kLookBack;
  f.to = range.end;
  store::PageRequest page;
  page.limit = 1000;
  std::vector<core::Interval> out;
  for (int i = 0; i < kMaxAppointmentPages; ++i) {
    auto p = TM_TRY(tx.ListAppointments(f, page));
    for (const core::Appointment& a : p.items) {
      if (!HoldsTime(a.status) || a.end <= range.start || a.start >= range.end) continue;
      out.push_back({std::max(a.start, range.start), std::min(a.end, range.end)});
    }
    if (p.next_cursor.empty()) break;
    page.cursor = p.next_cursor;
  }
  return core::MergeIntervals(std::move(out));
}

Result<int64_t> SlotMinutes(const net::Request& req) {
  auto v = req.Query("slot_minutes");
  if (!v) return 30;
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (v->empty() || ec != std::errc() || ptr != v->data() + v->size() || n < kMinSlotMinutes ||
      n > kMaxSlotMinutes) {
    return Fail(ErrorCode::kInvalidArgument,
                "slot_minutes must be a whole number from " + std::to_string(kMinSlotMinutes) +
                    " to " + std::to_string(kMaxSlotMinutes),
                "slot_minutes");
  }
  return n;
}

Result<Instant> TimeParam(const net::Request& req, std::string_view name) {
  auto v = req.Query(std::string(name));
  if (!v) {
    return Fail(ErrorCode::kInvalidArgument, std::string(name) + " is required (RFC 3339)",
                std::string(name));
  }
  return core::ParseRfc3339(*v, name);
}

Result<net::Response> GetAvailability(Call& c) {
  const int64_t id = TM_TRY(PathId(c.req, "doctor"));
  // Another doctor's calendar answers as a missing doctor would: busy times are private.
  if (c.principal.kind == Principal::Kind::kDoctor && c.principal.doctor_id != id) {
    return Fail(ErrorCode::kNotFound, "doctor " + std::to_string(id) + " does not exist");
  }
  const Instant from = TM_TRY(TimeParam(c.req, "from"));
  const Instant to = TM_TRY(TimeParam(c.req, "to"));
  const int64_t slot_minutes = TM_TRY(SlotMinutes(c.req));
  if (to <= from) return Fail(ErrorCode::kInvalidArgument, "to must be after from", "to");
  if (to - from > kMaxRange) {
    return Fail(ErrorCode::kInvalidArgument,
                "the range from..to spans at most " + std::to_string(kMaxRange.count()) + " days",
                "to");
  }
  const core::Interval range{from, to};

  struct Read {
    core::Doctor doctor;
    std::optional<core::GrantStatus> grant;
    std::optional<core::WorkingHours> hours;
    std::vector<core::Interval> own;
  };
  auto read = TM_TRY(c.deps.store.Read([&](store::Tx& tx) -> Result<Read> {
    Read r;
    r.doctor = TM_TRY(tx.GetDoctor(id));
    auto check = TM_TRY(PrepareCheck(tx, c.deps.options, r.doctor));
    r.grant = check.grant;
    r.hours = TM_TRY(LoadWorkingHours(tx, id));
    r.own = TM_TRY(OwnBusy(tx, id, range));
    return r;
  }));

  sync::GoogleBusy google;
  if (c.deps.availability != nullptr) {
    auto asked = c.deps.availability->Busy(read.doctor, read.grant, range);
    if (!asked) {
      return net::JsonError(503, "google_unavailable",
                            "the doctor's availability could not be read from Google Calendar: " +
                                asked.error().message(),
                            "google");
    }
    google = std::move(*asked);
  } else {
    google.reason = "google_not_configured";
  }
  std::vector<core::Interval> all = read.own;
  all.insert(all.end(), google.busy.begin(), google.busy.end());
  const std::vector<core::Interval> busy = core::MergeIntervals(std::move(all));
  core::SlotQuery q;
  q.range = range;
  q.length = std::chrono::minutes(slot_minutes);
  q.hours = read.hours;
  q.time_zone = read.doctor.time_zone;
  q.not_before = c.deps.clock.Now();
  q.max_slots = kMaxSlots;
  auto slots = TM_TRY(core::FreeSlots(q, busy));

  json out = {{"object", "availability"},
              {"doctor_id", id},
              {"from", core::FormatRfc3339(from)},
              {"to", core::FormatRfc3339(to)},
              {"time_zone", read.doctor.time_zone},
              {"slot_minutes", slot_minutes},
              {"working_hours", read.hours ? WorkingHoursJson(*read.hours) : json(nullptr)},
              {"google_consulted", google.consulted},
              {"google_status", google.consulted ? json("consulted") : json(google.reason)},
              {"busy", IntervalsJson(busy)},
              {"busy_google", IntervalsJson(google.busy)},
              {"busy_telemeet", IntervalsJson(read.own)},
              {"free", IntervalsJson(slots.slots)},
              {"truncated", slots.truncated}};
  net::Response resp = net::JsonResponse(200, out);
  resp.headers.Set("Cache-Control", "no-store");
  return resp;
}

Result<json> BookingSettingsJson(store::Tx& tx, const ApiOptions& options) {
  auto policy = TM_TRY(LoadGoogleBusyPolicy(tx, options));
  auto stored = tx.GetSetting(sync::kGoogleBusySetting);
  if (!stored && stored.error().code() != ErrorCode::kNotFound) {
    return std::unexpected(stored.error());
  }
  return json{{"object", "booking_settings"},
              {"google_busy", sync::Name(policy)},
              {"google_busy_source", stored ? "settings" : "config"}};
}

void RegisterBookingSettings(net::Router& r, ApiDeps& deps) {
  const net::RouteOptions offload{.offload = true};
  r.Get("/api/v1/settings/booking",
        Handle(deps, Access::kAdmin,
               [](Call& c) -> Result<net::Response> {
                 auto out = TM_TRY(c.deps.store.Read(
                     [&](store::Tx& tx) { return BookingSettingsJson(tx, c.deps.options); }));
                 return net::JsonResponse(200, out);
               }),
        offload);
  r.Patch("/api/v1/settings/booking",
          Handle(deps, Access::kAdmin,
                 [](Call& c) -> Result<net::Response> {
                   auto body = TM_TRY(Body::Parse(c.req, c.deps.options, {"google_busy"}));
                   auto text = TM_TRY(body.OptString("google_busy"));
                   std::optional<sync::GoogleBusyPolicy> policy;
                   if (text) policy = TM_TRY(sync::ParseGoogleBusyPolicy(*text, "google_busy"));
                   auto out = TM_TRY(c.deps.store.Transact([&](store::Tx& tx) -> Result<json> {
                     if (policy) {
                       TM_TRY(tx.PutSetting(sync::kGoogleBusySetting, sync::Name(*policy)));
                       TM_TRY(AuditAdminChange(tx, c.principal, "settings",
                                               "settings.booking.updated", "settings:booking",
                                               {{"changed", json::array({"google_busy"})},
                                                {"google_busy", sync::Name(*policy)}}));
                     }
                     return BookingSettingsJson(tx, c.deps.options);
                   }));
                   return net::JsonResponse(200, out);
                 }),
          offload);
}

json BusyWarningOrError(std::string_view code, std::string message,
                        const std::vector<core::Interval>& busy) {
  json e = {{"code", code}, {"message", std::move(message)}};
  if (!busy.empty()) e["busy"] = IntervalsJson(busy);
  return e;
}

}  // namespace

std::string WorkingHoursKey(int64_t doctor_id) {
  return "doctor.working_hours:" + std::to_string(doctor_id);
}

json WorkingHoursJson(const core::WorkingHours& hours) {
  json out = json::object();
  for (size_t d = 0; d < hours.days.size(); ++d) {
    json ranges = json::array();
    for (const core::ClockRange& r : hours.days[d]) {
      ranges.push_back({core::FormatClock(r.from), core::FormatClock(r.to)});
    }
    out[std::string(core::WeekdayKey(d))] = std::move(ranges);
  }
  return out;
}

Result<std::optional<core::WorkingHours>> ParseWorkingHours(const json& value) {
  if (value.is_null()) return std::nullopt;
  if (!value.is_object()) {
    return Fail(ErrorCode::kInvalidArgument,
                "working_hours must be an object of days (mon ... sun) or null", "working_hours");
  }
  core::WorkingHours hours;
  for (const auto& [key, ranges] : value.items()) {
    const std::string field = "working_hours." + key;
    std::optional<size_t> day = core::WeekdayIndex(key);
    if (!day) {
      return Fail(ErrorCode::kInvalidArgument, field + " is not a day (mon, tue, ... sun)", field);
    }
    if (!ranges.is_array()) {
      return Fail(ErrorCode::kInvalidArgument,
                  field + " must be a list of [\"HH:MM\", \"HH:MM\"] ranges", field);
    }
    if (ranges.size() > core::WorkingHours::kMaxRangesPerDay) {
      return Fail(ErrorCode::kInvalidArgument,
                  field + " has more than " + std::to_string(core::WorkingHours::kMaxRangesPerDay) +
                      " ranges",
                  field);
    }
    for (size_t i = 0; i < ranges.size(); ++i) {
      const std::string item = field + "[" + std::to_string(i) + "]";
      const json& r = ranges[i];
      if (!r.is_array() || r.size() != 2 || !r[0].is_string() || !r[1].is_string()) {
        return Fail(ErrorCode::kInvalidArgument, item + " must be [\"HH:MM\", \"HH:MM\"]", item);
      }
      hours.days[*day].push_back(TM_TRY(core::ParseClockRange(
          r[0].get_ref<const std::string&>(), r[1].get_ref<const std::string&>(), item)));
    }
    TM_TRY(core::NormalizeDay(hours.days[*day], field));
  }
  return hours;
}

Result<std::optional<core::WorkingHours>> LoadWorkingHours(store::Tx& tx, int64_t doctor_id) {
  auto text = tx.GetSetting(WorkingHoursKey(doctor_id));
  if (!text) {
    if (text.error().code() == ErrorCode::kNotFound) return std::nullopt;
    return std::unexpected(text.error());
  }
  json parsed = json::parse(*text, nullptr, false);
  auto hours = ParseWorkingHours(parsed);
  if (!hours) {
    return Fail(ErrorCode::kInternal, "stored working hours of doctor " +
                                          std::to_string(doctor_id) +
                                          " are unreadable: " + hours.error().message());
  }
  return hours;
}

Status SaveWorkingHours(store::Tx& tx, int64_t doctor_id,
                        const std::optional<core::WorkingHours>& hours) {
  if (!hours) {
    TM_TRY(tx.DeleteSetting(WorkingHoursKey(doctor_id)));
    return Ok();
  }
  return tx.PutSetting(WorkingHoursKey(doctor_id), WorkingHoursJson(*hours).dump());
}

Result<json> DoctorWithHoursJson(store::Tx& tx, const core::Doctor& doctor) {
  json out = DoctorJson(doctor);
  auto hours = TM_TRY(LoadWorkingHours(tx, doctor.id));
  out["working_hours"] = hours ? WorkingHoursJson(*hours) : json(nullptr);
  return out;
}

Result<sync::GoogleBusyPolicy> LoadGoogleBusyPolicy(store::Tx& tx, const ApiOptions& options) {
  auto stored = tx.GetSetting(sync::kGoogleBusySetting);
  if (stored) {
    if (auto p = sync::ParseGoogleBusyPolicy(*stored, "google_busy")) return *p;
  } else if (stored.error().code() != ErrorCode::kNotFound) {
    return std::unexpected(stored.error());
  }
  return sync::ParseGoogleBusyPolicy(options.google_busy_default, "booking.google_busy");
}

Result<BookingCheck> PrepareCheck(store::Tx& tx, const ApiOptions& options,
                                  const core::Doctor& doctor) {
  BookingCheck check;
  check.doctor = doctor;
  check.policy = TM_TRY(LoadGoogleBusyPolicy(tx, options));
  auto grant = tx.GetGrant(doctor.id);
  if (grant) {
    check.grant = grant->status;
  } else if (grant.error().code() != ErrorCode::kNotFound) {
    return std::unexpected(grant.error());
  }
  return check;
}

BookingVerdict CheckGoogleBusy(ApiDeps& deps, const BookingCheck& check) {
  BookingVerdict verdict;
  if (check.policy == sync::GoogleBusyPolicy::kIgnore || deps.availability == nullptr ||
      !HoldsTime(check.status) || !check.grant ||
      *check.grant == core::GrantStatus::kDisconnected) {
    return verdict;
  }
  const bool refuse = check.policy == sync::GoogleBusyPolicy::kRefuse;
  auto unchecked = [&](const std::string& why) {
    if (refuse) {
      verdict.refusal = net::JsonError(
          503, "availability_unchecked",
          "the doctor's availability could not be checked with Google Calendar (" + why +
              "), and the booking policy (google_busy = refuse) books nothing it cannot check",
          "google");
    } else {
      verdict.warnings.push_back(BusyWarningOrError(
          "availability_unchecked",
          "the doctor's availability could not be checked with Google Calendar (" + why + ")", {}));
    }
  };
  // Asked over the whole days (the cache's window anyway), so a refusal names Google's busy
  // intervals as they are rather than cut to the appointment.
  auto google =
      deps.availability->Busy(check.doctor, check.grant, sync::FreeBusyCache::Window(check.times));
  if (!google) {
    unchecked(google.error().message());
    return verdict;
  }
  if (!google->consulted) {
    unchecked("the doctor's Google connection is " + google->reason);
    return verdict;
  }
  const std::vector<core::Interval> busy = core::Overlapping(
      core::SubtractIntervals(google->busy, core::MergeIntervals(check.own)), check.times);
  if (busy.empty()) return verdict;
  const std::string what = "the doctor's Google Calendar is busy from " +
                           core::FormatRfc3339(busy.front().start) + " to " +
                           core::FormatRfc3339(busy.front().end);
  if (refuse) {
    json error = BusyWarningOrError("slot_busy", what + "; choose another time", busy);
    error["field"] = "start";
    verdict.refusal = net::JsonResponse(409, json{{"error", std::move(error)}});
  } else {
    verdict.warnings.push_back(BusyWarningOrError("slot_busy", what, busy));
  }
  return verdict;
}

void RegisterAvailabilityRoutes(net::Router& router, ApiDeps& deps) {
  // A miss asks Google: on the worker pool, never an I/O thread.
  router.Get("/api/v1/doctors/{id}/availability", Handle(deps, Access::kRead, GetAvailability),
             {.offload = true});
  RegisterBookingSettings(router, deps);
}

}  // namespace telemeet::api
