// A Transport for unit tests: scripted answers per route, every request recorded.
//
//   ScriptedTransport t;
//   t.On("POST", "https://oauth2.example/token", Json(200, {{"access_token", "a"}}));
//   t.On("GET", "https://api.example/calendar/v3/calendars/primary", Json(401, ...))
//    .On("GET", "https://api.example/calendar/v3/calendars/primary", Json(200, ...));
//   ... run the client ...
//   EXPECT_EQ(t.Count("POST", "https://oauth2.example/token"), 1);
//   EXPECT_EQ(t.requests()[0].headers.Get("Authorization"), "Bearer a");
//
// A route is a method and a URL without its query. Answers queued for a route are used in
// order; the last one repeats. A request with no route gets a transport error kInternal and is
// listed in unexpected(). Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "google/transport.h"

namespace telemeet::google::testing {

using Reply = std::function<Result<HttpResponse>(const HttpRequest&)>;

// Canned replies.
Reply Json(int status, nlohmann::json body, net::Headers headers = {});
Reply Text(int status, std::string body, net::Headers headers = {});
Reply TransportError(ErrorCode code, std::string message = "scripted transport failure");
// A Calendar-shaped error: {"error":{"errors":[{domain,reason,message}],code,message}}.
Reply ApiError(int status, std::string reason, std::string message, std::string domain = "global",
               net::Headers headers = {});
// An OAuth-shaped error: {"error","error_description"}.
Reply OAuthError(int status, std::string error, std::string description);

class ScriptedTransport final : public Transport {
 public:
  ScriptedTransport& On(std::string method, std::string url, Reply reply);
  // Answers every request with no route.
  ScriptedTransport& Fallback(Reply reply);

  Result<HttpResponse> Send(const HttpRequest& request) override;

  std::vector<HttpRequest> requests() const;
  std::vector<HttpRequest> unexpected() const;
  // Requests seen on a route.
  int Count(const std::string& method, const std::string& url) const;

 private:
  struct Route {
    std::vector<Reply> replies;
    size_t next = 0;
  };
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Route> routes_;
  Reply fallback_;
  std::vector<HttpRequest> requests_;
  std::vector<HttpRequest> unexpected_;
};

// The URL without its query string.
std::string UrlPath(const std::string& url);
// The decoded query parameters of a URL, in order.
KeyValues UrlQuery(const std::string& url);

}  // namespace telemeet::google::testing
