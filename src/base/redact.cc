#include "base/redact.h"

#include <array>
#include <nlohmann/json.hpp>

#include "base/strings.h"

namespace telemeet {

bool IsSecretName(std::string_view name) {
  static constexpr std::array<std::string_view, 8> kExact = {
      "code", "authorization", "cookie", "set-cookie", "api_key", "apikey", "key", "state"};
  static constexpr std::array<std::string_view, 6> kContains = {
      "secret", "token", "password", "passwd", "verifier", "credential"};
  std::string lower = ToLower(name);
  for (std::string_view e : kExact) {
    if (lower == e) return true;
  }
  for (std::string_view c : kContains) {
    if (lower.find(c) != std::string::npos) return true;
  }
  return false;
}

std::string RedactHeader(std::string_view name, std::string_view value) {
  if (!IsSecretName(name)) return std::string(value);
  size_t space = value.find(' ');
  if (EqualsIgnoreCase(name, "authorization") && space != std::string_view::npos) {
    return std::string(value.substr(0, space + 1)) + std::string(kRedacted);
  }
  return std::string(kRedacted);
}

std::string RedactForm(std::string_view form) {
  std::string out;
  for (std::string_view part : Split(form, '&')) {
    if (!out.empty()) out.push_back('&');
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      out += part;
      continue;
    }
    std::string_view key = part.substr(0, eq);
    auto decoded = UrlDecode(key);
    out += key;
    out.push_back('=');
    if (!decoded || IsSecretName(*decoded)) {
      out += kRedacted;
    } else {
      out += part.substr(eq + 1);
    }
  }
  return out;
}

std::string RedactTarget(std::string_view target) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) return std::string(target);
  return std::string(target.substr(0, q + 1)) + RedactForm(target.substr(q + 1));
}

std::string RedactUrl(std::string_view url) {
  const size_t scheme = url.find("://");
  const size_t authority = scheme == std::string_view::npos ? 0 : scheme + 3;
  // The userinfo ends at the last '@' before the first '/', as libpq reads it: a password may
  // hold '?' or '#', which must not be taken for the start of a query or fragment.
  const size_t slash = url.find('/', authority);
  const size_t last_at = url.substr(authority, slash - authority).rfind('@');
  const size_t host_from = last_at == std::string_view::npos ? authority : authority + last_at;
  const size_t path = url.find_first_of("/?#", host_from);
  std::string_view host_part = url.substr(authority, path - authority);
  std::string out(url.substr(0, authority));
  // The userinfo ends at the last '@' of the authority (a password may hold an unescaped '@').
  const size_t at = host_part.rfind('@');
  const size_t colon = at == std::string_view::npos ? at : host_part.substr(0, at).find(':');
  if (colon != std::string_view::npos) {
    out += std::string(host_part.substr(0, colon + 1)) + std::string(kRedacted) +
           std::string(host_part.substr(at));
  } else {
    out += host_part;
  }
  if (path != std::string_view::npos) out += RedactTarget(url.substr(path));
  return out;
}

nlohmann::json RedactJson(const nlohmann::json& value) {
  if (value.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [k, v] : value.items()) {
      out[k] = IsSecretName(k) && !v.is_object() && !v.is_array() ? nlohmann::json(kRedacted)
                                                                 : RedactJson(v);
    }
    return out;
  }
  if (value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : value) out.push_back(RedactJson(v));
    return out;
  }
  return value;
}

}  // namespace telemeet
