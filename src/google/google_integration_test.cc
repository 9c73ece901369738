// The Google client against the real emulator (fake-google on 127.0.0.1, port 0), over real
// HTTP through HttpTransport. The emulator and our retry sleeper share one FakeClock, so token
// expiry, quota windows and backoff move without real waiting.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "crypto/random.h"
#include "emulator/server/fake_google.h"
#include "google/calendar_client.h"
#include "google/connect.h"
#include "google/http_transport.h"
#include "google/oauth_client.h"
#include "google/rate_limiter.h"
#include "google/testing/fake_grant_store.h"
#include "google/testing/fake_sleeper.h"
#include "google/token_provider.h"
#include "net/http_client.h"

namespace telemeet::google {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kRedirect = "http://127.0.0.1:9/oauth/callback";
const std::string kClientId = "telemeet-test.apps.example";
const std::string kSecret = "integration-secret";

std::string Email(int i) { return "doctor" + std::to_string(i) + "@clinic.example"; }
std::string DoctorId(int i) { return "doc-" + std::to_string(i); }
std::string EventId(int i) { return "tm" + std::to_string(100000 + i); }

class GoogleIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    emulator::FakeGoogleOptions options;
    options.clients.push_back(
        {.client_id = kClientId, .client_secret = kSecret, .redirect_uris = {kRedirect}});
    for (int i = 0; i < 4; ++i)
      options.accounts.push_back({.email = Email(i), .sub = "", .name = ""});
    options.oauth.auto_approve = true;
    options.quota.per_user = 0;
    options.quota.per_project = 0;
    google_ = std::make_unique<emulator::FakeGoogle>(options, clock_);
    ASSERT_TRUE(google_->Start());
    base_ = google_->base_url();
    ASSERT_TRUE(keys_.Add("k1", crypto::RandomBytes(32)));
    oauth_ = std::make_unique<OAuthClient>(
        OAuthConfig{.client_id = kClientId,
                    .client_secret = kSecret,
                    .redirect_uri = kRedirect,
                    .auth_url = base_ + "/o/oauth2/v2/auth",
                    .token_url = base_ + "/token",
                    .revoke_url = base_ + "/revoke"},
        OAuthDeps{.transport = transport_, .clock = clock_, .retry = retry_});
    tokens_ = std::make_unique<TokenProvider>(*oauth_, store_, keys_, clock_);
    calendar_ = std::make_unique<CalendarClient>(CalendarOptions{.base_url = base_},
                                                 CalendarDeps{.transport = transport_,
                                                              .tokens = *tokens_,
                                                              .retry = retry_,
                                                              .clock = clock_,
                                                              .sleeper = sleeper_,
                                                              .limiter = &limiter_});
  }
  void TearDown() override {
    if (google_) google_->Stop();
  }

  // The whole connect flow: consent URL (auto-approved for the login_hint), the redirect's
  // code, exchange with the PKCE verifier, the account email, the sealed grant.
  void Connect(int i) {
    auto start = oauth_->BuildAuthorizationUrl("state-" + std::to_string(i), Email(i));
    ASSERT_TRUE(start.has_value());
    auto consent = transport_.Send(HttpRequest{.method = "GET", .url = start->url});
    ASSERT_TRUE(consent.has_value()) << consent.error().ToString();
    ASSERT_EQ(consent->status, 302) << consent->body;
    std::string location = consent->headers.Get("Location").value_or("");
    ASSERT_EQ(location.rfind(kRedirect + "?", 0), 0u) << location;
    KeyValues q = ParseQuery(location.substr(kRedirect.size() + 1)).value_or(KeyValues{});
    EXPECT_EQ(FindValue(q, "state"), "state-" + std::to_string(i));
    auto code = FindValue(q, "code");
    ASSERT_TRUE(code.has_value());
    auto account =
        CompleteConnect(*oauth_, *calendar_, *tokens_, DoctorId(i), *code, start->code_verifier);
    ASSERT_TRUE(account.has_value()) << account.error().ToString();
    EXPECT_EQ(account->email, Email(i));
    EXPECT_EQ(account->scopes, std::vector<std::string>{std::string(kCalendarScope)});
  }

  EventSpec Spec(int n, std::string request_id = {}) {
    return EventSpec{
        .id = EventId(n),
        .summary = "Consultation",
        .start = {.date_time = "2026-03-02T09:00:00+01:00", .time_zone = "Europe/Paris"},
        .end = {.date_time = "2026-03-02T09:30:00+01:00", .time_zone = "Europe/Paris"},
        .visibility = Visibility::kPrivate,
        .private_properties = {{"telemeetAppointment", std::to_string(n)}},
        .conference_request_id =
            request_id.empty() ? "appt-" + std::to_string(n) + "-1" : request_id};
  }

  int TokenCalls() const {
    int n = 0;
    for (const auto& e : google_->RequestLog()) n += e.path == "/token" ? 1 : 0;
    return n;
  }

  FakeClock clock_;
  testing::FakeSleeper sleeper_{clock_};
  RetryPolicy retry_{RetryOptions{.max_attempts = 8,
                                  .initial_backoff = milliseconds(200),
                                  .max_backoff = milliseconds(5'000),
                                  .deadline = milliseconds(300'000)},
                     clock_, sleeper_, 17};
  RateLimiter limiter_{RateLimitOptions{}, clock_, sleeper_};
  net::HttpClient http_;
  HttpTransport transport_{http_};
  crypto::KeyRing keys_;
  testing::FakeGrantStore store_;
  std::unique_ptr<emulator::FakeGoogle> google_;
  std::string base_;
  std::unique_ptr<OAuthClient> oauth_;
  std::unique_ptr<TokenProvider> tokens_;
  std::unique_ptr<CalendarClient> calendar_;
};

TEST_F(GoogleIntegrationTest, ConnectFlowWithPkceThenMeetEvent) {
  Connect(0);
  auto made = calendar_->InsertEvent(DoctorId(0), "primary", Spec(1), SendUpdates::kNone);
  ASSERT_TRUE(made.has_value()) << made.error().ToString();
  EXPECT_EQ(made->event.id, EventId(1));
  EXPECT_EQ(made->event.conference.status, ConferenceStatus::kSuccess);
  EXPECT_EQ(made->event.conference.join_url.rfind("https://meet.google.com/", 0), 0u);
  EXPECT_EQ(TokenCalls(), 1);  // the exchange only
}

TEST_F(GoogleIntegrationTest, ExpiredAccessTokenIsRefreshedOnce) {
  Connect(0);
  clock_.Advance(seconds(3600));
  ASSERT_TRUE(calendar_->PrimaryCalendar(DoctorId(0)).has_value());
  ASSERT_TRUE(calendar_->PrimaryCalendar(DoctorId(0)).has_value());
  EXPECT_EQ(TokenCalls(), 2);  // exchange + one refresh
  // A token Google expired early: 401, one forced refresh, one retry.
  google_->oauth().ExpireAccessTokens();
  ASSERT_TRUE(calendar_->PrimaryCalendar(DoctorId(0)).has_value());
  EXPECT_EQ(TokenCalls(), 3);
}

TEST_F(GoogleIntegrationTest, RevokedGrantNeedsReconnect) {
  Connect(0);
  ASSERT_GE(google_->oauth().RevokeGrant(Email(0)), 1);
  auto r = calendar_->PrimaryCalendar(DoctorId(0));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind(), ErrorKind::kNeedsReconnect);
  EXPECT_EQ(r.error().reason(), "invalid_grant");
  EXPECT_TRUE((*store_.LoadGrant(DoctorId(0)))->needs_reconnect);
  // Reconnecting brings the doctor back.
  Connect(0);
  EXPECT_TRUE(calendar_->PrimaryCalendar(DoctorId(0)).has_value());
}

TEST_F(GoogleIntegrationTest, DisconnectRevokesTheGrantAtGoogle) {
  Connect(0);
  auto access = tokens_->AccessTokenFor(DoctorId(0));
  ASSERT_TRUE(access.has_value());
  ASSERT_TRUE(tokens_->Disconnect(DoctorId(0)));
  EXPECT_EQ(calendar_->PrimaryCalendar(DoctorId(0)).error().kind(), ErrorKind::kNotConnected);
  // Revoking the refresh token revoked the whole grant at Google, access tokens included.
  EXPECT_EQ(calendar_->PrimaryCalendarWithToken(*access).error().kind(), ErrorKind::kUnauthorized);
  Connect(0);
  EXPECT_TRUE(calendar_->PrimaryCalendar(DoctorId(0)).has_value());
}

TEST_F(GoogleIntegrationTest, PendingConferenceIsResolvedByPolling) {
  Connect(0);
  google_->calendar().SetConferenceBehaviour(
      Email(0), {.mode = emulator::ConferenceMode::kPending, .pending_reads = 2});
  auto made = calendar_->InsertEvent(DoctorId(0), "primary", Spec(2), SendUpdates::kNone);
  ASSERT_TRUE(made.has_value()) << made.error().ToString();
  EXPECT_EQ(made->event.conference.status, ConferenceStatus::kPending);
  EXPECT_EQ(made->event.conference.join_url, "");
  auto done = calendar_->AwaitConference(DoctorId(0), "primary", EventId(2),
                                         {.max_polls = 6, .initial_delay = milliseconds(100)});
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->conference.status, ConferenceStatus::kSuccess);
  EXPECT_FALSE(done->conference.join_url.empty());
}

TEST_F(GoogleIntegrationTest, ConferenceFailureAndRefusalAreTyped) {
  Connect(0);
  google_->calendar().SetConferenceBehaviour(Email(0),
                                             {.mode = emulator::ConferenceMode::kFailure});
  auto failed = calendar_->InsertEvent(DoctorId(0), "primary", Spec(3), SendUpdates::kNone);
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->event.conference.status, ConferenceStatus::kFailure);
  EXPECT_EQ(failed->event.conference.join_url, "");
  google_->calendar().SetConferenceBehaviour(Email(0), {.mode = emulator::ConferenceMode::kRefuse});
  auto refused = calendar_->InsertEvent(DoctorId(0), "primary", Spec(4), SendUpdates::kNone);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().kind(), ErrorKind::kConferenceRefused);
}

TEST_F(GoogleIntegrationTest, RepeatedInsertAdoptsAndRepeatedDeleteIsGone) {
  Connect(0);
  auto first = calendar_->InsertEvent(DoctorId(0), "primary", Spec(5), SendUpdates::kNone);
  ASSERT_TRUE(first.has_value());
  auto again = calendar_->InsertEvent(DoctorId(0), "primary", Spec(5), SendUpdates::kNone);
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  EXPECT_TRUE(again->adopted);
  EXPECT_EQ(again->event.conference.join_url, first->event.conference.join_url);
  // A reschedule patches times only: the link survives.
  auto moved = calendar_->PatchEventTimes(
      DoctorId(0), "primary", EventId(5),
      {.date_time = "2026-03-03T10:00:00+01:00", .time_zone = "Europe/Paris"},
      {.date_time = "2026-03-03T10:30:00+01:00", .time_zone = "Europe/Paris"}, SendUpdates::kNone,
      first->event.etag);
  ASSERT_TRUE(moved.has_value()) << moved.error().ToString();
  EXPECT_EQ(moved->conference.join_url, first->event.conference.join_url);
  EXPECT_EQ(moved->start.date_time.substr(0, 10), "2026-03-03");
  EXPECT_EQ(calendar_->DeleteEvent(DoctorId(0), "primary", EventId(5), SendUpdates::kNone),
            DeleteOutcome::kDeleted);
  EXPECT_EQ(calendar_->DeleteEvent(DoctorId(0), "primary", EventId(5), SendUpdates::kNone),
            DeleteOutcome::kAlreadyGone);
}

TEST_F(GoogleIntegrationTest, SyncTokenExpiryRequiresFullSync) {
  Connect(0);
  ASSERT_TRUE(calendar_->InsertEvent(DoctorId(0), "primary", Spec(6), SendUpdates::kNone));
  auto full = calendar_->ListAllEvents(DoctorId(0), "primary", {});
  ASSERT_TRUE(full.has_value()) << full.error().ToString();
  EXPECT_EQ(full->items.size(), 1u);
  ASSERT_FALSE(full->next_sync_token.empty());
  google_->calendar().InvalidateSyncTokens(Email(0));
  auto r = calendar_->ListEvents(DoctorId(0), "primary", {.sync_token = full->next_sync_token});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind(), ErrorKind::kFullSyncRequired);
}

TEST_F(GoogleIntegrationTest, FivePercentServerErrorsLoseNoOperation) {
  Connect(0);
  google_->faults().Add({.method = "",
                         .path_prefix = "/calendar/v3/",
                         .kind = emulator::FaultKind::kBackendError,
                         .fraction = 0.05});
  // Some failures happen after the write: the retry meets 409 and adopts the event.
  google_->faults().Add({.method = "POST",
                         .path_prefix = "/calendar/v3/",
                         .kind = emulator::FaultKind::kUnavailable,
                         .fraction = 0.03,
                         .after = true});
  int failed = 0, adopted = 0;
  for (int i = 0; i < 200; ++i) {
    auto made = calendar_->InsertEvent(DoctorId(0), "primary", Spec(100 + i), SendUpdates::kNone);
    if (!made) {
      ++failed;
      ADD_FAILURE() << made.error().ToString();
    } else if (made->adopted) {
      ++adopted;
    }
  }
  EXPECT_EQ(failed, 0);
  auto state = google_->calendar().CalendarState(Email(0));
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ((*state)["events"].size(), 200u);  // never two events for one id
  RecordProperty("adopted_after_lost_answer", adopted);
}

TEST_F(GoogleIntegrationTest, RateLimitStormLosesNoOperation) {
  for (int d = 0; d < 3; ++d) Connect(d);
  emulator::QuotaOptions quota{
      .per_user = 20, .per_project = 45, .status = 403, .retry_after_seconds = 20};
  google_->quota().SetOptions(quota);
  google_->quota().Reset();
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int d = 0; d < 3; ++d) {
    threads.emplace_back([&, d] {
      for (int i = 0; i < 30; ++i) {
        auto made = calendar_->InsertEvent(DoctorId(d), "primary", Spec(1000 * (d + 1) + i),
                                           SendUpdates::kNone);
        if (!made) {
          ++failed;
          ADD_FAILURE() << made.error().ToString();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  int rate_limited = 0;
  for (const auto& e : google_->RequestLog()) rate_limited += (e.status == 403) ? 1 : 0;
  EXPECT_GT(rate_limited, 0);  // the storm happened
  for (int d = 0; d < 3; ++d) {
    EXPECT_EQ((*google_->calendar().CalendarState(Email(d)))["events"].size(), 30u);
  }
  RecordProperty("rate_limited_answers", rate_limited);
}

TEST_F(GoogleIntegrationTest, BatchInsertsEveryEventOnce) {
  Connect(0);
  std::vector<BatchOperation> ops;
  for (int i = 0; i < 120; ++i) {
    BatchOperation op;
    op.kind = BatchOperation::Kind::kInsert;
    op.spec = Spec(5000 + i);
    ops.push_back(op);
  }
  auto results = calendar_->ExecuteBatch(DoctorId(0), ops);
  ASSERT_EQ(results.size(), 120u);
  for (int i = 0; i < 120; ++i) {
    ASSERT_TRUE(results[i].has_value()) << i << ": " << results[i].error().ToString();
    EXPECT_EQ(results[i]->event->id, EventId(5000 + i));
  }
  EXPECT_EQ((*google_->calendar().CalendarState(Email(0)))["events"].size(), 120u);
  int batches = 0;
  for (const auto& e : google_->RequestLog()) {
    batches += (e.path == "/batch/calendar/v3") ? 1 : 0;
  }
  EXPECT_EQ(batches, 3);
}

TEST_F(GoogleIntegrationTest, UnreachableGoogleIsATransientTransportError) {
  Connect(0);
  google_->Stop();
  auto r = calendar_->PrimaryCalendar(DoctorId(0));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind(), ErrorKind::kTransport);
  EXPECT_TRUE(r.error().IsTransient());
  EXPECT_EQ(r.error().http_status(), 0);
  EXPECT_GT(sleeper_.sleeps().size(), 0u);  // it was retried before giving up
}

}  // namespace
}  // namespace telemeet::google
