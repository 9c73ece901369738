#include "google/calendar_client.h"

#include <gtest/gtest.h>

#include "google/testing/fake_sleeper.h"
#include "google/testing/fake_token_source.h"
#include "google/testing/recording_observer.h"
#include "google/testing/scripted_transport.h"

namespace telemeet::google {
namespace {

using nlohmann::json;
using testing::ApiError;
using testing::Json;
using testing::UrlQuery;

const std::string kBase = "https://calendar.test";
const std::string kEvents = kBase + "/calendar/v3/calendars/primary/events";
const std::string kEventId = "a0b1c2d3e4f5";
const std::string kEvent = kEvents + "/" + kEventId;

json MeetEvent(std::string status, std::string id = kEventId) {
  json e = {{"kind", "calendar#event"},
            {"id", id},
            {"status", "confirmed"},
            {"etag", "\"3181161784712000\""},
            {"start", {{"dateTime", "2026-03-02T09:00:00+01:00"}, {"timeZone", "Europe/Paris"}}},
            {"end", {{"dateTime", "2026-03-02T09:30:00+01:00"}, {"timeZone", "Europe/Paris"}}},
            {"extendedProperties", {{"private", {{"telemeetAppointment", "42"}}}}},
            {"conferenceData",
             {{"createRequest",
               {{"requestId", "appt-42-1"},
                {"conferenceSolutionKey", {{"type", "hangoutsMeet"}}},
                {"status", {{"statusCode", status}}}}}}}};
  if (status == "success") {
    e["conferenceData"]["conferenceId"] = "abc-defg-hij";
    e["conferenceData"]["conferenceSolution"] = {{"key", {{"type", "hangoutsMeet"}}},
                                                 {"name", "Google Meet"}};
    e["conferenceData"]["entryPoints"] =
        json::array({{{"entryPointType", "more"}, {"uri", "https://tel.meet/abc-defg-hij?pin=1"}},
                     {{"entryPointType", "video"}, {"uri", "https://meet.google.com/abc-defg-hij"}},
                     {{"entryPointType", "phone"}, {"uri", "tel:+44-20-1234-5678"}}});
    e["hangoutLink"] = "https://meet.google.com/abc-defg-hij";
  }
  return e;
}

EventSpec Spec() {
  return EventSpec{
      .id = kEventId,
      .summary = "Consultation",
      .description = "Video consultation",
      .location = "",
      .start = {.date_time = "2026-03-02T09:00:00+01:00", .time_zone = "Europe/Paris", .date = ""},
      .end = {.date_time = "2026-03-02T09:30:00+01:00", .time_zone = "Europe/Paris", .date = ""},
      .attendees = {{.email = "patient@example.com",
                     .display_name = "P. Atient",
                     .optional = false,
                     .response_status = ""}},
      .visibility = Visibility::kPrivate,
      .reminders = Reminders{.use_default = false, .overrides = {{"popup", 10}}},
      .private_properties = {{"telemeetAppointment", "42"}},
      .conference_request_id = "appt-42-1"};
}

class CalendarClientTest : public ::testing::Test {
 protected:
  CalendarClient Client(RateLimiter* limiter = nullptr) {
    return CalendarClient(CalendarOptions{.base_url = kBase + "/"},
                          CalendarDeps{.transport = transport_,
                                       .tokens = tokens_,
                                       .retry = retry_,
                                       .clock = clock_,
                                       .sleeper = sleeper_,
                                       .limiter = limiter,
                                       .observer = &observer_});
  }
  HttpRequest Only() {
    auto r = transport_.requests();
    EXPECT_EQ(r.size(), 1u);
    return r.empty() ? HttpRequest{} : r[0];
  }

  FakeClock clock_;
  testing::FakeSleeper sleeper_{clock_};
  RetryPolicy retry_{RetryOptions{}, clock_, sleeper_, 99};
  testing::ScriptedTransport transport_;
  testing::FakeTokenSource tokens_;
  testing::RecordingObserver observer_;
};

TEST_F(CalendarClientTest, InsertSendsTheExactRequest) {
  transport_.On("POST", kEvents, Json(200, MeetEvent("pending")));
  auto made = Client().InsertEvent("doc-1", "primary", Spec(), SendUpdates::kNone);
  ASSERT_TRUE(made.has_value()) << made.error().ToString();
  EXPECT_FALSE(made->adopted);
  HttpRequest r = Only();
  EXPECT_EQ(r.url, kEvents + "?conferenceDataVersion=1&sendUpdates=none");
  EXPECT_EQ(r.headers.Get("Authorization"), "Bearer token-1");
  EXPECT_EQ(r.headers.Get("Content-Type"), "application/json");
  json expected = {
      {"id", kEventId},
      {"summary", "Consultation"},
      {"description", "Video consultation"},
      {"start", {{"dateTime", "2026-03-02T09:00:00+01:00"}, {"timeZone", "Europe/Paris"}}},
      {"end", {{"dateTime", "2026-03-02T09:30:00+01:00"}, {"timeZone", "Europe/Paris"}}},
      {"attendees", {{{"email", "patient@example.com"}, {"displayName", "P. Atient"}}}},
      {"visibility", "private"},
      {"reminders",
       {{"useDefault", false}, {"overrides", {{{"method", "popup"}, {"minutes", 10}}}}}},
      {"extendedProperties", {{"private", {{"telemeetAppointment", "42"}}}}},
      {"conferenceData",
       {{"createRequest",
         {{"requestId", "appt-42-1"}, {"conferenceSolutionKey", {{"type", "hangoutsMeet"}}}}}}}};
  EXPECT_EQ(json::parse(r.body), expected);
  EXPECT_EQ(made->event.conference.status, ConferenceStatus::kPending);
  EXPECT_EQ(made->event.conference.join_url, "");
  EXPECT_EQ(made->event.conference.request_id, "appt-42-1");
}

TEST_F(CalendarClientTest, InsertSendsUpdatesAsAsked) {
  transport_.On("POST", kEvents, Json(200, MeetEvent("pending")));
  ASSERT_TRUE(Client().InsertEvent("doc-1", "primary", Spec(), SendUpdates::kAll));
  EXPECT_EQ(FindValue(UrlQuery(Only().url), "sendUpdates"), "all");
}

TEST_F(CalendarClientTest, InsertRefusesIdsThatAreNotBase32Hex) {
  EventSpec spec = Spec();
  for (std::string bad : {"abc", "A0B1C2D3", "wxyz12345", "a0b1-c2d3"}) {
    spec.id = bad;
    auto r = Client().InsertEvent("doc-1", "primary", spec, SendUpdates::kNone);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidRequest);
  }
  EXPECT_TRUE(transport_.requests().empty());
}

TEST_F(CalendarClientTest, InsertDuplicateAdoptsOurExistingEvent) {
  transport_.On("POST", kEvents,
                ApiError(409, "duplicate", "The requested identifier already exists."));
  transport_.On("GET", kEvent, Json(200, MeetEvent("success")));
  auto made = Client().InsertEvent("doc-1", "primary", Spec(), SendUpdates::kNone);
  ASSERT_TRUE(made.has_value()) << made.error().ToString();
  EXPECT_TRUE(made->adopted);
  EXPECT_EQ(made->event.conference.join_url, "https://meet.google.com/abc-defg-hij");
  EXPECT_EQ(transport_.Count("POST", kEvents), 1);  // a duplicate is not retried
}

TEST_F(CalendarClientTest, InsertDuplicateThatIsNotOursIsAnError) {
  json other = MeetEvent("success");
  other["extendedProperties"]["private"]["telemeetAppointment"] = "7";
  transport_.On("POST", kEvents, ApiError(409, "duplicate", "exists"));
  transport_.On("GET", kEvent, Json(200, other));
  auto made = Client().InsertEvent("doc-1", "primary", Spec(), SendUpdates::kNone);
  ASSERT_FALSE(made.has_value());
  EXPECT_EQ(made.error().kind(), ErrorKind::kDuplicate);
}

TEST_F(CalendarClientTest, InsertRetriesTransientFailuresWithTheSameIdAndRequestId) {
  transport_.On("POST", kEvents, ApiError(503, "backendError", "Backend Error"))
      .On("POST", kEvents, testing::TransportError(ErrorCode::kDeadlineExceeded))
      .On("POST", kEvents, Json(200, MeetEvent("pending")));
  auto made = Client().InsertEvent("doc-1", "primary", Spec(), SendUpdates::kNone);
  ASSERT_TRUE(made.has_value());
  auto reqs = transport_.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].body, reqs[2].body);
  EXPECT_EQ(sleeper_.sleeps().size(), 2u);
}

TEST_F(CalendarClientTest, JoinUrlOnlyFromASuccessfulConference) {
  transport_.On("GET", kEvent, Json(200, MeetEvent("success")));
  auto e = Client().GetEvent("doc-1", "primary", kEventId);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->conference.status, ConferenceStatus::kSuccess);
  EXPECT_EQ(e->conference.join_url, "https://meet.google.com/abc-defg-hij");
  EXPECT_EQ(e->conference.conference_id, "abc-defg-hij");
  EXPECT_EQ(e->conference.solution_type, "hangoutsMeet");
  EXPECT_EQ(Only().url, kEvent);  // get has no conferenceDataVersion
}

TEST_F(CalendarClientTest, ConferenceStatesAreReadSafely) {
  // success with no video entry point: hangoutLink.
  json only_link = MeetEvent("success");
  only_link["conferenceData"].erase("entryPoints");
  EXPECT_EQ(EventFromJson(only_link)->conference.join_url, "https://meet.google.com/abc-defg-hij");
  // pending, even with a hangoutLink present: no link published.
  json pending = MeetEvent("pending");
  pending["hangoutLink"] = "https://meet.google.com/zzz-zzzz-zzz";
  EXPECT_EQ(EventFromJson(pending)->conference.join_url, "");
  // failure: no link.
  auto failed = EventFromJson(MeetEvent("failure"));
  EXPECT_EQ(failed->conference.status, ConferenceStatus::kFailure);
  EXPECT_EQ(failed->conference.join_url, "");
  // no conference at all.
  json plain = MeetEvent("pending");
  plain.erase("conferenceData");
  EXPECT_EQ(EventFromJson(plain)->conference.status, ConferenceStatus::kNone);
  // a non-https video uri is never a join link.
  json odd = MeetEvent("success");
  odd["conferenceData"]["entryPoints"][1]["uri"] = "javascript:alert(1)";
  odd.erase("hangoutLink");
  EXPECT_EQ(EventFromJson(odd)->conference.join_url, "");
}

TEST_F(CalendarClientTest, PatchSendsOnlyStartAndEnd) {
  transport_.On("PATCH", kEvent, Json(200, MeetEvent("success")));
  auto e = Client().PatchEventTimes(
      "doc-1", "primary", kEventId,
      {.date_time = "2026-03-03T10:00:00+01:00", .time_zone = "Europe/Paris", .date = ""},
      {.date_time = "2026-03-03T10:30:00+01:00", .time_zone = "Europe/Paris", .date = ""},
      SendUpdates::kExternalOnly, "\"etag-1\"");
  ASSERT_TRUE(e.has_value());
  HttpRequest r = Only();
  EXPECT_EQ(r.url, kEvent + "?conferenceDataVersion=1&sendUpdates=externalOnly");
  EXPECT_EQ(r.headers.Get("If-Match"), "\"etag-1\"");
  EXPECT_EQ(
      json::parse(r.body),
      (json{{"start", {{"dateTime", "2026-03-03T10:00:00+01:00"}, {"timeZone", "Europe/Paris"}}},
            {"end", {{"dateTime", "2026-03-03T10:30:00+01:00"}, {"timeZone", "Europe/Paris"}}}}));
}

TEST_F(CalendarClientTest, GuestsPatchSendsOnlyWhatItIsGiven) {
  transport_.On("PATCH", kEvent, Json(200, MeetEvent("success")));
  GuestsPatch attendees_only;
  attendees_only.attendees =
      std::vector<Attendee>{{.email = "amy@patients.example", .display_name = "Amy"}};
  ASSERT_TRUE(
      Client().PatchEventGuests("doc-1", "primary", kEventId, attendees_only, SendUpdates::kAll));
  HttpRequest r = Only();
  // No conferenceDataVersion: the conference is left alone; sendUpdates as the policy says.
  EXPECT_EQ(r.url, kEvent + "?sendUpdates=all");
  EXPECT_EQ(json::parse(r.body),
            (json{{"attendees", {{{"email", "amy@patients.example"}, {"displayName", "Amy"}}}}}));

  transport_.On("PATCH", kEvent, Json(200, MeetEvent("success")));
  GuestsPatch none_and_popup;
  none_and_popup.attendees = std::vector<Attendee>{};
  none_and_popup.reminders = Reminders{.use_default = false, .overrides = {{"popup", 10}}};
  ASSERT_TRUE(
      Client().PatchEventGuests("doc-1", "primary", kEventId, none_and_popup, SendUpdates::kNone));
  ASSERT_EQ(transport_.requests().size(), 2u);
  EXPECT_EQ(
      json::parse(transport_.requests()[1].body),
      (json{{"attendees", json::array()},
            {"reminders",
             {{"useDefault", false}, {"overrides", {{{"method", "popup"}, {"minutes", 10}}}}}}}));

  // Back to the calendar's defaults: the merged-in overrides are emptied as well.
  transport_.On("PATCH", kEvent, Json(200, MeetEvent("success")));
  GuestsPatch defaults;
  defaults.reminders = Reminders{};
  ASSERT_TRUE(
      Client().PatchEventGuests("doc-1", "primary", kEventId, defaults, SendUpdates::kNone));
  ASSERT_EQ(transport_.requests().size(), 3u);
  EXPECT_EQ(json::parse(transport_.requests()[2].body),
            (json{{"reminders", {{"useDefault", true}, {"overrides", json::array()}}}}));
}

TEST_F(CalendarClientTest, EventsReadTheirRemindersAndTheOwnersEntry) {
  json e = MeetEvent("success");
  e["attendees"] = {{{"email", "who@clinic.example"}, {"organizer", true}, {"self", true}},
                    {{"email", "amy@patients.example"}}};
  e["reminders"] = {
      {"useDefault", false},
      {"overrides",
       {{{"method", "email"}, {"minutes", 60}}, {{"method", "popup"}, {"minutes", 99999999999}}}}};
  auto parsed = EventFromJson(e);
  ASSERT_TRUE(parsed.has_value());
  ASSERT_EQ(parsed->attendees.size(), 2u);
  EXPECT_TRUE(parsed->attendees[0].self);
  EXPECT_FALSE(parsed->attendees[1].self);
  ASSERT_TRUE(parsed->reminders.has_value());
  EXPECT_FALSE(parsed->reminders->use_default);
  ASSERT_EQ(parsed->reminders->overrides.size(), 2u);
  EXPECT_EQ(parsed->reminders->overrides[0], (ReminderOverride{"email", 60}));
  EXPECT_EQ(parsed->reminders->overrides[1].minutes, 0) << "out of Google's range: not trusted";
  EXPECT_FALSE(EventFromJson(MeetEvent("success"))->reminders.has_value());
}

TEST_F(CalendarClientTest, PatchEtagMismatchIsTyped) {
  transport_.On("PATCH", kEvent, ApiError(412, "conditionNotMet", "Precondition Failed"));
  auto e =
      Client().PatchEventTimes("doc-1", "primary", kEventId, {}, {}, SendUpdates::kNone, "\"old\"");
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().kind(), ErrorKind::kPreconditionFailed);
  EXPECT_EQ(transport_.requests().size(), 1u);
}

TEST_F(CalendarClientTest, UpdateCarriesTheExistingConferenceAndNeverANewOne) {
  auto current = EventFromJson(MeetEvent("success"));
  ASSERT_TRUE(current.has_value());
  transport_.On("PUT", kEvent, Json(200, MeetEvent("success")));
  EventSpec spec = Spec();
  spec.conference_request_id = "appt-42-2";  // must not replace the live meeting
  ASSERT_TRUE(Client().UpdateEvent("doc-1", "primary", spec, *current, SendUpdates::kNone));
  HttpRequest r = Only();
  EXPECT_EQ(r.url, kEvent + "?conferenceDataVersion=1&sendUpdates=none");
  json body = json::parse(r.body);
  EXPECT_EQ(body["conferenceData"], MeetEvent("success")["conferenceData"]);
  EXPECT_EQ(body["conferenceData"]["createRequest"]["requestId"], "appt-42-1");
}

TEST_F(CalendarClientTest, UpdateMayRequestANewConferenceAfterAFailure) {
  auto current = EventFromJson(MeetEvent("failure"));
  transport_.On("PUT", kEvent, Json(200, MeetEvent("pending")));
  EventSpec spec = Spec();
  spec.conference_request_id = "appt-42-2";
  ASSERT_TRUE(Client().UpdateEvent("doc-1", "primary", spec, *current, SendUpdates::kNone));
  EXPECT_EQ(json::parse(Only().body)["conferenceData"]["createRequest"]["requestId"], "appt-42-2");
}

TEST_F(CalendarClientTest, DeleteTreatsNotFoundAndGoneAsDone) {
  transport_.On("DELETE", kEvent, testing::Text(204, ""));
  EXPECT_EQ(Client().DeleteEvent("doc-1", "primary", kEventId, SendUpdates::kNone),
            DeleteOutcome::kDeleted);
  EXPECT_EQ(Only().url, kEvent + "?sendUpdates=none");
}

TEST_F(CalendarClientTest, DeleteOfAMissingEventIsAlreadyGone) {
  transport_.On("DELETE", kEvent, ApiError(410, "deleted", "Resource has been deleted"))
      .On("DELETE", kEvent, ApiError(404, "notFound", "Not Found"));
  EXPECT_EQ(Client().DeleteEvent("doc-1", "primary", kEventId, SendUpdates::kNone),
            DeleteOutcome::kAlreadyGone);
  EXPECT_EQ(Client().DeleteEvent("doc-1", "primary", kEventId, SendUpdates::kNone),
            DeleteOutcome::kAlreadyGone);
  EXPECT_EQ(transport_.requests().size(), 2u);
}

TEST_F(CalendarClientTest, CancelPatchesTheStatusAndTreatsMissingAsDone) {
  json cancelled = MeetEvent("success");
  cancelled["status"] = "cancelled";
  transport_.On("PATCH", kEvent, Json(200, cancelled))
      .On("PATCH", kEvent, ApiError(404, "notFound", "Not Found"))
      .On("PATCH", kEvent, ApiError(410, "deleted", "Resource has been deleted"));
  EXPECT_EQ(Client().CancelEvent("doc-1", "primary", kEventId, SendUpdates::kAll),
            DeleteOutcome::kDeleted);
  EXPECT_EQ(Client().CancelEvent("doc-1", "primary", kEventId, SendUpdates::kNone),
            DeleteOutcome::kAlreadyGone);
  EXPECT_EQ(Client().CancelEvent("doc-1", "primary", kEventId, SendUpdates::kNone),
            DeleteOutcome::kAlreadyGone);
  ASSERT_EQ(transport_.requests().size(), 3u);
  const HttpRequest first = transport_.requests()[0];
  EXPECT_EQ(first.url, kEvent + "?sendUpdates=all");
  EXPECT_EQ(json::parse(first.body), (json{{"status", "cancelled"}}));
}

TEST_F(CalendarClientTest, RestorePatchesTimesAndConfirmsTheEvent) {
  transport_.On("PATCH", kEvent, Json(200, MeetEvent("success")));
  auto restored = Client().RestoreEvent("doc-1", "primary", kEventId, Spec().start, Spec().end,
                                        SendUpdates::kNone);
  ASSERT_TRUE(restored) << restored.error().ToString();
  EXPECT_FALSE(restored->cancelled());
  const HttpRequest r = Only();
  EXPECT_EQ(r.url, kEvent + "?conferenceDataVersion=1&sendUpdates=none");
  json body = json::parse(r.body);
  EXPECT_EQ(body["status"], "confirmed");
  EXPECT_TRUE(body.contains("start") && body.contains("end"));
  EXPECT_FALSE(body.contains("conferenceData"));
}

TEST_F(CalendarClientTest, ListBuildsTheQueryAndFollowsPages) {
  json page1 = {{"kind", "calendar#events"},
                {"items", {MeetEvent("success", "aaaaa1")}},
                {"nextPageToken", "p2"}};
  json page2 = {{"kind", "calendar#events"},
                {"items", {MeetEvent("pending", "aaaaa2")}},
                {"nextSyncToken", "sync-3"}};
  transport_.On("GET", kEvents, Json(200, page1)).On("GET", kEvents, Json(200, page2));
  ListQuery q{.time_min = "2026-03-01T00:00:00Z",
              .time_max = "2026-04-01T00:00:00Z",
              .private_properties = {{"telemeetDoctor", "doc-1"}},
              .single_events = true,
              .max_results = 250};
  auto all = Client().ListAllEvents("doc-1", "primary", q);
  ASSERT_TRUE(all.has_value()) << all.error().ToString();
  ASSERT_EQ(all->items.size(), 2u);
  EXPECT_EQ(all->items[1].id, "aaaaa2");
  EXPECT_EQ(all->next_sync_token, "sync-3");
  auto reqs = transport_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].url, kEvents +
                             "?timeMin=2026-03-01T00%3A00%3A00Z&timeMax=2026-04-01T00%3A00%3A00Z"
                             "&privateExtendedProperty=telemeetDoctor%3Ddoc-1"
                             "&singleEvents=true&maxResults=250");
  EXPECT_EQ(FindValue(UrlQuery(reqs[1].url), "pageToken"), "p2");
}

TEST_F(CalendarClientTest, SyncTokenCannotBeCombinedWithFilters) {
  auto r = Client().ListEvents("doc-1", "primary",
                               {.time_min = "2026-03-01T00:00:00Z", .sync_token = "s"});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidRequest);
  EXPECT_TRUE(transport_.requests().empty());
}

TEST_F(CalendarClientTest, ExpiredSyncTokenRequiresAFullSync) {
  transport_.On("GET", kEvents,
                ApiError(410, "fullSyncRequired",
                         "Sync token is no longer valid, a full sync is required.", "calendar"));
  auto r = Client().ListEvents("doc-1", "primary", {.sync_token = "old"});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind(), ErrorKind::kFullSyncRequired);
  EXPECT_EQ(Only().url, kEvents + "?syncToken=old");
}

TEST_F(CalendarClientTest, FreeBusyQueriesAndParses) {
  json answer = {
      {"kind", "calendar#freeBusy"},
      {"calendars",
       {{"doc@example.com",
         {{"busy", {{{"start", "2026-03-02T08:00:00Z"}, {"end", "2026-03-02T09:00:00Z"}}}}}},
        {"gone@example.com", {{"errors", {{{"domain", "global"}, {"reason", "notFound"}}}}}}}}};
  transport_.On("POST", kBase + "/calendar/v3/freeBusy", Json(200, answer));
  auto fb = Client().FreeBusy("doc-1", {.time_min = "2026-03-02T00:00:00Z",
                                        .time_max = "2026-03-03T00:00:00Z",
                                        .calendar_ids = {"doc@example.com", "gone@example.com"}});
  ASSERT_TRUE(fb.has_value());
  EXPECT_EQ(json::parse(Only().body),
            (json{{"timeMin", "2026-03-02T00:00:00Z"},
                  {"timeMax", "2026-03-03T00:00:00Z"},
                  {"timeZone", "UTC"},
                  {"items", {{{"id", "doc@example.com"}}, {{"id", "gone@example.com"}}}}}));
  ASSERT_EQ((*fb)["doc@example.com"].busy.size(), 1u);
  EXPECT_EQ((*fb)["doc@example.com"].busy[0].end, "2026-03-02T09:00:00Z");
  EXPECT_EQ((*fb)["gone@example.com"].errors, std::vector<std::string>{"notFound"});
}

TEST_F(CalendarClientTest, WatchAndStop) {
  transport_.On("POST", kEvents + "/watch",
                Json(200, {{"kind", "api#channel"},
                           {"id", "ch-1"},
                           {"resourceId", "res-9"},
                           {"resourceUri", "https://x/events"},
                           {"expiration", "1767830400000"}}));
  transport_.On("POST", kBase + "/calendar/v3/channels/stop", testing::Text(204, ""));
  auto ch = Client().WatchEvents("doc-1", "primary",
                                 {.channel_id = "ch-1",
                                  .address = "https://tm.example/push",
                                  .token = "t0k",
                                  .ttl = std::chrono::seconds(86400)});
  ASSERT_TRUE(ch.has_value()) << ch.error().ToString();
  EXPECT_EQ(ch->resource_id, "res-9");
  EXPECT_EQ(ch->expiration, FromUnixSeconds(1'767'830'400));
  EXPECT_EQ(json::parse(transport_.requests()[0].body),
            (json{{"id", "ch-1"},
                  {"type", "web_hook"},
                  {"address", "https://tm.example/push"},
                  {"token", "t0k"},
                  {"params", {{"ttl", "86400"}}}}));
  ASSERT_TRUE(Client().StopChannel("doc-1", "ch-1", "res-9"));
  EXPECT_EQ(json::parse(transport_.requests()[1].body),
            (json{{"id", "ch-1"}, {"resourceId", "res-9"}}));
}

TEST_F(CalendarClientTest, PrimaryCalendarGivesTheAccountEmail) {
  transport_.On("GET", kBase + "/calendar/v3/calendars/primary",
                Json(200, {{"kind", "calendar#calendar"},
                           {"id", "dr.who@example.com"},
                           {"summary", "dr.who@example.com"},
                           {"timeZone", "Europe/Paris"}}));
  auto info = Client().PrimaryCalendarWithToken("fresh-token");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->id, "dr.who@example.com");
  EXPECT_EQ(info->time_zone, "Europe/Paris");
  EXPECT_EQ(Only().headers.Get("Authorization"), "Bearer fresh-token");
}

TEST_F(CalendarClientTest, Unauthorized401RefreshesOnceAndRetriesOnce) {
  transport_.On("GET", kEvent, ApiError(401, "authError", "Invalid Credentials"))
      .On("GET", kEvent, Json(200, MeetEvent("success")));
  auto e = Client().GetEvent("doc-1", "primary", kEventId);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(tokens_.refreshes(), 1);
  auto reqs = transport_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].headers.Get("Authorization"), "Bearer token-1");
  EXPECT_EQ(reqs[1].headers.Get("Authorization"), "Bearer token-2");
}

TEST_F(CalendarClientTest, SecondUnauthorizedIsFinal) {
  transport_.On("GET", kEvent, ApiError(401, "authError", "Invalid Credentials"));
  auto e = Client().GetEvent("doc-1", "primary", kEventId);
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().kind(), ErrorKind::kUnauthorized);
  EXPECT_EQ(tokens_.refreshes(), 1);
  EXPECT_EQ(transport_.requests().size(), 2u);
}

TEST_F(CalendarClientTest, MissingScopeMarksTheGrantForReconnect) {
  transport_.On("GET", kEvent, ApiError(403, "insufficientPermissions", "Insufficient Permission"));
  auto e = Client().GetEvent("doc-1", "primary", kEventId);
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().kind(), ErrorKind::kScopeNotGranted);
  EXPECT_EQ(tokens_.marked_dead(), 1);
  EXPECT_EQ(Client().GetEvent("doc-1", "primary", kEventId).error().kind(),
            ErrorKind::kNeedsReconnect);
  EXPECT_EQ(transport_.requests().size(), 1u);
}

TEST_F(CalendarClientTest, DeadGrantStopsBeforeAnyCall) {
  tokens_.FailWith(GoogleError(ErrorKind::kNeedsReconnect, "reconnect Google"));
  auto e = Client().GetEvent("doc-1", "primary", kEventId);
  ASSERT_FALSE(e.has_value());
  EXPECT_TRUE(e.error().NeedsReconnect());
  EXPECT_TRUE(transport_.requests().empty());
}

TEST_F(CalendarClientTest, RateLimitBacksOffHonouringRetryAfterAndSlowsTheDoctor) {
  net::Headers h;
  h.Set("Retry-After", "3");
  transport_
      .On("GET", kEvent,
          ApiError(403, "userRateLimitExceeded", "User Rate Limit Exceeded", "usageLimits", h))
      .On("GET", kEvent, Json(200, MeetEvent("success")));
  RateLimiter limiter(RateLimitOptions{}, clock_, sleeper_);
  auto e = Client(&limiter).GetEvent("doc-1", "primary", kEventId);
  ASSERT_TRUE(e.has_value());
  ASSERT_FALSE(sleeper_.sleeps().empty());
  EXPECT_GE(sleeper_.sleeps()[0], std::chrono::seconds(3));
  EXPECT_LT(limiter.DoctorRate("doc-1"), 600);  // halved, then +2% for the success
}

TEST_F(CalendarClientTest, QuotaExceededBacksOffForLongAndSlowsTheDoctor) {
  transport_
      .On("POST", kEvents,
          ApiError(403, "quotaExceeded", "Calendar usage limits exceeded.", "usageLimits"))
      .On("POST", kEvents, Json(200, MeetEvent("success")));
  RateLimiter limiter(RateLimitOptions{}, clock_, sleeper_);
  ASSERT_TRUE(Client(&limiter).InsertEvent("doc-1", "primary", Spec(), SendUpdates::kNone));
  ASSERT_EQ(sleeper_.sleeps().size(), 1u);
  EXPECT_GE(sleeper_.sleeps()[0], std::chrono::seconds(60));
  EXPECT_LT(limiter.DoctorRate("doc-1"), 600);
  EXPECT_DOUBLE_EQ(limiter.ProjectRate(), 10'000);
}

TEST_F(CalendarClientTest, ObserverSeesEveryExchangeAndNoSecret) {
  transport_.On("GET", kEvents, ApiError(503, "backendError", "Backend Error"))
      .On("GET", kEvents, Json(200, {{"items", json::array()}, {"nextSyncToken", "s2"}}));
  ASSERT_TRUE(Client().ListEvents("doc-1", "primary", {.sync_token = "secret-sync"}));
  auto records = observer_.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].operation, "events.list");
  EXPECT_EQ(records[0].doctor_id, "doc-1");
  EXPECT_EQ(records[0].method, "GET");
  EXPECT_EQ(records[0].status, 503);
  EXPECT_EQ(records[0].outcome, "server_error");
  EXPECT_EQ(records[0].attempt, 1);
  EXPECT_EQ(records[1].status, 200);
  EXPECT_EQ(records[1].outcome, "ok");
  EXPECT_EQ(records[1].attempt, 2);
  EXPECT_EQ(records[1].path, "/calendar/v3/calendars/primary/events?syncToken=[REDACTED]");
  for (const CallRecord& r : records) {
    EXPECT_EQ(r.path.find("secret-sync"), std::string::npos);
    EXPECT_EQ(r.path.find("token-1"), std::string::npos);
  }
}

TEST_F(CalendarClientTest, AwaitConferencePollsWithBackoffUntilSuccess) {
  transport_.On("GET", kEvent, Json(200, MeetEvent("pending")))
      .On("GET", kEvent, Json(200, MeetEvent("pending")))
      .On("GET", kEvent, Json(200, MeetEvent("success")));
  auto e = Client().AwaitConference("doc-1", "primary", kEventId,
                                    {.max_polls = 8,
                                     .initial_delay = std::chrono::milliseconds(700),
                                     .multiplier = 2.0,
                                     .max_delay = std::chrono::seconds(5)});
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->conference.status, ConferenceStatus::kSuccess);
  EXPECT_EQ(transport_.requests().size(), 3u);
  std::vector<std::chrono::microseconds> expected = {std::chrono::milliseconds(700),
                                                     std::chrono::milliseconds(1400),
                                                     std::chrono::milliseconds(2800)};
  EXPECT_EQ(sleeper_.sleeps(), expected);
}

TEST_F(CalendarClientTest, AwaitConferenceReportsFailureAndGivesUpWhenStillPending) {
  transport_.On("GET", kEvent, Json(200, MeetEvent("failure")));
  auto failed = Client().AwaitConference("doc-1", "primary", kEventId);
  EXPECT_EQ(failed->conference.status, ConferenceStatus::kFailure);

  testing::ScriptedTransport pending_forever;
  pending_forever.On("GET", kEvent, Json(200, MeetEvent("pending")));
  CalendarClient client(CalendarOptions{.base_url = kBase},
                        CalendarDeps{.transport = pending_forever,
                                     .tokens = tokens_,
                                     .retry = retry_,
                                     .clock = clock_,
                                     .sleeper = sleeper_});
  auto still = client.AwaitConference("doc-1", "primary", kEventId, {.max_polls = 4});
  ASSERT_TRUE(still.has_value());
  EXPECT_EQ(still->conference.status, ConferenceStatus::kPending);
  EXPECT_EQ(pending_forever.requests().size(), 4u);
}

}  // namespace
}  // namespace telemeet::google
