#include "google/push.h"

#include <charconv>

namespace telemeet::google {
namespace {

constexpr std::string_view kChannelId = "X-Goog-Channel-ID";
constexpr std::string_view kResourceState = "X-Goog-Resource-State";
constexpr std::string_view kChannelToken = "X-Goog-Channel-Token";
constexpr std::string_view kResourceId = "X-Goog-Resource-ID";
constexpr std::string_view kMessageNumber = "X-Goog-Message-Number";

bool Visible(std::string_view s) {
  for (char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

std::unexpected<Error> Invalid(std::string_view header, std::string_view rule) {
  return Fail(ErrorCode::kInvalidArgument, std::string(header) + " " + std::string(rule),
              std::string(header));
}

// A required header of 1-`max` visible characters.
Result<std::string> Required(const net::Headers& headers, std::string_view name, size_t max) {
  std::optional<std::string> v = headers.Get(name);
  if (!v || v->empty()) return Invalid(name, "is required");
  if (v->size() > max || !Visible(*v)) {
    return Invalid(name, "must be 1-" + std::to_string(max) + " visible ASCII characters");
  }
  return std::move(*v);
}

// An optional header of at most `max` visible characters; "" when absent.
Result<std::string> Optional(const net::Headers& headers, std::string_view name, size_t max) {
  std::string v = headers.Get(name).value_or("");
  if (v.size() > max || !Visible(v)) {
    return Invalid(name, "must be at most " + std::to_string(max) + " visible ASCII characters");
  }
  return v;
}

}  // namespace

Result<PushNotification> ParsePushNotification(const net::Headers& headers) {
  PushNotification n;
  // Google's limits: channel ids 64 characters, tokens 256 (google-protocol.md §9).
  n.channel_id = TM_TRY(Required(headers, kChannelId, 64));
  n.state_name = TM_TRY(Required(headers, kResourceState, 64));
  n.token = TM_TRY(Optional(headers, kChannelToken, 256));
  n.resource_id = TM_TRY(Optional(headers, kResourceId, 256));
  if (n.state_name == "sync") {
    n.state = ResourceState::kSync;
  } else if (n.state_name == "exists") {
    n.state = ResourceState::kExists;
  } else if (n.state_name == "not_exists") {
    n.state = ResourceState::kNotExists;
  }
  if (std::optional<std::string> number = headers.Get(kMessageNumber)) {
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(number->data(), number->data() + number->size(), v);
    if (number->empty() || ec != std::errc() || end != number->data() + number->size()) {
      return Invalid(kMessageNumber, "must be a decimal number below 2^64");
    }
    n.message_number = v;
  }
  return n;
}

}  // namespace telemeet::google
