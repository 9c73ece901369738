// Bad input never crashes the Calendar service and always gets a Google-shaped error: bodies
// and query strings mutated from valid ones with a seeded generator (deterministic).
#include <gtest/gtest.h>

#include <random>

#include "emulator/calendar/calendar_service.h"
#include "emulator/calendar/calendar_test_util.h"

namespace telemeet::emulator {
namespace {

using nlohmann::json;
using testing::CalendarFixture;
using testing::kEvents;
using testing::Reply;

class CalendarRobustnessTest : public CalendarFixture {
 protected:
  // A JSON value of a random type, sometimes nested.
  json RandomValue(std::mt19937& rng, int depth = 0) {
    switch (rng() % (depth > 2 ? 6 : 8)) {
      case 0:
        return nullptr;
      case 1:
        return bool(rng() % 2);
      case 2:
        return int64_t(rng() % 100'000) - 50'000;
      case 3:
        return 3.25;
      case 4:
        return std::string(rng() % 8, char('a' + rng() % 26));
      case 5:
        return "2026-01-05T10:00:00Z";
      case 6: {
        json a = json::array();
        for (unsigned i = rng() % 3; i > 0; --i) a.push_back(RandomValue(rng, depth + 1));
        return a;
      }
      default: {
        json o = json::object();
        for (const char* k : {"dateTime",    "date",          "email",
                              "requestId",   "private",       "type",
                              "key",         "createRequest", "conferenceSolution",
                              "entryPoints", "uri",           "entryPointType",
                              "status",      "statusCode",    "overrides",
                              "ttl",         "expiration",    "id",
                              "address",     "items"}) {
          if (rng() % 3 == 0) o[k] = RandomValue(rng, depth + 1);
        }
        return o;
      }
    }
  }

  static void ExpectGoogleShape(const Reply& r, const std::string& what) {
    EXPECT_TRUE(r.status == 200 || r.status == 204 || r.status == 400 || r.status == 404 ||
                r.status == 409 || r.status == 410 || r.status == 413)
        << r.status << " " << what;
    if (r.status >= 400) {
      ASSERT_TRUE(r.body.is_object()) << what << " -> " << r.raw;
      EXPECT_EQ(r.body["error"]["code"], r.status) << what;
      EXPECT_FALSE(r.reason().empty()) << what;
      EXPECT_FALSE(r.body["error"]["message"].get<std::string>().empty()) << what;
    }
  }
};

TEST_F(CalendarRobustnessTest, MutatedEventBodiesGetGoogleShapedAnswers) {
  std::mt19937 rng(20260105);
  const json valid = {
      {"summary", "x"},
      {"start", {{"dateTime", "2026-01-05T10:00:00Z"}, {"timeZone", "UTC"}}},
      {"end", {{"dateTime", "2026-01-05T11:00:00Z"}, {"timeZone", "UTC"}}},
      {"attendees", {{{"email", "a@example.com"}}}},
      {"reminders", {{"useDefault", false}}},
      {"extendedProperties", {{"private", {{"k", "v"}}}}},
      {"recurrence", {"RRULE:FREQ=DAILY;COUNT=2"}},
      {"conferenceData",
       {{"createRequest",
         {{"requestId", "r"}, {"conferenceSolutionKey", {{"type", "hangoutsMeet"}}}}}}}};
  const std::vector<std::string> keys = {"id",
                                         "summary",
                                         "start",
                                         "end",
                                         "attendees",
                                         "reminders",
                                         "extendedProperties",
                                         "recurrence",
                                         "conferenceData",
                                         "status",
                                         "visibility",
                                         "colorId",
                                         "transparency",
                                         "attachments",
                                         "source"};
  json seed = Insert({{"id", "robust001"}});
  int accepted = 0;
  for (int i = 0; i < 400; ++i) {
    json body = valid;
    for (unsigned m = 1 + rng() % 3; m > 0; --m) {
      const std::string& key = keys[rng() % keys.size()];
      if (rng() % 4 == 0) {
        body.erase(key);
      } else {
        body[key] = RandomValue(rng);
      }
    }
    const std::string query = rng() % 2 ? "?conferenceDataVersion=1" : "";
    const char* method = std::array{"POST", "PATCH", "PUT"}[rng() % 3];
    const std::string path =
        std::string(method) == "POST" ? std::string(kEvents) : std::string(kEvents) + "/robust001";
    Reply r = Call(method, path + query, body);
    ExpectGoogleShape(r, std::string(method) + " " + body.dump());
    if (r.status == 200) ++accepted;
  }
  // The generator produces both valid and invalid bodies.
  EXPECT_GT(accepted, 10);
  EXPECT_LT(accepted, 390);
  // The event store is still consistent: every stored event renders and lists.
  EXPECT_EQ(Call("GET", std::string(kEvents) + "?showDeleted=true&singleEvents=true").status, 200);
}

TEST_F(CalendarRobustnessTest, MutatedQueriesAndRawBodiesGetGoogleShapedAnswers) {
  std::mt19937 rng(7);
  Insert({{"id", "robust002"}});
  const std::vector<std::string> params = {
      "timeMin=", "timeMax=",      "maxResults=",  "pageToken=",  "syncToken=",
      "orderBy=", "singleEvents=", "showDeleted=", "updatedMin=", "privateExtendedProperty=",
      "q=",       "maxAttendees=", "iCalUID="};
  const std::vector<std::string> values = {"",
                                           "%",
                                           "%zz",
                                           "-1",
                                           "0",
                                           "true",
                                           "2026-01-05T10:00:00Z",
                                           "x=y",
                                           "startTime",
                                           "99999999999999999999",
                                           "%00"};
  for (int i = 0; i < 300; ++i) {
    std::string query;
    for (unsigned n = 1 + rng() % 3; n > 0; --n) {
      query += (query.empty() ? "?" : "&") + params[rng() % params.size()] +
               values[rng() % values.size()];
    }
    ExpectGoogleShape(Call("GET", std::string(kEvents) + query), query);
    ExpectGoogleShape(Call("GET", std::string(kEvents) + "/robust002" + query), query);
  }
  for (int i = 0; i < 300; ++i) {
    json body = json::object();
    for (const char* k : {"id", "type", "address", "token", "expiration", "params", "resourceId",
                          "timeMin", "timeMax", "items", "calendarExpansionMax", "timeZone"}) {
      if (rng() % 2) body[k] = RandomValue(rng);
    }
    if (rng() % 2) body["type"] = "web_hook";
    if (rng() % 2) body["address"] = "https://example.com/hook";
    for (const char* path : {"/calendar/v3/calendars/primary/events/watch", "/calendar/v3/freeBusy",
                             "/calendar/v3/channels/stop"}) {
      ExpectGoogleShape(Call("POST", path, body), std::string(path) + " " + body.dump());
    }
    json event = {{"start", {{"dateTime", "2026-01-05T10:00:00Z"}}},
                  {"end", {{"dateTime", "2026-01-05T11:00:00Z"}}},
                  {"conferenceData", RandomValue(rng)}};
    if (rng() % 2) {
      event["conferenceData"] = {{"createRequest", RandomValue(rng)},
                                 {"conferenceSolution", RandomValue(rng)},
                                 {"entryPoints", json::array({RandomValue(rng)})}};
    }
    ExpectGoogleShape(Call("POST", std::string(kEvents) + "?conferenceDataVersion=1", event),
                      event.dump());
    ExpectGoogleShape(
        Call("PATCH", std::string(kEvents) + "/robust002?conferenceDataVersion=1", event),
        event.dump());
  }
  const std::vector<std::string> raw = {"",
                                        "{",
                                        "}",
                                        "null",
                                        "[]",
                                        "{\"a\":}",
                                        "\x01\x02",
                                        "{\"start\":{\"dateTime\":\"\xff\xfe\"}}",
                                        std::string(5000, '{')};
  for (const std::string& body : raw) {
    for (const char* path :
         {"/calendar/v3/calendars/primary/events", "/calendar/v3/calendars/primary/events/watch",
          "/calendar/v3/freeBusy", "/calendar/v3/channels/stop"}) {
      ExpectGoogleShape(CallRaw("POST", path, body), std::string(path) + " " + body);
    }
  }
}

}  // namespace
}  // namespace telemeet::emulator
