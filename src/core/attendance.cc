#include "core/attendance.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <utility>

namespace telemeet::core {
namespace {

using Interval = std::pair<Instant, Instant>;

// Sorted, disjoint intervals covering the same time as `in`.
std::vector<Interval> Merge(std::vector<Interval> in) {
  std::sort(in.begin(), in.end());
  std::vector<Interval> out;
  for (const Interval& i : in) {
    if (!out.empty() && i.first <= out.back().second) {
      out.back().second = std::max(out.back().second, i.second);
    } else {
      out.push_back(i);
    }
  }
  return out;
}

std::chrono::seconds IntersectionLength(const std::vector<Interval>& a,
                                        const std::vector<Interval>& b) {
  std::chrono::microseconds total{0};
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const Instant lo = std::max(a[i].first, b[j].first);
    const Instant hi = std::min(a[i].second, b[j].second);
    if (lo < hi) total += std::chrono::duration_cast<std::chrono::microseconds>(hi - lo);
    if (a[i].second < b[j].second) {
      ++i;
    } else {
      ++j;
    }
  }
  return std::chrono::duration_cast<std::chrono::seconds>(total);
}

constexpr std::array<std::pair<AttendanceOutcome, std::string_view>, 5> kOutcomes{{
    {AttendanceOutcome::kAttended, "attended"},
    {AttendanceOutcome::kShort, "short"},
    {AttendanceOutcome::kNoShow, "no_show"},
    {AttendanceOutcome::kDoctorAbsent, "doctor_absent"},
    {AttendanceOutcome::kNobody, "nobody"},
}};

}  // namespace

AttendanceFacts SummarizeAttendance(const std::vector<MeetConference>& conferences,
                                    std::string_view doctor_user, Instant now) {
  AttendanceFacts facts;
  facts.conferences = static_cast<int>(conferences.size());
  std::vector<Interval> doctor, others;
  bool any_open_session = false;
  for (const MeetConference& c : conferences) {
    if (!c.end) facts.running = true;
    for (const MeetParticipant& p : c.participants) {
      const bool is_doctor =
          !doctor_user.empty() && p.kind == MeetParticipantKind::kSignedIn && p.user == doctor_user;
      bool joined = false;
      for (const MeetSession& s : p.sessions) {
        const Instant end = s.end.value_or(std::max(now, s.start));
        if (end < s.start) continue;  // malformed: counts as nothing
        joined = true;
        if (!s.end) any_open_session = true;
        if (!facts.first_join || s.start < *facts.first_join) facts.first_join = s.start;
        if (s.end && (!facts.last_leave || *s.end > *facts.last_leave)) facts.last_leave = *s.end;
        (is_doctor ? doctor : others).emplace_back(s.start, end);
      }
      if (!joined) continue;
      // The doctor on two devices is still the doctor: one participant per Google user.
      if (is_doctor) {
        facts.doctor_joined = true;
      } else {
        ++facts.others_joined;
      }
    }
  }
  if (any_open_session) {
    facts.running = true;
    facts.last_leave.reset();  // someone is still in the call
  }
  facts.overlap = IntersectionLength(Merge(std::move(doctor)), Merge(std::move(others)));
  return facts;
}

int64_t OverlapMinutes(const AttendanceFacts& facts) {
  return std::chrono::duration_cast<std::chrono::minutes>(facts.overlap).count();
}

std::string_view Name(AttendanceOutcome o) {
  for (const auto& [value, name] : kOutcomes) {
    if (value == o) return name;
  }
  return "nobody";
}

Result<AttendanceOutcome> ParseAttendanceOutcome(std::string_view s, std::string_view field) {
  for (const auto& [value, name] : kOutcomes) {
    if (name == s) return value;
  }
  return Fail(ErrorCode::kInvalidArgument,
              "must be one of attended, short, no_show, doctor_absent, nobody", std::string(field));
}

AttendanceOutcome OutcomeOf(const AttendanceFacts& facts, std::chrono::minutes min_overlap) {
  if (facts.doctor_joined && facts.others_joined > 0) {
    return facts.overlap >= min_overlap ? AttendanceOutcome::kAttended : AttendanceOutcome::kShort;
  }
  if (facts.doctor_joined) return AttendanceOutcome::kNoShow;
  if (facts.others_joined > 0) return AttendanceOutcome::kDoctorAbsent;
  return AttendanceOutcome::kNobody;
}

std::string_view Name(AttendanceMode m) {
  switch (m) {
    case AttendanceMode::kOff:
      return "off";
    case AttendanceMode::kRecord:
      return "record";
    case AttendanceMode::kComplete:
      return "complete";
  }
  return "off";
}

Result<AttendanceMode> ParseAttendanceMode(std::string_view s, std::string_view field) {
  for (auto m : {AttendanceMode::kOff, AttendanceMode::kRecord, AttendanceMode::kComplete}) {
    if (Name(m) == s) return m;
  }
  return Fail(ErrorCode::kInvalidArgument, "must be one of off, record, complete",
              std::string(field));
}

Result<std::string> MeetAccessTypeFor(std::string_view policy, std::string_view field) {
  if (policy == "default") return std::string();
  if (policy == "open") return std::string("OPEN");
  if (policy == "trusted") return std::string("TRUSTED");
  if (policy == "restricted") return std::string("RESTRICTED");
  return Fail(ErrorCode::kInvalidArgument, "must be one of default, open, trusted, restricted",
              std::string(field));
}

MeetPolicy MeetPolicyDefaults(std::string_view attendance_mode, int min_minutes,
                              std::string_view access_type) {
  MeetPolicy out;
  out.attendance = ParseAttendanceMode(attendance_mode).value_or(AttendanceMode::kOff);
  if (min_minutes >= 0 && min_minutes <= kMaxAttendanceMinMinutes) out.min_minutes = min_minutes;
  out.access_type = MeetAccessTypeFor(access_type).value_or("");
  return out;
}

MeetPolicy MeetPolicyFrom(const std::vector<std::pair<std::string, std::string>>& settings,
                          MeetPolicy out) {
  for (const auto& [key, value] : settings) {
    if (key == kSettingAttendance) {
      if (auto m = ParseAttendanceMode(value)) out.attendance = *m;
    } else if (key == kSettingAttendanceMinMinutes) {
      int v = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec == std::errc() && end == value.data() + value.size() && v >= 0 &&
          v <= kMaxAttendanceMinMinutes) {
        out.min_minutes = v;
      }
    } else if (key == kSettingAccessType) {
      if (auto t = MeetAccessTypeFor(value)) out.access_type = *t;
    }
  }
  return out;
}

std::string_view Name(AttendanceState s) {
  switch (s) {
    case AttendanceState::kWaiting:
      return "waiting";
    case AttendanceState::kFinal:
      return "final";
    case AttendanceState::kScopeMissing:
      return "scope_missing";
    case AttendanceState::kUnavailable:
      return "unavailable";
  }
  return "unavailable";
}

Result<AttendanceState> ParseAttendanceState(std::string_view s, std::string_view field) {
  for (auto v : {AttendanceState::kWaiting, AttendanceState::kFinal, AttendanceState::kScopeMissing,
                 AttendanceState::kUnavailable}) {
    if (Name(v) == s) return v;
  }
  return Fail(ErrorCode::kInvalidArgument,
              "must be one of waiting, final, scope_missing, unavailable", std::string(field));
}

AttendanceStep NextAttendanceStep(const AttendanceFacts& facts, AttendanceOutcome outcome,
                                  int polls_done, const AttendanceSchedule& schedule,
                                  Instant appointment_end, Instant now) {
  AttendanceStep step;
  if (facts.running) {
    // Still in progress: wait for its end, but not for ever (a call nobody left).
    if (now >= appointment_end + schedule.max_wait) {
      step.final = true;
      return step;
    }
    step.next_look = std::min(now + schedule.interval, appointment_end + schedule.max_wait);
    step.counts_as_poll = false;
    return step;
  }
  if (outcome == AttendanceOutcome::kAttended || polls_done >= schedule.polls) {
    step.final = true;
    return step;
  }
  // Records (and late sessions) can appear a while after a conference ends: look again.
  step.next_look = now + schedule.interval;
  return step;
}

}  // namespace telemeet::core
