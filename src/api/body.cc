#include "api/body.h"

#include <algorithm>

#include "api/api.h"
#include "core/time.h"
#include "net/json.h"

namespace telemeet::api {

namespace {

std::unexpected<Error> Invalid(std::string message, std::string_view field) {
  return Fail(ErrorCode::kInvalidArgument, std::move(message), std::string(field));
}

std::unexpected<Error> WrongType(std::string_view field, std::string_view type) {
  return Invalid(std::string(field) + " must be " + std::string(type), field);
}

}  // namespace

Result<Body> Body::Parse(const net::Request& req, size_t max_bytes,
                         std::span<const std::string_view> allowed) {
  if (req.body.size() > max_bytes) {
    return Fail(ErrorCode::kResourceExhausted,
                "the body is larger than " + std::to_string(max_bytes) + " bytes", "body");
  }
  Result<nlohmann::json> json = net::ParseJsonBody(req);
  if (!json) {
    const Error& e = json.error();
    return Fail(e.code(), e.message(), e.field().empty() ? "body" : e.field());
  }
  for (const auto& [key, value] : json->items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return Invalid("unknown field \"" + key + "\"", key);
    }
  }
  return Body(std::move(*json));
}

Result<Body> Body::Parse(const net::Request& req, const ApiOptions& options,
                         std::span<const std::string_view> allowed) {
  return Parse(req, options.max_body_bytes, allowed);
}

Result<std::string> Body::String(std::string_view field) const {
  auto v = OptString(field);
  if (!v) return std::unexpected(v.error());
  if (!*v) return Invalid(std::string(field) + " is required", field);
  return std::move(**v);
}

Result<int64_t> Body::Int(std::string_view field) const {
  auto v = OptInt(field);
  if (!v) return std::unexpected(v.error());
  if (!*v) return Invalid(std::string(field) + " is required", field);
  return **v;
}

Result<std::optional<std::string>> Body::OptString(std::string_view field) const {
  if (!Has(field)) return std::optional<std::string>();
  const auto& v = json_[field];
  if (!v.is_string()) return WrongType(field, "a string");
  return std::optional<std::string>(v.get<std::string>());
}

Result<std::optional<int64_t>> Body::OptInt(std::string_view field) const {
  if (!Has(field)) return std::optional<int64_t>();
  const auto& v = json_[field];
  if (!v.is_number_integer()) return WrongType(field, "an integer");
  if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t{INT64_MAX}) {
    return WrongType(field, "an integer in range");
  }
  return std::optional<int64_t>(v.get<int64_t>());
}

Result<std::optional<bool>> Body::OptBool(std::string_view field) const {
  if (!Has(field)) return std::optional<bool>();
  const auto& v = json_[field];
  if (!v.is_boolean()) return WrongType(field, "true or false");
  return std::optional<bool>(v.get<bool>());
}

Result<std::optional<std::vector<std::string>>> Body::OptStrings(std::string_view field) const {
  if (!Has(field)) return std::optional<std::vector<std::string>>();
  const auto& v = json_[field];
  if (!v.is_array()) return WrongType(field, "an array of strings");
  std::vector<std::string> out;
  for (const auto& item : v) {
    if (!item.is_string()) return WrongType(field, "an array of strings");
    out.push_back(item.get<std::string>());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<std::optional<Body>> Body::OptObject(std::string_view field,
                                            std::span<const std::string_view> allowed) const {
  if (!Has(field)) return std::optional<Body>();
  const auto& v = json_[field];
  if (!v.is_object()) return WrongType(field, "an object");
  for (const auto& [key, value] : v.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string name = std::string(field) + "." + key.substr(0, 64);
      return Invalid("unknown field \"" + name + "\"", name);
    }
  }
  return std::optional<Body>(Body(v));
}

Result<Instant> ParseTime(std::string_view text, std::string_view zone, std::string_view field) {
  // An offset or Z after the seconds makes it an instant; otherwise it is local wall time.
  bool has_offset = text.size() > 19 && (text.back() == 'Z' || text.back() == 'z' ||
                                         text.find_first_of("+-", 19) != std::string_view::npos);
  // Appointments are whole seconds, as Google keeps event times (core::FloorToSecond).
  Result<Instant> t =
      has_offset ? core::ParseRfc3339(text, field) : core::LocalToInstant(text, zone, field);
  if (!t) return t;
  return core::FloorToSecond(*t);
}

}  // namespace telemeet::api
