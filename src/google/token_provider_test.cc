#include "google/token_provider.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "crypto/random.h"
#include "google/calendar_client.h"
#include "google/testing/fake_grant_store.h"
#include "google/testing/fake_sleeper.h"
#include "google/testing/scripted_transport.h"

namespace telemeet::google {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using testing::Json;
using testing::OAuthError;

const std::string kToken = "https://oauth.test/token";
const std::string kDoctor = "doc-42";

// A token endpoint that hands out access-1, access-2, ... and counts its calls.
testing::Reply CountingTokenEndpoint(std::atomic<int>& calls,
                                     std::chrono::milliseconds delay = {}) {
  return [&calls, delay](const HttpRequest&) -> Result<HttpResponse> {
    int n = ++calls;
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    json body = {{"access_token", "access-" + std::to_string(n + 1)},
                 {"expires_in", 3599},
                 {"token_type", "Bearer"},
                 {"scope", "https://www.googleapis.com/auth/calendar"}};
    return HttpResponse{.status = 200, .headers = {}, .body = body.dump()};
  };
}

class TokenProviderTest : public ::testing::Test {
 protected:
  TokenProviderTest() { EXPECT_TRUE(keys_.Add("k1", crypto::RandomBytes(32))); }

  // Connects kDoctor with access-1 (valid for an hour) and refresh-1.
  void Connect(TokenProvider& provider) {
    TokenGrant grant{.access_token = "access-1",
                     .refresh_token = "refresh-1",
                     .expires_at = clock_.Now() + seconds(3599),
                     .scopes = {std::string(kCalendarScope)},
                     .token_type = "Bearer",
                     .id_token = {}};
    ASSERT_TRUE(provider.StoreNewGrant(kDoctor, grant, "dr.who@example.com"));
  }

  FakeClock clock_;
  testing::FakeSleeper sleeper_{clock_};
  RetryPolicy retry_{RetryOptions{}, clock_, sleeper_, 3};
  testing::ScriptedTransport transport_;
  OAuthClient oauth_{
      OAuthConfig{.client_id = "c", .client_secret = "s", .redirect_uri = "r", .token_url = kToken},
      OAuthDeps{.transport = transport_, .clock = clock_, .retry = retry_}};
  crypto::KeyRing keys_;
  testing::FakeGrantStore store_;
  std::atomic<int> token_calls_{0};
};

TEST_F(TokenProviderTest, ServesFromMemoryThenStoreWithoutRefreshing) {
  TokenProvider provider(oauth_, store_, keys_, clock_);
  Connect(provider);
  EXPECT_EQ(provider.AccessTokenFor(kDoctor), "access-1");
  // A second instance (another process) finds the token in the store.
  TokenProvider other(oauth_, store_, keys_, clock_);
  EXPECT_EQ(other.AccessTokenFor(kDoctor), "access-1");
  EXPECT_TRUE(transport_.requests().empty());
  EXPECT_EQ(store_.locks_taken(), 0);
}

TEST_F(TokenProviderTest, RefreshesFiveMinutesBeforeExpiry) {
  transport_.On("POST", kToken, CountingTokenEndpoint(token_calls_));
  TokenProvider provider(oauth_, store_, keys_, clock_);
  Connect(provider);
  clock_.Advance(seconds(3599 - 301));
  EXPECT_EQ(provider.AccessTokenFor(kDoctor), "access-1");
  EXPECT_EQ(token_calls_.load(), 0);
  clock_.Advance(seconds(2));  // now 299 s before expiry
  EXPECT_EQ(provider.AccessTokenFor(kDoctor), "access-2");
  EXPECT_EQ(token_calls_.load(), 1);
  EXPECT_EQ(provider.AccessTokenFor(kDoctor), "access-2");
  EXPECT_EQ(token_calls_.load(), 1);
  // The refresh sent the stored refresh token, opened from its sealed form.
  auto form = ParseQuery(transport_.requests()[0].body).value();
  EXPECT_EQ(FindValue(form, "refresh_token"), "refresh-1");
}

TEST_F(TokenProviderTest, HundredConcurrentCallersCauseOneRefresh) {
  transport_.On("POST", kToken, CountingTokenEndpoint(token_calls_, std::chrono::milliseconds(5)));
  TokenProvider provider(oauth_, store_, keys_, clock_);
  Connect(provider);
  clock_.Advance(seconds(3600));  // expired
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 100; ++i) {
    threads.emplace_back([&] {
      auto t = provider.AccessTokenFor(kDoctor);
      if (t && *t == "access-2") ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 100);
  EXPECT_EQ(token_calls_.load(), 1);
  EXPECT_EQ(provider.refreshes(), 1);
}

TEST_F(TokenProviderTest, InstancesSharingAStoreRefreshOnceThanksToTheRowLock) {
  transport_.On("POST", kToken, CountingTokenEndpoint(token_calls_, std::chrono::milliseconds(20)));
  TokenProvider first(oauth_, store_, keys_, clock_);
  Connect(first);
  clock_.Advance(seconds(3600));
  std::vector<std::unique_ptr<TokenProvider>> instances;
  for (int i = 0; i < 4; ++i) {
    instances.push_back(std::make_unique<TokenProvider>(oauth_, store_, keys_, clock_));
  }
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 40; ++i) {
    threads.emplace_back([&, i] {
      auto t = instances[i % instances.size()]->AccessTokenFor(kDoctor);
      if (t && *t == "access-2") ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 40);
  EXPECT_EQ(token_calls_.load(), 1);
  EXPECT_GE(store_.locks_taken(), 1);
}

TEST_F(TokenProviderTest, StoreNeverHoldsATokenInPlainText) {
  transport_.On("POST", kToken, CountingTokenEndpoint(token_calls_));
  TokenProvider provider(oauth_, store_, keys_, clock_);
  Connect(provider);
  clock_.Advance(seconds(3600));
  ASSERT_EQ(provider.AccessTokenFor(kDoctor), "access-2");
  auto writes = store_.writes();
  ASSERT_EQ(writes.size(), 2u);
  for (const StoredGrant& g : writes) {
    for (std::string secret : {"access-1", "access-2", "refresh-1"}) {
      for (std::string field :
           {g.sealed_access_token, g.sealed_refresh_token, g.account_email, g.reconnect_reason}) {
        EXPECT_EQ(field.find(secret), std::string::npos) << secret;
      }
    }
    EXPECT_EQ(g.sealed_refresh_token.rfind("k1.", 0), 0u);  // key id prefix for rotation
  }
  // Sealed values open only with the doctor's AAD and purpose.
  const StoredGrant& last = writes.back();
  EXPECT_EQ(keys_.Open(last.sealed_refresh_token, GrantAad(kDoctor, kRefreshTokenPurpose)),
            "refresh-1");  // Google sent no new one: the old refresh token is kept
  EXPECT_EQ(keys_.Open(last.sealed_access_token, GrantAad(kDoctor, kAccessTokenPurpose)),
            "access-2");
  EXPECT_FALSE(keys_.Open(last.sealed_refresh_token, GrantAad("doc-7", kRefreshTokenPurpose)));
  EXPECT_FALSE(keys_.Open(last.sealed_refresh_token, GrantAad(kDoctor, kAccessTokenPurpose)));
}

TEST_F(TokenProviderTest, InvalidGrantMarksTheGrantDeadAndNeedsReconnect) {
  transport_.On("POST", kToken,
                OAuthError(400, "invalid_grant", "Token has been expired or revoked."));
  TokenProvider provider(oauth_, store_, keys_, clock_);
  Connect(provider);
  clock_.Advance(seconds(3600));
  auto t = provider.AccessTokenFor(kDoctor);
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().kind(), ErrorKind::kNeedsReconnect);
  EXPECT_EQ(t.error().reason(), "invalid_grant");
  EXPECT_EQ(t.error().message(), "Token has been expired or revoked.");
  auto stored = store_.LoadGrant(kDoctor);
  ASSERT_TRUE(stored && *stored);
  EXPECT_TRUE((*stored)->needs_reconnect);
  EXPECT_EQ((*stored)->reconnect_reason, "Token has been expired or revoked.");
  // Later calls, from any instance, do not go back to Google.
  TokenProvider other(oauth_, store_, keys_, clock_);
  EXPECT_EQ(other.AccessTokenFor(kDoctor).error().kind(), ErrorKind::kNeedsReconnect);
  EXPECT_EQ(provider.AccessTokenFor(kDoctor).error().kind(), ErrorKind::kNeedsReconnect);
  EXPECT_EQ(transport_.Count("POST", kToken), 1);
  // Reconnecting clears the mark.
  Connect(provider);
  EXPECT_EQ(other.AccessTokenFor(kDoctor), "access-1");
}

TEST_F(TokenProviderTest, TransientRefreshFailureDoesNotKillTheGrant) {
  transport_.On("POST", kToken, OAuthError(503, "unavailable", "x"));
  TokenProvider provider(oauth_, store_, keys_, clock_);
  Connect(provider);
  clock_.Advance(seconds(3600));
  auto t = provider.AccessTokenFor(kDoctor);
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().kind(), ErrorKind::kServer);
  EXPECT_FALSE((*store_.LoadGrant(kDoctor))->needs_reconnect);
}

TEST_F(TokenProviderTest, InvalidClientIsOurConfigurationNotTheDoctors) {
  transport_.On("POST", kToken, OAuthError(401, "invalid_client", "Unauthorized"));
  TokenProvider provider(oauth_, store_, keys_, clock_);
  Connect(provider);
  clock_.Advance(seconds(3600));
  EXPECT_EQ(provider.AccessTokenFor(kDoctor).error().kind(), ErrorKind::kInvalidClient);
  EXPECT_FALSE((*store_.LoadGrant(kDoctor))->needs_reconnect);
}

TEST_F(TokenProviderTest, UnknownDoctorIsNotConnected) {
  TokenProvider provider(oauth_, store_, keys_, clock_);
  EXPECT_EQ(provider.AccessTokenFor("nobody").error().kind(), ErrorKind::kNotConnected);
  store_.set_fail_loads(true);
  EXPECT_EQ(provider.AccessTokenFor("nobody").error().kind(), ErrorKind::kStore);
}

TEST_F(TokenProviderTest, RejectionForcesOneRefreshEvenForAFreshToken) {
  transport_.On("POST", kToken, CountingTokenEndpoint(token_calls_));
  TokenProvider provider(oauth_, store_, keys_, clock_);
  Connect(provider);
  EXPECT_EQ(provider.RefreshAfterRejection(kDoctor, "access-1"), "access-2");
  // A second caller that also saw access-1 rejected gets access-2 without a new refresh.
  EXPECT_EQ(provider.RefreshAfterRejection(kDoctor, "access-1"), "access-2");
  // Another instance whose cache still held access-1 finds access-2 in the store.
  TokenProvider other(oauth_, store_, keys_, clock_);
  EXPECT_EQ(other.RefreshAfterRejection(kDoctor, "access-1"), "access-2");
  EXPECT_EQ(token_calls_.load(), 1);
}

TEST_F(TokenProviderTest, CalendarUnauthorizedRefreshesThroughTheProvider) {
  transport_.On("POST", kToken, CountingTokenEndpoint(token_calls_));
  const std::string primary = "https://api.test/calendar/v3/calendars/primary";
  transport_.On("GET", primary, testing::ApiError(401, "authError", "Invalid Credentials"))
      .On("GET", primary, Json(200, {{"id", "dr.who@example.com"}}));
  TokenProvider provider(oauth_, store_, keys_, clock_);
  Connect(provider);
  CalendarClient calendar(CalendarOptions{.base_url = "https://api.test"},
                          CalendarDeps{.transport = transport_,
                                       .tokens = provider,
                                       .retry = retry_,
                                       .clock = clock_,
                                       .sleeper = sleeper_});
  auto info = calendar.PrimaryCalendar(kDoctor);
  ASSERT_TRUE(info.has_value()) << info.error().ToString();
  EXPECT_EQ(info->id, "dr.who@example.com");
  EXPECT_EQ(token_calls_.load(), 1);
  auto reqs = transport_.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].headers.Get("Authorization"), "Bearer access-1");
  EXPECT_EQ(reqs[2].headers.Get("Authorization"), "Bearer access-2");
}

TEST_F(TokenProviderTest, MarkNeedsReconnectStopsEveryInstance) {
  TokenProvider provider(oauth_, store_, keys_, clock_);
  Connect(provider);
  provider.MarkNeedsReconnect(
      kDoctor, GoogleError(ErrorKind::kScopeNotGranted, "Insufficient Permission", 403));
  auto t = provider.AccessTokenFor(kDoctor);
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().kind(), ErrorKind::kNeedsReconnect);
  EXPECT_EQ(t.error().message(), "Insufficient Permission");
  TokenProvider other(oauth_, store_, keys_, clock_);
  EXPECT_EQ(other.AccessTokenFor(kDoctor).error().kind(), ErrorKind::kNeedsReconnect);
  EXPECT_TRUE(transport_.requests().empty());
}

TEST_F(TokenProviderTest, DisconnectRevokesAtGoogleAndForgetsTheGrant) {
  const std::string revoke = "https://oauth2.googleapis.com/revoke";
  transport_.On("POST", revoke, testing::Text(200, "{}"));
  TokenProvider provider(oauth_, store_, keys_, clock_);
  Connect(provider);
  ASSERT_TRUE(provider.Disconnect(kDoctor));
  ASSERT_EQ(transport_.Count("POST", revoke), 1);
  EXPECT_EQ(FindValue(ParseQuery(transport_.requests()[0].body).value(), "token"), "refresh-1");
  EXPECT_FALSE(store_.LoadGrant(kDoctor).value().has_value());
  EXPECT_EQ(provider.AccessTokenFor(kDoctor).error().kind(), ErrorKind::kNotConnected);
}

TEST_F(TokenProviderTest, DisconnectDeletesTheGrantEvenWhenGoogleIsDown) {
  const std::string revoke = "https://oauth2.googleapis.com/revoke";
  transport_.On("POST", revoke, testing::TransportError(ErrorCode::kUnavailable));
  TokenProvider provider(oauth_, store_, keys_, clock_);
  Connect(provider);
  auto r = provider.Disconnect(kDoctor);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind(), ErrorKind::kTransport);
  EXPECT_FALSE(store_.LoadGrant(kDoctor).value().has_value());
}

}  // namespace
}  // namespace telemeet::google
