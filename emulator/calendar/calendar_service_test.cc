#include "emulator/calendar/calendar_service.h"

#include <gtest/gtest.h>

#include <regex>
#include <thread>

#include "emulator/calendar/calendar_test_util.h"

namespace telemeet::emulator {
namespace {

using nlohmann::json;
using testing::CalendarFixture;
using testing::kEvents;

std::string EventPath(const std::string& id) { return std::string(kEvents) + "/" + id; }

class CalendarServiceTest : public CalendarFixture {};

// --- Authentication and scopes --------------------------------------------------------------

TEST_F(CalendarServiceTest, MissingOrUnknownTokenIs401AuthError) {
  for (const std::string token : {"", "nope"}) {
    auto r = Call("GET", kEvents, nullptr, token);
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.reason(), "authError");
    EXPECT_EQ(r.message(), "Invalid Credentials");
    EXPECT_EQ(r.body["error"]["errors"][0]["location"], "Authorization");
    EXPECT_EQ(r.body["error"]["errors"][0]["locationType"], "header");
    EXPECT_EQ(r.body["error"]["status"], "UNAUTHENTICATED");
    EXPECT_EQ(r.body["error"]["code"], 401);
    EXPECT_TRUE(r.headers.Has("WWW-Authenticate"));
  }
}

TEST_F(CalendarServiceTest, ReadonlyScopeReadsButCannotWrite) {
  json ev = Insert({{"summary", "a"}});
  auto denied =
      Call("POST", kEvents, Timed("2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z"), "tok-ro");
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(denied.reason(), "insufficientPermissions");
  EXPECT_EQ(denied.message(), "Insufficient Permission");
  EXPECT_EQ(denied.body["error"]["message"], "Request had insufficient authentication scopes.");
  EXPECT_EQ(denied.body["error"]["status"], "PERMISSION_DENIED");
  EXPECT_EQ(denied.body["error"]["details"][0]["reason"], "ACCESS_TOKEN_SCOPE_INSUFFICIENT");
  EXPECT_NE(denied.headers.Get("WWW-Authenticate")->find("insufficient_scope"), std::string::npos);
  EXPECT_EQ(Call("DELETE", EventPath(ev["id"]), nullptr, "tok-ro").status, 403);
  EXPECT_EQ(Call("GET", EventPath(ev["id"]), nullptr, "tok-ro").status, 200);
  EXPECT_EQ(Call("GET", kEvents, nullptr, "tok-ro").status, 200);
  EXPECT_EQ(Call("GET", "/calendar/v3/calendars/primary", nullptr, "tok-ro").status, 200);
}

TEST_F(CalendarServiceTest, EventsScopeCoversEventsOnly) {
  EXPECT_EQ(
      Call("POST", kEvents, Timed("2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z"), "tok-events")
          .status,
      200);
  EXPECT_EQ(Call("GET", "/calendar/v3/calendars/primary", nullptr, "tok-events").status, 403);
  json fb = {{"timeMin", "2026-01-05T00:00:00Z"},
             {"timeMax", "2026-01-06T00:00:00Z"},
             {"items", {{{"id", "primary"}}}}};
  EXPECT_EQ(Call("POST", "/calendar/v3/freeBusy", fb, "tok-events").status, 403);
}

TEST_F(CalendarServiceTest, FreebusyScopeOnlyQueriesFreeBusy) {
  json fb = {{"timeMin", "2026-01-05T00:00:00Z"},
             {"timeMax", "2026-01-06T00:00:00Z"},
             {"items", {{{"id", "primary"}}}}};
  EXPECT_EQ(Call("POST", "/calendar/v3/freeBusy", fb, "tok-fb").status, 200);
  EXPECT_EQ(Call("GET", kEvents, nullptr, "tok-fb").status, 403);
  EXPECT_EQ(Call("GET", "/calendar/v3/calendars/primary", nullptr, "tok-fb").status, 403);
}

// --- calendars.get --------------------------------------------------------------------------

TEST_F(CalendarServiceTest, PrimaryCalendarIsTheAccountWithItsTimeZone) {
  auto r = Call("GET", "/calendar/v3/calendars/primary");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["kind"], "calendar#calendar");
  EXPECT_EQ(r.body["id"], "doc@example.com");
  EXPECT_EQ(r.body["timeZone"], "UTC");
  EXPECT_EQ(r.body["conferenceProperties"]["allowedConferenceSolutionTypes"][0], "hangoutsMeet");
  EXPECT_EQ(
      Call("POST", "/_emulator/calendars/doc%40example.com", json{{"timeZone", "Europe/Paris"}}, "")
          .status,
      200);
  auto by_id = Call("GET", "/calendar/v3/calendars/doc%40example.com");
  EXPECT_EQ(by_id.body["timeZone"], "Europe/Paris");
  auto other = Call("GET", "/calendar/v3/calendars/other%40example.com");
  EXPECT_EQ(other.status, 404);
  EXPECT_EQ(other.reason(), "notFound");
}

// --- insert / get ---------------------------------------------------------------------------

TEST_F(CalendarServiceTest, InsertFillsReadOnlyFieldsAndGetReturnsThem) {
  json ev = Insert({{"summary", "Consultation"},
                    {"description", "room 4"},
                    {"visibility", "private"},
                    {"extendedProperties", {{"private", {{"appointment", "42"}}}}}});
  EXPECT_EQ(ev["kind"], "calendar#event");
  EXPECT_TRUE(std::regex_match(ev["etag"].get<std::string>(), std::regex("\"[0-9]+\"")));
  EXPECT_TRUE(std::regex_match(ev["id"].get<std::string>(), std::regex("[a-v0-9]{26}")));
  EXPECT_EQ(ev["status"], "confirmed");
  EXPECT_EQ(
      ev["htmlLink"].get<std::string>().rfind("https://www.google.com/calendar/event?eid=", 0), 0u);
  EXPECT_EQ(ev["created"], "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(ev["updated"], "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(ev["creator"]["email"], "doc@example.com");
  EXPECT_EQ(ev["organizer"]["email"], "doc@example.com");
  EXPECT_EQ(ev["organizer"]["self"], true);
  EXPECT_EQ(ev["iCalUID"], ev["id"].get<std::string>() + "@google.com");
  EXPECT_EQ(ev["sequence"], 0);
  EXPECT_EQ(ev["reminders"]["useDefault"], true);
  EXPECT_EQ(ev["visibility"], "private");
  EXPECT_EQ(ev["eventType"], "default");
  EXPECT_EQ(ev["start"]["dateTime"], "2026-01-05T10:00:00Z");
  EXPECT_FALSE(ev.contains("hangoutLink"));

  auto got = Call("GET", EventPath(ev["id"]));
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.body, ev);
}

TEST_F(CalendarServiceTest, ClientChosenIdAndDuplicateIs409) {
  json ev = Insert({{"id", "appt00042"}});
  EXPECT_EQ(ev["id"], "appt00042");
  auto dup = Call("POST", kEvents,
                  json{{"id", "appt00042"},
                       {"start", {{"dateTime", "2026-01-05T10:00:00Z"}}},
                       {"end", {{"dateTime", "2026-01-05T11:00:00Z"}}}});
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(dup.reason(), "duplicate");
  EXPECT_EQ(dup.message(), "The requested identifier already exists.");
  // A deleted event keeps its id.
  ASSERT_EQ(Call("DELETE", EventPath("appt00042")).status, 204);
  EXPECT_EQ(Call("POST", kEvents,
                 json{{"id", "appt00042"},
                      {"start", {{"dateTime", "2026-01-05T10:00:00Z"}}},
                      {"end", {{"dateTime", "2026-01-05T11:00:00Z"}}}})
                .status,
            409);
}

TEST_F(CalendarServiceTest, InvalidIdsAre400) {
  for (const json& id : {json("abcd"), json("ABCDE"), json("abcdw"), json("abc_def"),
                         json(std::string(1025, 'a')), json(12345)}) {
    json ev = Timed("2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z");
    ev["id"] = id;
    auto r = Call("POST", kEvents, ev);
    EXPECT_EQ(r.status, 400) << id;
    EXPECT_EQ(r.reason(), "invalid");
    EXPECT_EQ(r.message(), "Invalid resource id value.");
  }
  EXPECT_EQ(Insert({{"id", std::string(1024, 'v')}})["id"].get<std::string>().size(), 1024u);
  EXPECT_EQ(Insert({{"id", "0a1b2"}})["id"], "0a1b2");
}

TEST_F(CalendarServiceTest, UnknownEventIs404ForEveryMethod) {
  json full = Timed("2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z");
  for (const char* method : {"GET", "PUT", "PATCH", "DELETE"}) {
    auto r = Call(method, EventPath("nosuchevent"), std::string(method) == "GET" ? json() : full);
    EXPECT_EQ(r.status, 404) << method;
    EXPECT_EQ(r.reason(), "notFound");
    EXPECT_EQ(r.message(), "Not Found");
  }
  EXPECT_EQ(Call("GET", "/calendar/v3/calendars/other%40example.com/events").status, 404);
}

TEST_F(CalendarServiceTest, DeletedEventGetsCancelledAndSecondDeleteIs410) {
  json ev = Insert({{"summary", "x"}});
  auto del = Call("DELETE", EventPath(ev["id"]));
  EXPECT_EQ(del.status, 204);
  EXPECT_TRUE(del.raw.empty());
  auto got = Call("GET", EventPath(ev["id"]));
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.body["status"], "cancelled");
  EXPECT_EQ(got.body["summary"], "x");
  auto again = Call("DELETE", EventPath(ev["id"]));
  EXPECT_EQ(again.status, 410);
  EXPECT_EQ(again.reason(), "deleted");
  EXPECT_EQ(again.message(), "Resource has been deleted");
  EXPECT_EQ(again.body["error"]["errors"][0]["domain"], "global");
}

TEST_F(CalendarServiceTest, EtagAndUpdatedChangeOnEveryWrite) {
  json ev = Insert({{"summary", "x"}});
  std::string etag = ev["etag"];
  clock_.Advance(std::chrono::seconds(90));
  auto p1 = Call("PATCH", EventPath(ev["id"]), json{{"summary", "x"}});
  ASSERT_EQ(p1.status, 200);
  EXPECT_NE(p1.body["etag"], etag);
  EXPECT_EQ(p1.body["updated"], "2026-01-01T00:01:30.000Z");
  EXPECT_EQ(p1.body["created"], "2026-01-01T00:00:00.000Z");
  // Even with the clock standing still.
  auto p2 = Call("PATCH", EventPath(ev["id"]), json{{"summary", "x"}});
  EXPECT_NE(p2.body["etag"], p1.body["etag"]);
  EXPECT_EQ(Call("GET", EventPath(ev["id"])).body["etag"], p2.body["etag"]);
}

TEST_F(CalendarServiceTest, IfMatchMismatchIs412AndMatchSucceeds) {
  json ev = Insert({{"summary", "x"}});
  const std::string id = ev["id"];
  net::Headers stale;
  stale.Set("If-Match", "\"1\"");
  for (const char* method : {"PATCH", "PUT", "DELETE"}) {
    auto r = Call(method, EventPath(id),
                  std::string(method) == "DELETE"
                      ? json()
                      : Timed("2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z"),
                  "tok-full", stale);
    EXPECT_EQ(r.status, 412) << method;
    EXPECT_EQ(r.reason(), "conditionNotMet");
    EXPECT_EQ(r.message(), "Precondition Failed");
    EXPECT_EQ(r.body["error"]["errors"][0]["location"], "If-Match");
    EXPECT_EQ(r.body["error"]["errors"][0]["locationType"], "header");
  }
  net::Headers fresh;
  fresh.Set("If-Match", ev["etag"].get<std::string>());
  auto ok = Call("PATCH", EventPath(id), json{{"summary", "y"}}, "tok-full", fresh);
  EXPECT_EQ(ok.status, 200);
  // The etag just used is stale now.
  EXPECT_EQ(Call("DELETE", EventPath(id), nullptr, "tok-full", fresh).status, 412);
  net::Headers any;
  any.Set("If-Match", "*");
  EXPECT_EQ(Call("DELETE", EventPath(id), nullptr, "tok-full", any).status, 204);
}

TEST_F(CalendarServiceTest, IfNoneMatchGives304) {
  json ev = Insert({{"summary", "x"}});
  net::Headers h;
  h.Set("If-None-Match", ev["etag"].get<std::string>());
  auto r = Call("GET", EventPath(ev["id"]), nullptr, "tok-full", h);
  EXPECT_EQ(r.status, 304);
  EXPECT_TRUE(r.raw.empty());
  h.Set("If-None-Match", "\"7\"");
  EXPECT_EQ(Call("GET", EventPath(ev["id"]), nullptr, "tok-full", h).status, 200);
}

TEST_F(CalendarServiceTest, PatchMergesObjectsReplacesArraysAndNullClears) {
  json ev =
      Insert({{"summary", "x"},
              {"description", "d"},
              {"attendees", {{{"email", "a@example.com"}}, {{"email", "b@example.com"}}}},
              {"extendedProperties", {{"private", {{"k1", "v1"}}}, {"shared", {{"s", "1"}}}}}});
  auto r = Call("PATCH", EventPath(ev["id"]),
                json{{"description", nullptr},
                     {"attendees", {{{"email", "c@example.com"}}}},
                     {"extendedProperties", {{"private", {{"k2", "v2"}}}}},
                     {"end", {{"dateTime", "2026-01-05T12:00:00Z"}}}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_FALSE(r.body.contains("description"));
  EXPECT_EQ(r.body["summary"], "x");
  ASSERT_EQ(r.body["attendees"].size(), 1u);
  EXPECT_EQ(r.body["attendees"][0]["email"], "c@example.com");
  EXPECT_EQ(r.body["extendedProperties"]["private"], (json{{"k1", "v1"}, {"k2", "v2"}}));
  EXPECT_EQ(r.body["extendedProperties"]["shared"]["s"], "1");
  EXPECT_EQ(r.body["start"]["dateTime"], "2026-01-05T10:00:00Z");
  EXPECT_EQ(r.body["end"]["dateTime"], "2026-01-05T12:00:00Z");
  // A patch switching to an all-day date drops the old dateTime.
  auto allday = Call("PATCH", EventPath(ev["id"]),
                     json{{"start", {{"date", "2026-01-05"}}}, {"end", {{"date", "2026-01-06"}}}});
  ASSERT_EQ(allday.status, 200) << allday.raw;
  EXPECT_FALSE(allday.body["start"].contains("dateTime"));
}

TEST_F(CalendarServiceTest, UpdateReplacesTheWholeResource) {
  json ev = Insert({{"summary", "x"}, {"description", "d"}, {"location", "room"}});
  json full = Timed("2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z");
  full["summary"] = "y";
  auto r = Call("PUT", EventPath(ev["id"]), full);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["summary"], "y");
  EXPECT_FALSE(r.body.contains("description"));
  EXPECT_FALSE(r.body.contains("location"));
  EXPECT_EQ(r.body["id"], ev["id"]);
  auto missing = Call("PUT", EventPath(ev["id"]), json{{"summary", "z"}});
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.message(), "Missing end time.");
}

TEST_F(CalendarServiceTest, SequenceCountsTimeAndPlaceChangesOnly) {
  json ev = Insert({{"summary", "x"}});
  EXPECT_EQ(Call("PATCH", EventPath(ev["id"]), json{{"summary", "y"}}).body["sequence"], 0);
  EXPECT_EQ(
      Call("PATCH", EventPath(ev["id"]), json{{"end", {{"dateTime", "2026-01-05T12:00:00Z"}}}})
          .body["sequence"],
      1);
  EXPECT_EQ(Call("PATCH", EventPath(ev["id"]), json{{"location", "room 2"}}).body["sequence"], 2);
}

TEST_F(CalendarServiceTest, PatchAndUpdateOfDeletedEventSucceedAndCanRestore) {
  json ev = Insert({{"summary", "x"}});
  ASSERT_EQ(Call("DELETE", EventPath(ev["id"])).status, 204);
  auto r = Call("PATCH", EventPath(ev["id"]), json{{"status", "confirmed"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body["status"], "confirmed");
  EXPECT_EQ(Call("DELETE", EventPath(ev["id"])).status, 204);
}

// --- bad input ------------------------------------------------------------------------------

TEST_F(CalendarServiceTest, MissingOrEmptyTimesUseGoogleMessages) {
  auto empty = Call("POST", kEvents, json::object());
  EXPECT_EQ(empty.status, 400);
  EXPECT_EQ(empty.reason(), "required");
  EXPECT_EQ(empty.message(), "Missing end time.");
  auto no_start = Call("POST", kEvents, json{{"end", {{"dateTime", "2026-01-05T11:00:00Z"}}}});
  EXPECT_EQ(no_start.message(), "Missing start time.");
  auto no_zone = Call("POST", kEvents, Timed("2026-01-05T10:00:00", "2026-01-05T11:00:00Z"));
  EXPECT_EQ(no_zone.status, 400);
  EXPECT_EQ(no_zone.message(), "Missing time zone definition for start time.");
  json zoned = Timed("2026-01-05T10:00:00", "2026-01-05T11:00:00");
  zoned["start"]["timeZone"] = "UTC";
  zoned["end"]["timeZone"] = "UTC";
  EXPECT_EQ(Call("POST", kEvents, zoned).status, 200);
  auto backwards = Call("POST", kEvents, Timed("2026-01-05T11:00:00Z", "2026-01-05T10:00:00Z"));
  EXPECT_EQ(backwards.status, 400);
  EXPECT_EQ(backwards.reason(), "timeRangeEmpty");
  EXPECT_EQ(backwards.message(), "The specified time range is empty.");
  EXPECT_EQ(backwards.body["error"]["errors"][0]["domain"], "calendar");
  auto mixed = Call(
      "POST", kEvents,
      json{{"start", {{"date", "2026-01-05"}}}, {"end", {{"dateTime", "2026-01-05T11:00:00Z"}}}});
  EXPECT_EQ(mixed.status, 400);
  EXPECT_EQ(mixed.message(), "Start and end times must either both be date or both be dateTime.");
  auto garbage = Call("POST", kEvents, Timed("tomorrow", "2026-01-05T11:00:00Z"));
  EXPECT_EQ(garbage.status, 400);
  EXPECT_EQ(garbage.message(), "Invalid start time.");
}

TEST_F(CalendarServiceTest, MalformedJsonIs400ParseError) {
  for (const std::string body : {"{\"summary\":", "[1,2]", "\"text\"", "{{}}"}) {
    auto r = CallRaw("POST", kEvents, body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(r.reason(), "parseError");
    EXPECT_EQ(r.body["error"]["code"], 400);
  }
  net::Headers form;
  form.Set("Content-Type", "application/x-www-form-urlencoded");
  auto r = CallRaw("POST", kEvents, "summary=x", "tok-full", form);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.message(), "This API does not support parsing form-encoded input.");
  std::string deep(100, '[');
  EXPECT_EQ(CallRaw("POST", kEvents, "{\"a\":" + deep).status, 400);
}

TEST_F(CalendarServiceTest, WrongTypesAre400Invalid) {
  std::vector<json> bad = {
      {{"summary", 5}},
      {{"start", "2026-01-05T10:00:00Z"}},
      {{"attendees", {{"email", "a@example.com"}}}},
      {{"attendees", json::array({{{"email", 3}}})}},
      {{"recurrence", "RRULE:FREQ=DAILY"}},
      {{"guestsCanModify", "yes"}},
      {{"status", "maybe"}},
      {{"visibility", "secret"}},
      {{"transparency", 1}},
      {{"extendedProperties", {{"private", {{"n", 1}}}}}},
      {{"reminders", {{"overrides", {{{"method", "sms"}, {"minutes", 5}}}}}}},
      {{"reminders", {{"overrides", {{{"method", "popup"}, {"minutes", 40321}}}}}}},
  };
  for (json b : bad) {
    if (!b.contains("start")) b["start"] = {{"dateTime", "2026-01-05T10:00:00Z"}};
    b["end"] = {{"dateTime", "2026-01-05T11:00:00Z"}};
    auto r = Call("POST", kEvents, b);
    EXPECT_EQ(r.status, 400) << b.dump();
    EXPECT_EQ(r.reason(), "invalid") << b.dump();
  }
  json many = json::array();
  for (int i = 0; i < 6; ++i) many.push_back({{"method", "popup"}, {"minutes", i}});
  auto too_many = Call("POST", kEvents, [&] {
    json b = Timed("2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z");
    b["reminders"] = {{"useDefault", false}, {"overrides", many}};
    return b;
  }());
  EXPECT_EQ(too_many.status, 400);
  EXPECT_EQ(too_many.message(), "The maximum number of override reminders is 5.");
  json both = Timed("2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z");
  both["reminders"] = {{"useDefault", true},
                       {"overrides", {{{"method", "popup"}, {"minutes", 5}}}}};
  EXPECT_EQ(Call("POST", kEvents, both).reason(), "cannotUseDefaultRemindersAndSpecifyOverride");
  json no_email = Timed("2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z");
  no_email["attendees"] = {{{"displayName", "Ann"}}};
  auto r = Call("POST", kEvents, no_email);
  EXPECT_EQ(r.reason(), "required");
  EXPECT_EQ(r.message(), "Missing attendee email.");
}

TEST_F(CalendarServiceTest, UnknownAndReadOnlyTopLevelFieldsAreIgnored) {
  json ev =
      Insert({{"summary", "x"},
              {"colour", "red"},
              {"kind", "calendar#other"},
              {"etag", "\"1\""},
              {"htmlLink", "https://evil.example"},
              {"sequence", 99},
              {"reminders",
               {{"useDefault", false}, {"overrides", {{{"method", "email"}, {"minutes", 30}}}}}}});
  EXPECT_FALSE(ev.contains("colour"));
  EXPECT_EQ(ev["kind"], "calendar#event");
  EXPECT_NE(ev["etag"], "\"1\"");
  EXPECT_NE(ev["htmlLink"], "https://evil.example");
  EXPECT_EQ(ev["sequence"], 0);
  EXPECT_EQ(ev["reminders"]["overrides"][0]["minutes"], 30);
}

TEST_F(CalendarServiceTest, OversizedBodyIs413) {
  json b = Timed("2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z");
  b["description"] = std::string(1 << 20, 'x');
  auto r = Call("POST", kEvents, b);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.reason(), "requestTooLarge");
  EXPECT_FALSE(service_.CalendarState("doc@example.com").has_value() &&
               !service_.CalendarState("doc@example.com")->at("events").empty());
}

TEST_F(CalendarServiceTest, QueryParametersAreValidated) {
  json b = Timed("2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z");
  for (const char* q :
       {"?sendUpdates=everyone", "?conferenceDataVersion=2", "?conferenceDataVersion=x",
        "?maxAttendees=0", "?supportsAttachments=yes"}) {
    auto r = Call("POST", std::string(kEvents) + q, b);
    EXPECT_EQ(r.status, 400) << q;
    EXPECT_EQ(r.reason(), "invalidParameter") << q;
    EXPECT_EQ(r.body["error"]["errors"][0]["locationType"], "parameter");
  }
  for (const char* q : {"?sendUpdates=all", "?sendUpdates=externalOnly", "?sendUpdates=none",
                        "?sendNotifications=true"}) {
    EXPECT_EQ(Call("POST", std::string(kEvents) + q, b).status, 200) << q;
  }
  json ev = Insert({});
  EXPECT_EQ(Call("DELETE", EventPath(ev["id"]) + "?sendUpdates=bogus").status, 400);
  EXPECT_EQ(Call("DELETE", EventPath(ev["id"]) + "?sendUpdates=none").status, 204);
}

TEST_F(CalendarServiceTest, AttendeesGetDefaultsAndMaxAttendeesTruncates) {
  json ev =
      Insert({{"attendees",
               {{{"email", "doc@example.com"}},
                {{"email", "patient@example.com"}, {"displayName", "P"}, {"optional", true}}}}});
  EXPECT_EQ(ev["attendees"][0]["organizer"], true);
  EXPECT_EQ(ev["attendees"][0]["self"], true);
  EXPECT_EQ(ev["attendees"][1]["responseStatus"], "needsAction");
  EXPECT_EQ(ev["attendees"][1]["optional"], true);
  auto r = Call("GET", EventPath(ev["id"]) + "?maxAttendees=1");
  EXPECT_EQ(r.body["attendees"].size(), 1u);
  EXPECT_EQ(r.body["attendeesOmitted"], true);
}

TEST_F(CalendarServiceTest, AttachmentsNeedSupportsAttachments) {
  json file = {{{"fileUrl", "https://drive.google.com/file/d/1"}, {"title", "report"}}};
  json ignored = Insert({{"attachments", file}});
  EXPECT_FALSE(ignored.contains("attachments"));
  json kept = Insert({{"attachments", file}}, "?supportsAttachments=true");
  EXPECT_EQ(kept["attachments"], file);
  // An update without the flag leaves them alone.
  auto updated =
      Call("PUT", EventPath(kept["id"]), Timed("2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z"));
  EXPECT_EQ(updated.body["attachments"], file);
  auto cleared = Call("PATCH", EventPath(kept["id"]) + "?supportsAttachments=true",
                      json{{"attachments", json::array()}});
  EXPECT_EQ(cleared.body["attachments"], json::array());
  json many = json::array();
  for (int i = 0; i < 26; ++i) many.push_back(file[0]);
  json b = Timed("2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z");
  b["attachments"] = many;
  EXPECT_EQ(Call("POST", std::string(kEvents) + "?supportsAttachments=true", b).status, 400);
}

// --- Meet -----------------------------------------------------------------------------------

json MeetRequest(const std::string& request_id, const std::string& type = "hangoutsMeet") {
  return {
      {"createRequest", {{"requestId", request_id}, {"conferenceSolutionKey", {{"type", type}}}}}};
}

TEST_F(CalendarServiceTest, ConferenceDataVersion1CreatesAMeet) {
  json ev = Insert({{"conferenceData", MeetRequest("req-1")}}, "?conferenceDataVersion=1");
  const json& conf = ev["conferenceData"];
  const std::string code = conf["conferenceId"];
  EXPECT_TRUE(std::regex_match(code, std::regex("[a-z]{3}-[a-z]{4}-[a-z]{3}"))) << code;
  EXPECT_EQ(conf["createRequest"]["requestId"], "req-1");
  EXPECT_EQ(conf["createRequest"]["status"]["statusCode"], "success");
  EXPECT_EQ(conf["createRequest"]["conferenceSolutionKey"]["type"], "hangoutsMeet");
  EXPECT_EQ(conf["conferenceSolution"]["key"]["type"], "hangoutsMeet");
  EXPECT_EQ(conf["conferenceSolution"]["name"], "Google Meet");
  ASSERT_EQ(conf["entryPoints"].size(), 3u);
  std::map<std::string, json> by_type;
  for (const json& e : conf["entryPoints"]) by_type[e["entryPointType"]] = e;
  EXPECT_EQ(by_type["video"]["uri"], "https://meet.google.com/" + code);
  EXPECT_EQ(by_type["video"]["label"], "meet.google.com/" + code);
  EXPECT_EQ(by_type["phone"]["uri"].get<std::string>().rfind("tel:+", 0), 0u);
  EXPECT_TRUE(by_type["phone"].contains("pin"));
  EXPECT_EQ(by_type["more"]["uri"].get<std::string>().rfind("https://tel.meet/" + code, 0), 0u);
  EXPECT_EQ(ev["hangoutLink"], "https://meet.google.com/" + code);
  EXPECT_EQ(Call("GET", EventPath(ev["id"])).body["conferenceData"], conf);
}

TEST_F(CalendarServiceTest, CopiedConferenceDataIsKeptWhenValid) {
  json meet = Insert({{"conferenceData", MeetRequest("req-1")}}, "?conferenceDataVersion=1");
  json copy = meet["conferenceData"];
  copy.erase("createRequest");
  json copied = Insert({{"conferenceData", copy}}, "?conferenceDataVersion=1");
  EXPECT_EQ(copied["conferenceData"]["conferenceId"], meet["conferenceData"]["conferenceId"]);
  EXPECT_EQ(copied["hangoutLink"], meet["hangoutLink"]);
  json bad = copy;
  bad["entryPoints"][0]["uri"] = "http://meet.google.com/abc-defg-hij";
  json b = Timed("2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z");
  b["conferenceData"] = bad;
  EXPECT_EQ(Call("POST", std::string(kEvents) + "?conferenceDataVersion=1", b).status, 400);
  bad = copy;
  bad["entryPoints"].push_back(copy["entryPoints"][0]);  // two video entry points
  b["conferenceData"] = bad;
  EXPECT_EQ(Call("POST", std::string(kEvents) + "?conferenceDataVersion=1", b).status, 400);
}

TEST_F(CalendarServiceTest, ConferenceDataIsDroppedWithoutVersion1) {
  json ev = Insert({{"conferenceData", MeetRequest("req-1")}});
  EXPECT_FALSE(ev.contains("conferenceData"));
  EXPECT_FALSE(ev.contains("hangoutLink"));
  json meet = Insert({{"conferenceData", MeetRequest("req-2")}}, "?conferenceDataVersion=1");
  auto patched = Call("PATCH", EventPath(meet["id"]),
                      json{{"summary", "s"}, {"conferenceData", MeetRequest("req-3")}});
  EXPECT_EQ(patched.body["conferenceData"], meet["conferenceData"]);
  json full = Timed("2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z");
  auto updated = Call("PUT", EventPath(meet["id"]), full);
  EXPECT_EQ(updated.body["conferenceData"], meet["conferenceData"]);
  auto removed = Call("PATCH", EventPath(meet["id"]) + "?conferenceDataVersion=1",
                      json{{"conferenceData", nullptr}});
  EXPECT_FALSE(removed.body.contains("conferenceData"));
  EXPECT_FALSE(removed.body.contains("hangoutLink"));
}

TEST_F(CalendarServiceTest, RepeatedRequestIdIsIgnoredAndNewOneReplaces) {
  json ev = Insert({{"conferenceData", MeetRequest("req-1")}}, "?conferenceDataVersion=1");
  const std::string path = EventPath(ev["id"]) + "?conferenceDataVersion=1";
  auto same = Call("PATCH", path, json{{"conferenceData", MeetRequest("req-1")}});
  EXPECT_EQ(same.body["conferenceData"]["conferenceId"], ev["conferenceData"]["conferenceId"]);
  auto fresh = Call("PATCH", path, json{{"conferenceData", MeetRequest("req-2")}});
  EXPECT_NE(fresh.body["conferenceData"]["conferenceId"], ev["conferenceData"]["conferenceId"]);
  EXPECT_EQ(fresh.body["conferenceData"]["createRequest"]["requestId"], "req-2");
}

TEST_F(CalendarServiceTest, PendingConferenceTurnsSuccessAfterNReads) {
  auto set = Call("POST", "/_emulator/calendars/doc%40example.com/conference",
                  json{{"mode", "pending"}, {"pendingReads", 2}}, "");
  ASSERT_EQ(set.status, 200) << set.raw;
  json ev = Insert({{"conferenceData", MeetRequest("req-1")}}, "?conferenceDataVersion=1");
  EXPECT_EQ(ev["conferenceData"]["createRequest"]["status"]["statusCode"], "pending");
  EXPECT_FALSE(ev["conferenceData"].contains("entryPoints"));
  EXPECT_FALSE(ev.contains("hangoutLink"));
  for (int i = 0; i < 2; ++i) {
    auto r = Call("GET", EventPath(ev["id"]));
    EXPECT_EQ(r.body["conferenceData"]["createRequest"]["status"]["statusCode"], "pending") << i;
    EXPECT_FALSE(r.body.contains("hangoutLink"));
  }
  auto done = Call("GET", EventPath(ev["id"]));
  EXPECT_EQ(done.body["conferenceData"]["createRequest"]["status"]["statusCode"], "success");
  EXPECT_EQ(done.body["conferenceData"]["entryPoints"][0]["entryPointType"], "video");
  EXPECT_TRUE(done.body.contains("hangoutLink"));
  EXPECT_NE(done.body["etag"], ev["etag"]);
}

TEST_F(CalendarServiceTest, FailedConferenceHasNoEntryPoints) {
  service_.SetConferenceBehaviour("doc@example.com", {.mode = ConferenceMode::kFailure});
  json ev = Insert({{"conferenceData", MeetRequest("req-1")}}, "?conferenceDataVersion=1");
  EXPECT_EQ(ev["conferenceData"]["createRequest"]["status"]["statusCode"], "failure");
  EXPECT_FALSE(ev["conferenceData"].contains("entryPoints"));
  EXPECT_FALSE(ev["conferenceData"].contains("conferenceSolution"));
  EXPECT_FALSE(ev["conferenceData"].contains("conferenceId"));
  EXPECT_FALSE(ev.contains("hangoutLink"));
}

TEST_F(CalendarServiceTest, RefusedOrUnknownConferenceTypeIs400) {
  json b = Timed("2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z");
  b["conferenceData"] = MeetRequest("req-1", "eventHangout");
  auto wrong = Call("POST", std::string(kEvents) + "?conferenceDataVersion=1", b);
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(wrong.reason(), "invalid");
  EXPECT_EQ(wrong.message(), "Invalid conference type value.");
  ASSERT_EQ(Call("POST", "/_emulator/calendars/doc%40example.com/conference",
                 json{{"mode", "refuse"}}, "")
                .status,
            200);
  b["conferenceData"] = MeetRequest("req-1");
  auto refused = Call("POST", std::string(kEvents) + "?conferenceDataVersion=1", b);
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(refused.message(), "Invalid conference type value.");
  EXPECT_TRUE(Call("GET", "/calendar/v3/calendars/primary")
                  .body["conferenceProperties"]["allowedConferenceSolutionTypes"]
                  .empty());
  EXPECT_TRUE(service_.CalendarState("doc@example.com")->at("events").empty());
}

// --- transport and concurrency ------------------------------------------------------------

TEST_F(CalendarServiceTest, ConcurrentWritersAndReadersAreSafe) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < 50; ++i) {
        json b = Timed("2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z");
        b["summary"] = "t" + std::to_string(t);
        auto r = Call("POST", kEvents, b);
        EXPECT_EQ(r.status, 200);
        EXPECT_EQ(Call("GET", EventPath(r.body["id"])).status, 200);
        EXPECT_EQ(Call("GET", std::string(kEvents) + "?maxResults=5").status, 200);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(service_.CalendarState("doc@example.com")->at("events").size(), 200u);
}

TEST_F(CalendarServiceTest, ResetForgetsEverything) {
  json ev = Insert({});
  service_.Reset();
  EXPECT_FALSE(service_.CalendarState("doc@example.com").has_value());
  EXPECT_EQ(Call("GET", EventPath(ev["id"])).status, 404);
}

}  // namespace
}  // namespace telemeet::emulator
