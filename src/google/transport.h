// The seam between the Google clients and the network: the OAuth and Calendar clients build
// HttpRequests and parse HttpResponses; a Transport sends them. Production uses HttpTransport
// (libcurl, see http_transport.h); unit tests use testing::ScriptedTransport; integration tests
// point HttpTransport at the emulator.
//
//   HttpRequest req{.method = "GET", .url = base + "/calendar/v3/calendars/primary"};
//   req.headers.Set("Authorization", "Bearer " + token);
//   Result<HttpResponse> res = transport.Send(req);
//   if (!res) ...  // kUnavailable (connect/reset), kDeadlineExceeded (timeout)
//
// Implementations are safe for concurrent use by many threads.
#pragma once

#include <chrono>
#include <string>

#include "base/error.h"
#include "net/http.h"

namespace telemeet::google {

struct HttpRequest {
  std::string method = "GET";
  std::string url{};  // absolute URL, query included
  net::Headers headers{};
  std::string body{};
  std::chrono::milliseconds timeout{30'000};  // the whole exchange
};

struct HttpResponse {
  int status = 0;
  net::Headers headers{};
  std::string body{};
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends one request and waits for its answer. Any HTTP status is a response; only a transport
  // failure is an error: kUnavailable (connection refused/reset, DNS), kDeadlineExceeded
  // (timeout; the request may or may not have reached Google), kInvalidArgument (bad URL).
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

}  // namespace telemeet::google
