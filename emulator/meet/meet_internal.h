// Internals of MeetService shared by its source files: the stored model (spaces, conference
// records, participants, sessions), rendering and the handler set. Not for use outside
// emulator/meet.
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "emulator/meet/meet_service.h"
#include "net/http.h"

namespace telemeet::emulator {
namespace meet_internal {

// The characters of the emulator's space, record and session ids.
inline constexpr std::string_view kIdChars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

// Records are deleted 30 days after their conference ends (google-protocol.md §16).
inline constexpr auto kRecordLifetime = std::chrono::hours(24 * 30);

struct Session {
  std::string id;
  Instant start;
  std::optional<Instant> end;
};

struct Participant {
  std::string id;
  MeetParticipant who;
  std::vector<Session> sessions;  // in join order

  Instant EarliestStart() const;
  // Unset while any session is open.
  std::optional<Instant> LatestEnd() const;
};

struct Record {
  std::string id;
  std::string space_id;
  Instant start;
  std::optional<Instant> end;
  std::vector<Participant> participants;  // in first-join order
};

struct Space {
  std::string id;
  std::string code;
  std::string owner_email;
  std::string creator_client;  // the OAuth client that made it through spaces.create, or empty
  std::string access_type = "TRUSTED";
  std::string entry_point_access = "ALL";
  std::string active_record;  // the running conference's record id, or empty
};

// What a method needs from the token (google-protocol.md §16).
enum class Access { kSpaceRead, kSpaceWrite, kSpaceCreate, kRecordsRead };

// RFC 3339 UTC as protobuf JSON writes a Timestamp: 0, 3 or 6 fraction digits as needed.
std::string FormatTimestamp(Instant t);
bool ValidAccessType(std::string_view v);
bool ValidEntryPointAccess(std::string_view v);
// The same person in one conference: the same signed-in user, or the same kind and name.
bool SameParticipant(const MeetParticipant& a, const MeetParticipant& b);

}  // namespace meet_internal

struct MeetService::State {
  using Space = meet_internal::Space;
  using Record = meet_internal::Record;
  using Participant = meet_internal::Participant;
  using Session = meet_internal::Session;
  using Access = meet_internal::Access;

  State(const Authenticator& a, Clock& c)
      : auth(a), clock(c), rng(std::random_device{}()), generation(rng() % 1'000'000) {}

  const Authenticator& auth;
  Clock& clock;
  std::function<std::optional<MeetUser>(std::string_view)> lookup;  // set before serving
  mutable std::mutex mu;                                            // guards everything below
  std::mt19937_64 rng;
  uint64_t generation;                                    // changes on Reset(): page tokens expire
  std::map<std::string, Space, std::less<>> spaces;       // by space id
  std::map<std::string, std::string, std::less<>> codes;  // lower-case meeting code -> space id
  std::map<std::string, Record, std::less<>> records;     // by record id

  // Handlers of Google's routes run under `mu` with the caller already authenticated.
  using ApiHandler = net::Response (State::*)(net::Request&, const Principal&);
  net::Response Run(net::Request& req, Access access, std::string_view method, ApiHandler fn);

  // By space id, else by meeting code (case-insensitive); null when neither.
  Space* FindSpace(std::string_view id_or_code);
  const Space* FindSpace(std::string_view id_or_code) const;
  std::string NewId(std::string_view alphabet, size_t length);
  std::string NewMeetingCode();
  Space& AddSpace(std::string owner_email, std::string code, std::string creator_client);
  // Whether the token reaches this space at all: a broad scope, or meetings.space.created on a
  // space its client made.
  bool Covers(const Principal& who, const Space& space, Access access) const;
  bool Visible(const Record& r) const;  // not yet expired

  nlohmann::json RenderSpace(const Space& s, bool owner_view) const;
  nlohmann::json RenderRecord(const Record& r) const;
  nlohmann::json RenderParticipant(const Record& r, const Participant& p) const;
  nlohmann::json RenderSession(const Record& r, const Participant& p, const Session& s) const;
  nlohmann::json StateJson(const Space& s) const;

  // The record named by the request's {record} after the caller's checks, or an error response.
  std::expected<Record*, net::Response> OwnRecord(net::Request& req, const Principal& who);
  std::expected<Participant*, net::Response> OwnParticipant(net::Request& req,
                                                            const Principal& who);

  net::Response GetSpace(net::Request& req, const Principal& who);
  net::Response PatchSpace(net::Request& req, const Principal& who);
  net::Response CreateSpaceApi(net::Request& req, const Principal& who);
  net::Response ListRecords(net::Request& req, const Principal& who);
  net::Response GetRecord(net::Request& req, const Principal& who);
  net::Response ListParticipants(net::Request& req, const Principal& who);
  net::Response GetParticipant(net::Request& req, const Principal& who);
  net::Response ListSessions(net::Request& req, const Principal& who);
  net::Response GetSession(net::Request& req, const Principal& who);

  // Conference scripting, under `mu`.
  Result<MeetSessionRef> JoinLocked(Space& space, const MeetParticipant& who, Instant at);
  Result<MeetSessionRef> LeaveLocked(Space& space, const MeetParticipant& who, Instant at);
  Result<std::string> EndLocked(Space& space, Instant at);
  Result<std::string> AddConferenceLocked(Space& space,
                                          const std::vector<ScriptedParticipant>& participants,
                                          std::optional<Instant> start, std::optional<Instant> end);
};

}  // namespace telemeet::emulator
