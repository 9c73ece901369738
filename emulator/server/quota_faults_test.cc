#include <gtest/gtest.h>

#include "emulator/server/faults.h"
#include "emulator/server/quota.h"
#include "net/json.h"

namespace telemeet::emulator {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(SlidingWindowTest, ForgetsWhatIsOlderThanAMinute) {
  FakeClock clock;
  SlidingWindow w;
  w.Add(clock.Now(), 2);
  clock.Advance(seconds(30));
  w.Add(clock.Now(), 3);
  EXPECT_EQ(w.Count(clock.Now()), 5);
  clock.Advance(seconds(30));  // the first charge is now a minute old
  EXPECT_EQ(w.Count(clock.Now()), 3);
  clock.Advance(seconds(29) + milliseconds(800));
  EXPECT_EQ(w.Count(clock.Now()), 3);
  clock.Advance(milliseconds(200));
  EXPECT_EQ(w.Count(clock.Now()), 0);
}

TEST(QuotaLimiterTest, PerUserThenPerProject) {
  FakeClock clock;
  QuotaLimiter q(clock, {.per_user = 3, .per_project = 5, .status = 403, .retry_after_seconds = 0});
  EXPECT_FALSE(q.Charge("a", 1));
  EXPECT_FALSE(q.Charge("a", 2));
  EXPECT_EQ(q.Charge("a", 1), QuotaExceeded::kUser);
  EXPECT_FALSE(q.Charge("b", 1));
  EXPECT_FALSE(q.Charge("", 1));  // unauthenticated: project only
  EXPECT_EQ(q.Charge("c", 1), QuotaExceeded::kProject);
  clock.Advance(seconds(60));
  EXPECT_FALSE(q.Charge("a", 3));
}

TEST(QuotaLimiterTest, ZeroIsUnlimitedAndRejectedCallsAreNotCounted) {
  FakeClock clock;
  QuotaLimiter q(clock, {.per_user = 0, .per_project = 0, .status = 403, .retry_after_seconds = 0});
  for (int i = 0; i < 100'000; ++i) ASSERT_FALSE(q.Charge("a", 1));
  q.SetOptions({.per_user = 2, .per_project = 0, .status = 403, .retry_after_seconds = 0});
  q.Reset();
  EXPECT_FALSE(q.Charge("a", 2));
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(q.Charge("a", 1));
  clock.Advance(seconds(60));
  EXPECT_FALSE(q.Charge("a", 2));  // the rejected ones did not stretch the window
}

TEST(QuotaErrorTest, GoogleShapes) {
  QuotaOptions o;
  net::Response user = QuotaError(QuotaExceeded::kUser, o);
  EXPECT_EQ(user.status, 403);
  auto j = *net::ParseJson(user.body);
  EXPECT_EQ(j["error"]["errors"][0]["domain"], "usageLimits");
  EXPECT_EQ(j["error"]["errors"][0]["reason"], "userRateLimitExceeded");
  EXPECT_EQ(j["error"]["errors"][0]["message"], "User Rate Limit Exceeded");
  EXPECT_FALSE(user.headers.Has("Retry-After"));
  o.status = 429;
  o.retry_after_seconds = 30;
  net::Response project = QuotaError(QuotaExceeded::kProject, o);
  EXPECT_EQ(project.status, 429);
  j = *net::ParseJson(project.body);
  EXPECT_EQ(j["error"]["errors"][0]["reason"], "rateLimitExceeded");
  EXPECT_EQ(j["error"]["status"], "RESOURCE_EXHAUSTED");
  EXPECT_EQ(project.headers.Get("Retry-After"), "30");
}

TEST(FaultInjectorTest, NextNMatchingRequests) {
  FaultInjector f;
  f.Add({.method = "POST",
         .path_prefix = "/calendar/v3/",
         .kind = FaultKind::kUnavailable,
         .fraction = 0,
         .next = 2,
         .delay = milliseconds(0),
         .after = false});
  EXPECT_FALSE(f.Pick("GET", "/calendar/v3/x"));
  EXPECT_FALSE(f.Pick("POST", "/token"));
  auto first = f.Pick("POST", "/calendar/v3/x");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->kind, FaultKind::kUnavailable);
  EXPECT_TRUE(f.Pick("POST", "/calendar/v3/y"));
  EXPECT_FALSE(f.Pick("POST", "/calendar/v3/z"));
  EXPECT_TRUE(f.rules().empty());  // spent
}

TEST(FaultInjectorTest, FractionIsSeededAndRepeatable) {
  auto pattern = [](uint64_t seed) {
    FaultInjector f(seed);
    f.Add({.method = "",
           .path_prefix = "",
           .kind = FaultKind::kBackendError,
           .fraction = 0.3,
           .next = 0,
           .delay = milliseconds(0),
           .after = false});
    std::string out;
    for (int i = 0; i < 200; ++i) out.push_back(f.Pick("GET", "/x") ? 'x' : '.');
    return out;
  };
  std::string a = pattern(7);
  EXPECT_EQ(a, pattern(7));
  EXPECT_NE(a, pattern(8));
  auto failures = std::count(a.begin(), a.end(), 'x');
  EXPECT_GT(failures, 30);
  EXPECT_LT(failures, 90);
  FaultInjector f(7);
  f.Add({.method = "",
         .path_prefix = "",
         .kind = FaultKind::kBackendError,
         .fraction = 0.3,
         .next = 0,
         .delay = milliseconds(0),
         .after = false});
  for (int i = 0; i < 50; ++i) (void)f.Pick("GET", "/x");
  f.Reseed(7);
  std::string again;
  for (int i = 0; i < 200; ++i) again.push_back(f.Pick("GET", "/x") ? 'x' : '.');
  EXPECT_EQ(again, a);
}

TEST(FaultResponseTest, Kinds) {
  FaultRule r;
  r.kind = FaultKind::kBackendError;
  auto e500 = FaultResponse(r);
  EXPECT_EQ(e500.status, 500);
  EXPECT_EQ((*net::ParseJson(e500.body))["error"]["errors"][0]["reason"], "backendError");
  EXPECT_EQ((*net::ParseJson(e500.body))["error"]["message"], "Backend Error");
  r.kind = FaultKind::kUnavailable;
  EXPECT_EQ(FaultResponse(r).status, 503);
  r.kind = FaultKind::kTimeout;
  r.delay = milliseconds(1234);
  auto t = FaultResponse(r);
  EXPECT_EQ(t.delay, milliseconds(1234));
  EXPECT_TRUE(t.reset_connection);
  r.kind = FaultKind::kReset;
  auto reset = FaultResponse(r);
  EXPECT_TRUE(reset.reset_connection);
  EXPECT_EQ(reset.delay, milliseconds(0));
}

TEST(FaultRuleJsonTest, RoundTripAndErrors) {
  auto rule = FaultRuleFromJson({{"method", "PATCH"},
                                 {"pathPrefix", "/calendar/v3/"},
                                 {"kind", "timeout"},
                                 {"next", 1},
                                 {"delayMs", 50},
                                 {"after", true}});
  ASSERT_TRUE(rule);
  EXPECT_EQ(rule->kind, FaultKind::kTimeout);
  EXPECT_EQ(rule->delay, milliseconds(50));
  EXPECT_TRUE(rule->after);
  auto back = FaultRuleFromJson(FaultRuleToJson(*rule));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->path_prefix, "/calendar/v3/");
  EXPECT_EQ(FaultRuleFromJson({{"kind", "explode"}, {"next", 1}}).error().field(), "kind");
  EXPECT_EQ(FaultRuleFromJson({{"kind", "reset"}, {"fraction", 2}}).error().field(), "fraction");
  EXPECT_EQ(FaultRuleFromJson({{"kind", "reset"}, {"next", 1}, {"colour", "red"}}).error().field(),
            "colour");
  EXPECT_EQ(FaultRuleFromJson({{"kind", "reset"}}).error().field(), "fraction");
  EXPECT_FALSE(FaultRuleFromJson(nlohmann::json::array()));
}

}  // namespace
}  // namespace telemeet::emulator
