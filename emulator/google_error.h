// Google's two error shapes, as the emulator answers them (google-protocol.md §2 and §11).
//
//   return ApiError(404, {.reason = "notFound", .message = "Not Found"});
//   // {"error":{"errors":[{"domain":"global","reason":"notFound","message":"Not Found"}],
//   //           "code":404,"message":"Not Found","status":"NOT_FOUND"}}
//   return RpcError(404, "Requested entity was not found.");   // Meet REST v2 and other new APIs
//   // {"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND"}}
//   return OAuthError(400, "invalid_grant", "Token has been expired or revoked.");
//   // {"error":"invalid_grant","error_description":"Token has been expired or revoked."}
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "net/http.h"

namespace telemeet::emulator {

struct ErrorItem {
  std::string domain = "global";
  std::string reason;
  std::string message;
  std::string location_type;  // "parameter", "header"; omitted when empty
  std::string location;       // "syncToken", "If-Match", "Authorization"; omitted when empty
};

// The google.rpc status name Google sends beside an HTTP status ("NOT_FOUND").
std::string_view RpcStatusFor(int http_status);

// A Calendar API error: {"error":{"errors":[item],"code","message","status"}}.
// The top-level message is item.message unless `top_message` is given.
net::Response ApiError(int http_status, const ErrorItem& item, std::string_view top_message = {});

// A google.rpc.Status error, as the newer APIs answer (Meet REST v2, google-protocol.md §16):
// {"error":{"code","message","status"}} with `details` when given (not null), no errors[] list.
net::Response RpcError(int http_status, std::string_view message,
                       const nlohmann::json& details = nullptr);

// An OAuth endpoint error: {"error","error_description"} with Google's no-cache headers.
net::Response OAuthError(int http_status, std::string_view error, std::string_view description);

// Adds the cache headers Google sends on token endpoint answers (google-protocol.md §2).
void AddNoCacheHeaders(net::Response& response);

}  // namespace telemeet::emulator
