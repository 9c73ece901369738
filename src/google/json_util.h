// Non-throwing readers for Google's JSON, internal to the google layer.
//
//   std::string id = Str(event, "id");        // "" when absent or not a string
//   const json* cd = Obj(event, "conferenceData");
#pragma once

#include <charconv>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "net/json.h"

namespace telemeet::google::internal {

inline std::string Str(const nlohmann::json& o, const char* key) {
  if (!o.is_object()) return {};
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

inline const nlohmann::json* Obj(const nlohmann::json& o, const char* key) {
  if (!o.is_object()) return nullptr;
  auto it = o.find(key);
  return it != o.end() && it->is_object() ? &*it : nullptr;
}

inline const nlohmann::json* Arr(const nlohmann::json& o, const char* key) {
  if (!o.is_object()) return nullptr;
  auto it = o.find(key);
  return it != o.end() && it->is_array() ? &*it : nullptr;
}

inline bool Bool(const nlohmann::json& o, const char* key, bool fallback = false) {
  if (!o.is_object()) return fallback;
  auto it = o.find(key);
  return it != o.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

// An integer sent as a number or as a decimal string (Google's int64 fields); nullopt when it
// is neither or does not fit an int64 (a 19-digit string can overflow it).
inline std::optional<int64_t> Int(const nlohmann::json& o, const char* key) {
  if (!o.is_object()) return std::nullopt;
  auto it = o.find(key);
  if (it == o.end()) return std::nullopt;
  if (it->is_number_unsigned()) {
    const uint64_t v = it->get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(v);
  }
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
  }
  return std::nullopt;
}

// Parses with a depth limit; a discarded value (is_discarded()) on any error.
inline nlohmann::json ParseOrDiscard(std::string_view text) {
  auto parsed = net::ParseJson(text, net::JsonLimits{.max_depth = 64});
  return parsed ? std::move(*parsed) : nlohmann::json(nlohmann::json::value_t::discarded);
}

// Serialises; invalid UTF-8 in strings (user input) is replaced rather than thrown on.
inline std::string Dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace telemeet::google::internal
