// The /_emulator/meet/ control routes (emulator/README.md "Meet conferences"): JSON bodies to
// the scripting calls of meet_conferences.cc. Errors use the product's
// {"error":{code,message,field}} shape, naming the field.
#include <algorithm>

#include "base/strings.h"
#include "emulator/calendar/event_time.h"
#include "emulator/meet/meet_internal.h"
#include "emulator/meet/meet_service.h"
#include "net/json.h"

namespace telemeet::emulator {

using net::Request;
using net::Response;
using nlohmann::json;
using namespace meet_internal;

namespace {

Result<json> Body(const Request& req) {
  if (Trim(req.body).empty()) return json::object();
  return net::ParseJsonBody(req);
}

Result<std::optional<Instant>> OptionalTime(const json& j, const std::string& key,
                                            const std::string& field) {
  if (!j.contains(key) || j[key].is_null()) return std::optional<Instant>();
  if (!j[key].is_string()) {
    return Fail(ErrorCode::kInvalidArgument, field + " must be an RFC 3339 time", field);
  }
  auto t = ParseRfc3339(j[key].get<std::string>());
  if (!t) return Fail(ErrorCode::kInvalidArgument, field + " must be an RFC 3339 time", field);
  return std::optional<Instant>(t->instant);
}

Status OnlyKeys(const json& j, std::initializer_list<std::string_view> keys,
                const std::string& where) {
  for (const auto& [k, v] : j.items()) {
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) {
      std::string field = where.empty() ? k : where + "." + k;
      return Fail(ErrorCode::kInvalidArgument, "unknown field " + field, field);
    }
  }
  return Ok();
}

Result<std::string> StringField(const json& j, const char* key, const std::string& field) {
  if (!j.contains(key) || !j[key].is_string() || j[key].get<std::string>().empty()) {
    return Fail(ErrorCode::kInvalidArgument, field + " must be a non-empty string", field);
  }
  return j[key].get<std::string>();
}

Response RefResponse(const MeetSessionRef& r) {
  return net::JsonResponse(200, {{"conferenceRecord", r.conference_record},
                                 {"participant", r.participant},
                                 {"participantSession", r.session}});
}

}  // namespace

// {"kind":"signedIn","email"} (a seeded account: its sub and name), {"kind":"signedIn","userId",
// "displayName"}, {"kind":"anonymous"|"phone","displayName"}. `where` names the field in errors.
// Runs without the service lock: the lookup takes the OAuth side's.
static Result<MeetParticipant> ParseParticipant(
    const json& j, const std::string& where,
    const std::function<std::optional<MeetUser>(std::string_view)>& lookup,
    std::initializer_list<std::string_view> extra_keys = {}) {
  if (!j.is_object()) {
    return Fail(ErrorCode::kInvalidArgument, where + " must be an object", where);
  }
  for (const auto& [k, v] : j.items()) {
    bool known = k == "kind" || k == "email" || k == "userId" || k == "displayName" ||
                 std::find(extra_keys.begin(), extra_keys.end(), k) != extra_keys.end();
    if (!known)
      return Fail(ErrorCode::kInvalidArgument, "unknown field " + where + "." + k, where + "." + k);
  }
  std::string kind = j.value("kind", "");
  MeetParticipant p;
  if (kind == "signedIn") {
    p.kind = ParticipantKind::kSignedIn;
    if (j.contains("email")) {
      auto email = TM_TRY(StringField(j, "email", where + ".email"));
      std::optional<MeetUser> user = lookup ? lookup(email) : std::nullopt;
      if (!user) {
        return Fail(ErrorCode::kInvalidArgument, "no seeded account " + email, where + ".email");
      }
      p.user_id = user->user_id;
      p.display_name = user->display_name;
    } else {
      p.user_id = TM_TRY(StringField(j, "userId", where + ".userId"));
    }
    if (j.contains("displayName")) {
      p.display_name = TM_TRY(StringField(j, "displayName", where + ".displayName"));
    }
    if (p.display_name.empty()) {
      return Fail(ErrorCode::kInvalidArgument, where + ".displayName is required with userId",
                  where + ".displayName");
    }
    return p;
  }
  if (kind == "anonymous" || kind == "phone") {
    p.kind = kind == "phone" ? ParticipantKind::kPhone : ParticipantKind::kAnonymous;
    p.display_name = TM_TRY(StringField(j, "displayName", where + ".displayName"));
    return p;
  }
  return Fail(ErrorCode::kInvalidArgument, where + ".kind must be signedIn, anonymous or phone",
              where + ".kind");
}

void MeetService::RegisterControl(net::Router& router) {
  State* st = state_.get();
  auto lookup = [st] {
    std::lock_guard lock(st->mu);
    return st->lookup;
  };
  const std::string prefix = "/_emulator/meet/spaces/{space}";

  router.Post("/_emulator/meet/spaces", [this](Request& req) {
    auto body = Body(req);
    if (!body) return net::ErrorResponse(body.error());
    if (auto s = OnlyKeys(*body, {"owner", "meetingCode", "accessType"}, ""); !s) {
      return net::ErrorResponse(s.error());
    }
    auto owner = StringField(*body, "owner", "owner");
    if (!owner) return net::ErrorResponse(owner.error());
    if (body->contains("meetingCode") && !(*body)["meetingCode"].is_string()) {
      return net::JsonError(400, "invalid_argument", "meetingCode must be a string", "meetingCode");
    }
    if (body->contains("accessType") && !(*body)["accessType"].is_string()) {
      return net::JsonError(400, "invalid_argument", "accessType must be a string", "accessType");
    }
    auto made =
        CreateSpace(*owner, body->value("meetingCode", ""), body->value("accessType", "TRUSTED"));
    if (!made) return net::ErrorResponse(made.error());
    return net::JsonResponse(201, *made);
  });
  router.Get("/_emulator/meet/spaces", [st](Request&) {
    std::lock_guard lock(st->mu);
    json out = json::array();
    for (const auto& [id, s] : st->spaces) out.push_back(st->StateJson(s));
    return net::JsonResponse(200, {{"spaces", out}});
  });
  router.Get(prefix, [this](Request& req) {
    auto state = SpaceState(req.Param("space"));
    if (!state) return net::JsonError(404, "not_found", "no Meet space " + req.Param("space"));
    return net::JsonResponse(200, *state);
  });

  // join and leave: {"participant": {...}, "time"?}
  auto join_or_leave = [this, st, lookup](bool join) {
    return [this, st, lookup, join](Request& req) {
      auto body = Body(req);
      if (!body) return net::ErrorResponse(body.error());
      if (auto s = OnlyKeys(*body, {"participant", "time"}, ""); !s) {
        return net::ErrorResponse(s.error());
      }
      auto who = ParseParticipant(body->value("participant", json()), "participant", lookup());
      if (!who) return net::ErrorResponse(who.error());
      auto at = OptionalTime(*body, "time", "time");
      if (!at) return net::ErrorResponse(at.error());
      Instant t = at->value_or(st->clock.Now());
      auto ref = join ? Join(req.Param("space"), *who, t) : Leave(req.Param("space"), *who, t);
      if (!ref) return net::ErrorResponse(ref.error());
      return RefResponse(*ref);
    };
  };
  router.Post(prefix + "/join", join_or_leave(true));
  router.Post(prefix + "/leave", join_or_leave(false));

  router.Post(prefix + "/end", [this, st](Request& req) {
    auto body = Body(req);
    if (!body) return net::ErrorResponse(body.error());
    if (auto s = OnlyKeys(*body, {"time"}, ""); !s) return net::ErrorResponse(s.error());
    auto at = OptionalTime(*body, "time", "time");
    if (!at) return net::ErrorResponse(at.error());
    auto name = EndConference(req.Param("space"), at->value_or(st->clock.Now()));
    if (!name) return net::ErrorResponse(name.error());
    return net::JsonResponse(200, {{"conferenceRecord", *name}});
  });

  // A whole conference: {"participants":[{kind..., "sessions":[{"startTime","endTime"?}]}],
  // "startTime"?, "endTime"?}
  router.Post(prefix + "/conference", [this, lookup](Request& req) {
    auto body = Body(req);
    if (!body) return net::ErrorResponse(body.error());
    if (auto s = OnlyKeys(*body, {"participants", "startTime", "endTime"}, ""); !s) {
      return net::ErrorResponse(s.error());
    }
    const json& list = body->value("participants", json());
    if (!list.is_array()) {
      return net::JsonError(400, "invalid_argument", "participants must be an array",
                            "participants");
    }
    auto find = lookup();
    std::vector<ScriptedParticipant> participants;
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string where = "participants[" + std::to_string(i) + "]";
      auto who = ParseParticipant(list[i], where, find, {"sessions"});
      if (!who) return net::ErrorResponse(who.error());
      ScriptedParticipant sp{.who = *who, .sessions = {}};
      const json& sessions = list[i].value("sessions", json());
      if (!sessions.is_array()) {
        return net::JsonError(400, "invalid_argument", where + ".sessions must be an array",
                              where + ".sessions");
      }
      for (size_t k = 0; k < sessions.size(); ++k) {
        const std::string f = where + ".sessions[" + std::to_string(k) + "]";
        if (!sessions[k].is_object()) {
          return net::JsonError(400, "invalid_argument", f + " must be an object", f);
        }
        if (auto s = OnlyKeys(sessions[k], {"startTime", "endTime"}, f); !s) {
          return net::ErrorResponse(s.error());
        }
        auto start = OptionalTime(sessions[k], "startTime", f + ".startTime");
        if (!start) return net::ErrorResponse(start.error());
        if (!*start) {
          return net::JsonError(400, "invalid_argument", f + ".startTime is required",
                                f + ".startTime");
        }
        auto end = OptionalTime(sessions[k], "endTime", f + ".endTime");
        if (!end) return net::ErrorResponse(end.error());
        sp.sessions.push_back({**start, *end});
      }
      participants.push_back(std::move(sp));
    }
    auto start = OptionalTime(*body, "startTime", "startTime");
    if (!start) return net::ErrorResponse(start.error());
    auto end = OptionalTime(*body, "endTime", "endTime");
    if (!end) return net::ErrorResponse(end.error());
    auto name = AddConference(req.Param("space"), participants, *start, *end);
    if (!name) return net::ErrorResponse(name.error());
    return net::JsonResponse(201, {{"conferenceRecord", *name}});
  });

  // The sandbox's "hold a consultation": the space's owner and an anonymous patient together
  // for `minutes`, ending now (or from `startTime`). {"minutes"?: 20, "patientName"?: "Patient",
  // "patientJoins"?: true, "startTime"?}
  router.Post(prefix + "/hold", [this, st, lookup](Request& req) {
    auto body = Body(req);
    if (!body) return net::ErrorResponse(body.error());
    if (auto s = OnlyKeys(*body, {"minutes", "patientName", "patientJoins", "startTime"}, ""); !s) {
      return net::ErrorResponse(s.error());
    }
    const json& m = body->value("minutes", json(20));
    if (!m.is_number_integer() || m.get<int64_t>() < 1 || m.get<int64_t>() > 600) {
      return net::JsonError(400, "invalid_argument", "minutes must be an integer in [1, 600]",
                            "minutes");
    }
    const json& name = body->value("patientName", json("Patient"));
    if (!name.is_string() || name.get<std::string>().empty()) {
      return net::JsonError(400, "invalid_argument", "patientName must be a non-empty string",
                            "patientName");
    }
    const json& joins = body->value("patientJoins", json(true));
    if (!joins.is_boolean()) {
      return net::JsonError(400, "invalid_argument", "patientJoins must be true or false",
                            "patientJoins");
    }
    auto from = OptionalTime(*body, "startTime", "startTime");
    if (!from) return net::ErrorResponse(from.error());
    auto state = SpaceState(req.Param("space"));
    if (!state) return net::JsonError(404, "not_found", "no Meet space " + req.Param("space"));
    std::string owner = (*state)["owner"];
    auto find = lookup();
    std::optional<MeetUser> user = find ? find(owner) : std::nullopt;
    if (!user) {
      return net::JsonError(400, "invalid_argument",
                            "the space's owner " + owner + " is not a seeded account", "space");
    }
    const auto minutes = std::chrono::minutes(m.get<int64_t>());
    const auto gap = std::chrono::minutes(1);
    Instant start = from->value_or(st->clock.Now() - minutes - gap);
    std::vector<ScriptedParticipant> people = {{.who = {.kind = ParticipantKind::kSignedIn,
                                                        .user_id = user->user_id,
                                                        .display_name = user->display_name},
                                                .sessions = {{start, start + minutes + gap}}}};
    if (joins.get<bool>()) {
      people.push_back({.who = {.kind = ParticipantKind::kAnonymous,
                                .user_id = "",
                                .display_name = name.get<std::string>()},
                        .sessions = {{start + gap, start + minutes + gap}}});
    }
    auto record = AddConference(req.Param("space"), people, start, start + minutes + gap);
    if (!record) return net::ErrorResponse(record.error());
    return net::JsonResponse(201, {{"conferenceRecord", *record}});
  });
}

}  // namespace telemeet::emulator
