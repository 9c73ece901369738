#include "net/testing/http_text.h"

#include <charconv>

#include "base/strings.h"

namespace telemeet::net {

HttpText SplitHttpText(std::string_view text) {
  HttpText out;
  bool first = true;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (first) {
      out.start_line = std::string(line);
      first = false;
      continue;
    }
    if (line.empty()) {
      out.body = std::string(text);
      break;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    out.headers.Add(Trim(line.substr(0, colon)), Trim(line.substr(colon + 1)));
  }
  return out;
}

std::string JoinHttpText(std::string_view start_line, const Headers& headers,
                         std::string_view body) {
  std::string out(start_line);
  out += "\r\n";
  for (const auto& [name, value] : headers) out += name + ": " + value + "\r\n";
  out += "\r\n";
  out += body;
  return out;
}

std::optional<int> StatusOf(std::string_view start_line) {
  size_t sp = start_line.find(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  std::string_view code = start_line.substr(sp + 1, 3);
  int status = 0;
  auto [end, ec] = std::from_chars(code.data(), code.data() + code.size(), status);
  if (ec != std::errc() || end != code.data() + code.size() || status < 100 || status > 599) {
    return std::nullopt;
  }
  return status;
}

Request RequestOf(const HttpText& text) {
  Request req;
  std::string_view line = text.start_line;
  size_t sp = line.find(' ');
  req.method = std::string(line.substr(0, sp));
  std::string_view target = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
  target = target.substr(0, target.find(' '));
  if (target.empty()) target = "/";
  req.target = std::string(target);
  size_t q = target.find('?');
  req.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
  req.headers = text.headers;
  req.body = text.body;
  req.remote_address = "127.0.0.1";
  return req;
}

}  // namespace telemeet::net
