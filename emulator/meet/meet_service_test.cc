#include "emulator/meet/meet_service.h"

#include <gtest/gtest.h>

#include "base/strings.h"
#include "emulator/calendar/event_time.h"
#include "emulator/fake_authenticator.h"
#include "net/router.h"

namespace telemeet::emulator {
namespace {

using nlohmann::json;

using Tokens = testing::FakeAuthenticator;

constexpr const char* kDoc = "doc@example.com";
constexpr const char* kCode = "abc-mnop-xyz";

struct Reply {
  int status = 0;
  json body;
  net::Headers headers;
  std::string raw;
  std::string rpc_status() const {
    if (!body.is_object() || !body.contains("error") || !body["error"].is_object()) return "";
    return body["error"].value("status", "");
  }
};

Instant T(const char* s) { return ParseRfc3339(s)->instant; }

class MeetServiceTest : public ::testing::Test {
 protected:
  MeetServiceTest() : meet_(auth_, clock_) {
    AddToken("tok-ro", kDoc, "client-1", {kScopeMeetReadonly});
    AddToken("tok-settings", kDoc, "client-1", {kScopeMeetSettings});
    AddToken("tok-both", kDoc, "client-1", {kScopeMeetReadonly, kScopeMeetSettings});
    AddToken("tok-created", kDoc, "client-1", {kScopeMeetCreated});
    AddToken("tok-created-2", kDoc, "client-2", {kScopeMeetCreated});
    AddToken("tok-calendar", kDoc, "client-1", {"https://www.googleapis.com/auth/calendar"});
    AddToken("tok-other", "other@example.com", "client-1",
             {kScopeMeetReadonly, kScopeMeetSettings});
    meet_.SetAccountLookup([](std::string_view email) -> std::optional<MeetUser> {
      if (email == kDoc) return MeetUser{.user_id = "1001", .display_name = "Dr Who"};
      return std::nullopt;
    });
    meet_.Register(router_);
    meet_.AddCalendarSpace(kDoc, kCode);
    clock_.Set(T("2026-01-10T12:00:00Z"));
  }

  void AddToken(const std::string& token, const std::string& email, const std::string& client,
                std::vector<std::string_view> scopes) {
    Principal p{.email = email, .sub = "sub-" + email, .client_id = client, .scopes = {}};
    for (auto s : scopes) p.scopes.emplace_back(s);
    auth_.Add(token, std::move(p));
  }

  Reply Call(const std::string& method, const std::string& target, const json& body = nullptr,
             const std::string& token = "tok-both") {
    net::Request req;
    req.method = method;
    req.target = target;
    auto q = target.find('?');
    req.path = target.substr(0, q);
    req.query = q == std::string::npos ? "" : target.substr(q + 1);
    if (!token.empty()) req.headers.Set("Authorization", "Bearer " + token);
    if (!body.is_null()) {
      req.headers.Set("Content-Type", "application/json");
      req.body = body.dump();
    }
    net::Response r = router_.Dispatch(req);
    Reply out{r.status, nullptr, r.headers, r.body};
    out.body = json::parse(r.body, nullptr, false);
    if (out.body.is_discarded()) out.body = nullptr;
    return out;
  }

  std::string SpaceName() { return Call("GET", std::string("/v2/spaces/") + kCode).body["name"]; }

  static MeetParticipant Doctor() {
    return {.kind = ParticipantKind::kSignedIn, .user_id = "1001", .display_name = "Dr Who"};
  }
  static MeetParticipant Patient() {
    return {.kind = ParticipantKind::kAnonymous, .user_id = "", .display_name = "Mary"};
  }

  // A finished conference in `code`: doctor and patient from `start` for an hour.
  std::string Conference(const char* start, std::string code = kCode) {
    Instant s = T(start);
    auto name = meet_.AddConference(
        code,
        {{.who = Doctor(), .sessions = {{s, s + std::chrono::hours(1)}}},
         {.who = Patient(),
          .sessions = {{s + std::chrono::minutes(5), s + std::chrono::hours(1)}}}},
        std::nullopt, std::nullopt);
    EXPECT_TRUE(name) << name.error().message();
    return *name;
  }

  Tokens auth_;
  FakeClock clock_;
  MeetService meet_;
  net::Router router_;
};

// --- spaces ---------------------------------------------------------------------------------

TEST_F(MeetServiceTest, GetSpaceByMeetingCodeAndById) {
  Reply by_code = Call("GET", "/v2/spaces/ABC-mnop-xyz");  // codes ignore case
  ASSERT_EQ(by_code.status, 200) << by_code.raw;
  EXPECT_EQ(by_code.body["meetingCode"], kCode);
  EXPECT_EQ(by_code.body["meetingUri"], "https://meet.google.com/abc-mnop-xyz");
  EXPECT_EQ(by_code.body["config"]["accessType"], "TRUSTED");
  EXPECT_EQ(by_code.body["config"]["entryPointAccess"], "ALL");
  EXPECT_FALSE(by_code.body.contains("activeConference"));
  std::string name = by_code.body["name"];
  ASSERT_TRUE(name.starts_with("spaces/"));
  Reply by_id = Call("GET", "/v2/" + name);
  ASSERT_EQ(by_id.status, 200);
  EXPECT_EQ(by_id.body, by_code.body);
}

TEST_F(MeetServiceTest, SomeoneElseSeesTheSpaceWithoutItsSettings) {
  Reply r = Call("GET", std::string("/v2/spaces/") + kCode, nullptr, "tok-other");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["meetingCode"], kCode);
  EXPECT_FALSE(r.body.contains("config"));
}

TEST_F(MeetServiceTest, UnknownSpaceIsNotFoundInGooglesRpcShape) {
  Reply r = Call("GET", "/v2/spaces/zzz-zzzz-zzz");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body["error"]["code"], 404);
  EXPECT_EQ(r.rpc_status(), "NOT_FOUND");
  EXPECT_FALSE(r.body["error"].contains("errors"));  // not the Calendar v3 shape
}

TEST_F(MeetServiceTest, PatchAccessTypeWithUpdateMask) {
  std::string name = SpaceName();
  Reply r =
      Call("PATCH", "/v2/" + name + "?updateMask=config.accessType",
           {{"config", {{"accessType", "RESTRICTED"}, {"entryPointAccess", "CREATOR_APP_ONLY"}}}},
           "tok-settings");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["config"]["accessType"], "RESTRICTED");
  EXPECT_EQ(r.body["config"]["entryPointAccess"], "ALL");  // not in the mask
  Reply got = Call("GET", std::string("/v2/spaces/") + kCode);
  EXPECT_EQ(got.body["config"]["accessType"], "RESTRICTED");
}

TEST_F(MeetServiceTest, PatchWithoutMaskUpdatesTheFieldsGiven) {
  std::string name = SpaceName();
  Reply r = Call("PATCH", "/v2/" + name, {{"config", {{"accessType", "OPEN"}}}}, "tok-settings");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["config"]["accessType"], "OPEN");
  EXPECT_EQ(r.body["config"]["entryPointAccess"], "ALL");
}

TEST_F(MeetServiceTest, PatchRefusesBadValuesAndPaths) {
  std::string name = SpaceName();
  Reply bad_value = Call("PATCH", "/v2/" + name + "?updateMask=config.accessType",
                         {{"config", {{"accessType", "EVERYONE"}}}}, "tok-settings");
  EXPECT_EQ(bad_value.status, 400);
  EXPECT_EQ(bad_value.rpc_status(), "INVALID_ARGUMENT");
  EXPECT_NE(bad_value.raw.find("access_type"), std::string::npos);
  Reply bad_mask = Call("PATCH", "/v2/" + name + "?updateMask=meetingCode", {{"meetingCode", "x"}},
                        "tok-settings");
  EXPECT_EQ(bad_mask.status, 400);
  Reply bad_json = Call("PATCH", "/v2/" + name, json::array({1}), "tok-settings");
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(Call("GET", "/v2/" + name).body["config"]["accessType"], "TRUSTED");
}

TEST_F(MeetServiceTest, OnlyTheOwnerPatches) {
  std::string name = SpaceName();
  Reply r = Call("PATCH", "/v2/" + name + "?updateMask=config.accessType",
                 {{"config", {{"accessType", "OPEN"}}}}, "tok-other");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.rpc_status(), "PERMISSION_DENIED");
  EXPECT_EQ(Call("GET", "/v2/" + name).body["config"]["accessType"], "TRUSTED");
}

TEST_F(MeetServiceTest, PatchNamesTheSpaceByIdNotByMeetingCode) {
  Reply r = Call("PATCH", std::string("/v2/spaces/") + kCode + "?updateMask=config.accessType",
                 {{"config", {{"accessType", "OPEN"}}}}, "tok-settings");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.rpc_status(), "NOT_FOUND");
}

// --- scopes ---------------------------------------------------------------------------------

TEST_F(MeetServiceTest, NoTokenIsUnauthenticated) {
  Reply r = Call("GET", std::string("/v2/spaces/") + kCode, nullptr, "");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.rpc_status(), "UNAUTHENTICATED");
  Reply unknown = Call("GET", std::string("/v2/spaces/") + kCode, nullptr, "nope");
  EXPECT_EQ(unknown.status, 401);
}

TEST_F(MeetServiceTest, MissingMeetScopeIsPermissionDeniedWithTheScopeDetail) {
  Reply r = Call("GET", "/v2/conferenceRecords", nullptr, "tok-calendar");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.rpc_status(), "PERMISSION_DENIED");
  EXPECT_EQ(r.body["error"]["message"], "Request had insufficient authentication scopes.");
  EXPECT_EQ(r.body["error"]["details"][0]["reason"], "ACCESS_TOKEN_SCOPE_INSUFFICIENT");
  EXPECT_EQ(r.body["error"]["details"][0]["metadata"]["service"], "meet.googleapis.com");
  auto www = r.headers.Get("WWW-Authenticate");
  ASSERT_TRUE(www);
  EXPECT_NE(www->find("insufficient_scope"), std::string::npos);
  EXPECT_NE(www->find(kScopeMeetReadonly), std::string::npos);
}

TEST_F(MeetServiceTest, EachMethodChecksItsScopes) {
  std::string name = SpaceName();
  json patch = {{"config", {{"accessType", "OPEN"}}}};
  // readonly reads spaces and records but cannot change settings.
  EXPECT_EQ(Call("GET", "/v2/" + name, nullptr, "tok-ro").status, 200);
  EXPECT_EQ(Call("GET", "/v2/conferenceRecords", nullptr, "tok-ro").status, 200);
  EXPECT_EQ(Call("PATCH", "/v2/" + name, patch, "tok-ro").status, 403);
  // settings reads and changes spaces but not records.
  EXPECT_EQ(Call("GET", "/v2/" + name, nullptr, "tok-settings").status, 200);
  EXPECT_EQ(Call("GET", "/v2/conferenceRecords", nullptr, "tok-settings").status, 403);
  EXPECT_EQ(Call("PATCH", "/v2/" + name, patch, "tok-settings").status, 200);
}

TEST_F(MeetServiceTest, CreatedScopeReachesOnlyTheAppsOwnSpaces) {
  // A Calendar-made space is not the app's: meetings.space.created does not reach it.
  std::string calendar_space = SpaceName();
  Reply denied = Call("GET", "/v2/" + calendar_space, nullptr, "tok-created");
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(denied.rpc_status(), "PERMISSION_DENIED");
  EXPECT_FALSE(denied.body["error"].contains("details"));  // not a scope problem

  Reply made = Call("POST", "/v2/spaces", {{"config", {{"accessType", "OPEN"}}}}, "tok-created");
  ASSERT_EQ(made.status, 200) << made.raw;
  std::string name = made.body["name"];
  EXPECT_EQ(made.body["config"]["accessType"], "OPEN");
  EXPECT_EQ(Call("GET", "/v2/" + name, nullptr, "tok-created").status, 200);
  EXPECT_EQ(Call("PATCH", "/v2/" + name + "?updateMask=config.accessType",
                 {{"config", {{"accessType", "RESTRICTED"}}}}, "tok-created")
                .status,
            200);
  // The same user through another app's token: not that app's space.
  EXPECT_EQ(Call("GET", "/v2/" + name, nullptr, "tok-created-2").status, 403);
}

TEST_F(MeetServiceTest, UnknownQueryParameterIsRefused) {
  Reply r = Call("GET", "/v2/conferenceRecords?pageSize=2&orderBy=start_time");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.raw.find("orderBy"), std::string::npos);
  EXPECT_EQ(Call("GET", "/v2/conferenceRecords?pageSize=2&fields=*&prettyPrint=false").status, 200);
}

// --- conference records ---------------------------------------------------------------------

TEST_F(MeetServiceTest, RecordsByMeetingCodeNewestFirst) {
  meet_.AddCalendarSpace(kDoc, "ddd-eeee-fff");
  std::string older = Conference("2026-01-05T10:00:00Z");
  std::string newer = Conference("2026-01-06T10:00:00Z");
  Conference("2026-01-07T10:00:00Z", "ddd-eeee-fff");
  Reply r = Call(
      "GET", "/v2/conferenceRecords?filter=" + UrlEncode(R"(space.meeting_code = "abc-mnop-xyz")"));
  ASSERT_EQ(r.status, 200) << r.raw;
  ASSERT_EQ(r.body["conferenceRecords"].size(), 2u);
  EXPECT_EQ(r.body["conferenceRecords"][0]["name"], newer);
  EXPECT_EQ(r.body["conferenceRecords"][1]["name"], older);
  const json& rec = r.body["conferenceRecords"][1];
  EXPECT_EQ(rec["startTime"], "2026-01-05T10:00:00Z");
  EXPECT_EQ(rec["endTime"], "2026-01-05T11:00:00Z");
  EXPECT_EQ(rec["expireTime"], "2026-02-04T11:00:00Z");
  EXPECT_EQ(rec["space"], SpaceName());
  EXPECT_FALSE(r.body.contains("nextPageToken"));

  Reply by_name = Call(
      "GET", "/v2/conferenceRecords?filter=" + UrlEncode("space.name = \"" + SpaceName() + "\""));
  EXPECT_EQ(by_name.body["conferenceRecords"].size(), 2u);
  Reply none = Call(
      "GET", "/v2/conferenceRecords?filter=" + UrlEncode(R"(space.meeting_code = "nnn-nnnn-nnn")"));
  ASSERT_EQ(none.status, 200);
  EXPECT_EQ(none.body, json::object());  // Google leaves the empty list out
}

TEST_F(MeetServiceTest, RecordsByTimeRangeAndRunning) {
  Conference("2026-01-05T10:00:00Z");
  Conference("2026-01-06T10:00:00Z");
  ASSERT_TRUE(meet_.Join(kCode, Doctor(), T("2026-01-10T11:00:00Z")));
  Reply range = Call("GET", "/v2/conferenceRecords?filter=" +
                                UrlEncode(R"(start_time>="2026-01-05T00:00:00.000Z" AND )"
                                          R"(start_time<="2026-01-06T00:00:00.000Z")"));
  ASSERT_EQ(range.status, 200) << range.raw;
  ASSERT_EQ(range.body["conferenceRecords"].size(), 1u);
  EXPECT_EQ(range.body["conferenceRecords"][0]["startTime"], "2026-01-05T10:00:00Z");

  Reply running = Call("GET", "/v2/conferenceRecords?filter=" + UrlEncode("end_time IS NULL"));
  ASSERT_EQ(running.body["conferenceRecords"].size(), 1u);
  const json& rec = running.body["conferenceRecords"][0];
  EXPECT_FALSE(rec.contains("endTime"));
  EXPECT_FALSE(rec.contains("expireTime"));
  Reply space = Call("GET", std::string("/v2/spaces/") + kCode);
  EXPECT_EQ(space.body["activeConference"]["conferenceRecord"], rec["name"]);

  Reply bad = Call("GET", "/v2/conferenceRecords?filter=" + UrlEncode("space.owner = \"x\""));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.rpc_status(), "INVALID_ARGUMENT");
}

TEST_F(MeetServiceTest, RecordsPageThroughWithTokens) {
  for (int day = 1; day <= 5; ++day) {
    Conference(("2026-01-0" + std::to_string(day) + "T10:00:00Z").c_str());
  }
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    std::string target = "/v2/conferenceRecords?pageSize=2";
    if (!token.empty()) target += "&pageToken=" + token;
    Reply r = Call("GET", target);
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_LE(r.body["conferenceRecords"].size(), 2u);
    for (const auto& rec : r.body["conferenceRecords"]) seen.push_back(rec["startTime"]);
    token = r.body.value("nextPageToken", "");
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, (std::vector<std::string>{"2026-01-05T10:00:00Z", "2026-01-04T10:00:00Z",
                                            "2026-01-03T10:00:00Z", "2026-01-02T10:00:00Z",
                                            "2026-01-01T10:00:00Z"}));
}

TEST_F(MeetServiceTest, PageTokensAreCheckedAndPageSizeIsCoerced) {
  for (int day = 1; day <= 3; ++day) {
    Conference(("2026-01-0" + std::to_string(day) + "T10:00:00Z").c_str());
  }
  Reply first = Call("GET", "/v2/conferenceRecords?pageSize=1");
  std::string token = first.body["nextPageToken"];
  Reply other_filter = Call("GET", "/v2/conferenceRecords?pageSize=1&pageToken=" + token +
                                       "&filter=" + UrlEncode("end_time IS NULL"));
  EXPECT_EQ(other_filter.status, 400);
  EXPECT_EQ(Call("GET", "/v2/conferenceRecords?pageToken=garbage").status, 400);
  EXPECT_EQ(Call("GET", "/v2/conferenceRecords?pageSize=-1").status, 400);
  EXPECT_EQ(Call("GET", "/v2/conferenceRecords?pageSize=ten").status, 400);
  Reply big = Call("GET", "/v2/conferenceRecords?pageSize=100000");
  ASSERT_EQ(big.status, 200);
  EXPECT_EQ(big.body["conferenceRecords"].size(), 3u);
  meet_.Reset();
  meet_.AddCalendarSpace(kDoc, kCode);
  EXPECT_EQ(Call("GET", "/v2/conferenceRecords?pageToken=" + token).status, 400);
}

TEST_F(MeetServiceTest, RecordsOfOtherOwnersStayHidden) {
  std::string name = Conference("2026-01-05T10:00:00Z");
  Reply list = Call("GET", "/v2/conferenceRecords", nullptr, "tok-other");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body, json::object());
  Reply get = Call("GET", "/v2/" + name, nullptr, "tok-other");
  EXPECT_EQ(get.status, 403);
  EXPECT_EQ(Call("GET", "/v2/" + name + "/participants", nullptr, "tok-other").status, 403);
  EXPECT_EQ(Call("GET", "/v2/" + name).status, 200);
  EXPECT_EQ(Call("GET", "/v2/conferenceRecords/nope").status, 404);
}

TEST_F(MeetServiceTest, RecordsExpireThirtyDaysAfterTheEnd) {
  std::string name = Conference("2026-01-05T10:00:00Z");
  clock_.Set(T("2026-02-04T10:59:59Z"));
  EXPECT_EQ(Call("GET", "/v2/" + name).status, 200);
  clock_.Set(T("2026-02-04T11:00:00Z"));
  EXPECT_EQ(Call("GET", "/v2/" + name).status, 404);
  EXPECT_EQ(Call("GET", "/v2/conferenceRecords").body, json::object());
}

// --- participants and sessions --------------------------------------------------------------

TEST_F(MeetServiceTest, ParticipantsOfEachKind) {
  Instant t0 = T("2026-01-05T10:00:00Z");
  auto rec = meet_.AddConference(
      kCode,
      {{.who = Doctor(), .sessions = {{t0, t0 + std::chrono::minutes(30)}}},
       {.who = Patient(), .sessions = {{t0 + std::chrono::minutes(2), std::nullopt}}},
       {.who = {.kind = ParticipantKind::kPhone, .user_id = "", .display_name = "+44 *** 123"},
        .sessions = {{t0 + std::chrono::minutes(4), t0 + std::chrono::minutes(9)}}}},
      std::nullopt, std::nullopt);
  ASSERT_TRUE(rec) << rec.error().message();
  Reply r = Call("GET", "/v2/" + *rec + "/participants");
  ASSERT_EQ(r.status, 200) << r.raw;
  const json& ps = r.body["participants"];
  ASSERT_EQ(ps.size(), 3u);
  // Newest join first.
  EXPECT_EQ(ps[0]["phoneUser"]["displayName"], "+44 *** 123");
  EXPECT_EQ(ps[0]["latestEndTime"], "2026-01-05T10:09:00Z");
  EXPECT_EQ(ps[1]["anonymousUser"]["displayName"], "Mary");
  EXPECT_FALSE(ps[1].contains("latestEndTime"));  // still in the call
  EXPECT_EQ(ps[2]["signedinUser"]["user"], "users/1001");
  EXPECT_EQ(ps[2]["signedinUser"]["displayName"], "Dr Who");
  EXPECT_EQ(ps[2]["earliestStartTime"], "2026-01-05T10:00:00Z");
  EXPECT_EQ(ps[2]["latestEndTime"], "2026-01-05T10:30:00Z");
  for (const auto& p : ps) {
    int kinds = p.contains("signedinUser") + p.contains("anonymousUser") + p.contains("phoneUser");
    EXPECT_EQ(kinds, 1) << p;
    EXPECT_TRUE(p["name"].get<std::string>().starts_with(*rec + "/participants/"));
    EXPECT_EQ(Call("GET", "/v2/" + p["name"].get<std::string>()).body, p);
  }
  Reply active =
      Call("GET", "/v2/" + *rec + "/participants?filter=" + UrlEncode("latest_end_time IS NULL"));
  ASSERT_EQ(active.body["participants"].size(), 1u);
  EXPECT_EQ(active.body["participants"][0]["anonymousUser"]["displayName"], "Mary");
  Reply early = Call("GET", "/v2/" + *rec + "/participants?filter=" +
                                UrlEncode(R"(earliest_start_time < "2026-01-05T10:03:00Z")"));
  EXPECT_EQ(early.body["participants"].size(), 2u);

  Reply page1 = Call("GET", "/v2/" + *rec + "/participants?pageSize=2");
  ASSERT_EQ(page1.body["participants"].size(), 2u);
  Reply page2 = Call("GET", "/v2/" + *rec + "/participants?pageSize=2&pageToken=" +
                                page1.body["nextPageToken"].get<std::string>());
  ASSERT_EQ(page2.body["participants"].size(), 1u);
  EXPECT_EQ(page2.body["participants"][0], ps[2]);
  EXPECT_FALSE(page2.body.contains("nextPageToken"));
}

TEST_F(MeetServiceTest, SessionsOfAParticipant) {
  Instant t0 = T("2026-01-05T10:00:00Z");
  using std::chrono::minutes;
  ASSERT_TRUE(meet_.Join(kCode, Doctor(), t0));
  ASSERT_TRUE(meet_.Leave(kCode, Doctor(), t0 + minutes(10)));
  ASSERT_TRUE(meet_.Join(kCode, Doctor(), t0 + minutes(12)));
  ASSERT_TRUE(meet_.Leave(kCode, Doctor(), t0 + minutes(20)));
  auto last = meet_.Join(kCode, Doctor(), t0 + minutes(25));
  ASSERT_TRUE(last);
  std::string participant = last->participant;
  Reply all = Call("GET", "/v2/" + participant + "/participantSessions");
  ASSERT_EQ(all.status, 200) << all.raw;
  const json& ss = all.body["participantSessions"];
  ASSERT_EQ(ss.size(), 3u);
  EXPECT_EQ(ss[0]["name"], last->session);
  EXPECT_EQ(ss[0]["startTime"], "2026-01-05T10:25:00Z");
  EXPECT_FALSE(ss[0].contains("endTime"));
  EXPECT_EQ(ss[2]["startTime"], "2026-01-05T10:00:00Z");
  EXPECT_EQ(ss[2]["endTime"], "2026-01-05T10:10:00Z");
  EXPECT_EQ(Call("GET", "/v2/" + ss[1]["name"].get<std::string>()).body, ss[1]);

  Reply open = Call(
      "GET", "/v2/" + participant + "/participantSessions?filter=" + UrlEncode("end_time IS NULL"));
  ASSERT_EQ(open.body["participantSessions"].size(), 1u);
  Reply later = Call("GET", "/v2/" + participant + "/participantSessions?filter=" +
                                UrlEncode(R"(start_time > "2026-01-05T10:05:00Z")"));
  EXPECT_EQ(later.body["participantSessions"].size(), 2u);

  Reply p1 = Call("GET", "/v2/" + participant + "/participantSessions?pageSize=2");
  ASSERT_EQ(p1.body["participantSessions"].size(), 2u);
  Reply p2 = Call("GET", "/v2/" + participant + "/participantSessions?pageSize=2&pageToken=" +
                             p1.body["nextPageToken"].get<std::string>());
  ASSERT_EQ(p2.body["participantSessions"].size(), 1u);
  EXPECT_EQ(p2.body["participantSessions"][0], ss[2]);

  // Ending the conference closes the open session and the record.
  auto ended = meet_.EndConference(kCode, t0 + minutes(40));
  ASSERT_TRUE(ended);
  EXPECT_EQ(*ended, last->conference_record);
  Reply rec = Call("GET", "/v2/" + *ended);
  EXPECT_EQ(rec.body["endTime"], "2026-01-05T10:40:00Z");
  EXPECT_EQ(Call("GET", "/v2/" + last->session).body["endTime"], "2026-01-05T10:40:00Z");
  EXPECT_FALSE(Call("GET", std::string("/v2/spaces/") + kCode).body.contains("activeConference"));
}

TEST_F(MeetServiceTest, TimesKeepTheirFraction) {
  Instant t0 = T("2026-01-05T10:00:00Z");
  ASSERT_TRUE(meet_.Join(kCode, Doctor(), t0 + std::chrono::milliseconds(250)));
  auto left = meet_.Leave(kCode, Doctor(), t0 + std::chrono::microseconds(60'000'123));
  ASSERT_TRUE(left);
  Reply s = Call("GET", "/v2/" + left->session);
  EXPECT_EQ(s.body["startTime"], "2026-01-05T10:00:00.250Z");
  EXPECT_EQ(s.body["endTime"], "2026-01-05T10:01:00.000123Z");
}

// --- scripting errors -----------------------------------------------------------------------

TEST_F(MeetServiceTest, ScriptingRefusesImpossibleTimelines) {
  Instant t0 = T("2026-01-05T10:00:00Z");
  using std::chrono::minutes;
  EXPECT_EQ(meet_.Join("nnn-nnnn-nnn", Doctor(), t0).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(meet_.Leave(kCode, Doctor(), t0).error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(meet_.EndConference(kCode, t0).error().code(), ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(meet_.Join(kCode, Doctor(), t0));
  EXPECT_EQ(meet_.Join(kCode, Patient(), t0 - minutes(1)).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(meet_.Leave(kCode, Patient(), t0).error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(meet_.Leave(kCode, Doctor(), t0 - minutes(1)).error().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(meet_.EndConference(kCode, t0 - minutes(1)).error().code(),
            ErrorCode::kInvalidArgument);
  // A whole conference cannot start beside a running one, nor end before its sessions.
  auto running = meet_.AddConference(kCode, {{.who = Patient(), .sessions = {{t0, std::nullopt}}}},
                                     std::nullopt, std::nullopt);
  EXPECT_EQ(running.error().code(), ErrorCode::kFailedPrecondition);
  auto outside =
      meet_.AddConference(kCode, {{.who = Patient(), .sessions = {{t0, t0 + minutes(30)}}}},
                          std::nullopt, t0 + minutes(20));
  EXPECT_EQ(outside.error().code(), ErrorCode::kInvalidArgument);
  auto twice = meet_.AddConference(kCode,
                                   {{.who = Patient(), .sessions = {{t0, t0 + minutes(1)}}},
                                    {.who = Patient(), .sessions = {{t0, t0 + minutes(1)}}}},
                                   std::nullopt, std::nullopt);
  EXPECT_EQ(twice.error().code(), ErrorCode::kInvalidArgument);
}

// --- control routes -------------------------------------------------------------------------

TEST_F(MeetServiceTest, ControlJoinLeaveEnd) {
  std::string base = std::string("/_emulator/meet/spaces/") + kCode;
  Reply join = Call(
      "POST", base + "/join",
      {{"participant", {{"kind", "signedIn"}, {"email", kDoc}}}, {"time", "2026-01-05T10:00:00Z"}},
      "");
  ASSERT_EQ(join.status, 200) << join.raw;
  Reply anon = Call("POST", base + "/join",
                    {{"participant", {{"kind", "anonymous"}, {"displayName", "Mary"}}},
                     {"time", "2026-01-05T10:01:00Z"}},
                    "");
  ASSERT_EQ(anon.status, 200) << anon.raw;
  EXPECT_EQ(anon.body["conferenceRecord"], join.body["conferenceRecord"]);
  Reply leave = Call("POST", base + "/leave",
                     {{"participant", {{"kind", "anonymous"}, {"displayName", "Mary"}}},
                      {"time", "2026-01-05T10:21:00Z"}},
                     "");
  ASSERT_EQ(leave.status, 200) << leave.raw;
  EXPECT_EQ(leave.body["participantSession"], anon.body["participantSession"]);
  Reply end = Call("POST", base + "/end", {{"time", "2026-01-05T10:25:00Z"}}, "");
  ASSERT_EQ(end.status, 200) << end.raw;

  Reply state = Call("GET", base, nullptr, "");
  ASSERT_EQ(state.status, 200);
  EXPECT_EQ(state.body["owner"], kDoc);
  const json& rec = state.body["conferenceRecords"][0];
  EXPECT_EQ(rec["endTime"], "2026-01-05T10:25:00Z");
  ASSERT_EQ(rec["participants"].size(), 2u);
  EXPECT_EQ(rec["participants"][0]["signedinUser"]["user"], "users/1001");
  EXPECT_EQ(rec["participants"][0]["sessions"][0]["endTime"], "2026-01-05T10:25:00Z");
  EXPECT_EQ(rec["participants"][1]["sessions"][0]["endTime"], "2026-01-05T10:21:00Z");
}

TEST_F(MeetServiceTest, ControlErrorsNameTheField) {
  std::string base = std::string("/_emulator/meet/spaces/") + kCode;
  Reply unknown_account = Call("POST", base + "/join",
                               {{"participant", {{"kind", "signedIn"}, {"email", "x@y.z"}}}}, "");
  EXPECT_EQ(unknown_account.status, 400);
  EXPECT_EQ(unknown_account.body["error"]["field"], "participant.email");
  Reply bad_kind = Call("POST", base + "/join", {{"participant", {{"kind", "robot"}}}}, "");
  EXPECT_EQ(bad_kind.body["error"]["field"], "participant.kind");
  Reply bad_time =
      Call("POST", base + "/join",
           {{"participant", {{"kind", "anonymous"}, {"displayName", "A"}}}, {"time", "soon"}}, "");
  EXPECT_EQ(bad_time.body["error"]["field"], "time");
  Reply extra = Call("POST", base + "/end", {{"when", "now"}}, "");
  EXPECT_EQ(extra.body["error"]["field"], "when");
  Reply no_space = Call("POST", "/_emulator/meet/spaces/nnn-nnnn-nnn/end", json::object(), "");
  EXPECT_EQ(no_space.status, 404);
  Reply bad_session =
      Call("POST", base + "/conference",
           {{"participants",
             {{{"kind", "anonymous"},
               {"displayName", "A"},
               {"sessions",
                {{{"startTime", "2026-01-05T10:00:00Z"}, {"endTime", "2026-01-05T09:00:00Z"}}}}}}}},
           "");
  EXPECT_EQ(bad_session.status, 400);
  EXPECT_EQ(bad_session.body["error"]["field"], "participants[0].sessions[0].endTime");
}

TEST_F(MeetServiceTest, ControlWholeConference) {
  Reply r =
      Call("POST", std::string("/_emulator/meet/spaces/") + kCode + "/conference",
           {{"participants",
             {{{"kind", "signedIn"},
               {"email", kDoc},
               {"sessions",
                {{{"startTime", "2026-01-05T10:00:00Z"}, {"endTime", "2026-01-05T10:10:00Z"}},
                 {{"startTime", "2026-01-05T10:15:00Z"}, {"endTime", "2026-01-05T10:30:00Z"}}}}},
              {{"kind", "phone"},
               {"displayName", "+1 ***-***-0100"},
               {"sessions", {{{"startTime", "2026-01-05T10:05:00Z"}}}}}}},
            {"endTime", "2026-01-05T10:35:00Z"}},
           "");
  ASSERT_EQ(r.status, 201) << r.raw;
  std::string rec = r.body["conferenceRecord"];
  Reply got = Call("GET", "/v2/" + rec);
  EXPECT_EQ(got.body["startTime"], "2026-01-05T10:00:00Z");
  EXPECT_EQ(got.body["endTime"], "2026-01-05T10:35:00Z");
  Reply ps = Call("GET", "/v2/" + rec + "/participants");
  ASSERT_EQ(ps.body["participants"].size(), 2u);
  EXPECT_EQ(ps.body["participants"][0]["latestEndTime"], "2026-01-05T10:35:00Z");  // the phone
  EXPECT_EQ(ps.body["participants"][1]["latestEndTime"], "2026-01-05T10:30:00Z");
}

TEST_F(MeetServiceTest, HoldMakesTheOwnerAndAPatientOverlap) {
  Reply r =
      Call("POST", std::string("/_emulator/meet/spaces/") + kCode + "/hold", {{"minutes", 20}}, "");
  ASSERT_EQ(r.status, 201) << r.raw;
  std::string rec = r.body["conferenceRecord"];
  Reply got = Call("GET", "/v2/" + rec);
  EXPECT_EQ(got.body["endTime"], "2026-01-10T12:00:00Z");  // ends now
  Reply ps = Call("GET", "/v2/" + rec + "/participants");
  ASSERT_EQ(ps.body["participants"].size(), 2u);
  const json& patient = ps.body["participants"][0];
  const json& doctor = ps.body["participants"][1];
  EXPECT_EQ(doctor["signedinUser"]["user"], "users/1001");
  EXPECT_EQ(patient["anonymousUser"]["displayName"], "Patient");
  EXPECT_EQ(patient["earliestStartTime"], "2026-01-10T11:40:00Z");
  EXPECT_EQ(patient["latestEndTime"], "2026-01-10T12:00:00Z");

  Reply alone = Call("POST", std::string("/_emulator/meet/spaces/") + kCode + "/hold",
                     {{"patientJoins", false}, {"startTime", "2026-01-09T09:00:00Z"}}, "");
  ASSERT_EQ(alone.status, 201) << alone.raw;
  EXPECT_EQ(
      Call("GET", "/v2/" + alone.body["conferenceRecord"].get<std::string>() + "/participants")
          .body["participants"]
          .size(),
      1u);
  EXPECT_EQ(
      Call("POST", std::string("/_emulator/meet/spaces/") + kCode + "/hold", {{"minutes", 0}}, "")
          .body["error"]["field"],
      "minutes");
}

TEST_F(MeetServiceTest, ControlCreatesSpaces) {
  Reply r = Call("POST", "/_emulator/meet/spaces",
                 {{"owner", kDoc}, {"meetingCode", "my-own-code"}, {"accessType", "OPEN"}}, "");
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(r.body["meetingCode"], "my-own-code");
  EXPECT_EQ(Call("GET", "/v2/spaces/my-own-code").body["config"]["accessType"], "OPEN");
  Reply dup = Call("POST", "/_emulator/meet/spaces", {{"owner", kDoc}, {"meetingCode", kCode}}, "");
  EXPECT_EQ(dup.status, 409);
  Reply random = Call("POST", "/_emulator/meet/spaces", {{"owner", kDoc}}, "");
  ASSERT_EQ(random.status, 201);
  EXPECT_EQ(random.body["meetingCode"].get<std::string>().size(), 12u);  // abc-defg-hij
  EXPECT_EQ(Call("GET", "/_emulator/meet/spaces", nullptr, "").body["spaces"].size(), 3u);
}

TEST_F(MeetServiceTest, CalendarSpacesAreAddedOnce) {
  std::string before = SpaceName();
  meet_.AddCalendarSpace("other@example.com", "ABC-MNOP-XYZ");
  EXPECT_EQ(SpaceName(), before);
  EXPECT_EQ(meet_.SpaceState(kCode).value()["owner"], kDoc);
}

}  // namespace
}  // namespace telemeet::emulator
