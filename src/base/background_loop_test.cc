#include "base/background_loop.h"

#include <gtest/gtest.h>

#include <atomic>

namespace telemeet {
namespace {

using namespace std::chrono_literals;

// Waits up to 10 s for `done`.
template <typename F>
bool Eventually(F done) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!done() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  return done();
}

TEST(BackgroundLoopTest, PassesRepeatAtOnceWhileThereIsWork) {
  std::atomic<int> passes{0};
  // Three passes find work; then the loop would idle for an hour.
  BackgroundLoop loop([&] { return ++passes <= 3; }, std::chrono::hours(1));
  loop.Start();
  ASSERT_TRUE(Eventually([&] { return passes.load() == 4; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(passes.load(), 4);  // idle now
  loop.Stop();
}

TEST(BackgroundLoopTest, ANudgeWakesAnIdleLoop) {
  std::atomic<int> passes{0};
  BackgroundLoop loop([&] { return ++passes < 0; }, std::chrono::hours(1));
  loop.Start();
  ASSERT_TRUE(Eventually([&] { return passes.load() == 1; }));
  loop.Nudge();
  ASSERT_TRUE(Eventually([&] { return passes.load() == 2; }));
  loop.Stop();
}

TEST(BackgroundLoopTest, AnIdleLoopRunsAgainAfterTheIdleTime) {
  std::atomic<int> passes{0};
  BackgroundLoop loop([&] { return ++passes < 0; }, 5ms);
  loop.Start();
  EXPECT_TRUE(Eventually([&] { return passes.load() >= 3; }));
}

TEST(BackgroundLoopTest, StopLetsThePassInHandFinishAndStartResumes) {
  std::atomic<bool> in_pass{false};
  std::atomic<int> finished{0};
  BackgroundLoop loop(
      [&] {
        in_pass = true;
        std::this_thread::sleep_for(50ms);
        ++finished;
        in_pass = false;
        return false;
      },
      std::chrono::hours(1));
  loop.Start();
  ASSERT_TRUE(Eventually([&] { return in_pass.load(); }));
  loop.Stop();
  EXPECT_EQ(finished.load(), 1);
  EXPECT_FALSE(in_pass.load());
  loop.Start();
  EXPECT_TRUE(Eventually([&] { return finished.load() == 2; }));
}

}  // namespace
}  // namespace telemeet
