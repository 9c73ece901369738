#include "google/meet_client.h"

#include <gtest/gtest.h>

#include "google/testing/fake_sleeper.h"
#include "google/testing/fake_token_source.h"
#include "google/testing/recording_observer.h"
#include "google/testing/scripted_transport.h"

namespace telemeet::google {
namespace {

using nlohmann::json;
using testing::Json;
using testing::UrlQuery;

const std::string kBase = "https://meet.test";
const std::string kRecords = kBase + "/v2/conferenceRecords";
const std::string kRecord = kRecords + "/rec-1";
const std::string kParticipants = kRecord + "/participants";
const std::string kSessions = kParticipants + "/p-1/participantSessions";

// Google's Meet error shape (no errors[] list).
testing::Reply MeetError(int code, std::string status, std::string message,
                         std::string reason = "") {
  json error = {{"code", code}, {"message", message}, {"status", status}};
  if (!reason.empty()) {
    error["details"] = json::array({{{"@type", "type.googleapis.com/google.rpc.ErrorInfo"},
                                     {"reason", reason},
                                     {"domain", "googleapis.com"}}});
  }
  return Json(code, {{"error", error}});
}

json SpaceJson(std::string access = "OPEN") {
  return {{"name", "spaces/jQCFfuBOdN5z"},
          {"meetingUri", "https://meet.google.com/abc-mnop-xyz"},
          {"meetingCode", "abc-mnop-xyz"},
          {"config", {{"accessType", access}, {"entryPointAccess", "ALL"}}}};
}

class MeetClientTest : public ::testing::Test {
 protected:
  MeetClient Client(RateLimiter* limiter = nullptr, int max_pages = 50) {
    return MeetClient(MeetOptions{.base_url = kBase + "/", .max_pages = max_pages},
                      MeetDeps{.transport = transport_,
                               .tokens = tokens_,
                               .retry = retry_,
                               .clock = clock_,
                               .limiter = limiter,
                               .observer = &observer_});
  }

  FakeClock clock_;
  testing::FakeSleeper sleeper_{clock_};
  RetryPolicy retry_{RetryOptions{}, clock_, sleeper_, 7};
  testing::ScriptedTransport transport_;
  testing::FakeTokenSource tokens_;
  testing::RecordingObserver observer_;
};

TEST_F(MeetClientTest, GetSpaceByMeetingCode) {
  transport_.On("GET", kBase + "/v2/spaces/abc-mnop-xyz", Json(200, SpaceJson("TRUSTED")));
  auto space = Client().GetSpace("7", "abc-mnop-xyz");
  ASSERT_TRUE(space.has_value()) << space.error().ToString();
  EXPECT_EQ(space->name, "spaces/jQCFfuBOdN5z");
  EXPECT_EQ(space->meeting_code, "abc-mnop-xyz");
  EXPECT_EQ(space->access_type, "TRUSTED");
  auto r = transport_.requests();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].headers.Get("Authorization"), "Bearer token-1");
  EXPECT_EQ(observer_.records().at(0).operation, "meet.spaces.get");
}

TEST_F(MeetClientTest, GetSpaceRefusesWhatIsNeitherANameNorACode) {
  for (std::string bad : {"ABC-mnop", "abc/../x", "spaces/../../calendar", "", "a b"}) {
    auto space = Client().GetSpace("7", bad);
    ASSERT_FALSE(space.has_value()) << bad;
    EXPECT_EQ(space.error().kind(), ErrorKind::kInvalidRequest) << bad;
  }
  EXPECT_TRUE(transport_.requests().empty());
}

TEST_F(MeetClientTest, PatchSendsTheUpdateMaskAndOnlyTheAccessType) {
  transport_.On("PATCH", kBase + "/v2/spaces/jQCFfuBOdN5z", Json(200, SpaceJson("RESTRICTED")));
  auto space = Client().PatchSpaceAccessType("7", "spaces/jQCFfuBOdN5z", "RESTRICTED");
  ASSERT_TRUE(space.has_value()) << space.error().ToString();
  EXPECT_EQ(space->access_type, "RESTRICTED");
  auto r = transport_.requests().at(0);
  EXPECT_EQ(UrlQuery(r.url), (KeyValues{{"updateMask", "config.accessType"}}));
  EXPECT_EQ(json::parse(r.body), (json{{"config", {{"accessType", "RESTRICTED"}}}}));
  EXPECT_EQ(r.headers.Get("Content-Type"), "application/json");

  auto bad = Client().PatchSpaceAccessType("7", "spaces/jQCFfuBOdN5z", "restricted");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().kind(), ErrorKind::kInvalidRequest);
  EXPECT_EQ(transport_.requests().size(), 1u);
}

TEST_F(MeetClientTest, RecordFilterQuotesTheCodeAndTimes) {
  EXPECT_EQ(MeetClient::RecordFilter("abc-mnop-xyz", "", "").value(),
            "space.meeting_code = \"abc-mnop-xyz\"");
  EXPECT_EQ(MeetClient::RecordFilter("abc-mnop-xyz", "2026-03-02T08:00:00Z", "2026-03-02T10:00:00Z")
                .value(),
            "space.meeting_code = \"abc-mnop-xyz\" AND start_time >= \"2026-03-02T08:00:00Z\" AND "
            "start_time <= \"2026-03-02T10:00:00Z\"");
  // Nothing can close the quotes and add a clause.
  EXPECT_FALSE(MeetClient::RecordFilter("abc\" OR space.name = \"x", "", ""));
  EXPECT_FALSE(MeetClient::RecordFilter("abc-mnop-xyz", "2026\" OR x", ""));
}

TEST_F(MeetClientTest, ListsEveryPageOfRecords) {
  transport_
      .On("GET", kRecords,
          Json(200, {{"conferenceRecords",
                      {{{"name", "conferenceRecords/rec-2"},
                        {"startTime", "2026-03-02T09:40:00.123456789Z"},
                        {"space", "spaces/jQCFfuBOdN5z"}}}},
                     {"nextPageToken", "p2"}}))
      .On("GET", kRecords,
          Json(200, {{"conferenceRecords",
                      {{{"name", "conferenceRecords/rec-1"},
                        {"startTime", "2026-03-02T09:00:00Z"},
                        {"endTime", "2026-03-02T09:30:00Z"},
                        {"expireTime", "2026-04-01T09:30:00Z"},
                        {"space", "spaces/jQCFfuBOdN5z"}}}}}));
  auto filter = MeetClient::RecordFilter("abc-mnop-xyz", "", "").value();
  auto records = Client().ListAllConferenceRecords("7", filter);
  ASSERT_TRUE(records.has_value()) << records.error().ToString();
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0].end_time, "");  // still running
  EXPECT_EQ((*records)[1].end_time, "2026-03-02T09:30:00Z");
  auto r = transport_.requests();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(UrlQuery(r[0].url), (KeyValues{{"filter", filter}, {"pageSize", "100"}}));
  EXPECT_EQ(UrlQuery(r[1].url),
            (KeyValues{{"filter", filter}, {"pageSize", "100"}, {"pageToken", "p2"}}));
}

TEST_F(MeetClientTest, PagingThatNeverEndsIsABadResponse) {
  transport_.On("GET", kRecords,
                Json(200, {{"conferenceRecords", json::array()}, {"nextPageToken", "same"}}));
  auto records = Client().ListAllConferenceRecords("7", "");
  ASSERT_FALSE(records.has_value());
  EXPECT_EQ(records.error().kind(), ErrorKind::kBadResponse);
  EXPECT_EQ(transport_.requests().size(), 2u);  // the repeated token is seen on the second page

  testing::ScriptedTransport endless;
  int n = 0;
  endless.On("GET", kRecords, [&](const HttpRequest&) -> Result<HttpResponse> {
    return HttpResponse{.status = 200,
                        .headers = {},
                        .body = json{{"nextPageToken", "t" + std::to_string(++n)}}.dump()};
  });
  MeetClient limited(
      MeetOptions{.base_url = kBase, .max_pages = 3},
      MeetDeps{.transport = endless, .tokens = tokens_, .retry = retry_, .clock = clock_});
  auto capped = limited.ListAllConferenceRecords("7", "");
  ASSERT_FALSE(capped.has_value());
  EXPECT_EQ(capped.error().kind(), ErrorKind::kBadResponse);
  EXPECT_EQ(n, 3);
}

TEST_F(MeetClientTest, ParticipantsKeepKindAndUserButNeverTheName) {
  transport_.On(
      "GET", kParticipants,
      Json(200, {{"participants",
                  {{{"name", "conferenceRecords/rec-1/participants/p-1"},
                    {"earliestStartTime", "2026-03-02T09:00:00Z"},
                    {"latestEndTime", "2026-03-02T09:30:00Z"},
                    {"signedinUser", {{"user", "users/111"}, {"displayName", "Dr. Who"}}}},
                   {{"name", "conferenceRecords/rec-1/participants/p-2"},
                    {"earliestStartTime", "2026-03-02T09:05:00Z"},
                    {"anonymousUser", {{"displayName", "Patient Name"}}}},
                   {{"name", "conferenceRecords/rec-1/participants/p-3"},
                    {"earliestStartTime", "2026-03-02T09:06:00Z"},
                    {"phoneUser", {{"displayName", "+44 20 ****"}}}}}}}));
  auto people = Client().ListAllParticipants("7", "conferenceRecords/rec-1");
  ASSERT_TRUE(people.has_value()) << people.error().ToString();
  ASSERT_EQ(people->size(), 3u);
  EXPECT_EQ((*people)[0].kind, Participant::Kind::kSignedIn);
  EXPECT_EQ((*people)[0].user, "users/111");
  EXPECT_EQ((*people)[1].kind, Participant::Kind::kAnonymous);
  EXPECT_EQ((*people)[1].user, "");
  EXPECT_EQ((*people)[1].latest_end_time, "");
  EXPECT_EQ((*people)[2].kind, Participant::Kind::kPhone);
  EXPECT_EQ(UrlQuery(transport_.requests()[0].url), (KeyValues{{"pageSize", "250"}}));
}

TEST_F(MeetClientTest, SessionsOfAParticipant) {
  transport_.On("GET", kSessions,
                Json(200, {{"participantSessions",
                            {{{"name",
                               "conferenceRecords/rec-1/participants/p-1/"
                               "participantSessions/s-1"},
                              {"startTime", "2026-03-02T09:00:00Z"},
                              {"endTime", "2026-03-02T09:10:00Z"}},
                             {{"name",
                               "conferenceRecords/rec-1/participants/p-1/"
                               "participantSessions/s-2"},
                              {"startTime", "2026-03-02T09:12:00Z"}}}}}));
  auto sessions =
      Client().ListAllParticipantSessions("7", "conferenceRecords/rec-1/participants/p-1");
  ASSERT_TRUE(sessions.has_value()) << sessions.error().ToString();
  ASSERT_EQ(sessions->size(), 2u);
  EXPECT_EQ((*sessions)[1].end_time, "");
  // A name from an answer is checked before it becomes a path.
  auto bad = Client().ListAllParticipantSessions("7", "conferenceRecords/../../calendar/v3");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().kind(), ErrorKind::kInvalidRequest);
}

TEST_F(MeetClientTest, AMissingScopeIsScopeNotGrantedAndLeavesTheGrantAlone) {
  transport_.On(
      "GET", kRecords,
      MeetError(403, "PERMISSION_DENIED", "Request had insufficient authentication scopes.",
                "ACCESS_TOKEN_SCOPE_INSUFFICIENT"));
  auto records = Client().ListAllConferenceRecords("7", "");
  ASSERT_FALSE(records.has_value());
  EXPECT_EQ(records.error().kind(), ErrorKind::kScopeNotGranted);
  EXPECT_EQ(records.error().rpc_status(), "PERMISSION_DENIED");
  EXPECT_EQ(records.error().reason(), "ACCESS_TOKEN_SCOPE_INSUFFICIENT");
  EXPECT_EQ(tokens_.marked_dead(), 0);          // the calendar keeps working
  EXPECT_EQ(transport_.requests().size(), 1u);  // not retried
}

TEST_F(MeetClientTest, MeetErrorsMapToTheKinds) {
  struct Case {
    int code;
    std::string status;
    std::string message;
    ErrorKind kind;
  };
  for (const Case& c : std::vector<Case>{
           {403, "PERMISSION_DENIED", "The caller does not have permission", ErrorKind::kForbidden},
           {404, "NOT_FOUND", "Requested entity was not found.", ErrorKind::kNotFound},
           {400, "INVALID_ARGUMENT", "Invalid filter", ErrorKind::kInvalidRequest},
           {400, "FAILED_PRECONDITION", "Precondition check failed.", ErrorKind::kInvalidRequest},
       }) {
    testing::ScriptedTransport t;
    t.On("GET", kBase + "/v2/spaces/abc-mnop-xyz", MeetError(c.code, c.status, c.message));
    MeetClient client(
        MeetOptions{.base_url = kBase},
        MeetDeps{.transport = t, .tokens = tokens_, .retry = retry_, .clock = clock_});
    auto space = client.GetSpace("7", "abc-mnop-xyz");
    ASSERT_FALSE(space.has_value());
    EXPECT_EQ(space.error().kind(), c.kind) << c.status;
    EXPECT_EQ(space.error().message(), c.message);
    EXPECT_EQ(t.requests().size(), 1u) << c.status << " is final";
  }
}

TEST_F(MeetClientTest, RateLimitsAndServerErrorsAreRetriedThroughTheLimiter) {
  RateLimiter limiter(RateLimitOptions{}, clock_, sleeper_);
  transport_
      .On("GET", kBase + "/v2/spaces/abc-mnop-xyz",
          MeetError(429, "RESOURCE_EXHAUSTED", "Quota exceeded"))
      .On("GET", kBase + "/v2/spaces/abc-mnop-xyz", MeetError(503, "UNAVAILABLE", "try later"))
      .On("GET", kBase + "/v2/spaces/abc-mnop-xyz", Json(200, SpaceJson()));
  auto space = Client(&limiter).GetSpace("7", "abc-mnop-xyz");
  ASSERT_TRUE(space.has_value()) << space.error().ToString();
  EXPECT_EQ(transport_.requests().size(), 3u);
  EXPECT_EQ(observer_.records().at(0).outcome, "rate_limited");
  EXPECT_EQ(observer_.records().at(1).outcome, "server_error");
  EXPECT_EQ(observer_.records().at(2).attempt, 3);
}

TEST_F(MeetClientTest, A401RefreshesOnceThenRetries) {
  transport_
      .On("GET", kBase + "/v2/spaces/abc-mnop-xyz",
          MeetError(401, "UNAUTHENTICATED", "Request had invalid authentication credentials."))
      .On("GET", kBase + "/v2/spaces/abc-mnop-xyz", Json(200, SpaceJson()));
  auto space = Client().GetSpace("7", "abc-mnop-xyz");
  ASSERT_TRUE(space.has_value()) << space.error().ToString();
  EXPECT_EQ(tokens_.refreshes(), 1);
  EXPECT_EQ(transport_.requests()[1].headers.Get("Authorization"), "Bearer token-2");
}

TEST_F(MeetClientTest, MalformedAnswersAreBadResponses) {
  EXPECT_EQ(ParseSpace("{}").error().kind(), ErrorKind::kBadResponse);
  EXPECT_EQ(ParseConferenceRecordPage(R"({"conferenceRecords":{}})").error().kind(),
            ErrorKind::kBadResponse);
  EXPECT_EQ(ParseConferenceRecordPage(R"({"conferenceRecords":[{"name":"x"}]})").error().kind(),
            ErrorKind::kBadResponse);
  EXPECT_EQ(
      ParseParticipantPage(R"({"participants":[{"name":"conferenceRecords/a/participants/b"}]})")
          .error()
          .kind(),
      ErrorKind::kBadResponse);
  EXPECT_TRUE(ParseConferenceRecordPage("{}").has_value());  // an empty list has no field
}

}  // namespace
}  // namespace telemeet::google
