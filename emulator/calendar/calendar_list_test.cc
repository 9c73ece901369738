// events.list, sync tokens, recurring events, freeBusy, watch/channels.stop, control routes and
// a round trip through a real HttpServer.
#include <gtest/gtest.h>

#include <set>

#include "emulator/calendar/calendar_service.h"
#include "emulator/calendar/calendar_test_util.h"
#include "net/http_server.h"
#include "net/testing/raw_client.h"

namespace telemeet::emulator {
namespace {

using nlohmann::json;
using testing::CalendarFixture;
using testing::kEvents;

std::string EventPath(const std::string& id) { return std::string(kEvents) + "/" + id; }

class CalendarListTest : public CalendarFixture {
 protected:
  json List(const std::string& query = "") {
    auto r = Call("GET", std::string(kEvents) + query);
    EXPECT_EQ(r.status, 200) << query << " " << r.raw;
    return r.body;
  }
  std::vector<std::string> Ids(const json& list) {
    std::vector<std::string> ids;
    for (const json& e : list["items"]) ids.push_back(e["id"]);
    return ids;
  }
  json At(const std::string& id, const std::string& start, const std::string& end,
          json extra = json::object()) {
    extra["id"] = id;
    extra["start"] = {{"dateTime", start}};
    extra["end"] = {{"dateTime", end}};
    return Insert(extra);
  }
};

TEST_F(CalendarListTest, ListShapeAndCancelledOnlyWithShowDeleted) {
  At("evt0000a", "2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z");
  At("evt0000b", "2026-01-05T12:00:00Z", "2026-01-05T13:00:00Z");
  ASSERT_EQ(Call("DELETE", EventPath("evt0000b")).status, 204);
  json list = List();
  EXPECT_EQ(list["kind"], "calendar#events");
  EXPECT_EQ(list["summary"], "doc@example.com");
  EXPECT_EQ(list["timeZone"], "UTC");
  EXPECT_EQ(list["accessRole"], "owner");
  EXPECT_TRUE(list["defaultReminders"].is_array());
  EXPECT_TRUE(list.contains("nextSyncToken"));
  EXPECT_FALSE(list.contains("nextPageToken"));
  EXPECT_EQ(Ids(list), (std::vector<std::string>{"evt0000a"}));
  json with_deleted = List("?showDeleted=true");
  EXPECT_EQ(Ids(with_deleted), (std::vector<std::string>{"evt0000a", "evt0000b"}));
  EXPECT_EQ(with_deleted["items"][1]["status"], "cancelled");
}

TEST_F(CalendarListTest, TimeWindowBoundsAreExclusive) {
  At("erl000001", "2026-01-05T08:00:00Z", "2026-01-05T09:00:00Z");
  At("middle001", "2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z");
  At("late00001", "2026-01-05T12:00:00Z", "2026-01-05T13:00:00Z");
  // timeMin bounds the end, timeMax the start; both exclusive.
  EXPECT_EQ(Ids(List("?timeMin=2026-01-05T09:00:00Z&timeMax=2026-01-05T12:00:00Z")),
            (std::vector<std::string>{"middle001"}));
  EXPECT_EQ(Ids(List("?timeMin=2026-01-05T08:59:59Z&timeMax=2026-01-05T12:00:01Z")),
            (std::vector<std::string>{"erl000001", "middle001", "late00001"}));
  EXPECT_EQ(Ids(List("?timeMin=2026-01-05T11:00:00%2B01:00")),  // 10:00Z
            (std::vector<std::string>{"middle001", "late00001"}));
}

TEST_F(CalendarListTest, BadTimeParametersAre400) {
  auto empty = Call(
      "GET", std::string(kEvents) + "?timeMin=2026-01-05T10:00:00Z&timeMax=2026-01-05T10:00:00Z");
  EXPECT_EQ(empty.status, 400);
  EXPECT_EQ(empty.reason(), "timeRangeEmpty");
  EXPECT_EQ(empty.body["error"]["errors"][0]["location"], "timeMax");
  auto no_offset = Call("GET", std::string(kEvents) + "?timeMin=2026-01-05T10:00:00");
  EXPECT_EQ(no_offset.status, 400);
  EXPECT_EQ(no_offset.reason(), "badRequest");
  EXPECT_EQ(Call("GET", std::string(kEvents) + "?maxResults=0").status, 400);
  EXPECT_EQ(Call("GET", std::string(kEvents) + "?singleEvents=maybe").status, 400);
  EXPECT_EQ(Call("GET", std::string(kEvents) + "?orderBy=summary").status, 400);
}

TEST_F(CalendarListTest, OrderByStartTimeRequiresSingleEvents) {
  At("second001", "2026-01-06T10:00:00Z", "2026-01-06T11:00:00Z");
  At("first0001", "2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z");
  auto r = Call("GET", std::string(kEvents) + "?orderBy=startTime");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.reason(), "badRequest");
  EXPECT_EQ(r.message(), "The requested ordering is not available for the particular query.");
  EXPECT_EQ(Ids(List("?orderBy=startTime&singleEvents=true")),
            (std::vector<std::string>{"first0001", "second001"}));
  clock_.Advance(std::chrono::seconds(5));
  ASSERT_EQ(Call("PATCH", EventPath("second001"), json{{"summary", "x"}}).status, 200);
  EXPECT_EQ(Ids(List("?orderBy=updated")), (std::vector<std::string>{"first0001", "second001"}));
}

TEST_F(CalendarListTest, PagesEndWithASyncToken) {
  for (int i = 0; i < 5; ++i) {
    At("page0000" + std::to_string(i), "2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z");
  }
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  for (;;) {
    json page = List("?maxResults=2" + (token.empty() ? "" : "&pageToken=" + token));
    ++pages;
    for (auto& id : Ids(page)) seen.push_back(id);
    if (!page.contains("nextPageToken")) {
      EXPECT_TRUE(page.contains("nextSyncToken"));
      break;
    }
    EXPECT_FALSE(page.contains("nextSyncToken"));
    EXPECT_LE(page["items"].size(), 2u);
    token = page["nextPageToken"];
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 5u);
  auto bad = Call("GET", std::string(kEvents) + "?pageToken=garbage");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body["error"]["errors"][0]["location"], "pageToken");
}

TEST_F(CalendarListTest, ExtendedPropertyFiltersMustAllMatch) {
  At("prop00001", "2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z",
     {{"extendedProperties",
       {{"private", {{"appointment", "1"}, {"clinic", "a"}}}, {"shared", {{"k", "v"}}}}}});
  At("prop00002", "2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z",
     {{"extendedProperties", {{"private", {{"appointment", "2"}, {"clinic", "a"}}}}}});
  At("prop00003", "2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z");
  EXPECT_EQ(Ids(List("?privateExtendedProperty=appointment%3D1")),
            (std::vector<std::string>{"prop00001"}));
  EXPECT_EQ(Ids(List("?privateExtendedProperty=clinic%3Da")),
            (std::vector<std::string>{"prop00001", "prop00002"}));
  EXPECT_EQ(
      Ids(List("?privateExtendedProperty=clinic%3Da&privateExtendedProperty=appointment%3D2")),
      (std::vector<std::string>{"prop00002"}));
  EXPECT_EQ(Ids(List("?sharedExtendedProperty=k%3Dv")), (std::vector<std::string>{"prop00001"}));
  // A private property does not match a shared filter.
  EXPECT_TRUE(Ids(List("?sharedExtendedProperty=clinic%3Da")).empty());
  EXPECT_EQ(Call("GET", std::string(kEvents) + "?privateExtendedProperty=novalue").status, 400);
}

TEST_F(CalendarListTest, FreeTextSearchUpdatedMinAndICalUid) {
  At("search001", "2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z",
     {{"summary", "Consultation Dr Who"}, {"attendees", {{{"email", "pat@example.com"}}}}});
  At("search002", "2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z", {{"summary", "Lunch"}});
  EXPECT_EQ(Ids(List("?q=consultation")), (std::vector<std::string>{"search001"}));
  EXPECT_EQ(Ids(List("?q=pat%40example.com")), (std::vector<std::string>{"search001"}));
  EXPECT_EQ(Ids(List("?q=consultation%20lunch")), (std::vector<std::string>{}));
  EXPECT_EQ(Ids(List("?iCalUID=search002%40google.com")), (std::vector<std::string>{"search002"}));
  clock_.Advance(std::chrono::minutes(10));
  ASSERT_EQ(Call("DELETE", EventPath("search002")).status, 204);
  // updatedMin keeps recent changes, deletions included.
  json recent = List("?updatedMin=2026-01-01T00:05:00Z");
  EXPECT_EQ(Ids(recent), (std::vector<std::string>{"search002"}));
  EXPECT_EQ(recent["items"][0]["status"], "cancelled");
}

TEST_F(CalendarListTest, SyncTokenReturnsOnlyChangesIncludingDeletions) {
  At("snc00001", "2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z");
  At("snc00002", "2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z");
  At("snc00003", "2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z");
  std::string token = List()["nextSyncToken"];
  ASSERT_EQ(Call("PATCH", EventPath("snc00001"), json{{"summary", "changed"}}).status, 200);
  ASSERT_EQ(Call("DELETE", EventPath("snc00002")).status, 204);
  At("snc00004", "2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z");
  json delta = List("?syncToken=" + token);
  EXPECT_EQ(Ids(delta), (std::vector<std::string>{"snc00001", "snc00002", "snc00004"}));
  EXPECT_EQ(delta["items"][0]["summary"], "changed");
  EXPECT_EQ(delta["items"][1]["status"], "cancelled");
  EXPECT_FALSE(delta["items"][1].contains("summary"));
  ASSERT_TRUE(delta.contains("nextSyncToken"));
  json quiet = List("?syncToken=" + delta["nextSyncToken"].get<std::string>());
  EXPECT_TRUE(quiet["items"].empty());
  // Paging through an incremental listing keeps it incremental.
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Call("PATCH", EventPath("snc00003"), json{{"summary", std::to_string(i)}}).status,
              200);
    ASSERT_EQ(Call("PATCH", EventPath("snc00004"), json{{"summary", std::to_string(i)}}).status,
              200);
  }
  json first = List("?maxResults=1&syncToken=" + quiet["nextSyncToken"].get<std::string>());
  ASSERT_TRUE(first.contains("nextPageToken"));
  json second = List("?maxResults=1&pageToken=" + first["nextPageToken"].get<std::string>());
  EXPECT_EQ(Ids(first).size() + Ids(second).size(), 2u);
  EXPECT_TRUE(second.contains("nextSyncToken"));
}

TEST_F(CalendarListTest, SyncTokenForbiddenCombinationsAre400) {
  std::string token = List()["nextSyncToken"];
  for (const char* extra :
       {"&iCalUID=x%40google.com", "&orderBy=updated", "&privateExtendedProperty=a%3Db", "&q=x",
        "&sharedExtendedProperty=a%3Db", "&timeMin=2026-01-01T00:00:00Z",
        "&timeMax=2026-01-01T00:00:00Z", "&updatedMin=2026-01-01T00:00:00Z",
        "&showDeleted=false"}) {
    auto r = Call("GET", std::string(kEvents) + "?syncToken=" + token + extra);
    EXPECT_EQ(r.status, 400) << extra;
    EXPECT_EQ(r.body["error"]["code"], 400);
  }
  EXPECT_EQ(Call("GET", std::string(kEvents) + "?showDeleted=true&syncToken=" + token).status, 200);
  auto garbage = Call("GET", std::string(kEvents) + "?syncToken=%21%21");
  EXPECT_EQ(garbage.status, 400);
}

TEST_F(CalendarListTest, InvalidatedSyncTokenIs410FullSyncRequired) {
  At("inval0001", "2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z");
  std::string token = List()["nextSyncToken"];
  auto ok = Call("POST", "/_emulator/calendars/doc%40example.com/invalidate-sync-tokens",
                 json::object(), "");
  ASSERT_EQ(ok.status, 200);
  auto gone = Call("GET", std::string(kEvents) + "?syncToken=" + token);
  EXPECT_EQ(gone.status, 410);
  EXPECT_EQ(gone.body["error"]["errors"][0],
            (json{{"domain", "calendar"},
                  {"reason", "fullSyncRequired"},
                  {"message", "Sync token is no longer valid, a full sync is required."},
                  {"locationType", "parameter"},
                  {"location", "syncToken"}}));
  // A full sync gives a working token again.
  std::string fresh = List()["nextSyncToken"];
  EXPECT_EQ(Call("GET", std::string(kEvents) + "?syncToken=" + fresh).status, 200);
  service_.Reset();
  EXPECT_EQ(Call("GET", std::string(kEvents) + "?syncToken=" + fresh).status, 410);
}

TEST_F(CalendarListTest, TokensOfAnotherCalendarAre410) {
  std::string token = List()["nextSyncToken"];
  auto r =
      Call("GET", "/calendar/v3/calendars/primary/events?syncToken=" + token, nullptr, "tok-other");
  EXPECT_EQ(r.status, 410);
}

// --- recurring events ---------------------------------------------------------------------

json Weekly() {
  return {{"id", "rounds001"},
          {"summary", "Round"},
          {"start", {{"dateTime", "2026-01-05T10:00:00+01:00"}, {"timeZone", "Europe/Paris"}}},
          {"end", {{"dateTime", "2026-01-05T10:30:00+01:00"}, {"timeZone", "Europe/Paris"}}},
          {"recurrence", {"RRULE:FREQ=WEEKLY;COUNT=4;BYDAY=MO,WE"}}};
}

TEST_F(CalendarListTest, SingleEventsExpandsRecurringEvents) {
  Insert(Weekly());
  At("single001", "2026-01-06T09:00:00Z", "2026-01-06T09:30:00Z");
  json masters = List();
  EXPECT_EQ(Ids(masters), (std::vector<std::string>{"rounds001", "single001"}));
  EXPECT_EQ(masters["items"][0]["recurrence"][0], "RRULE:FREQ=WEEKLY;COUNT=4;BYDAY=MO,WE");
  json expanded = List("?singleEvents=true&orderBy=startTime");
  EXPECT_EQ(Ids(expanded),
            (std::vector<std::string>{"rounds001_20260105T090000Z", "single001",
                                      "rounds001_20260107T090000Z", "rounds001_20260112T090000Z",
                                      "rounds001_20260114T090000Z"}));
  const json& second = expanded["items"][2];
  EXPECT_EQ(second["recurringEventId"], "rounds001");
  EXPECT_EQ(second["start"]["dateTime"], "2026-01-07T10:00:00+01:00");
  EXPECT_EQ(second["end"]["dateTime"], "2026-01-07T10:30:00+01:00");
  EXPECT_EQ(second["originalStartTime"]["dateTime"], "2026-01-07T10:00:00+01:00");
  EXPECT_EQ(second["start"]["timeZone"], "Europe/Paris");
  EXPECT_FALSE(second.contains("recurrence"));
  EXPECT_EQ(second["summary"], "Round");
  // An instance can be read by its id.
  auto one = Call("GET", EventPath("rounds001_20260112T090000Z"));
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(one.body["start"]["dateTime"], "2026-01-12T10:00:00+01:00");
  EXPECT_EQ(Call("GET", EventPath("rounds001_20260113T090000Z")).status, 404);
}

TEST_F(CalendarListTest, RecurringEventsHonourTheTimeWindow) {
  json daily = Weekly();
  daily["id"] = "dai100001";
  daily["recurrence"] = {"RRULE:FREQ=DAILY;INTERVAL=2;UNTIL=20260115T000000Z"};
  Insert(daily);
  json window =
      List("?singleEvents=true&timeMin=2026-01-08T00:00:00Z&timeMax=2026-01-12T00:00:00Z");
  EXPECT_EQ(Ids(window),
            (std::vector<std::string>{"dai100001_20260109T090000Z", "dai100001_20260111T090000Z"}));
  // Without singleEvents the master shows when any occurrence falls in the window...
  EXPECT_EQ(Ids(List("?timeMin=2026-01-08T00:00:00Z&timeMax=2026-01-12T00:00:00Z")),
            (std::vector<std::string>{"dai100001"}));
  // ...and not when none does.
  EXPECT_TRUE(Ids(List("?timeMin=2026-01-16T00:00:00Z&timeMax=2026-02-12T00:00:00Z")).empty());
}

TEST_F(CalendarListTest, RecurrenceNeedsAZoneAndAValidRule) {
  json no_zone = Weekly();
  no_zone["start"].erase("timeZone");
  auto r = Call("POST", kEvents, no_zone);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.message(), "Missing time zone definition for start time.");
  json bad = Weekly();
  bad["recurrence"] = {"RRULE:FREQ=SECONDLY"};
  auto b = Call("POST", kEvents, bad);
  EXPECT_EQ(b.status, 400);
  EXPECT_EQ(b.reason(), "invalid");
  json all_day = {{"start", {{"date", "2026-01-05"}}},
                  {"end", {{"date", "2026-01-06"}}},
                  {"id", "alld00001"},
                  {"recurrence", {"RRULE:FREQ=DAILY;COUNT=2"}}};
  ASSERT_EQ(Call("POST", kEvents, all_day).status, 200);
  EXPECT_EQ(Ids(List("?singleEvents=true")),
            (std::vector<std::string>{"alld00001_20260105", "alld00001_20260106"}));
}

TEST_F(CalendarListTest, OccurrencesCanBeCancelledAndChangedOnTheirOwn) {
  Insert(Weekly());
  const std::string second = "rounds001_20260107T090000Z";
  ASSERT_EQ(Call("DELETE", EventPath(second)).status, 204);
  EXPECT_EQ(Call("DELETE", EventPath(second)).status, 410);
  EXPECT_EQ(Call("GET", EventPath(second)).body["status"], "cancelled");
  auto moved = Call("PATCH", EventPath("rounds001_20260112T090000Z"),
                    json{{"summary", "Moved"},
                         {"start", {{"dateTime", "2026-01-12T15:00:00+01:00"}}},
                         {"end", {{"dateTime", "2026-01-12T15:30:00+01:00"}}}});
  ASSERT_EQ(moved.status, 200) << moved.raw;
  EXPECT_EQ(moved.body["summary"], "Moved");
  EXPECT_EQ(moved.body["recurringEventId"], "rounds001");
  EXPECT_EQ(moved.body["originalStartTime"]["dateTime"], "2026-01-12T10:00:00+01:00");
  json expanded = List("?singleEvents=true&orderBy=startTime");
  EXPECT_EQ(Ids(expanded),
            (std::vector<std::string>{"rounds001_20260105T090000Z", "rounds001_20260112T090000Z",
                                      "rounds001_20260114T090000Z"}));
  EXPECT_EQ(expanded["items"][1]["start"]["dateTime"], "2026-01-12T15:00:00+01:00");
  EXPECT_EQ(expanded["items"][0]["summary"], "Round");
  // Without singleEvents: the series plus its changed occurrence; cancelled ones with
  // showDeleted only.
  EXPECT_EQ(Ids(List()), (std::vector<std::string>{"rounds001", "rounds001_20260112T090000Z"}));
  EXPECT_EQ(Ids(List("?showDeleted=true")),
            (std::vector<std::string>{"rounds001", "rounds001_20260107T090000Z",
                                      "rounds001_20260112T090000Z"}));
  // events.instances lists the occurrences of one series.
  auto instances = Call("GET", EventPath("rounds001") + "/instances?maxResults=2");
  ASSERT_EQ(instances.status, 200) << instances.raw;
  EXPECT_EQ(Ids(instances.body),
            (std::vector<std::string>{"rounds001_20260105T090000Z", "rounds001_20260112T090000Z"}));
  auto rest = Call("GET", EventPath("rounds001") + "/instances?maxResults=2&pageToken=" +
                              instances.body["nextPageToken"].get<std::string>());
  EXPECT_EQ(Ids(rest.body), (std::vector<std::string>{"rounds001_20260114T090000Z"}));
  EXPECT_EQ(Call("GET", EventPath("nosuch001") + "/instances").status, 404);
  // A new series timing drops the changed occurrences.
  json retimed = Weekly();
  retimed["start"]["dateTime"] = "2026-01-05T11:00:00+01:00";
  retimed["end"]["dateTime"] = "2026-01-05T11:30:00+01:00";
  ASSERT_EQ(Call("PUT", EventPath("rounds001"), retimed).status, 200);
  EXPECT_EQ(Ids(List("?singleEvents=true")).size(), 4u);
}

// --- freeBusy -----------------------------------------------------------------------------

TEST_F(CalendarListTest, FreeBusyMergesClipsAndReportsUnknownCalendars) {
  At("bus00001", "2026-01-05T10:00:00Z", "2026-01-05T11:00:00Z");
  At("bus00002", "2026-01-05T10:30:00Z", "2026-01-05T12:00:00Z");
  At("bus00003", "2026-01-05T07:00:00Z", "2026-01-05T09:00:00Z");
  At("free00001", "2026-01-05T14:00:00Z", "2026-01-05T15:00:00Z",
     {{"transparency", "transparent"}});
  At("gone00001", "2026-01-05T16:00:00Z", "2026-01-05T17:00:00Z");
  ASSERT_EQ(Call("DELETE", EventPath("gone00001")).status, 204);
  json q = {{"timeMin", "2026-01-05T08:00:00Z"},
            {"timeMax", "2026-01-06T00:00:00Z"},
            {"items", {{{"id", "primary"}}, {{"id", "nobody@example.com"}}}}};
  auto r = Call("POST", "/calendar/v3/freeBusy", q);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["kind"], "calendar#freeBusy");
  EXPECT_EQ(r.body["timeMin"], "2026-01-05T08:00:00.000Z");
  EXPECT_EQ(r.body["calendars"]["primary"]["busy"],
            (json::array({{{"start", "2026-01-05T08:00:00Z"}, {"end", "2026-01-05T09:00:00Z"}},
                          {{"start", "2026-01-05T10:00:00Z"}, {"end", "2026-01-05T12:00:00Z"}}})));
  EXPECT_FALSE(r.body["calendars"]["primary"].contains("errors"));
  EXPECT_EQ(r.body["calendars"]["nobody@example.com"]["errors"][0],
            (json{{"domain", "global"}, {"reason", "notFound"}}));
  EXPECT_TRUE(r.body["calendars"]["nobody@example.com"]["busy"].empty());
  q["timeMax"] = q["timeMin"];
  auto empty = Call("POST", "/calendar/v3/freeBusy", q);
  EXPECT_EQ(empty.status, 400);
  EXPECT_EQ(empty.reason(), "timeRangeEmpty");
  auto missing = Call("POST", "/calendar/v3/freeBusy", json{{"timeMax", "2026-01-05T08:00:00Z"}});
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.reason(), "required");
  EXPECT_EQ(CallRaw("POST", "/calendar/v3/freeBusy", "{nope").reason(), "parseError");
}

TEST_F(CalendarListTest, FreeBusyExpandsRecurrenceAndLimitsCalendars) {
  Insert(Weekly());
  json items = json::array();
  for (int i = 0; i < 51; ++i) items.push_back({{"id", "primary"}});
  items[50] = {{"id", "late@example.com"}};
  json q = {
      {"timeMin", "2026-01-07T00:00:00Z"}, {"timeMax", "2026-01-08T00:00:00Z"}, {"items", items}};
  auto r = Call("POST", "/calendar/v3/freeBusy", q);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["calendars"]["primary"]["busy"][0]["start"], "2026-01-07T09:00:00Z");
  EXPECT_EQ(r.body["calendars"]["late@example.com"]["errors"][0]["reason"],
            "tooManyCalendarsRequested");
}

// --- watch / channels.stop ----------------------------------------------------------------

json Channel(const std::string& id, const std::string& address = "http://127.0.0.1:9/hook") {
  return {{"id", id}, {"type", "web_hook"}, {"address", address}, {"token", "secret-token"}};
}

TEST_F(CalendarListTest, WatchSendsSyncThenExistsOnEveryChange) {
  auto r = Call("POST", std::string(kEvents) + "/watch", Channel("chan-1"));
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["kind"], "api#channel");
  EXPECT_EQ(r.body["id"], "chan-1");
  EXPECT_EQ(r.body["token"], "secret-token");
  const std::string resource_id = r.body["resourceId"];
  EXPECT_FALSE(resource_id.empty());
  EXPECT_EQ(r.body["resourceUri"],
            "https://www.googleapis.com/calendar/v3/calendars/doc%40example.com/events?alt=json");
  // Default ttl: 7 days from the (fake) clock.
  EXPECT_EQ(r.body["expiration"], std::to_string(ToUnixMillis(clock_.Now()) + 604'800'000));

  auto pushes = TakePushes();
  ASSERT_EQ(pushes.size(), 1u);
  const net::Headers& h = pushes[0].headers;
  EXPECT_EQ(pushes[0].address, "http://127.0.0.1:9/hook");
  EXPECT_EQ(h.Get("X-Goog-Resource-State"), "sync");
  EXPECT_EQ(h.Get("X-Goog-Message-Number"), "1");
  EXPECT_EQ(h.Get("X-Goog-Channel-ID"), "chan-1");
  EXPECT_EQ(h.Get("X-Goog-Channel-Token"), "secret-token");
  EXPECT_EQ(h.Get("X-Goog-Resource-ID"), resource_id);
  EXPECT_EQ(h.Get("X-Goog-Resource-URI"), r.body["resourceUri"]);
  EXPECT_EQ(h.Get("X-Goog-Channel-Expiration"), "Thu, 08 Jan 2026 00:00:00 GMT");

  json ev = Insert({});
  ASSERT_EQ(Call("PATCH", EventPath(ev["id"]), json{{"summary", "x"}}).status, 200);
  ASSERT_EQ(Call("DELETE", EventPath(ev["id"])).status, 204);
  pushes = TakePushes();
  ASSERT_EQ(pushes.size(), 3u);
  int64_t last = 1;
  for (const PushMessage& m : pushes) {
    EXPECT_EQ(m.headers.Get("X-Goog-Resource-State"), "exists");
    int64_t n = std::stoll(*m.headers.Get("X-Goog-Message-Number"));
    EXPECT_GT(n, last);
    last = n;
  }
  // Reads and other calendars do not notify.
  Call("GET", EventPath(ev["id"]));
  Call("POST", kEvents,
       json{{"start", {{"dateTime", "2026-01-05T10:00:00Z"}}},
            {"end", {{"dateTime", "2026-01-05T11:00:00Z"}}}},
       "tok-other");
  EXPECT_TRUE(TakePushes().empty());
}

TEST_F(CalendarListTest, PendingConferenceTurningSuccessNotifiesAndSyncs) {
  service_.SetConferenceBehaviour("doc@example.com",
                                  {.mode = ConferenceMode::kPending, .pending_reads = 2});
  json ev =
      Insert({{"conferenceData",
               {{"createRequest",
                 {{"requestId", "r1"}, {"conferenceSolutionKey", {{"type", "hangoutsMeet"}}}}}}}},
             "?conferenceDataVersion=1");
  json full = List();  // pending read 1
  EXPECT_FALSE(full["items"][0].contains("hangoutLink"));
  const std::string token = full["nextSyncToken"];
  ASSERT_EQ(Call("POST", std::string(kEvents) + "/watch", Channel("chan-p")).status, 200);
  TakePushes();
  auto got = Call("GET", EventPath(ev["id"]));  // pending read 2: the conference is made after it
  EXPECT_EQ(got.body["conferenceData"]["createRequest"]["status"]["statusCode"], "pending");
  auto pushes = TakePushes();
  ASSERT_EQ(pushes.size(), 1u);
  EXPECT_EQ(pushes[0].headers.Get("X-Goog-Resource-State"), "exists");
  // An incremental sync sees the event again, now with its Meet link.
  json delta = List("?syncToken=" + token);
  ASSERT_EQ(Ids(delta), (std::vector<std::string>{ev["id"].get<std::string>()}));
  EXPECT_EQ(delta["items"][0]["conferenceData"]["createRequest"]["status"]["statusCode"],
            "success");
  EXPECT_TRUE(delta["items"][0].contains("hangoutLink"));
}

TEST_F(CalendarListTest, AuthenticationComesBeforeEverythingElse) {
  EXPECT_EQ(
      Call("GET", "/calendar/v3/calendars/other%40example.com/events/x", nullptr, "bad").status,
      401);
  EXPECT_EQ(CallRaw("POST", kEvents, "{broken", "bad").status, 401);
  EXPECT_EQ(Call("GET", std::string(kEvents) + "?maxResults=%zz", nullptr, "").status, 401);
}

TEST_F(CalendarListTest, WatchAddressMustBeHttpsOrLoopback) {
  auto r = Call("POST", std::string(kEvents) + "/watch", Channel("c1", "http://example.com/hook"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.reason(), "push.webhookUrlNotHttps");
  EXPECT_EQ(r.message(), "WebHook callback must be HTTPS: http://example.com/hook");
  EXPECT_EQ(
      Call("POST", std::string(kEvents) + "/watch", Channel("c2", "http://127.0.0.1.example.com/x"))
          .status,
      400);
  EXPECT_EQ(
      Call("POST", std::string(kEvents) + "/watch", Channel("c3", "https://example.com/h")).status,
      200);
  EXPECT_EQ(Call("POST", std::string(kEvents) + "/watch", Channel("c4", "http://localhost:8080/h"))
                .status,
            200);
  json bad_type = Channel("c5");
  bad_type["type"] = "email";
  EXPECT_EQ(Call("POST", std::string(kEvents) + "/watch", bad_type).status, 400);
  EXPECT_EQ(Call("POST", std::string(kEvents) + "/watch", Channel(std::string(65, 'x'))).status,
            400);
  json no_id = Channel("c6");
  no_id.erase("id");
  EXPECT_EQ(Call("POST", std::string(kEvents) + "/watch", no_id).reason(), "required");
}

TEST_F(CalendarListTest, ChannelIdsAreUniquePerClientAndStopEndsNotifications) {
  auto first = Call("POST", std::string(kEvents) + "/watch", Channel("chan-1"));
  ASSERT_EQ(first.status, 200);
  auto dup = Call("POST", std::string(kEvents) + "/watch", Channel("chan-1"));
  EXPECT_EQ(dup.status, 400);
  EXPECT_EQ(dup.reason(), "channelIdNotUnique");
  // Another OAuth client is another project.
  EXPECT_EQ(Call("POST", std::string(kEvents) + "/watch", Channel("chan-1"), "tok-client2").status,
            200);
  const std::string resource_id = first.body["resourceId"];
  EXPECT_EQ(
      Call("POST", "/calendar/v3/channels/stop", json{{"id", "chan-1"}, {"resourceId", "wrong"}})
          .status,
      404);
  auto stop = Call("POST", "/calendar/v3/channels/stop",
                   json{{"id", "chan-1"}, {"resourceId", resource_id}});
  EXPECT_EQ(stop.status, 204);
  EXPECT_TRUE(stop.raw.empty());
  auto again = Call("POST", "/calendar/v3/channels/stop",
                    json{{"id", "chan-1"}, {"resourceId", resource_id}});
  EXPECT_EQ(again.status, 404);
  EXPECT_EQ(again.reason(), "notFound");
  TakePushes();
  Insert({});
  auto pushes = TakePushes();
  ASSERT_EQ(pushes.size(), 1u);  // only client-2's channel is left
  EXPECT_EQ(Call("POST", "/calendar/v3/channels/stop", json{{"id", "chan-1"}}).reason(),
            "required");
}

TEST_F(CalendarListTest, ChannelsExpire) {
  json ch = Channel("short");
  ch["params"] = {{"ttl", "60"}};
  auto r = Call("POST", std::string(kEvents) + "/watch", ch);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["expiration"], std::to_string(ToUnixMillis(clock_.Now()) + 60'000));
  json capped = Channel("capped");
  capped["expiration"] = std::to_string(ToUnixMillis(clock_.Now()) + 30'000);
  EXPECT_EQ(Call("POST", std::string(kEvents) + "/watch", capped).body["expiration"],
            std::to_string(ToUnixMillis(clock_.Now()) + 30'000));
  TakePushes();
  clock_.Advance(std::chrono::seconds(45));
  Insert({});
  EXPECT_EQ(TakePushes().size(), 1u);
  clock_.Advance(std::chrono::seconds(16));
  Insert({});
  EXPECT_TRUE(TakePushes().empty());
}

// --- control routes -----------------------------------------------------------------------

TEST_F(CalendarListTest, ControlInsertsAnEventAsTheOwnerWithoutAToken) {
  ASSERT_EQ(Call("POST", std::string(kEvents) + "/watch", Channel("chan-c")).status, 200);
  TakePushes();
  json ev = {{"summary", "Dentist"},
             {"start", {{"dateTime", "2026-01-05T10:00:00Z"}}},
             {"end", {{"dateTime", "2026-01-05T11:00:00Z"}}}};
  auto made = Call("POST", "/_emulator/calendars/doc%40example.com/events", ev, "");
  ASSERT_EQ(made.status, 200) << made.raw;
  EXPECT_EQ(made.body["organizer"]["email"], "doc@example.com");
  auto pushes = TakePushes();  // the owner's change is pushed like any other
  ASSERT_EQ(pushes.size(), 1u);
  EXPECT_EQ(pushes[0].headers.Get("X-Goog-Resource-State"), "exists");
  auto bad = Call("POST", "/_emulator/calendars/doc%40example.com/events",
                  json{{"start", {{"dateTime", "soon"}}}}, "");
  EXPECT_EQ(bad.status, 400);
  json q = {{"timeMin", "2026-01-05T00:00:00Z"},
            {"timeMax", "2026-01-06T00:00:00Z"},
            {"items", {{{"id", "primary"}}}}};
  auto r = Call("POST", "/calendar/v3/freeBusy", q);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["calendars"]["primary"]["busy"],
            (json::array({{{"start", "2026-01-05T10:00:00Z"}, {"end", "2026-01-05T11:00:00Z"}}})));
}

TEST_F(CalendarListTest, ControlRoutesReadAndSetCalendarState) {
  EXPECT_EQ(Call("GET", "/_emulator/calendars/nobody%40example.com", nullptr, "").status, 404);
  Insert({{"id", "state0001"}});
  auto state = Call("GET", "/_emulator/calendars/doc%40example.com", nullptr, "");
  ASSERT_EQ(state.status, 200);
  EXPECT_EQ(state.body["id"], "doc@example.com");
  EXPECT_EQ(state.body["events"][0]["id"], "state0001");
  EXPECT_EQ(state.body["conference"]["mode"], "success");
  EXPECT_EQ(Call("POST", "/_emulator/calendars/doc%40example.com/conference",
                 json{{"mode", "sometimes"}}, "")
                .status,
            400);
  EXPECT_EQ(Call("POST", "/_emulator/calendars/doc%40example.com/conference",
                 json{{"mode", "pending"}, {"pendingReads", -1}}, "")
                .status,
            400);
  // A calendar created by control is visible to freeBusy of other accounts.
  ASSERT_EQ(
      Call("POST", "/_emulator/calendars/room%40example.com", json{{"summary", "Room"}}, "").status,
      200);
  json q = {{"timeMin", "2026-01-05T08:00:00Z"},
            {"timeMax", "2026-01-06T00:00:00Z"},
            {"items", {{{"id", "room@example.com"}}}}};
  auto fb = Call("POST", "/calendar/v3/freeBusy", q);
  EXPECT_FALSE(fb.body["calendars"]["room@example.com"].contains("errors"));
}

// --- a real HTTP server -------------------------------------------------------------------

TEST_F(CalendarListTest, ServesOverRealHttp) {
  net::HttpServer server({.port = 0, .io_threads = 1, .worker_threads = 1}, router_);
  ASSERT_TRUE(server.Start());
  net::testing::RawClient client;
  ASSERT_TRUE(client.Connect(server.port()));
  const std::string body =
      R"({"id":"http00001","summary":"x","start":{"dateTime":"2026-01-05T10:00:00Z"},)"
      R"("end":{"dateTime":"2026-01-05T11:00:00Z"}})";
  ASSERT_TRUE(
      client.Send("POST /calendar/v3/calendars/primary/events?conferenceDataVersion=1 "
                  "HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok-full\r\n"
                  "Content-Type: application/json\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\n\r\n" + body));
  auto inserted = client.ReadResponse();
  ASSERT_TRUE(inserted);
  EXPECT_EQ(inserted->status, 200) << inserted->body;
  ASSERT_TRUE(
      client.Send("GET /calendar/v3/calendars/doc%40example.com/events/http00001 "
                  "HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok-full\r\n\r\n"));
  auto got = client.ReadResponse();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(json::parse(got->body)["summary"], "x");
  ASSERT_TRUE(
      client.Send("DELETE /calendar/v3/calendars/primary/events/http00001 HTTP/1.1\r\n"
                  "Host: x\r\nAuthorization: Bearer tok-full\r\n\r\n"));
  EXPECT_EQ(client.ReadResponse()->status, 204);
  ASSERT_TRUE(
      client.Send("DELETE /calendar/v3/calendars/primary/events/http00001 HTTP/1.1\r\n"
                  "Host: x\r\nAuthorization: Bearer tok-full\r\n\r\n"));
  auto gone = client.ReadResponse();
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 410);
  EXPECT_EQ(gone->headers.Get("Content-Type").value_or("").find("application/json"), 0u);
  server.Shutdown(std::chrono::milliseconds(100));
}

}  // namespace
}  // namespace telemeet::emulator
