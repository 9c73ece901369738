#include "google/batch_fuzz.h"

#include <cstdlib>

#include "google/calendar_client.h"
#include "google/event.h"
#include "google/google_error.h"
#include "net/testing/http_text.h"

namespace telemeet::google {
namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

size_t Count(std::string_view text, std::string_view needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != text.npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

void FuzzGoogleBatchAnswer(std::string_view text) {
  const net::HttpText http = net::SplitHttpText(text);
  const std::string content_type = http.headers.Get("Content-Type").value_or("");
  auto parts = DecodeBatch(content_type, http.body);
  if (!parts) {
    Check(parts.error().kind() == ErrorKind::kBadResponse);
    Check(!parts.error().message().empty());
    return;
  }
  Check(parts->size() <= Count(http.body, "--"));
  const Instant now = FromUnixSeconds(1'780'000'000);
  for (const HttpResponse& part : *parts) {
    Check(part.status >= 100 && part.status <= 599);
    if (part.status >= 200 && part.status < 300) {
      if (auto event = ParseEvent(part.body)) {
        Check(!event->id.empty());
      } else {
        Check(event.error().kind() == ErrorKind::kBadResponse);
      }
    } else {
      GoogleError error = GoogleError::FromResponse(part, now);
      Check(error.http_status() == part.status);
      if (auto ra = error.retry_after()) Check(ra->count() >= 0);
    }
  }
}

}  // namespace telemeet::google
