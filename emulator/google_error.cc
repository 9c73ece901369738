#include "emulator/google_error.h"

#include <nlohmann/json.hpp>

#include "net/json.h"

namespace telemeet::emulator {

std::string_view RpcStatusFor(int http_status) {
  switch (http_status) {
    case 400: return "INVALID_ARGUMENT";
    case 401: return "UNAUTHENTICATED";
    case 403: return "PERMISSION_DENIED";
    case 404: return "NOT_FOUND";
    case 409: return "ALREADY_EXISTS";
    case 410: return "NOT_FOUND";
    case 412: return "FAILED_PRECONDITION";
    case 429: return "RESOURCE_EXHAUSTED";
    case 500: return "INTERNAL";
    case 503: return "UNAVAILABLE";
    case 504: return "DEADLINE_EXCEEDED";
    default: return "UNKNOWN";
  }
}

net::Response ApiError(int http_status, const ErrorItem& item, std::string_view top_message) {
  nlohmann::json e = {{"domain", item.domain}, {"reason", item.reason}, {"message", item.message}};
  if (!item.location_type.empty()) e["locationType"] = item.location_type;
  if (!item.location.empty()) e["location"] = item.location;
  nlohmann::json body = {
      {"error",
       {{"errors", nlohmann::json::array({e})},
        {"code", http_status},
        {"message", top_message.empty() ? std::string_view(item.message) : top_message},
        {"status", RpcStatusFor(http_status)}}}};
  return net::JsonResponse(http_status, body);
}

net::Response RpcError(int http_status, std::string_view message, const nlohmann::json& details) {
  nlohmann::json error = {
      {"code", http_status}, {"message", message}, {"status", RpcStatusFor(http_status)}};
  if (!details.is_null()) error["details"] = details;
  return net::JsonResponse(http_status, {{"error", error}});
}

void AddNoCacheHeaders(net::Response& response) {
  response.headers.Set("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate");
  response.headers.Set("Pragma", "no-cache");
  response.headers.Set("Expires", "Mon, 01 Jan 1990 00:00:00 GMT");
}

net::Response OAuthError(int http_status, std::string_view error, std::string_view description) {
  net::Response r =
      net::JsonResponse(http_status, {{"error", error}, {"error_description", description}});
  AddNoCacheHeaders(r);
  return r;
}

}  // namespace telemeet::emulator
