#include "base/background_loop.h"

#include <utility>

namespace telemeet {

BackgroundLoop::BackgroundLoop(std::function<bool()> pass, std::chrono::milliseconds idle)
    : pass_(std::move(pass)), idle_(idle) {}

BackgroundLoop::~BackgroundLoop() { Stop(); }

void BackgroundLoop::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void BackgroundLoop::Nudge() {
  {
    std::lock_guard lock(mu_);
    nudged_ = true;
  }
  cv_.notify_one();
}

void BackgroundLoop::Stop() {
  std::thread t;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    t = std::move(thread_);
  }
  cv_.notify_all();
  if (t.joinable()) t.join();
}

void BackgroundLoop::Run() {
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      nudged_ = false;  // a nudge from here on asks for another pass
    }
    if (pass_()) continue;
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, idle_, [&] { return stopping_ || nudged_; });
  }
}

}  // namespace telemeet
