// Plumbing shared by the API's route files: strict JSON bodies (unknown fields refused and
// named, types checked, sizes limited), ids and pagination from the URL, and the handler
// wrapper that authenticates, checks the access level and turns errors into the JSON error body
// {"error": {"code", "message", "field"}}.
//
//   router.Post("/api/v1/doctors", Handle(deps, Access::kWrite, [&](Call& c) -> Result<...> {
//     auto body = Body::Parse(c.req, deps.options, {"name", "email", "time_zone"});
//     if (!body) return std::unexpected(body.error());
//     auto name = body->String("name");           // kInvalidArgument "name is required"
//     ...
//   }), {.offload = true});
//
// Internal to the api library.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/api.h"
#include "api/auth.h"
#include "base/error.h"
#include "net/http.h"
#include "net/router.h"
#include "store/store.h"

namespace telemeet::api {

class Body {
 public:
  // The request body as a JSON object whose keys are all in `allowed`. Errors: 413 (code
  // payload_too_large) above options.max_body_bytes, kInvalidArgument for a missing or wrong
  // Content-Type, malformed JSON, a non-object, or an unknown field (named).
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

  const nlohmann::json& json() const { return json_; }

 private:
  explicit Body(nlohmann::json j) : json_(std::move(j)) {}
  nlohmann::json json_;
};

// A path id: a positive decimal integer; kNotFound ("<what> <text> does not exist") otherwise.
Result<int64_t> PathId(const net::Request& req, std::string_view what,
                       std::string_view param = "id");

// ?limit=&cursor=: limit 1..100 (default 20); kInvalidArgument naming "limit".
Result<store::PageRequest> PageFrom(const net::Request& req);

// {"data": [...], "next_cursor": "..." or null}
template <typename T, typename F>
nlohmann::json PageJson(const store::Page<T>& page, F&& to_json) {
  nlohmann::json data = nlohmann::json::array();
  for (const T& item : page.items) data.push_back(to_json(item));
  return {{"data", std::move(data)},
          {"next_cursor",
           page.next_cursor.empty() ? nlohmann::json(nullptr) : nlohmann::json(page.next_cursor)}};
}

// Parses an instant: RFC 3339 with offset, or a local wall time "YYYY-MM-DDTHH:MM[:SS]" in
// `zone`. kInvalidArgument naming `field`.
Result<Instant> ParseTime(std::string_view text, std::string_view zone, std::string_view field);

enum class Access {
  kPublic,  // no credentials needed
  kRead,    // any principal with read access
  kWrite,   // any principal with write access (and CSRF for cookies)
  kAdmin,   // admin sessions only (writes also need CSRF)
};

struct Call {
  net::Request& req;
  ApiDeps& deps;
  Principal principal;  // empty for kPublic routes
};

using CallHandler = std::function<Result<net::Response>(Call&)>;

// Authenticates and checks `access`, runs `fn`, and renders an error result as JSON.
net::Handler Handle(ApiDeps& deps, Access access, CallHandler fn);

// Text of an Instant for JSON, or null for the zero instant.
nlohmann::json TimeJson(Instant t);

// Calls deps.on_work_enqueued when set.
void NotifyWork(ApiDeps& deps);

}  // namespace telemeet::api
