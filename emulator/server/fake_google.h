// fake-google: Google OAuth 2.0 + Calendar v3 + Meet REST v2 on one local port, for tests, the
// sandbox mode and benchmarks (issue 3). It composes the OAuth side (emulator/oauth), the
// Calendar side (emulator/calendar) and the Meet side (emulator/meet) behind one router, and applies around every request what Google's front
// end does: sliding-minute quotas per user and project, scripted faults and latency, a request
// log, and batch requests; watch notifications are delivered for real over HTTP.
//
//   FakeGoogleOptions options;
//   options.clients.push_back({.client_id = "app", .client_secret = "secret",
//                              .redirect_uris = {"http://127.0.0.1:8080/oauth/callback"}});
//   options.accounts.push_back({.email = "doctor@example.com", .sub = "", .name = "Dr Who"});
//   FakeGoogle google(options);
//   if (auto s = google.Start(); !s) return s;
//   // Point the code under test at google.base_url(): /o/oauth2/v2/auth, /token,
//   // /calendar/v3/..., /batch/calendar/v3, and /_emulator/... to script it.
//   google.Stop();
//
// Requests under /_emulator/ (the control API) skip quotas, faults, latency and the log.
// Thread safety: safe for concurrent requests; Start and Stop from one controlling thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "emulator/calendar/calendar_service.h"
#include "emulator/meet/meet_service.h"
#include "emulator/oauth/oauth_state.h"
#include "emulator/server/faults.h"
#include "emulator/server/push_delivery.h"
#include "emulator/server/quota.h"
#include "net/router.h"

namespace telemeet::net {
class HttpServer;
}

namespace telemeet::emulator {

struct FakeGoogleOptions {
  std::vector<OAuthClient> clients;
  std::vector<Account> accounts;
  OAuthSettings oauth;  // token lifetime, auto-approve, ...
  QuotaOptions quota;
  std::vector<FaultRule> faults;
  uint64_t fault_seed = 1;
  std::chrono::milliseconds latency{0};  // added to every answer
  size_t max_batch_parts = 50;           // google-protocol.md §10: 50 (older docs) or 1000
  size_t request_log_size = 10'000;      // newest entries kept
  size_t max_body_bytes = 1 << 20;
  std::chrono::milliseconds push_timeout{10'000};
  bool log_to_stderr = false;  // one line per request (method, path, status, user)
  // Host names requests may name besides loopback ones (net::ServerOptions::allowed_hosts);
  // empty: any. telemeet's sandbox passes {"localhost"}: loopback only, so a web page whose
  // name resolves to 127.0.0.1 cannot drive the control API (DNS rebinding).
  std::vector<std::string> allowed_hosts;
};

// One line of the request log. Never holds a token, code or secret: the path has no query.
struct RequestLogEntry {
  int64_t time_ms = 0;  // Unix milliseconds from the emulator's clock
  std::string method;
  std::string path;
  std::string query;  // as sent, with secret values (token=, code=, ...) redacted
  int status = 0;
  std::string user;   // the account's email when the bearer token was valid
  std::string fault;  // the fault kind that answered, if any
  bool in_batch = false;
};

class FakeGoogle {
 public:
  explicit FakeGoogle(FakeGoogleOptions options, Clock& clock = SystemClock::Instance());
  ~FakeGoogle();  // Stop()
  FakeGoogle(const FakeGoogle&) = delete;
  FakeGoogle& operator=(const FakeGoogle&) = delete;

  // The router the server serves: every request through the whole pipeline. Routes added here
  // before Start are served as they are (no quota, faults or log).
  net::Router& router() { return outer_; }
  // The whole pipeline for one request, without a socket (in-process use and tests).
  net::Response Handle(net::Request& req);

  // kUnavailable when the address cannot be bound; kFailedPrecondition when started already.
  Status Start(std::string address = "127.0.0.1", uint16_t port = 0, int threads = 2);
  uint16_t port() const;
  std::string base_url() const;  // "http://127.0.0.1:PORT"
  void Stop();

  OAuthState& oauth() { return oauth_; }
  CalendarService& calendar() { return calendar_; }
  MeetService& meet() { return meet_; }
  QuotaLimiter& quota() { return quota_; }
  FaultInjector& faults() { return faults_; }
  PushDelivery& push() { return push_; }

  // Back to the state of the options: seeded clients and accounts only, no grants, tokens,
  // calendars or events; quotas, faults, latency and settings as configured; empty logs.
  void Reset();

  void SetLatency(std::chrono::milliseconds latency);
  std::vector<RequestLogEntry> RequestLog() const;
  void ClearRequestLog();

 private:
  net::Response Process(net::Request& req, bool in_batch);
  net::Response Dispatch(net::Request& req);
  net::Response HandleBatch(net::Request& req, const std::string& user);
  void Record(const net::Request& req, int status, const std::string& user, std::string_view fault,
              bool in_batch);
  std::string UserOf(const net::Request& req) const;
  void RegisterControl();
  void Seed();

  FakeGoogleOptions options_;
  Clock& clock_;
  OAuthState oauth_;
  PushDelivery push_;
  MeetService meet_;
  CalendarService calendar_;
  QuotaLimiter quota_;
  FaultInjector faults_;
  // Three routers keep route scans short: the Calendar service's routes (its /calendar/v3/ and
  // /_emulator/calendars/ ones), the Meet service's (/v2/ and /_emulator/meet/) and everything
  // else (OAuth and the other control routes).
  net::Router calendar_router_;
  net::Router meet_router_;
  net::Router inner_;
  net::Router outer_;  // catch-all routes running Handle
  std::unique_ptr<net::HttpServer> server_;

  std::atomic<int64_t> latency_ms_{0};  // read by every request, so not under mu_
  mutable std::mutex mu_;               // guards the fields below
  size_t max_batch_parts_;
  std::deque<RequestLogEntry> log_;
};

// The Google error renderer for router and server errors (404 notFound, 400 badRequest, ...).
net::Response GoogleErrorRenderer(int status, std::string_view code, std::string_view message);

}  // namespace telemeet::emulator
