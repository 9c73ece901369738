// What the Google clients read from Google's successful answers, apart from the clients that
// send the requests: events lists, freeBusy, watch channels, calendars, token grants and
// multipart batch answers (events themselves are event.cc's). Pure functions of the bytes, so
// the fuzzers (answers_fuzz.h, batch_fuzz.h) link them without a transport or a token source.
#include <algorithm>
#include <charconv>
#include <utility>

#include "base/strings.h"
#include "google/calendar_client.h"
#include "google/json_util.h"
#include "google/oauth_client.h"

namespace telemeet::google {
namespace {

using nlohmann::json;
using namespace internal;

GoogleResult<json> ParseObject(std::string_view body, std::string_view what) {
  json v = ParseOrDiscard(body);
  if (!v.is_object()) {
    return GFail(ErrorKind::kBadResponse, std::string(what) + " answer is not a JSON object");
  }
  return v;
}

std::vector<std::string> SplitScopes(std::string_view s) {
  std::vector<std::string> out;
  for (std::string_view part : Split(s, ' ')) {
    if (!part.empty()) out.emplace_back(part);
  }
  return out;
}

// Splits at the first blank line ("\r\n\r\n" or "\n\n").
std::pair<std::string_view, std::string_view> SplitHeadBody(std::string_view s) {
  size_t crlf = s.find("\r\n\r\n");
  size_t lf = s.find("\n\n");
  if (crlf != std::string_view::npos && (lf == std::string_view::npos || crlf < lf)) {
    return {s.substr(0, crlf), s.substr(crlf + 4)};
  }
  if (lf != std::string_view::npos) return {s.substr(0, lf), s.substr(lf + 2)};
  return {s, {}};
}

std::vector<std::string_view> Lines(std::string_view head) {
  std::vector<std::string_view> out;
  for (std::string_view line : Split(head, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out.push_back(line);
  }
  return out;
}

net::Headers ParseHeaderLines(const std::vector<std::string_view>& lines, size_t from) {
  net::Headers headers;
  for (size_t i = from; i < lines.size(); ++i) {
    size_t colon = lines[i].find(':');
    if (colon == std::string_view::npos) continue;
    headers.Add(Trim(lines[i].substr(0, colon)), Trim(lines[i].substr(colon + 1)));
  }
  return headers;
}

std::string BoundaryOf(std::string_view content_type) {
  std::string lower = ToLower(content_type);
  size_t at = lower.find("boundary=");
  if (at == std::string::npos) return {};
  std::string_view rest = content_type.substr(at + 9);
  rest = rest.substr(0, rest.find(';'));
  rest = Trim(rest);
  if (rest.size() >= 2 && rest.front() == '"' && rest.back() == '"') {
    rest = rest.substr(1, rest.size() - 2);
  }
  return std::string(rest);
}

// "response-item-7" or "<response-item-7>" → 7.
std::optional<size_t> ItemNumber(std::string_view content_id) {
  size_t dash = content_id.rfind('-');
  if (dash == std::string_view::npos) return std::nullopt;
  std::string_view digits = content_id.substr(dash + 1);
  if (!digits.empty() && digits.back() == '>') digits.remove_suffix(1);
  size_t n = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || p != digits.data() + digits.size()) return std::nullopt;
  return n;
}

}  // namespace

GoogleResult<EventPage> ParseEventPage(std::string_view body) {
  GoogleResult<json> v = ParseObject(body, "events.list");
  if (!v) return std::unexpected(v.error());
  EventPage page;
  page.next_page_token = Str(*v, "nextPageToken");
  page.next_sync_token = Str(*v, "nextSyncToken");
  if (const json* items = Arr(*v, "items")) {
    for (const json& item : *items) {
      GoogleResult<Event> e = EventFromJson(item);
      if (!e) return std::unexpected(e.error());
      page.items.push_back(std::move(*e));
    }
  }
  return page;
}

GoogleResult<std::map<std::string, CalendarBusy>> ParseFreeBusy(std::string_view body) {
  GoogleResult<json> v = ParseObject(body, "freeBusy");
  if (!v) return std::unexpected(v.error());
  std::map<std::string, CalendarBusy> out;
  if (const json* calendars = Obj(*v, "calendars")) {
    for (auto it = calendars->begin(); it != calendars->end(); ++it) {
      CalendarBusy cb;
      if (const json* busy = Arr(*it, "busy")) {
        for (const json& b : *busy) cb.busy.push_back({Str(b, "start"), Str(b, "end")});
      }
      if (const json* errors = Arr(*it, "errors")) {
        for (const json& e : *errors) cb.errors.push_back(Str(e, "reason"));
      }
      out.emplace(it.key(), std::move(cb));
    }
  }
  return out;
}

GoogleResult<Channel> ParseChannel(std::string_view body) {
  GoogleResult<json> v = ParseObject(body, "events.watch");
  if (!v) return std::unexpected(v.error());
  Channel ch{.id = Str(*v, "id"),
             .resource_id = Str(*v, "resourceId"),
             .resource_uri = Str(*v, "resourceUri"),
             .expiration = std::nullopt};
  if (ch.resource_id.empty()) return GFail(ErrorKind::kBadResponse, "watch without resourceId");
  // Milliseconds since 1970. One past year 9999 would overflow Instant's microseconds: such a
  // value is treated as absent (the caller then assumes the TTL it asked for).
  constexpr int64_t kMaxMillis = 253'402'300'799'999;  // 9999-12-31T23:59:59.999Z
  if (auto ms = Int(*v, "expiration"); ms && *ms > 0 && *ms <= kMaxMillis) {
    ch.expiration = Instant(std::chrono::milliseconds(*ms));
  }
  return ch;
}

GoogleResult<CalendarInfo> ParseCalendarInfo(std::string_view body) {
  json v = ParseOrDiscard(body);
  if (!v.is_object() || Str(v, "id").empty()) {
    return GFail(ErrorKind::kBadResponse, "calendars.get answer has no id");
  }
  return CalendarInfo{
      .id = Str(v, "id"), .summary = Str(v, "summary"), .time_zone = Str(v, "timeZone")};
}

GoogleResult<TokenGrant> ParseTokenAnswer(std::string_view body, Instant now) {
  json v = ParseOrDiscard(body);
  if (!v.is_object() || Str(v, "access_token").empty()) {
    return GFail(ErrorKind::kBadResponse, "token answer has no access_token");
  }
  TokenGrant grant;
  grant.access_token = Str(v, "access_token");
  grant.token_type = Str(v, "token_type");
  if (!grant.token_type.empty() && !EqualsIgnoreCase(grant.token_type, "Bearer")) {
    return GFail(ErrorKind::kBadResponse, "token_type is not Bearer");
  }
  grant.refresh_token = Str(v, "refresh_token");
  grant.id_token = Str(v, "id_token");
  // Google always sends expires_in, an hour or less. One that is absent, not a number, not
  // positive or above a day counts as the documented hour: a negative one would make every call
  // refresh, a huge one would overflow the instant (a token that dies sooner is refreshed on its
  // first 401 anyway).
  int64_t expires_in = Int(v, "expires_in").value_or(3600);
  if (expires_in <= 0 || expires_in > 86'400) expires_in = 3600;
  grant.expires_at = now + std::chrono::seconds(expires_in);
  grant.scopes = SplitScopes(Str(v, "scope"));
  return grant;
}

std::string EncodeBatch(const std::vector<BatchPart>& parts, std::string_view boundary) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    const BatchPart& p = parts[i];
    out += "--" + std::string(boundary) + "\r\n";
    out += "Content-Type: application/http\r\n";
    out += "Content-ID: <item-" + std::to_string(i + 1) + ">\r\n\r\n";
    out += p.method + " " + p.target + " HTTP/1.1\r\n";
    if (!p.body.empty()) {
      out += "Content-Type: application/json\r\n";
      out += "Content-Length: " + std::to_string(p.body.size()) + "\r\n";
    }
    out += "\r\n";
    out += p.body;
    out += "\r\n";
  }
  out += "--" + std::string(boundary) + "--\r\n";
  return out;
}

GoogleResult<std::vector<HttpResponse>> DecodeBatch(std::string_view content_type,
                                                    std::string_view body) {
  const std::string boundary = BoundaryOf(content_type);
  if (ToLower(content_type).find("multipart/mixed") == std::string::npos || boundary.empty()) {
    return GFail(ErrorKind::kBadResponse, "batch answer is not multipart/mixed");
  }
  const std::string delimiter = "--" + boundary;
  std::vector<std::pair<std::optional<size_t>, HttpResponse>> parts;
  size_t pos = body.find(delimiter);
  if (pos == std::string_view::npos) {
    return GFail(ErrorKind::kBadResponse, "batch answer has no parts");
  }
  bool closed = false;
  while (pos != std::string_view::npos) {
    size_t start = pos + delimiter.size();
    if (body.substr(start, 2) == "--") {
      closed = true;
      break;
    }
    size_t next = body.find("\n" + delimiter, start);
    if (next == std::string_view::npos) break;
    std::string_view part = body.substr(start, next - start);
    if (!part.empty() && part.back() == '\r') part.remove_suffix(1);
    // Skip the rest of the delimiter line.
    size_t eol = part.find('\n');
    part = eol == std::string_view::npos ? std::string_view() : part.substr(eol + 1);

    auto [outer_head, inner] = SplitHeadBody(part);
    net::Headers outer = ParseHeaderLines(Lines(outer_head), 0);
    auto [inner_head, inner_body] = SplitHeadBody(inner);
    std::vector<std::string_view> lines = Lines(inner_head);
    if (lines.empty() || lines[0].rfind("HTTP/", 0) != 0) {
      return GFail(ErrorKind::kBadResponse, "batch part is not an HTTP response");
    }
    std::string_view status_line = lines[0];
    size_t sp = status_line.find(' ');
    int status = 0;
    if (sp != std::string_view::npos) {
      std::string_view code = status_line.substr(sp + 1, 3);
      std::from_chars(code.data(), code.data() + code.size(), status);
    }
    if (status < 100 || status > 599) {
      return GFail(ErrorKind::kBadResponse, "batch part has no status");
    }
    HttpResponse r{
        .status = status, .headers = ParseHeaderLines(lines, 1), .body = std::string(inner_body)};
    std::optional<size_t> number;
    if (auto id = outer.Get("Content-ID")) number = ItemNumber(*id);
    parts.emplace_back(number, std::move(r));
    pos = next + 1;
  }
  if (!closed) return GFail(ErrorKind::kBadResponse, "batch answer is truncated");
  const bool numbered =
      std::all_of(parts.begin(), parts.end(), [](const auto& p) { return p.first.has_value(); });
  if (numbered) {
    std::stable_sort(parts.begin(), parts.end(),
                     [](const auto& a, const auto& b) { return *a.first < *b.first; });
  }
  std::vector<HttpResponse> out;
  out.reserve(parts.size());
  for (auto& [n, r] : parts) out.push_back(std::move(r));
  return out;
}

}  // namespace telemeet::google
