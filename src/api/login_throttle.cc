#include "api/login_throttle.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace telemeet::api {

namespace {

std::chrono::seconds Until(Instant later, Instant now) {
  auto d = std::chrono::ceil<std::chrono::seconds>(later - now);
  return std::max(d, std::chrono::seconds(1));
}

}  // namespace

LoginThrottle::LoginThrottle(LoginThrottleOptions options)
    : options_(options), key_(crypto::RandomBytes(32)) {}

std::string LoginThrottle::DeviceCookie(std::string_view email) const {
  std::string nonce = crypto::RandomToken(16);
  return nonce + "." +
         crypto::HexEncode(crypto::HmacSha256(key_, std::string(email) + "\n" + nonce));
}

bool LoginThrottle::ValidDevice(std::string_view cookie, std::string_view email,
                                std::string* nonce) const {
  size_t dot = cookie.find('.');
  if (dot == std::string_view::npos || cookie.size() > 256) return false;
  std::string_view n = cookie.substr(0, dot);
  std::string want =
      crypto::HexEncode(crypto::HmacSha256(key_, std::string(email) + "\n" + std::string(n)));
  if (!crypto::ConstantTimeEquals(cookie.substr(dot + 1), want)) return false;
  *nonce = std::string(n);
  return true;
}

std::chrono::seconds LoginThrottle::Delay(int failures) const {
  if (failures < options_.free_failures) return std::chrono::seconds(0);
  int doublings = std::min(failures - options_.free_failures, 20);
  return std::min(options_.first_delay * (int64_t{1} << doublings), options_.max_delay);
}

bool LoginThrottle::MakeRoom(std::map<std::string, Entry, std::less<>>& table, int holds_at,
                             Instant now) {
  if (table.size() < options_.max_entries) return true;
  // Forgotten first: entries quiet for a whole window; then those that hold nobody back yet.
  // Never one that makes someone wait: that would let a flood of new keys lift a delay.
  std::erase_if(table, [&](const auto& e) {
    return now - e.second.last >= options_.window && now >= e.second.next_at;
  });
  if (table.size() < options_.max_entries) return true;
  std::erase_if(table, [&](const auto& e) {
    return e.second.failures < holds_at && now >= e.second.next_at;
  });
  return table.size() < options_.max_entries;
}

std::string LoginThrottle::AddressKey(std::string_view address) {
  // An IPv6 client holds a /64 at least: counted per /64, or one host would be 2^64 addresses.
  in6_addr a6{};
  std::string text(address);
  if (inet_pton(AF_INET6, text.c_str(), &a6) != 1) return text;
  if (IN6_IS_ADDR_V4MAPPED(&a6)) return text;
  std::fill(a6.s6_addr + 8, a6.s6_addr + 16, 0);
  char out[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(AF_INET6, &a6, out, sizeof(out)) == nullptr) return text;
  return std::string(out) + "/64";
}

LoginThrottle::Attempt LoginThrottle::Begin(std::string_view address, std::string_view email,
                                            std::string_view device_cookie, Instant now) {
  Attempt a;
  a.address_key = AddressKey(address);
  std::string nonce;
  a.account_key = !device_cookie.empty() && ValidDevice(device_cookie, email, &nonce)
                      ? "device:" + nonce
                      : "account:" + std::string(email);
  const bool known_device = a.account_key.starts_with("device:");
  std::lock_guard lock(mu_);
  // The address first: one source spraying many accounts is stopped whatever the accounts. Not
  // the owner's browser: behind a NAT or a proxy an attacker may share its address.
  auto at = addresses_.find(a.address_key);
  if (at != addresses_.end() && now - at->second.first >= options_.window) {
    addresses_.erase(at);
    at = addresses_.end();
  }
  if (!known_device && at != addresses_.end() && at->second.failures >= options_.address_failures) {
    a.by_address = true;
    a.retry_after = Until(at->second.first + options_.window, now);
    return a;
  }
  auto ac = accounts_.find(a.account_key);
  if (ac != accounts_.end() && now - ac->second.last >= options_.window &&
      now >= ac->second.next_at) {
    accounts_.erase(ac);  // quiet for a whole window: start afresh
    ac = accounts_.end();
  }
  if (ac != accounts_.end() && now < ac->second.next_at) {
    a.retry_after = Until(ac->second.next_at, now);
    return a;
  }
  // Counted as a failure now; Succeeded takes it back. With the tables full of entries that
  // hold someone back (a flood from very many addresses), a new one is refused, not untracked.
  if ((at == addresses_.end() && !MakeRoom(addresses_, options_.address_failures, now)) ||
      (ac == accounts_.end() && !MakeRoom(accounts_, options_.free_failures, now))) {
    a.retry_after = std::chrono::seconds(60);
    return a;
  }
  at = addresses_.find(a.address_key);  // MakeRoom may have erased entries
  if (at == addresses_.end()) at = addresses_.emplace(a.address_key, Entry{.first = now}).first;
  at->second.failures++;
  at->second.last = now;
  ac = accounts_.find(a.account_key);
  if (ac == accounts_.end()) ac = accounts_.emplace(a.account_key, Entry{.first = now}).first;
  ac->second.failures++;
  ac->second.last = now;
  ac->second.next_at = now + Delay(ac->second.failures);
  a.allowed = true;
  return a;
}

void LoginThrottle::Succeeded(const Attempt& attempt, Instant now) {
  std::lock_guard lock(mu_);
  if (auto at = addresses_.find(attempt.address_key); at != addresses_.end()) {
    if (--at->second.failures <= 0) addresses_.erase(at);
  }
  accounts_.erase(attempt.account_key);
  (void)now;
}

void LoginThrottle::Failed(const Attempt& attempt, Instant now) {
  std::lock_guard lock(mu_);
  // The delay runs from the answer, not from the start of the (slow) password check.
  if (auto ac = accounts_.find(attempt.account_key); ac != accounts_.end()) {
    ac->second.last = now;
    ac->second.next_at = std::max(ac->second.next_at, now + Delay(ac->second.failures));
  }
}

size_t LoginThrottle::size() const {
  std::lock_guard lock(mu_);
  return addresses_.size() + accounts_.size();
}

}  // namespace telemeet::api
