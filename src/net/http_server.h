// An HTTP/1.1 server for a Router, on Boost.Beast coroutines.
//
//   Router router;
//   router.Get("/healthz", Healthz);
//   HttpServer server({.port = 0}, router);
//   if (auto s = server.Start(); !s) return Fail(s.error());
//   std::cout << server.BaseUrl();            // "http://127.0.0.1:41234"
//   ...
//   server.Shutdown(std::chrono::seconds(10)); // stop accepting, finish in-flight, close idle
//
// Keep-alive connections; a request must arrive whole within read_timeout once its first byte
// has come, and an idle connection is closed after idle_timeout, so a slow or silent client
// cannot hold a connection. Oversized headers get 431 and oversized bodies 413, malformed
// requests 400, a stalled request 408; the router's error renderer writes their bodies.
// Handlers run on the I/O threads unless their route asks for `offload`, in which case they
// run on the worker pool and the I/O thread serves others meanwhile.
//
// Thread safety: Start and Shutdown may be called from any thread; the router must not change
// after Start.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "net/router.h"

namespace telemeet::obs {
class Logger;
class Registry;
}  // namespace telemeet::obs

namespace telemeet::net {

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0 picks a free port
  int io_threads = 2;
  int worker_threads = 8;  // runs routes registered with {.offload = true}
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 1024 * 1024;
  std::chrono::milliseconds read_timeout{30000};
  std::chrono::milliseconds idle_timeout{60000};
  size_t max_connections = 10000;
  std::string server_header = "telemeet";
  // The host names this server answers to: the Host header's name (port ignored, compared
  // case-insensitively). Loopback names (localhost, 127.x.x.x, ::1) always pass. A request
  // naming another host gets 421 unless its route is RouteOptions::any_host: a web page on
  // another site whose name resolves to this server (DNS rebinding) cannot use it. Empty:
  // every Host is accepted (the Google emulator, tests).
  std::vector<std::string> allowed_hosts;
  // Sent with every response when set: "max-age=31536000" once the public URL is https.
  std::string strict_transport_security;
  // Optional: request counters and latency histograms per route and status.
  obs::Registry* metrics = nullptr;
  // Optional: one log line per request (method, redacted target, status, latency, request id).
  obs::Logger* logger = nullptr;
};

class HttpServer {
 public:
  HttpServer(ServerOptions options, const Router& router);
  ~HttpServer();  // Shutdown(0) if still running
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the listening socket, so port() is known (for port 0) before serving begins;
  // connections wait in the backlog until Start(). Optional: Start() binds when needed.
  // kUnavailable when the address cannot be bound.
  Status Listen();
  // Binds if not yet done and serves on background threads. kUnavailable when the address
  // cannot be bound, kFailedPrecondition when already started.
  Status Start();
  uint16_t port() const;
  std::string BaseUrl() const;  // "http://127.0.0.1:PORT"
  bool draining() const;

  // Stops accepting, lets requests in flight finish (each answered with Connection: close),
  // closes idle connections at once, and force-closes what remains after `grace`. Returns
  // when every thread has stopped. Idempotent.
  void Shutdown(std::chrono::milliseconds grace = std::chrono::seconds(10));

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace telemeet::net
