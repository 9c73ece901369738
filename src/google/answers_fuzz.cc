#include "google/answers_fuzz.h"

#include <cstdlib>

#include "google/calendar_client.h"
#include "google/event.h"
#include "google/google_error.h"
#include "google/oauth_client.h"
#include "net/testing/http_text.h"

namespace telemeet::google {
namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

// A parser's refusal: always the one kind, with words for the log.
void CheckRefusal(const GoogleError& e) {
  Check(e.kind() == ErrorKind::kBadResponse);
  Check(!e.message().empty());
}

void CheckEvent(const Event& e) {
  Check(!e.id.empty());
  const std::string& url = e.conference.join_url;
  if (!url.empty()) {
    Check(e.conference.status == ConferenceStatus::kSuccess);
    Check(url.starts_with("https://") && url.size() > 8);
  }
}

}  // namespace

void FuzzGoogleAnswer(std::string_view text) {
  const net::HttpText http = net::SplitHttpText(text);
  HttpResponse response{.status = net::StatusOf(http.start_line).value_or(500),
                        .headers = http.headers,
                        .body = http.body};
  const Instant now = FromUnixSeconds(1'780'000'000);  // 2026-05-28

  GoogleError error = GoogleError::FromResponse(response, now);
  Check(error.http_status() == response.status);
  Check(ErrorKindName(error.kind()) != "unknown");
  Check(!error.ToString().empty());
  Check(!error.ToError().message().empty());
  if (auto ra = error.retry_after()) Check(ra->count() >= 0);
  if (error.NeedsReconnect()) Check(!error.IsRetriable());

  if (auto event = ParseEvent(response.body)) {
    CheckEvent(*event);
  } else {
    CheckRefusal(event.error());
  }
  if (auto page = ParseEventPage(response.body)) {
    for (const Event& e : page->items) CheckEvent(e);
  } else {
    CheckRefusal(page.error());
  }
  if (auto grant = ParseTokenAnswer(response.body, now)) {
    Check(!grant->access_token.empty());
    Check(grant->expires_at > now && grant->expires_at <= now + std::chrono::hours(24));
    for (const std::string& s : grant->scopes) Check(!s.empty() && s.find(' ') == s.npos);
  } else {
    CheckRefusal(grant.error());
  }
  if (auto busy = ParseFreeBusy(response.body); !busy) CheckRefusal(busy.error());
  if (auto channel = ParseChannel(response.body)) {
    Check(!channel->resource_id.empty());
    if (channel->expiration) Check(channel->expiration->time_since_epoch().count() > 0);
  } else {
    CheckRefusal(channel.error());
  }
  if (auto calendar = ParseCalendarInfo(response.body)) {
    Check(!calendar->id.empty());
  } else {
    CheckRefusal(calendar.error());
  }
}

}  // namespace telemeet::google
