#include "emulator/server/request_fuzz.h"

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "base/clock.h"
#include "base/strings.h"
#include "emulator/calendar/calendar_service.h"
#include "emulator/meet/meet_service.h"
#include "emulator/oauth/oauth_endpoints.h"
#include "emulator/oauth/oauth_state.h"
#include "emulator/server/batch.h"
#include "net/router.h"
#include "net/testing/http_text.h"

namespace telemeet::emulator {
namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

// The OAuth, Calendar and Meet sides behind their routers, as FakeGoogle composes them, without
// its server, quotas, faults and push delivery (which read nothing from callers).
struct Emulator {
  FakeClock clock;
  OAuthState oauth{clock};
  MeetService meet{oauth, clock};
  CalendarService calendar{oauth, clock};
  net::Router calendar_router;
  net::Router meet_router;
  net::Router oauth_router;

  Emulator() {
    calendar.Register(calendar_router);
    meet.Register(meet_router);
    RegisterOAuthRoutes(oauth_router, oauth);
    calendar.SetPushSender([](PushMessage) {});  // watch channels deliver nowhere
    calendar.SetMeetSpaceSink([this](std::string_view owner, std::string_view code) {
      meet.AddCalendarSpace(owner, code);
    });
    meet.SetAccountLookup([this](std::string_view email) -> std::optional<MeetUser> {
      auto a = oauth.FindAccount(email);
      if (!a) return std::nullopt;
      return MeetUser{.user_id = a->sub, .display_name = a->name};
    });
  }
};

struct Credentials {
  std::string access_token;
  std::string refresh_token;
  std::string code;
  std::string pending_id;
  std::string space_id;
  std::string record_id;
  std::string participant_id;
};

// "conferenceRecords/R/participants/P" -> {"R", "P"}.
std::pair<std::string, std::string> RecordAndParticipant(std::string_view name) {
  auto parts = Split(name, '/');
  Check(parts.size() >= 4);
  return {std::string(parts[1]), std::string(parts[3])};
}

// A timed event with a Meet conference and a weekly all-day series (ids as in the seeds).
constexpr std::string_view kFixtureEvents[] = {
    R"({"id":"tm0123456789abcdef","summary":"Consultation",)"
    R"("start":{"dateTime":"2026-06-02T09:00:00+02:00","timeZone":"Europe/Berlin"},)"
    R"("end":{"dateTime":"2026-06-02T09:30:00+02:00","timeZone":"Europe/Berlin"},)"
    R"("attendees":[{"email":"patient@example.org"}],)"
    R"("extendedProperties":{"private":{"telemeet_appointment":"42"}},)"
    R"("conferenceData":{"createRequest":{"requestId":"appt-42-1",)"
    R"("conferenceSolutionKey":{"type":"hangoutsMeet"}}}})",
    R"({"id":"tm0123456789abcdeg","start":{"date":"2026-06-05"},"end":{"date":"2026-06-06"},)"
    R"("recurrence":["RRULE:FREQ=WEEKLY;COUNT=4"]})",
};

AuthorizationRequest ConsentRequest() {
  AuthorizationRequest r;
  r.client_id = std::string(kFuzzClientId);
  r.redirect_uri = std::string(kFuzzRedirectUri);
  // No openid: an ID token per input would cost an RSA signature (a tenth of the run).
  r.scopes = {std::string(kScopeCalendar), std::string(kScopeMeetReadonly),
              std::string(kScopeMeetSettings)};
  r.state = "fuzz-state";
  r.has_state = true;
  r.offline = true;
  r.prompt = {"consent"};
  r.code_challenge = std::string(kFuzzCodeVerifier);
  r.code_challenge_method = "plain";
  return r;
}

// Runs the matched handler itself, not through Router::Dispatch, whose catch-all would turn an
// escaping exception into a quiet 500: here it ends the run and libFuzzer reports it.
net::Response Run(Emulator& e, net::Request& req) {
  const bool calendar =
      req.path.starts_with("/calendar/v3") || req.path.starts_with("/_emulator/calendars");
  const bool meet = req.path.starts_with("/v2/") || req.path.starts_with("/_emulator/meet/");
  const net::Router& router = calendar ? e.calendar_router : meet ? e.meet_router : e.oauth_router;
  net::Router::Match match = router.Find(req);
  if (match.handler == nullptr) return match.error;
  return (*match.handler)(req);
}

// Forgets the previous input's calendars, events, grants and tokens, so that each input runs
// against the same state (libFuzzer needs a reproducible answer per input).
Credentials Reset(Emulator& e) {
  e.calendar.Reset();
  e.meet.Reset();
  e.oauth.Reset();
  Check(e.oauth
            .AddClient({.client_id = std::string(kFuzzClientId),
                        .client_secret = std::string(kFuzzClientSecret),
                        .redirect_uris = {std::string(kFuzzRedirectUri)}})
            .has_value());
  Check(
      e.oauth.AddAccount({.email = std::string(kFuzzAccount), .sub = "", .name = ""}).has_value());
  const Account account = *e.oauth.FindAccount(kFuzzAccount);
  Credentials c;
  std::string first = e.oauth.IssueCode(ConsentRequest(), account);
  auto tokens = e.oauth.ExchangeCode({.client_id = std::string(kFuzzClientId),
                                      .code = first,
                                      .redirect_uri = std::string(kFuzzRedirectUri),
                                      .code_verifier = std::string(kFuzzCodeVerifier)});
  Check(tokens.has_value());
  c.access_token = tokens->access_token;
  c.refresh_token = tokens->refresh_token;
  c.code = e.oauth.IssueCode(ConsentRequest(), account);
  c.pending_id = e.oauth.StartPending(ConsentRequest());
  // The events the seeds get, patch, update and delete, so that their mutations reach the
  // event parsing and merging rather than a 404.
  for (std::string_view event : kFixtureEvents) {
    net::Request insert = net::RequestOf(net::SplitHttpText(
        "POST /calendar/v3/calendars/primary/events?conferenceDataVersion=1 HTTP/1.1\r\n"
        "Authorization: Bearer " +
        c.access_token + "\r\nContent-Type: application/json\r\n\r\n" + std::string(event)));
    Check(Run(e, insert).status == 200);
  }
  // A Meet space with a finished conference, so that Meet seeds reach parsing, not a 404.
  auto space = e.meet.CreateSpace(kFuzzAccount, kFuzzMeetingCode);
  Check(space.has_value());
  c.space_id = (*space)["name"].get<std::string>().substr(std::string_view("spaces/").size());
  const Instant start = FromUnixSeconds(1'780'390'800);  // 2026-06-02T09:00:00Z
  auto joined = e.meet.Join(
      kFuzzMeetingCode,
      {.kind = ParticipantKind::kSignedIn, .user_id = account.sub, .display_name = "Dr Fuzz"},
      start);
  Check(joined.has_value());
  Check(e.meet.EndConference(kFuzzMeetingCode, start + std::chrono::minutes(30)).has_value());
  std::tie(c.record_id, c.participant_id) = RecordAndParticipant(joined->participant);
  return c;
}

void ReplaceAll(std::string& s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

// As sent in a header or a JSON body, and form-encoded in a query or a form body.
void Substitute(std::string& s, std::string_view placeholder, std::string_view live) {
  ReplaceAll(s, placeholder, live);
  ReplaceAll(s, UrlEncode(placeholder), UrlEncode(live));
}

void CheckAnswer(const net::Response& r) {
  Check(r.status >= 100 && r.status < 500);
  const std::string type = r.headers.Get("Content-Type").value_or("");
  if (type.find("json") != std::string::npos) Check(nlohmann::json::accept(r.body));
}

}  // namespace

void FuzzEmulatorRequest(std::string_view input) {
  static Emulator* emulator = new Emulator();  // once per process; never destroyed
  Emulator& e = *emulator;
  const Credentials live = Reset(e);
  std::string text(input);
  Substitute(text, kFuzzAccessToken, live.access_token);
  Substitute(text, kFuzzRefreshToken, live.refresh_token);
  Substitute(text, kFuzzCode, live.code);
  Substitute(text, kFuzzPendingId, live.pending_id);
  Substitute(text, kFuzzSpaceId, live.space_id);
  Substitute(text, kFuzzRecordId, live.record_id);
  Substitute(text, kFuzzParticipantId, live.participant_id);
  net::Request req = net::RequestOf(net::SplitHttpText(text));

  if (req.method == "POST" && (req.path == "/batch/calendar/v3" || req.path == "/batch")) {
    auto parts = ParseBatch(req, /*max_parts=*/50);
    if (!parts) {
      Check(parts.error().code() == ErrorCode::kInvalidArgument);
      Check(!parts.error().message().empty());
      return;
    }
    Check(!parts->empty() && parts->size() <= 50);
    std::vector<BatchAnswer> answers;
    for (BatchPart& part : *parts) {
      net::Response r = Run(e, part.request);
      CheckAnswer(r);
      answers.push_back({part.content_id, std::move(r)});
    }
    net::Response all = BatchResponse(answers);
    Check(all.status == 200);
    return;
  }
  CheckAnswer(Run(e, req));
}

}  // namespace telemeet::emulator
