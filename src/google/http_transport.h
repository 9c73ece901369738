// The production Transport: net::HttpClient (libcurl multi, HTTP/2 where offered, connection
// reuse, TLS verification on). Base URLs come from configuration, so the same transport talks
// to Google or to the emulator.
//
//   net::HttpClient http;                 // shared by the whole process
//   HttpTransport transport(http);
//   OAuthClient oauth(config, {.transport = transport, ...});
//
// Thread-safe; many threads may Send at once and share the client's connections.
#pragma once

#include "google/transport.h"
#include "net/http_client.h"

namespace telemeet::google {

class HttpTransport final : public Transport {
 public:
  explicit HttpTransport(net::HttpClient& client) : client_(client) {}

  // Transport
  Result<HttpResponse> Send(const HttpRequest& request) override;

 private:
  net::HttpClient& client_;
};

}  // namespace telemeet::google
