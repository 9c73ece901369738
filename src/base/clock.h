// Time as a seam: code asks a Clock for "now" so tests can move time by hand.
//
//   FakeClock clock(FromUnixSeconds(1'700'000'000));
//   clock.Advance(std::chrono::minutes(55));   // the token is now 5 minutes from expiry
//
// A Clock is safe for concurrent use from multiple threads.
#pragma once

#include <atomic>
#include <chrono>

namespace telemeet {

using Instant = std::chrono::sys_time<std::chrono::microseconds>;

inline Instant FromUnixSeconds(std::int64_t s) { return Instant(std::chrono::seconds(s)); }
inline std::int64_t ToUnixSeconds(Instant t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
inline std::int64_t ToUnixMillis(Instant t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Instant Now() const = 0;
};

// The wall clock.
class SystemClock final : public Clock {
 public:
  Instant Now() const override {
    return std::chrono::time_point_cast<std::chrono::microseconds>(
        std::chrono::system_clock::now());
  }
  // A process-wide instance for wiring in main(); code receives it by reference.
  static SystemClock& Instance() {
    static SystemClock clock;
    return clock;
  }
};

// A clock that only moves when told to.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(Instant start = FromUnixSeconds(1'767'225'600))  // 2026-01-01T00:00:00Z
      : now_us_(start.time_since_epoch().count()) {}

  Instant Now() const override {
    return Instant(std::chrono::microseconds(now_us_.load(std::memory_order_acquire)));
  }
  void Advance(std::chrono::microseconds d) { now_us_.fetch_add(d.count()); }
  void Set(Instant t) { now_us_.store(t.time_since_epoch().count()); }

 private:
  std::atomic<std::int64_t> now_us_;
};

}  // namespace telemeet
