// A thread that runs one pass of background work again and again: at once while a pass says it
// did some work, otherwise after `idle` or a Nudge(), whichever comes first.
//
//   BackgroundLoop loop([&] { return RunDue().value_or(0) > 0; }, options.poll_interval);
//   loop.Start();
//   loop.Nudge();  // new work: run a pass now
//   loop.Stop();   // lets the pass in hand finish, then joins
//
// Thread safety: Nudge from any thread; Start and Stop from one controlling thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace telemeet {

class BackgroundLoop {
 public:
  // `pass` returns true when it did work (the next pass runs at once).
  BackgroundLoop(std::function<bool()> pass, std::chrono::milliseconds idle);
  ~BackgroundLoop();  // Stop()
  BackgroundLoop(const BackgroundLoop&) = delete;
  BackgroundLoop& operator=(const BackgroundLoop&) = delete;

  void Start();  // no-op when running
  void Nudge();
  void Stop();  // no-op when stopped; Start may follow

 private:
  void Run();

  const std::function<bool()> pass_;
  const std::chrono::milliseconds idle_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool nudged_ = false;    // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace telemeet
