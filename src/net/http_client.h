// An HTTP/1.1 and HTTP/2 client on libcurl's multi interface: many requests in flight on one
// private thread, connections reused between requests to the same host.
//
//   HttpClient client;                                   // one per process is typical
//   ClientRequest req{.method = "POST", .url = token_url, .body = FormEncode(form)};
//   req.headers.Set("Content-Type", "application/x-www-form-urlencoded");
//   Result<ClientResponse> res = client.Send(std::move(req));          // blocking
//   client.SendAsync(std::move(req2), [](Result<ClientResponse> r) {   // or asynchronous
//     ...  // runs on the client's thread: hand heavy work to a pool, never block here
//   });
//
// Outcomes: any HTTP status (even 500) is a ClientResponse. Errors are kUnavailable when the
// peer cannot be reached or drops the connection (refused, DNS, reset, TLS failure),
// kDeadlineExceeded when `timeout` passes first, kInvalidArgument for a malformed URL or a
// scheme other than http/https, kResourceExhausted for a body above max_response_bytes, and
// kPermissionDenied when the options' destination policy refuses the URL's scheme or every
// address its host resolves to. FailureClass names an error in one stable word for logs that
// must not carry the transport's own text. Redirects are not followed. Proxy settings in the
// environment are ignored.
//
// Threading: an HttpClient is safe for concurrent use from any number of threads. SendAsync
// hands the request to the client's thread through a mutex-guarded queue and wakes it with
// curl_multi_wakeup; only that thread touches the curl multi and easy handles and each
// request's state, and callbacks run on it, one at a time. Destroying the client (which must
// not race with other calls on it) stops the thread and completes every request still queued or
// in flight with kUnavailable before returning.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "net/destination_policy.h"
#include "net/http.h"

namespace telemeet::net {

struct ClientRequest {
  std::string method = "GET";
  std::string url;    // absolute http(s) URL
  Headers headers{};  // the {} let callers omit them in designated initializers
  std::string body{};
  // The whole request, from SendAsync (including any wait for a free slot) to the last byte.
  std::chrono::milliseconds timeout{30'000};
};

struct ClientResponse {
  int status = 0;
  Headers headers{};  // in arrival order; repeated fields (Set-Cookie) stay separate
  std::string body{};
};

struct HttpClientOptions {
  std::chrono::milliseconds connect_timeout{5'000};
  long max_connections_per_host = 64;
  bool http2 = true;  // HTTP/2 over TLS when the server offers it
  std::string user_agent = "telemeet/0.1";
  size_t max_response_bytes = 64 << 20;  // a larger body fails with kResourceExhausted
  // Requests per scheme://host:port handed to curl at once; more wait in the client, in order,
  // with their timeout running.
  size_t max_in_flight_per_host = 128;
  // Set: every connection is checked against it on the resolved address, at connect time
  // (destination_policy.h). Unset: any destination (the Google client's case).
  std::optional<DestinationPolicy> destinations = std::nullopt;
};

// The class of an error Send or SendAsync returned, one stable word: "timeout", "refused"
// (nothing listens), "dns" (the name does not resolve), "tls" (handshake or certificate),
// "connection" (reset, dropped or garbled by the peer), "blocked" (the destination policy),
// "too_large", "invalid_request", "cancelled" (the client shut down) or "internal". Unlike the
// error's message it names no host, path or certificate, so it may be shown to anyone.
std::string_view FailureClass(const Error& error);

class HttpClient {
 public:
  // Declared outside the class so `Options options = {}` can be a default argument.
  using Options = HttpClientOptions;

  // Counters since construction, for tests and metrics.
  struct Stats {
    uint64_t completed = 0;           // requests that got a response
    uint64_t failed = 0;              // requests that ended in an error
    uint64_t connections_opened = 0;  // new TCP connections (the rest reused one)
  };

  explicit HttpClient(Options options = {});
  ~HttpClient();  // cancels what is in flight (callbacks get kUnavailable)
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Thread-safe. One curl multi handle on a private thread keeps many requests in flight and
  // reuses connections. `done` is called exactly once, on that thread, and must neither block
  // nor throw; it may call SendAsync. An empty `done` sends without waiting for the outcome.
  void SendAsync(ClientRequest request, std::function<void(Result<ClientResponse>)> done);

  // Blocking convenience built on SendAsync. Returns kFailedPrecondition when called from a
  // SendAsync callback (it would wait on its own thread forever).
  Result<ClientResponse> Send(ClientRequest request);

  Stats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace telemeet::net
