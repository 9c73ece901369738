// Strict JSON request bodies (unknown fields refused and named, types checked, sizes limited)
// and the instants written in them. The part of the API's request plumbing that reads what a
// client sent and nothing else: it needs neither the store nor the server, so the body fuzzer
// (body_fuzz.h) builds it from a handful of sources.
//
//   auto body = Body::Parse(c.req, deps.options, {"doctor_id", "start"});
//   if (!body) return std::unexpected(body.error());   // 413, or 400 naming the field
//   auto doctor = body->Int("doctor_id");              // kInvalidArgument "doctor_id is required"
//   auto start = ParseTime("2026-06-02T09:00", "Europe/Berlin", "start");
//
// Internal to the api library; route files get it through request.h. Values are immutable once
// parsed and safe to read from several threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "net/http.h"

namespace telemeet::api {

struct ApiOptions;

class Body {
 public:
  // The request body as a JSON object whose keys are all in `allowed`. Errors: 413 (code
  // payload_too_large) above `max_bytes`, kInvalidArgument for a missing or wrong Content-Type,
  // malformed JSON, a non-object, or an unknown field (named).
  static Result<Body> Parse(const net::Request& req, size_t max_bytes,
                            std::span<const std::string_view> allowed);
  static Result<Body> Parse(const net::Request& req, size_t max_bytes,
                            std::initializer_list<std::string_view> allowed) {
    return Parse(req, max_bytes,
                 std::span<const std::string_view>(allowed.begin(), allowed.size()));
  }
  // The same with the configured limit, options.max_body_bytes: what the routes call.
  static Result<Body> Parse(const net::Request& req, const ApiOptions& options,
                            std::span<const std::string_view> allowed);
  static Result<Body> Parse(const net::Request& req, const ApiOptions& options,
                            std::initializer_list<std::string_view> allowed) {
    return Parse(req, options, std::span<const std::string_view>(allowed.begin(), allowed.size()));
  }

  bool Has(std::string_view field) const {
    return json_.contains(field) && !json_[field].is_null();
  }
  // Required values: kInvalidArgument "<field> is required" or "<field> must be a <type>".
  Result<std::string> String(std::string_view field) const;
  Result<int64_t> Int(std::string_view field) const;
  // Optional values: nullopt when absent or null; kInvalidArgument for a wrong type.
  Result<std::optional<std::string>> OptString(std::string_view field) const;
  Result<std::optional<int64_t>> OptInt(std::string_view field) const;
  Result<std::optional<bool>> OptBool(std::string_view field) const;
  Result<std::optional<std::vector<std::string>>> OptStrings(std::string_view field) const;
  // A nested object whose keys are all in `allowed` (an unknown one is named "<field>.<key>").
  Result<std::optional<Body>> OptObject(std::string_view field,
                                        std::span<const std::string_view> allowed) const;

  const nlohmann::json& json() const { return json_; }

 private:
  explicit Body(nlohmann::json j) : json_(std::move(j)) {}
  nlohmann::json json_;
};

// Parses an instant: RFC 3339 with offset, or a local wall time "YYYY-MM-DDTHH:MM[:SS]" in
// `zone`, floored to whole seconds (a fraction is accepted and dropped). kInvalidArgument naming
// `field`.
Result<Instant> ParseTime(std::string_view text, std::string_view zone, std::string_view field);

}  // namespace telemeet::api
