#include "net/http.h"

#include <algorithm>

namespace telemeet::net {

std::optional<std::string> Headers::Get(std::string_view name) const {
  for (const auto& [k, v] : fields_) {
    if (EqualsIgnoreCase(k, name)) return v;
  }
  return std::nullopt;
}

void Headers::Set(std::string_view name, std::string_view value) {
  Remove(name);
  Add(name, value);
}

void Headers::Add(std::string_view name, std::string_view value) {
  fields_.emplace_back(std::string(name), std::string(value));
}

void Headers::Remove(std::string_view name) {
  std::erase_if(fields_, [&](const auto& kv) { return EqualsIgnoreCase(kv.first, name); });
}

std::optional<std::string> Request::Query(std::string_view name) const {
  auto params = ParseQuery(query);
  if (!params) return std::nullopt;
  return FindValue(*params, name);
}

const std::string& Request::Param(std::string_view name) const {
  static const std::string kEmpty;
  for (const auto& [k, v] : path_params) {
    if (k == name) return v;
  }
  return kEmpty;
}

Response Response::Text(int status, std::string body, std::string_view content_type) {
  Response r;
  r.status = status;
  r.headers.Set("Content-Type", content_type);
  r.body = std::move(body);
  return r;
}

Response Response::Redirect(std::string_view location, int status) {
  Response r;
  r.status = status;
  r.headers.Set("Location", location);
  return r;
}

Response Response::Empty(int status) {
  Response r;
  r.status = status;
  return r;
}

const std::pair<std::string, std::string>* FirstUnsafeHeader(const Headers& headers) {
  auto token_char = [](unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
  };
  auto value_char = [](unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); };
  for (const auto& field : headers.fields()) {
    const auto& [name, value] = field;
    if (name.empty() || !std::all_of(name.begin(), name.end(), token_char) ||
        !std::all_of(value.begin(), value.end(), value_char)) {
      return &field;
    }
  }
  return nullptr;
}

std::string_view StatusReason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
  }
}

}  // namespace telemeet::net
