// Google's push notifications for a watched calendar (google-protocol.md §9): an empty POST
// whose X-Goog-* headers say which channel fired and why. Read in one place, so that every
// header a stranger can send is checked by the same rules before anything looks it up.
//
//   Result<PushNotification> n = ParsePushNotification(request.headers);
//   if (!n) return net::Response::Empty(400);  // n.error().field() names the header
//   if (n->state == ResourceState::kSync) ...  // the channel is open; nothing changed yet
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "net/http.h"

namespace telemeet::google {

// X-Goog-Resource-State. Google lists sync, exists and not_exists for calendars; a state it may
// add later is kOther, which a receiver treats as "something changed".
enum class ResourceState { kSync, kExists, kNotExists, kOther };

struct PushNotification {
  std::string channel_id{};  // X-Goog-Channel-ID: 1-64 visible ASCII characters
  ResourceState state = ResourceState::kOther;
  std::string state_name{};   // X-Goog-Resource-State as sent: 1-64 visible ASCII characters
  std::string token{};        // X-Goog-Channel-Token: at most 256 characters; "" when absent
  std::string resource_id{};  // X-Goog-Resource-ID: at most 256 characters; "" when absent
  std::optional<uint64_t> message_number{};  // X-Goog-Message-Number: decimal, when sent
};

// kInvalidArgument, naming the header as the field, when X-Goog-Channel-ID or
// X-Goog-Resource-State is missing, or when any of the headers above breaks its rule (too long,
// control characters, a message number that is not a decimal uint64).
Result<PushNotification> ParsePushNotification(const net::Headers& headers);

}  // namespace telemeet::google
