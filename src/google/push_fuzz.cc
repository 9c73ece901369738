#include "google/push_fuzz.h"

#include <cstdlib>

#include "google/push.h"
#include "net/testing/http_text.h"

namespace telemeet::google {
namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

bool Visible(std::string_view s) {
  for (char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

}  // namespace

void FuzzPushNotification(std::string_view text) {
  const net::HttpText http = net::SplitHttpText(text);
  Result<PushNotification> n = ParsePushNotification(http.headers);
  if (!n) {
    Check(n.error().code() == ErrorCode::kInvalidArgument);
    Check(n.error().field().starts_with("X-Goog-"));
    Check(!n.error().message().empty());
    return;
  }
  Check(!n->channel_id.empty() && n->channel_id.size() <= 64 && Visible(n->channel_id));
  Check(n->token.size() <= 256 && Visible(n->token));
  Check(n->resource_id.size() <= 256 && Visible(n->resource_id));
  Check((n->state == ResourceState::kSync) == (n->state_name == "sync"));
  Check((n->state == ResourceState::kExists) == (n->state_name == "exists"));
  Check((n->state == ResourceState::kNotExists) == (n->state_name == "not_exists"));

  // Written back as Google would send it, it reads the same.
  net::Headers again;
  again.Set("X-Goog-Channel-ID", n->channel_id);
  again.Set("X-Goog-Resource-State", n->state_name);
  if (!n->token.empty()) again.Set("X-Goog-Channel-Token", n->token);
  if (!n->resource_id.empty()) again.Set("X-Goog-Resource-ID", n->resource_id);
  if (n->message_number) again.Set("X-Goog-Message-Number", std::to_string(*n->message_number));
  Result<PushNotification> m = ParsePushNotification(again);
  Check(m.has_value());
  Check(m->channel_id == n->channel_id && m->state == n->state && m->token == n->token &&
        m->resource_id == n->resource_id && m->message_number == n->message_number);
}

}  // namespace telemeet::google
