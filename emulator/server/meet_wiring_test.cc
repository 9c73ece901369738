// fake-google's Meet side through the whole server: spaces behind the Calendar's Meet
// conferences, Meet scopes through the OAuth consent (incremental authorization), the control
// routes, reset and faults on /v2/.
#include <gtest/gtest.h>

#include "emulator/server/fake_google.h"
#include "emulator/server/fake_google_fixture.h"
#include "net/http_client.h"
#include "net/json.h"

namespace telemeet::emulator {
namespace {

using testing::kCalendarScope;
using testing::kRedirect;
const std::string kMeetScopes =
    std::string(kScopeMeetReadonly) + " " + std::string(kScopeMeetSettings);

class MeetWiringTest : public testing::FakeGoogleFixture {
 protected:
  MeetWiringTest() : FakeGoogleFixture(TwoAccounts("1111", "2222")) {}

  // A Calendar event with a Meet conference on the token's calendar; its meeting code.
  std::string MeetEvent(const nlohmann::json& tokens) {
    nlohmann::json event = {
        {"summary", "Consultation"},
        {"start", {{"dateTime", "2026-01-05T10:00:00Z"}}},
        {"end", {{"dateTime", "2026-01-05T10:30:00Z"}}},
        {"conferenceData",
         {{"createRequest",
           {{"requestId", "r1"}, {"conferenceSolutionKey", {{"type", "hangoutsMeet"}}}}}}}};
    auto r = Call("POST", "/calendar/v3/calendars/primary/events?conferenceDataVersion=1",
                  event.dump(), Bearer(tokens));
    EXPECT_EQ(r.status, 200) << r.body;
    return Json(r)["conferenceData"]["conferenceId"];
  }
};

TEST_F(MeetWiringTest, CalendarMeetConferenceHasASpaceOwnedByTheCalendarsOwner) {
  auto alice = Authorize("alice@example.com", std::string(kCalendarScope) + " " + kMeetScopes);
  std::string code = MeetEvent(alice);
  auto space = Call("GET", "/v2/spaces/" + code, "", Bearer(alice));
  ASSERT_EQ(space.status, 200) << space.body;
  auto s = Json(space);
  EXPECT_EQ(s["meetingCode"], code);
  EXPECT_EQ(s["meetingUri"], "https://meet.google.com/" + code);
  EXPECT_EQ(s["config"]["accessType"], "TRUSTED");

  auto patched =
      Call("PATCH", "/v2/" + s["name"].get<std::string>() + "?updateMask=config.accessType",
           R"({"config":{"accessType":"RESTRICTED"}})", Bearer(alice));
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(Json(Call("GET", "/v2/spaces/" + code, "", Bearer(alice)))["config"]["accessType"],
            "RESTRICTED");

  // Bob sees the space but not its settings, and cannot change them.
  auto bob = Authorize("bob@example.com", kMeetScopes);
  auto seen = Json(Call("GET", "/v2/spaces/" + code, "", Bearer(bob)));
  EXPECT_FALSE(seen.contains("config"));
  auto denied =
      Call("PATCH", "/v2/" + s["name"].get<std::string>() + "?updateMask=config.accessType",
           R"({"config":{"accessType":"OPEN"}})", Bearer(bob));
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(Json(denied)["error"]["status"], "PERMISSION_DENIED");
}

TEST_F(MeetWiringTest, IncrementalAuthorizationAddsMeetScopesToEarlierGrants) {
  auto first = Authorize("alice@example.com", kCalendarScope);
  std::string code = MeetEvent(first);
  auto no_scope = Call("GET", "/v2/conferenceRecords", "", Bearer(first));
  EXPECT_EQ(no_scope.status, 403);
  EXPECT_EQ(Json(no_scope)["error"]["details"][0]["reason"], "ACCESS_TOKEN_SCOPE_INSUFFICIENT");

  auto more = Authorize("alice@example.com", std::string(kScopeMeetReadonly), true);
  std::string granted = more["scope"];
  EXPECT_NE(granted.find(kCalendarScope), std::string::npos) << granted;
  EXPECT_NE(granted.find(kScopeMeetReadonly), std::string::npos) << granted;
  EXPECT_EQ(Call("GET", "/v2/conferenceRecords", "", Bearer(more)).status, 200);
  EXPECT_EQ(Call("GET", "/calendar/v3/calendars/primary", "", Bearer(more)).status, 200);

  // Without include_granted_scopes the new token covers only what was asked for.
  auto only_meet = Authorize("alice@example.com", std::string(kScopeMeetReadonly));
  EXPECT_EQ(Call("GET", "/calendar/v3/calendars/primary", "", Bearer(only_meet)).status, 403);
}

TEST_F(MeetWiringTest, ConsentPageListsTheMeetScopesAskedFor) {
  google_.oauth().SetAutoApprove(false);
  auto page = Call("GET", "/o/oauth2/v2/auth?" + FormEncode({{"client_id", "app"},
                                                             {"redirect_uri", kRedirect},
                                                             {"response_type", "code"},
                                                             {"scope", kMeetScopes},
                                                             {"include_granted_scopes", "true"}}));
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.body.find(kScopeMeetReadonly), std::string::npos);
  EXPECT_NE(page.body.find(kScopeMeetSettings), std::string::npos);
}

TEST_F(MeetWiringTest, ControlRoutesResetAndFaults) {
  auto alice = Authorize("alice@example.com", std::string(kCalendarScope) + " " + kMeetScopes);
  std::string code = MeetEvent(alice);
  auto held = Call("POST", "/_emulator/meet/spaces/" + code + "/hold", R"({"minutes":20})");
  ASSERT_EQ(held.status, 201) << held.body;
  std::string record = Json(held)["conferenceRecord"];
  auto ps = Json(Call("GET", "/v2/" + record + "/participants", "", Bearer(alice)));
  ASSERT_EQ(ps["participants"].size(), 2u);
  EXPECT_EQ(ps["participants"][1]["signedinUser"]["user"], "users/1111");  // alice's sub
  EXPECT_EQ(ps["participants"][1]["signedinUser"]["displayName"], "Alice");

  // Faults reach /v2/ like any Google path; control routes are never faulted.
  ASSERT_EQ(Call("POST", "/_emulator/faults",
                 R"({"kind":"backendError","method":"GET","pathPrefix":"/v2/","next":1})")
                .status,
            201);
  EXPECT_EQ(Call("GET", "/v2/conferenceRecords", "", Bearer(alice)).status, 500);
  EXPECT_EQ(Call("GET", "/v2/conferenceRecords", "", Bearer(alice)).status, 200);
  EXPECT_EQ(Call("GET", "/_emulator/meet/spaces/" + code).status, 200);

  // An unknown Meet path answers in the Meet error shape.
  auto unknown = Call("GET", "/v2/nothingHere", "", Bearer(alice));
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(Json(unknown)["error"]["status"], "NOT_FOUND");

  ASSERT_EQ(Call("POST", "/_emulator/reset").status, 200);
  EXPECT_EQ(Call("GET", "/_emulator/meet/spaces/" + code).status, 404);
}

// A web page cannot script the emulator: a cross-site form or no-cors fetch to the sandbox's
// loopback port carries an Origin header and is refused before anything changes.
TEST_F(MeetWiringTest, ControlRequestsFromWebPagesAreRefused) {
  auto alice = Authorize("alice@example.com", std::string(kCalendarScope) + " " + kMeetScopes);
  std::string code = MeetEvent(alice);
  auto forged = Call(
      "POST", "/_emulator/meet/spaces/" + code + "/hold", "",
      {{"Origin", "https://evil.example"}, {"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(forged.status, 403);
  EXPECT_EQ(Json(forged)["error"]["field"], "Origin");
  EXPECT_EQ(Call("POST", "/_emulator/reset", "", {{"Origin", "null"}}).status, 403);
  auto state = Json(Call("GET", "/_emulator/meet/spaces/" + code));
  EXPECT_EQ(state["conferenceRecords"].size(), 0u) << state.dump();
  // Reads stay open (a page cannot read them cross-origin), and test code sends no Origin.
  EXPECT_EQ(Call("GET", "/_emulator/meet/spaces/" + code, "", {{"Origin", "https://x"}}).status,
            200);
  EXPECT_EQ(Call("POST", "/_emulator/meet/spaces/" + code + "/hold", "{}").status, 201);
}

}  // namespace
}  // namespace telemeet::emulator
