// Conference scripting of MeetService: joins, leaves and ends in time order, and whole
// conferences given at once (meet_service.h). Everything runs under the service's lock.
#include <algorithm>

#include "base/strings.h"
#include "emulator/meet/meet_internal.h"
#include "emulator/meet/meet_service.h"

namespace telemeet::emulator {

using namespace meet_internal;

bool meet_internal::SameParticipant(const MeetParticipant& a, const MeetParticipant& b) {
  if (a.kind != b.kind) return false;
  return a.kind == ParticipantKind::kSignedIn ? a.user_id == b.user_id
                                              : a.display_name == b.display_name;
}

Result<MeetSessionRef> MeetService::State::JoinLocked(Space& space, const MeetParticipant& who,
                                                      Instant at) {
  Record* rec = nullptr;
  if (!space.active_record.empty()) {
    rec = &records.at(space.active_record);
    if (at < rec->start) {
      return Fail(
          ErrorCode::kInvalidArgument,
          "time is before the running conference started (" + FormatTimestamp(rec->start) + ")",
          "time");
    }
  } else {
    std::string id;
    do {
      id = NewId(kIdChars, 16);
    } while (records.contains(id));
    rec = &records[id];
    rec->id = id;
    rec->space_id = space.id;
    rec->start = at;
    space.active_record = id;
  }
  Participant* p = nullptr;
  for (auto& existing : rec->participants) {
    if (SameParticipant(existing.who, who)) p = &existing;
  }
  if (!p) {
    p = &rec->participants.emplace_back();
    p->id = NewId("0123456789", 19);
    p->who = who;
  }
  Session& s = p->sessions.emplace_back();
  s.id = NewId(kIdChars, 12);
  s.start = at;
  std::string prefix = "conferenceRecords/" + rec->id;
  return MeetSessionRef{prefix, prefix + "/participants/" + p->id,
                        prefix + "/participants/" + p->id + "/participantSessions/" + s.id};
}

Result<MeetSessionRef> MeetService::State::LeaveLocked(Space& space, const MeetParticipant& who,
                                                       Instant at) {
  if (space.active_record.empty()) {
    return Fail(ErrorCode::kFailedPrecondition, "no conference is running in meeting " + space.code,
                "participant");
  }
  Record& rec = records.at(space.active_record);
  for (auto& p : rec.participants) {
    if (!SameParticipant(p.who, who)) continue;
    Session* open = nullptr;
    for (auto& s : p.sessions) {
      if (!s.end && (!open || s.start >= open->start)) open = &s;
    }
    if (!open) break;
    if (at < open->start) {
      return Fail(ErrorCode::kInvalidArgument,
                  "time is before the session started (" + FormatTimestamp(open->start) + ")",
                  "time");
    }
    open->end = at;
    std::string prefix = "conferenceRecords/" + rec.id;
    return MeetSessionRef{prefix, prefix + "/participants/" + p.id,
                          prefix + "/participants/" + p.id + "/participantSessions/" + open->id};
  }
  return Fail(ErrorCode::kFailedPrecondition, "the participant is not in the call", "participant");
}

Result<std::string> MeetService::State::EndLocked(Space& space, Instant at) {
  if (space.active_record.empty()) {
    return Fail(ErrorCode::kFailedPrecondition,
                "no conference is running in meeting " + space.code);
  }
  Record& rec = records.at(space.active_record);
  Instant latest_start = rec.start;
  for (const auto& p : rec.participants) {
    for (const auto& s : p.sessions) latest_start = std::max(latest_start, s.start);
  }
  if (at < latest_start) {
    return Fail(ErrorCode::kInvalidArgument,
                "time is before the last join (" + FormatTimestamp(latest_start) + ")", "time");
  }
  for (auto& p : rec.participants) {
    for (auto& s : p.sessions) {
      if (!s.end) s.end = at;
    }
  }
  rec.end = at;
  space.active_record.clear();
  return "conferenceRecords/" + rec.id;
}

Result<MeetSessionRef> MeetService::Join(std::string_view space, const MeetParticipant& who,
                                         Instant at) {
  std::lock_guard lock(state_->mu);
  State::Space* s = state_->FindSpace(space);
  if (!s) return Fail(ErrorCode::kNotFound, "no Meet space " + std::string(space));
  return state_->JoinLocked(*s, who, at);
}

Result<MeetSessionRef> MeetService::Leave(std::string_view space, const MeetParticipant& who,
                                          Instant at) {
  std::lock_guard lock(state_->mu);
  State::Space* s = state_->FindSpace(space);
  if (!s) return Fail(ErrorCode::kNotFound, "no Meet space " + std::string(space));
  return state_->LeaveLocked(*s, who, at);
}

Result<std::string> MeetService::EndConference(std::string_view space, Instant at) {
  std::lock_guard lock(state_->mu);
  State::Space* s = state_->FindSpace(space);
  if (!s) return Fail(ErrorCode::kNotFound, "no Meet space " + std::string(space));
  return state_->EndLocked(*s, at);
}

Result<std::string> MeetService::State::AddConferenceLocked(
    Space& space, const std::vector<ScriptedParticipant>& participants,
    std::optional<Instant> start, std::optional<Instant> end) {
  if (participants.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "a conference needs a participant", "participants");
  }
  Instant first = Instant::max();
  std::optional<Instant> last_leave;
  bool open = false;
  for (size_t i = 0; i < participants.size(); ++i) {
    const std::string where = "participants[" + std::to_string(i) + "]";
    const auto& sp = participants[i];
    if (sp.sessions.empty()) {
      return Fail(ErrorCode::kInvalidArgument, where + " has no sessions", where + ".sessions");
    }
    for (size_t k = 0; k < i; ++k) {
      if (SameParticipant(participants[k].who, sp.who)) {
        return Fail(ErrorCode::kInvalidArgument, where + " repeats an earlier participant", where);
      }
    }
    for (size_t k = 0; k < sp.sessions.size(); ++k) {
      const auto& s = sp.sessions[k];
      const std::string f = where + ".sessions[" + std::to_string(k) + "]";
      first = std::min(first, s.start);
      if (s.end && *s.end < s.start) {
        return Fail(ErrorCode::kInvalidArgument, f + ".endTime is before its startTime",
                    f + ".endTime");
      }
      if (end && (s.start > *end || (s.end && *s.end > *end))) {
        return Fail(ErrorCode::kInvalidArgument, f + " is outside the conference", f);
      }
      if (s.end) {
        if (!last_leave || *s.end > *last_leave) last_leave = s.end;
      } else {
        open = true;
      }
    }
  }
  if (start && *start > first) {
    return Fail(ErrorCode::kInvalidArgument, "startTime is after the first join", "startTime");
  }
  std::optional<Instant> record_end = end ? end : (open ? std::nullopt : last_leave);
  if (!record_end && !space.active_record.empty()) {
    return Fail(ErrorCode::kFailedPrecondition,
                "a conference is running in meeting " + space.code + " already", "endTime");
  }
  std::string id;
  do {
    id = NewId(kIdChars, 16);
  } while (records.contains(id));
  Record& rec = records[id];
  rec.id = id;
  rec.space_id = space.id;
  rec.start = start.value_or(first);
  rec.end = record_end;
  std::vector<const ScriptedParticipant*> order;
  for (const auto& sp : participants) order.push_back(&sp);
  auto first_join = [](const ScriptedParticipant* p) {
    Instant t = p->sessions.front().start;
    for (const auto& s : p->sessions) t = std::min(t, s.start);
    return t;
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](auto* a, auto* b) { return first_join(a) < first_join(b); });
  for (const ScriptedParticipant* sp : order) {
    Participant& p = rec.participants.emplace_back();
    p.id = NewId("0123456789", 19);
    p.who = sp->who;
    std::vector<ScriptedSession> sessions = sp->sessions;
    std::stable_sort(sessions.begin(), sessions.end(),
                     [](const auto& a, const auto& b) { return a.start < b.start; });
    for (const auto& s : sessions) {
      Session& stored = p.sessions.emplace_back();
      stored.id = NewId(kIdChars, 12);
      stored.start = s.start;
      stored.end = s.end ? s.end : record_end;
    }
  }
  if (!rec.end) space.active_record = id;
  return "conferenceRecords/" + id;
}

Result<std::string> MeetService::AddConference(std::string_view space,
                                               const std::vector<ScriptedParticipant>& participants,
                                               std::optional<Instant> start,
                                               std::optional<Instant> end) {
  std::lock_guard lock(state_->mu);
  State::Space* s = state_->FindSpace(space);
  if (!s) return Fail(ErrorCode::kNotFound, "no Meet space " + std::string(space));
  return state_->AddConferenceLocked(*s, participants, start, end);
}

}  // namespace telemeet::emulator
