// A blocking HTTP/1.1 client over a plain socket, for tests that need control the real
// clients hide: half-sent requests, pipelining, watching a connection close.
//
//   RawClient c;
//   ASSERT_TRUE(c.Connect(port));
//   c.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
//   auto r = c.ReadResponse();        // nullopt when the server closed or timed out
//   EXPECT_EQ(r->status, 200);
//
// Not thread-safe; one per test thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/http.h"

namespace telemeet::net::testing {

struct RawResponse {
  int status = 0;
  Headers headers;
  std::string body;
};

class RawClient {
 public:
  RawClient() = default;
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool Connect(uint16_t port);
  bool Send(std::string_view bytes);
  // Reads one response (Content-Length framed; no body when `head`, the answer to a HEAD).
  // nullopt on close or after `timeout`.
  std::optional<RawResponse> ReadResponse(
      std::chrono::milliseconds timeout = std::chrono::seconds(5), bool head = false);
  // Every byte the server sends until it closes the connection, what ReadResponse has read
  // ahead included; nullopt when it is still open after `timeout`.
  std::optional<std::string> ReadAll(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // True when the server closes the connection within `timeout` (reads and discards data).
  bool WaitClosed(std::chrono::milliseconds timeout);
  void Close();

 private:
  int fd_ = -1;
  std::string buffer_;
};

// One request on a new connection: "GET", "/healthz" → response, or nullopt.
std::optional<RawResponse> Fetch(uint16_t port, std::string_view method, std::string_view target,
                                 std::string_view body = {},
                                 std::string_view content_type = "application/json");

}  // namespace telemeet::net::testing
