// The Google Meet REST v2 client (google-protocol.md §16): spaces.get and spaces.patch (the
// access type), conferenceRecords.list by meeting code, participants.list and
// participantSessions.list, one page or all of them. It shares the Calendar client's transport,
// token source, retry policy, rate limiter and observer, and Google's Meet errors
// ({"error":{"code","message","status"}}) become the same GoogleError kinds.
//
//   MeetClient meet({.base_url = "https://meet.googleapis.com"},
//                   {.transport = http, .tokens = provider, .retry = retry, .clock = clock,
//                    .limiter = &limiter, .observer = &calls});
//   auto records = meet.ListAllConferenceRecords(
//       "42", MeetClient::RecordFilter("abc-mnop-xyz", "2026-03-02T08:00:00Z", ""));
//   for (auto& r : *records)
//     for (auto& p : *meet.ListAllParticipants("42", r.name)) ...
//
// Unlike the Calendar client, a missing Meet scope (kScopeNotGranted) does not mark the grant
// dead: Meet is an optional extra the doctor grants on top of the calendar.
// Participants' display names are never read from Google's answers.
//
// Thread-safe: calls may run concurrently from many threads.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "google/google_error.h"
#include "google/observer.h"
#include "google/rate_limiter.h"
#include "google/retry.h"
#include "google/token_source.h"
#include "google/transport.h"

namespace telemeet::google {

// The Meet scopes (https://www.googleapis.com/auth/...).
inline constexpr std::string_view kMeetReadonlyScope =
    "https://www.googleapis.com/auth/meetings.space.readonly";
inline constexpr std::string_view kMeetSettingsScope =
    "https://www.googleapis.com/auth/meetings.space.settings";
inline constexpr std::string_view kMeetCreatedScope =
    "https://www.googleapis.com/auth/meetings.space.created";

struct MeetOptions {
  std::string base_url = "https://meet.googleapis.com";  // "/v2/..." is appended
  std::chrono::milliseconds timeout{30'000};             // per HTTP exchange
  int max_pages = 50;                                    // the List*All calls stop there
};

struct MeetDeps {
  Transport& transport;
  AccessTokenSource& tokens;
  RetryPolicy& retry;
  const Clock& clock;
  RateLimiter* limiter = nullptr;    // optional
  CallObserver* observer = nullptr;  // optional
};

struct Space {
  std::string name{};               // "spaces/jQCFfuBOdN5z"
  std::string meeting_uri{};        // "https://meet.google.com/abc-mnop-xyz"
  std::string meeting_code{};       // "abc-mnop-xyz"
  std::string access_type{};        // "OPEN", "TRUSTED", "RESTRICTED"; empty when not set
  std::string active_conference{};  // "conferenceRecords/..." while a conference runs
};

// Times are RFC 3339 as Google sent them (the caller parses).
struct ConferenceRecord {
  std::string name{};  // "conferenceRecords/{record}"
  std::string start_time{};
  std::string end_time{};  // empty while the conference runs
  std::string expire_time{};
  std::string space{};  // "spaces/{space}"
};

struct Participant {
  enum class Kind { kSignedIn, kAnonymous, kPhone };
  std::string name{};  // "conferenceRecords/{record}/participants/{participant}"
  Kind kind = Kind::kAnonymous;
  std::string user{};  // "users/{id}" for a signed-in participant
  std::string earliest_start_time{};
  std::string latest_end_time{};  // empty while in the call
};

struct ParticipantSession {
  std::string name{};
  std::string start_time{};
  std::string end_time{};  // empty while in the call
};

struct MeetPageQuery {
  std::string filter{};  // Google's filter syntax, see RecordFilter
  int page_size = 0;     // 0: Google's default
  std::string page_token{};
};

template <typename T>
struct MeetPage {
  std::vector<T> items{};
  std::string next_page_token{};
};

class MeetClient {
 public:
  MeetClient(MeetOptions options, MeetDeps deps);

  // spaces.get by name ("spaces/x") or meeting code ("abc-mnop-xyz"). kNotFound,
  // kScopeNotGranted, kForbidden.
  GoogleResult<Space> GetSpace(std::string_view doctor, std::string_view space_or_code);
  // spaces.patch?updateMask=config.accessType. `access_type` is OPEN, TRUSTED or RESTRICTED
  // (kInvalidRequest before any call otherwise). Only the space's owner may (kForbidden).
  GoogleResult<Space> PatchSpaceAccessType(std::string_view doctor, std::string_view space,
                                           std::string_view access_type);

  GoogleResult<MeetPage<ConferenceRecord>> ListConferenceRecords(std::string_view doctor,
                                                                 const MeetPageQuery& query);
  GoogleResult<MeetPage<Participant>> ListParticipants(std::string_view doctor,
                                                       std::string_view record,
                                                       const MeetPageQuery& query);
  GoogleResult<MeetPage<ParticipantSession>> ListParticipantSessions(std::string_view doctor,
                                                                     std::string_view participant,
                                                                     const MeetPageQuery& query);

  // Every page (at most options.max_pages; kBadResponse past that or on a repeated token).
  GoogleResult<std::vector<ConferenceRecord>> ListAllConferenceRecords(std::string_view doctor,
                                                                       std::string filter);
  GoogleResult<std::vector<Participant>> ListAllParticipants(std::string_view doctor,
                                                             std::string_view record);
  GoogleResult<std::vector<ParticipantSession>> ListAllParticipantSessions(
      std::string_view doctor, std::string_view participant);

  // `space.meeting_code = "abc-mnop-xyz"`, with `start_time >= "..."` and `start_time <= "..."`
  // when given (RFC 3339). kInvalidRequest for a meeting code that is not lowercase letters
  // and hyphens (nothing of the caller's ever reaches the filter unchecked).
  static GoogleResult<std::string> RecordFilter(std::string_view meeting_code,
                                                std::string_view started_from,
                                                std::string_view started_to);

 private:
  struct Call {
    std::string operation{};  // "meet.conferenceRecords.list"
    std::string method = "GET";
    std::string target{};  // "/v2/...?..."
    std::string body{};    // JSON or empty
  };
  GoogleResult<HttpResponse> Execute(std::string_view doctor, const Call& call);
  GoogleResult<HttpResponse> SendOnce(std::string_view doctor, const Call& call,
                                      std::string_view token, int attempt);
  template <typename T, typename F>
  GoogleResult<std::vector<T>> All(F&& page_of);

  MeetOptions options_;
  MeetDeps deps_;
};

// The answers as typed values; kBadResponse when a body is not that answer's shape.
GoogleResult<Space> ParseSpace(std::string_view body);
GoogleResult<MeetPage<ConferenceRecord>> ParseConferenceRecordPage(std::string_view body);
GoogleResult<MeetPage<Participant>> ParseParticipantPage(std::string_view body);
GoogleResult<MeetPage<ParticipantSession>> ParseParticipantSessionPage(std::string_view body);

}  // namespace telemeet::google
