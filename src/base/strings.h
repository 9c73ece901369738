// Small string helpers shared by every layer: case folding, splitting, and the
// application/x-www-form-urlencoded codec used by query strings and OAuth form bodies.
//
//   auto q = ParseQuery("a=1&b=x%20y");          // {{"a","1"},{"b","x y"}}
//   std::string body = FormEncode({{"code", c}, {"grant_type", "authorization_code"}});
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace telemeet {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

std::string ToLower(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string_view Trim(std::string_view s);
// Splits on every occurrence of `sep`; "a,,b" gives {"a","","b"}; "" gives {""}.
std::vector<std::string_view> Split(std::string_view s, char sep);

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string UrlEncode(std::string_view s);
// Decodes %XX and, when `plus_is_space`, '+'. Returns nullopt on a malformed escape.
std::optional<std::string> UrlDecode(std::string_view s, bool plus_is_space = true);

// Parses "a=1&b=2" (also a form body). Pairs keep their order; repeated keys repeat.
// Returns nullopt when an escape is malformed.
std::optional<KeyValues> ParseQuery(std::string_view query);
std::string FormEncode(const KeyValues& pairs);

// Escapes & < > " ' for HTML text and attribute values.
std::string HtmlEscape(std::string_view text);

// The first value for `key`, or nullopt.
std::optional<std::string> FindValue(const KeyValues& pairs, std::string_view key);

}  // namespace telemeet
