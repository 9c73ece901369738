// The Google Meet REST API v2 side of fake-google (google-protocol.md §16): meeting spaces
// (get by id or meeting code, patch of config.accessType / entryPointAccess, create), and the
// conference records Meet keeps of what happened in them (conferenceRecords, participants and
// participantSessions: get and list with Google's filters and paging). Records come from the
// control API, which scripts who joins and leaves a meeting code, and when.
//
//   MeetService meet(authenticator, clock);
//   meet.SetAccountLookup([&](std::string_view email) -> std::optional<MeetUser> { ... });
//   meet.Register(router);                         // /v2/... and /_emulator/meet/...
//   meet.AddCalendarSpace("doc@example.com", "abc-defg-hij");   // a Calendar Meet conference
//   meet.Join("abc-defg-hij", {.kind = ParticipantKind::kSignedIn, .user_id = "1234",
//                              .display_name = "Dr Who"}, t0);
//   meet.Leave("abc-defg-hij", who, t1);
//   meet.EndConference("abc-defg-hij", t1);
//
// Thread safety: safe for concurrent use; one mutex guards all state. Bearer tokens are resolved
// through the Authenticator, and accounts through the lookup, before that mutex is taken, so
// their locks never nest inside it. The Calendar service calls AddCalendarSpace while holding
// its own lock: the Meet service never calls the Calendar service, so the order is fixed.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "emulator/principal.h"
#include "net/router.h"

namespace telemeet::emulator {

// OAuth scopes of Meet REST v2 (google-protocol.md §16).
inline constexpr std::string_view kScopeMeetCreated =
    "https://www.googleapis.com/auth/meetings.space.created";
inline constexpr std::string_view kScopeMeetReadonly =
    "https://www.googleapis.com/auth/meetings.space.readonly";
inline constexpr std::string_view kScopeMeetSettings =
    "https://www.googleapis.com/auth/meetings.space.settings";

enum class ParticipantKind { kSignedIn, kAnonymous, kPhone };

// Who is in a conference. A signed-in participant is one Google user (`user_id`, rendered
// "users/{user_id}"); anonymous and phone participants are told apart by display name.
struct MeetParticipant {
  ParticipantKind kind = ParticipantKind::kSignedIn;
  std::string user_id;  // kSignedIn only
  std::string display_name;
};

// A seeded Google account as Meet shows it: its person id (the OpenID `sub`) and name.
struct MeetUser {
  std::string user_id;
  std::string display_name;
};

// What a join or a leave touched: resource names.
struct MeetSessionRef {
  std::string conference_record;  // "conferenceRecords/{record}"
  std::string participant;        // ".../participants/{participant}"
  std::string session;            // ".../participantSessions/{session}"
};

// One participant of a whole conference given at once (AddConference): their sessions, each a
// join and, unless still in the call, a leave.
struct ScriptedSession {
  Instant start;
  std::optional<Instant> end;
};
struct ScriptedParticipant {
  MeetParticipant who;
  std::vector<ScriptedSession> sessions;
};

class MeetService {
 public:
  // `auth` and `clock` must outlive the service.
  MeetService(const Authenticator& auth, Clock& clock);
  ~MeetService();
  MeetService(const MeetService&) = delete;
  MeetService& operator=(const MeetService&) = delete;

  // Adds the /v2/ routes and the /_emulator/meet/ control routes (emulator/README.md).
  void Register(net::Router& router);
  // Forgets every space and record.
  void Reset();
  // How control calls turn `{"email": ...}` into a signed-in participant (the OAuth side's
  // seeded accounts). Set before serving.
  void SetAccountLookup(std::function<std::optional<MeetUser>(std::string_view email)> lookup);

  // The space behind a Meet conference the Calendar made on `owner_email`'s calendar. Nothing
  // happens when the code has a space already.
  void AddCalendarSpace(std::string_view owner_email, std::string_view meeting_code);
  // A space owned by `owner_email`, with a random meeting code when `meeting_code` is empty.
  // kAlreadyExists when the code is taken; kInvalidArgument for a bad code or access type.
  Result<nlohmann::json> CreateSpace(std::string_view owner_email, std::string_view meeting_code,
                                     std::string_view access_type = "TRUSTED");

  // Conference scripting. `space` is a space id or a meeting code. Join starts a conference when
  // none is running (its start time is `at`); a participant may hold several sessions at once
  // (several devices). Leave ends the participant's newest open session. EndConference ends
  // the running conference and every open session at `at`. Errors: kNotFound (no such space),
  // kFailedPrecondition (not in the call, no conference running), kInvalidArgument (a time
  // before the session or conference it ends).
  Result<MeetSessionRef> Join(std::string_view space, const MeetParticipant& who, Instant at);
  Result<MeetSessionRef> Leave(std::string_view space, const MeetParticipant& who, Instant at);
  Result<std::string> EndConference(std::string_view space, Instant at);
  // A whole conference at once; returns its record's name. It starts at `start` (default: the
  // first join) and ends at `end` (open sessions end then too); without `end` it ends at the
  // last leave, or is still running when a session is open (kFailedPrecondition when the space
  // has a running conference already). kInvalidArgument for a participant without sessions,
  // the same participant twice, a leave before its join, or a session outside start..end.
  Result<std::string> AddConference(std::string_view space,
                                    const std::vector<ScriptedParticipant>& participants,
                                    std::optional<Instant> start, std::optional<Instant> end);

  // The space with its owner and every record, participant and session (control API).
  std::optional<nlohmann::json> SpaceState(std::string_view space) const;

 private:
  struct State;
  void RegisterControl(net::Router& router);
  std::unique_ptr<State> state_;
};

}  // namespace telemeet::emulator
