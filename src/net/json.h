// JSON bodies in and out: parsing with size and depth limits, responses, and the uniform error
// body {"error": {"code": "...", "message": "...", "field": "..."}} that every API error uses.
//
//   auto body = ParseJsonBody(req);                     // 400/415 naming the problem
//   if (!body) return ErrorResponse(body.error());
//   return JsonResponse(201, {{"id", id}});
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "base/error.h"
#include "net/http.h"

namespace telemeet::net {

struct JsonLimits {
  size_t max_depth = 32;
};

// Parses text as JSON, refusing documents nested deeper than limits.max_depth.
// Errors are kInvalidArgument with a message naming the position of the problem.
Result<nlohmann::json> ParseJson(std::string_view text, JsonLimits limits = {});

// Parses a request body that must be a JSON object. An absent or non-JSON Content-Type is
// refused too (kInvalidArgument naming "Content-Type").
Result<nlohmann::json> ParseJsonBody(const Request& req, JsonLimits limits = {});

// Compact JSON text, as nlohmann's dump(-1) with invalid UTF-8 replaced by U+FFFD (never
// throws), faster for plain ASCII strings.
std::string DumpJson(const nlohmann::json& value);

// `body` as DumpJson text with Content-Type application/json; charset=utf-8.
Response JsonResponse(int status, const nlohmann::json& body);

// The uniform error body with the given status and code.
Response JsonError(int status, std::string_view code, std::string_view message,
                   std::string_view field = {});

// An Error as a response: status from HttpStatusFor, code from ErrorCodeName.
Response ErrorResponse(const Error& error);

}  // namespace telemeet::net
