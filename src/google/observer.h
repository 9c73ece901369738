// What the Google clients report about every HTTP exchange, for the audit trail and metrics:
// operation, method, path, status, latency and outcome. Never a token, a code, a secret or a
// body: the path's query is redacted (pageToken, syncToken ... become [REDACTED]).
//
//   class AuditObserver final : public CallObserver {
//     void OnCall(const CallRecord& r) override { audit.Append(r.operation, r.status, ...); }
//   };
//   CalendarClient calendar(options, {.transport = t, ..., .observer = &audit_observer});
#pragma once

#include <chrono>
#include <string>

namespace telemeet::google {

struct CallRecord {
  std::string operation{};  // "events.insert", "oauth.refresh", ...
  std::string doctor_id;    // empty when no doctor is involved (code exchange)
  std::string method{};     // "POST"
  std::string path{};       // "/calendar/v3/calendars/primary/events?conferenceDataVersion=1"
  int status = 0;           // HTTP status; 0 when the transport failed
  std::chrono::microseconds latency{0};
  int attempt = 1;      // 1 for the first try, 2 for the first retry, ...
  std::string outcome;  // "ok" or an ErrorKindName ("rate_limited")
};

// Implementations must be thread-safe and must not block.
class CallObserver {
 public:
  virtual ~CallObserver() = default;
  virtual void OnCall(const CallRecord& record) = 0;
};

}  // namespace telemeet::google
