// Failed sign-ins counted in memory, per client address and per account, so that guessing
// passwords is slow and an attacker cannot lock the real user out.
//
//   LoginThrottle throttle;
//   auto attempt = throttle.Begin(req.remote_address, email, device_cookie, now);
//   if (!attempt.allowed) return 429 "try again in <attempt.retry_after>";
//   bool ok = VerifyPassword(...);                     // the attempt is counted already
//   ok ? throttle.Succeeded(attempt, now) : throttle.Failed(attempt, now);
//
// The rules:
//   - per address first: `address_failures` failures from one address within `window` refuse
//     every sign-in from it until the window ends;
//   - per account: after `free_failures` failures in a row, each further attempt must wait a
//     delay that doubles from `first_delay` up to `max_delay`: growing delays, never a lockout;
//   - a browser that signed in to the account before carries a device cookie (DeviceCookie)
//     and is counted on its own, not on the account nor its address: an attacker hammering an
//     account, or sharing the owner's address (a NAT, a proxy), keeps strangers waiting, never
//     the owner's browser;
//   - each attempt is counted in Begin, before the password is checked, so guesses sent in
//     parallel cannot slip through together; Succeeded takes the count back.
// Nothing here is stored: an unauthenticated caller can add no row. Memory is bounded by
// `max_entries` per table: quiet entries are dropped first, then those holding nobody back; an
// entry that makes someone wait is never dropped, and when only such entries remain a new key
// is refused (fail closed) rather than counted nowhere. IPv6 clients count per /64.
// With several instances each counts on its own (README: sign-in throttling).
//
// Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "base/clock.h"

namespace telemeet::api {

struct LoginThrottleOptions {
  int address_failures = 20;
  std::chrono::seconds window{std::chrono::minutes(15)};
  int free_failures = 5;
  std::chrono::seconds first_delay{5};
  std::chrono::seconds max_delay{std::chrono::minutes(5)};
  size_t max_entries = 100'000;
};

class LoginThrottle {
 public:
  explicit LoginThrottle(LoginThrottleOptions options = {});

  struct Attempt {
    bool allowed = false;
    std::chrono::seconds retry_after{0};  // when refused
    bool by_address = false;              // refused for the address (else for the account)
    std::string address_key;
    std::string account_key;  // "account:<email>" or "device:<nonce>"
  };

  // Counts an attempt to sign in to `email` (lowercased by the caller) from `address`.
  // `device_cookie` is the caller's device cookie, or empty.
  Attempt Begin(std::string_view address, std::string_view email, std::string_view device_cookie,
                Instant now);
  void Succeeded(const Attempt& attempt, Instant now);
  void Failed(const Attempt& attempt, Instant now);

  // A new device cookie value for `email`: a random nonce and its MAC under this process's key.
  std::string DeviceCookie(std::string_view email) const;

  // Entries held (for tests of the memory bound).
  size_t size() const;

 private:
  struct Entry {
    int failures = 0;
    Instant first{};    // start of the address window
    Instant last{};     // last attempt
    Instant next_at{};  // accounts: no attempt before this
  };
  bool ValidDevice(std::string_view cookie, std::string_view email, std::string* nonce) const;
  std::chrono::seconds Delay(int failures) const;
  // False when `table` is full of entries that hold someone back (failures >= holds_at, or a
  // delay running); then a new key is refused rather than left uncounted.
  bool MakeRoom(std::map<std::string, Entry, std::less<>>& table, int holds_at, Instant now);
  // The key of a client address: itself, an IPv6 address as its /64.
  static std::string AddressKey(std::string_view address);

  const LoginThrottleOptions options_;
  const std::string key_;  // MAC key of device cookies; a restart forgets counts and devices
  mutable std::mutex mu_;
  std::map<std::string, Entry, std::less<>> addresses_;  // guarded by mu_
  std::map<std::string, Entry, std::less<>> accounts_;   // guarded by mu_
};

}  // namespace telemeet::api
