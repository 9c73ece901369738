#include "emulator/server/batch.h"

#include "base/strings.h"
#include "crypto/random.h"

namespace telemeet::emulator {

namespace {

// Splits "head\r\n\r\nbody" (or with bare \n) into header lines and the rest.
bool SplitHead(std::string_view text, std::string_view& head, std::string_view& rest) {
  size_t crlf = text.find("\r\n\r\n");
  size_t lf = text.find("\n\n");
  if (crlf == std::string_view::npos && lf == std::string_view::npos) {
    // Headers only, no body.
    head = text;
    rest = {};
    return true;
  }
  if (crlf != std::string_view::npos && (lf == std::string_view::npos || crlf <= lf)) {
    head = text.substr(0, crlf);
    rest = text.substr(crlf + 4);
  } else {
    head = text.substr(0, lf);
    rest = text.substr(lf + 2);
  }
  return true;
}

std::vector<std::string_view> Lines(std::string_view head) {
  std::vector<std::string_view> out;
  for (auto line : Split(head, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out.push_back(line);
  }
  return out;
}

Status ParseHeaderLines(const std::vector<std::string_view>& lines, size_t from,
                        net::Headers& out) {
  for (size_t i = from; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    size_t colon = lines[i].find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return Fail(ErrorCode::kInvalidArgument, "malformed header line in a batch part");
    }
    out.Add(Trim(lines[i].substr(0, colon)), Trim(lines[i].substr(colon + 1)));
  }
  return Ok();
}

std::string_view TrimNewlines(std::string_view s) {
  while (!s.empty() && (s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

std::optional<std::string> BoundaryOf(std::string_view content_type) {
  for (auto param : Split(content_type, ';')) {
    param = Trim(param);
    if (param.size() > 9 && EqualsIgnoreCase(param.substr(0, 9), "boundary=")) {
      std::string_view b = param.substr(9);
      if (b.size() >= 2 && b.front() == '"' && b.back() == '"') b = b.substr(1, b.size() - 2);
      if (!b.empty()) return std::string(b);
    }
  }
  return std::nullopt;
}

Result<BatchPart> ParsePart(std::string_view text, const net::Request& outer) {
  std::string_view head, inner;
  SplitHead(TrimNewlines(text), head, inner);
  net::Headers part_headers;
  if (auto s = ParseHeaderLines(Lines(head), 0, part_headers); !s)
    return std::unexpected(s.error());
  std::string type = ToLower(part_headers.Get("Content-Type").value_or(""));
  if (!type.starts_with("application/http")) {
    return Fail(ErrorCode::kInvalidArgument,
                "each batch part must be Content-Type: application/http");
  }
  BatchPart part;
  std::string id = part_headers.Get("Content-ID").value_or("");
  if (id.size() >= 2 && id.front() == '<' && id.back() == '>') id = id.substr(1, id.size() - 2);
  part.content_id = id;

  std::string_view req_head, body;
  SplitHead(inner, req_head, body);
  auto lines = Lines(req_head);
  if (lines.empty() || lines[0].empty()) {
    return Fail(ErrorCode::kInvalidArgument, "a batch part has no request line");
  }
  auto words = Split(lines[0], ' ');
  if (words.size() < 2 || words[0].empty() || words[1].empty()) {
    return Fail(ErrorCode::kInvalidArgument, "malformed request line in a batch part");
  }
  net::Request& req = part.request;
  req.method = std::string(words[0]);
  std::string_view target = words[1];
  // Path-only URLs are the rule; tolerate an absolute URL by dropping its origin.
  if (target.starts_with("http://") || target.starts_with("https://")) {
    size_t slash = target.find('/', target.find("//") + 2);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  if (!target.starts_with('/')) {
    return Fail(ErrorCode::kInvalidArgument, "a batch part's URL must be a path");
  }
  req.target = std::string(target);
  size_t q = target.find('?');
  req.path = std::string(target.substr(0, q));
  req.query = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));
  for (const auto& [k, v] : outer.headers) {
    if (ToLower(k).starts_with("content-")) continue;
    req.headers.Add(k, v);
  }
  net::Headers own;
  if (auto s = ParseHeaderLines(lines, 1, own); !s) return std::unexpected(s.error());
  for (const auto& [k, v] : own) req.headers.Set(k, v);
  std::string_view b = body;
  if (auto len = own.Get("Content-Length")) {
    size_t n = 0;
    try {
      n = std::stoul(*len);
    } catch (...) {
      return Fail(ErrorCode::kInvalidArgument, "bad Content-Length in a batch part");
    }
    if (n > b.size()) return Fail(ErrorCode::kInvalidArgument, "a batch part's body is short");
    b = b.substr(0, n);
  } else {
    b = TrimNewlines(b);
  }
  req.body = std::string(b);
  req.remote_address = outer.remote_address;
  req.request_id = outer.request_id;
  return part;
}

}  // namespace

Result<std::vector<BatchPart>> ParseBatch(const net::Request& outer, size_t max_parts) {
  std::string type = outer.Header("Content-Type").value_or("");
  if (!ToLower(type).starts_with("multipart/mixed")) {
    return Fail(ErrorCode::kInvalidArgument, "a batch request must be multipart/mixed",
                "Content-Type");
  }
  auto boundary = BoundaryOf(type);
  if (!boundary) {
    return Fail(ErrorCode::kInvalidArgument, "multipart/mixed without a boundary", "Content-Type");
  }
  std::string delimiter = "--" + *boundary;
  std::string_view body = outer.body;
  std::vector<BatchPart> parts;
  size_t pos = body.find(delimiter);
  if (pos == std::string_view::npos) {
    return Fail(ErrorCode::kInvalidArgument, "the batch body has no parts", "parts");
  }
  while (true) {
    size_t start = pos + delimiter.size();
    if (body.substr(start).starts_with("--")) break;  // the closing delimiter
    size_t next = body.find(delimiter, start);
    if (next == std::string_view::npos) {
      return Fail(ErrorCode::kInvalidArgument, "the batch body has no closing boundary", "parts");
    }
    if (parts.size() == max_parts) {
      return Fail(ErrorCode::kInvalidArgument,
                  "A batch may hold at most " + std::to_string(max_parts) + " requests.", "parts");
    }
    auto part = ParsePart(body.substr(start, next - start), outer);
    if (!part) return std::unexpected(part.error());
    parts.push_back(std::move(*part));
    pos = next;
  }
  if (parts.empty())
    return Fail(ErrorCode::kInvalidArgument, "the batch body has no parts", "parts");
  return parts;
}

net::Response BatchResponse(const std::vector<BatchAnswer>& answers) {
  std::string boundary = "batch_" + crypto::RandomToken(16);
  std::string out;
  for (const auto& a : answers) {
    out += "--" + boundary + "\r\nContent-Type: application/http\r\n";
    if (!a.content_id.empty()) out += "Content-ID: <response-" + a.content_id + ">\r\n";
    out += "\r\nHTTP/1.1 " + std::to_string(a.response.status) + " " +
           std::string(net::StatusReason(a.response.status)) + "\r\n";
    for (const auto& [k, v] : a.response.headers) {
      if (EqualsIgnoreCase(k, "Content-Length")) continue;
      out += k + ": " + v + "\r\n";
    }
    out += "Content-Length: " + std::to_string(a.response.body.size()) + "\r\n\r\n";
    out += a.response.body + "\r\n";
  }
  out += "--" + boundary + "--\r\n";
  return net::Response::Text(200, std::move(out), "multipart/mixed; boundary=" + boundary);
}

}  // namespace telemeet::emulator
