// HTTP messages as plain text, the form of the fuzzers' inputs and seed corpora:
//
//   HttpText t = SplitHttpText("HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
//                              "\r\n{\"error\":{...}}");
//   t.start_line;                       // "HTTP/1.1 404 Not Found"
//   t.headers.Get("content-type");      // "application/json"
//   JoinHttpText(t.start_line, t.headers, t.body);  // back to text, with CRLFs
//
// Not a server's parser (Boost.Beast is that): it is lenient on purpose, so that a fuzzer's
// mutations reach the code under test instead of dying in the framing. Pure; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "net/http.h"

namespace telemeet::net {

struct HttpText {
  std::string start_line;  // "GET /a?b=1 HTTP/1.1" or "HTTP/1.1 200 OK"
  Headers headers;
  std::string body;  // everything after the first blank line
};

// Lines end at "\n" (a "\r" before it is dropped); header lines without a colon are skipped;
// names and values are trimmed.
HttpText SplitHttpText(std::string_view text);
std::string JoinHttpText(std::string_view start_line, const Headers& headers,
                         std::string_view body);

// The status of a start line "HTTP/1.1 404 ...", when it is a number from 100 to 599.
std::optional<int> StatusOf(std::string_view start_line);

// "GET /a?b=1 HTTP/1.1" as a Request (method, target, path, query), with `text`'s headers and
// body; a start line without a target gives "/".
Request RequestOf(const HttpText& text);

}  // namespace telemeet::net
