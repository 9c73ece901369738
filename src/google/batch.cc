// The batch half of CalendarClient: multipart/mixed encoding and decoding, and the executor
// that retries failed parts alone (google-protocol.md §10).
#include <algorithm>
#include <charconv>
#include <utility>

#include "base/strings.h"
#include "crypto/random.h"
#include "google/calendar_client.h"
#include "google/json_util.h"

namespace telemeet::google {
namespace {

using nlohmann::json;

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

CalendarClient::Call CalendarClient::CallFor(const BatchOperation& op) {
  switch (op.kind) {
    case BatchOperation::Kind::kInsert:
      return InsertCall(op.calendar_id, op.spec, op.send_updates);
    case BatchOperation::Kind::kGet:
      return GetCall(op.calendar_id, op.event_id);
    case BatchOperation::Kind::kPatchTimes:
      return PatchTimesCall(op.calendar_id, op.event_id, op.spec.start, op.spec.end,
                            op.send_updates);
    case BatchOperation::Kind::kDelete:
      return DeleteCall(op.calendar_id, op.event_id, op.send_updates);
  }
  return GetCall(op.calendar_id, op.event_id);
}

GoogleResult<BatchItemResult> CalendarClient::RunSingle(std::string_view doctor,
                                                        const BatchOperation& op) {
  BatchItemResult out;
  switch (op.kind) {
    case BatchOperation::Kind::kInsert: {
      auto r = InsertEvent(doctor, op.calendar_id, op.spec, op.send_updates);
      if (!r) return std::unexpected(r.error());
      out.event = std::move(r->event);
      out.adopted = r->adopted;
      return out;
    }
    case BatchOperation::Kind::kGet: {
      auto r = GetEvent(doctor, op.calendar_id, op.event_id);
      if (!r) return std::unexpected(r.error());
      out.event = std::move(*r);
      return out;
    }
    case BatchOperation::Kind::kPatchTimes: {
      auto r = PatchEventTimes(doctor, op.calendar_id, op.event_id, op.spec.start, op.spec.end,
                               op.send_updates);
      if (!r) return std::unexpected(r.error());
      out.event = std::move(*r);
      return out;
    }
    case BatchOperation::Kind::kDelete: {
      auto r = DeleteEvent(doctor, op.calendar_id, op.event_id, op.send_updates);
      if (!r) return std::unexpected(r.error());
      out.deleted = *r;
      return out;
    }
  }
  return GFail(ErrorKind::kInvalidRequest, "unknown batch operation");
}

std::vector<GoogleResult<BatchItemResult>> CalendarClient::ExecuteBatch(
    std::string_view doctor, const std::vector<BatchOperation>& operations) {
  std::vector<GoogleResult<BatchItemResult>> results;
  results.reserve(operations.size());
  for (size_t begin = 0; begin < operations.size(); begin += options_.max_batch_parts) {
    const size_t end = std::min(operations.size(), begin + options_.max_batch_parts);
    std::vector<BatchPart> parts;
    for (size_t i = begin; i < end; ++i) {
      const BatchOperation& op = operations[i];
      if (op.kind == BatchOperation::Kind::kInsert && !ValidEventId(op.spec.id)) {
        parts.push_back({});  // never sent; answered below
        continue;
      }
      Call c = CallFor(op);
      parts.push_back({c.method, c.target, c.body ? internal::Dump(*c.body) : std::string()});
    }
    // Invalid parts are answered locally; the others go out together.
    std::vector<BatchPart> to_send;
    std::vector<size_t> sent_index;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (parts[i].method.empty()) continue;
      to_send.push_back(parts[i]);
      sent_index.push_back(begin + i);
    }
    std::vector<std::optional<GoogleResult<HttpResponse>>> answers(end - begin);
    if (!to_send.empty()) {
      const std::string boundary = "batch_" + crypto::RandomToken(12);
      Call batch{.operation = "batch",
                 .method = "POST",
                 .target = "/batch/calendar/v3",
                 .raw_body = EncodeBatch(to_send, boundary),
                 .content_type = "multipart/mixed; boundary=" + boundary,
                 .quota_cost = static_cast<int>(to_send.size())};
      GoogleResult<HttpResponse> res = Execute(doctor, batch);
      GoogleResult<std::vector<HttpResponse>> decoded =
          res ? DecodeBatch(res->headers.Get("Content-Type").value_or(""), res->body)
              : GoogleResult<std::vector<HttpResponse>>(std::unexpected(res.error()));
      if (decoded && decoded->size() != to_send.size()) {
        decoded =
            GFail(ErrorKind::kBadResponse, "batch answer has " + std::to_string(decoded->size()) +
                                               " parts for " + std::to_string(to_send.size()));
      }
      for (size_t k = 0; k < sent_index.size(); ++k) {
        size_t i = sent_index[k] - begin;
        if (!decoded) {
          answers[i] = std::unexpected(decoded.error());
        } else {
          answers[i] = std::move((*decoded)[k]);
        }
      }
    }
    for (size_t i = begin; i < end; ++i) {
      const BatchOperation& op = operations[i];
      std::optional<GoogleResult<HttpResponse>>& answer = answers[i - begin];
      if (!answer) {
        results.push_back(GFail(ErrorKind::kInvalidRequest,
                                "event id must be 5-1024 base32hex characters (a-v, 0-9)"));
        continue;
      }
      if (!*answer) {
        // The whole batch failed: each part gets the batch's error.
        results.push_back(std::unexpected(answer->error()));
        continue;
      }
      const HttpResponse& part = **answer;
      {
        // One audit record per part, under the part's own operation.
        Call part_call = CallFor(op);
        part_call.operation += " (batch)";
        const bool ok = part.status >= 200 && part.status < 300;
        Report(doctor, part_call, part.status, std::chrono::microseconds(0), 1,
               ok ? std::string_view("ok")
                  : ErrorKindName(GoogleError::FromResponse(part, deps_.clock.Now()).kind()));
      }
      if (part.status >= 200 && part.status < 300) {
        BatchItemResult item;
        if (op.kind == BatchOperation::Kind::kDelete) {
          item.deleted = DeleteOutcome::kDeleted;
        } else {
          GoogleResult<Event> e = ParseEvent(part.body);
          if (!e) {
            results.push_back(std::unexpected(e.error()));
            continue;
          }
          item.event = std::move(*e);
        }
        results.push_back(std::move(item));
        continue;
      }
      GoogleError error = GoogleError::FromResponse(part, deps_.clock.Now());
      const ErrorKind kind = error.kind();
      if (kind == ErrorKind::kRateLimited && deps_.limiter != nullptr) {
        deps_.limiter->OnRateLimited(doctor, error.reason() == "userRateLimitExceeded");
      }
      if (op.kind == BatchOperation::Kind::kDelete &&
          (kind == ErrorKind::kNotFound || kind == ErrorKind::kGone)) {
        results.push_back(BatchItemResult{
            .event = std::nullopt, .adopted = false, .deleted = DeleteOutcome::kAlreadyGone});
      } else if (op.kind == BatchOperation::Kind::kInsert && kind == ErrorKind::kDuplicate) {
        auto adopted = AdoptExisting(doctor, op.calendar_id, op.spec);
        if (!adopted) {
          results.push_back(std::unexpected(adopted.error()));
        } else {
          results.push_back(BatchItemResult{
              .event = std::move(adopted->event), .adopted = true, .deleted = std::nullopt});
        }
      } else if (error.IsRetriable() || kind == ErrorKind::kConflict ||
                 kind == ErrorKind::kUnauthorized) {
        // Retried alone, with the full retry policy and the 401 refresh.
        results.push_back(RunSingle(doctor, op));
      } else {
        results.push_back(std::unexpected(std::move(error)));
      }
    }
  }
  return results;
}

}  // namespace telemeet::google
