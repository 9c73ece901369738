// Google's answers that are not successes, as one typed value: parsed from both of Google's
// error shapes (Calendar {"error":{"errors":[...],"code","message","status"}}, Meet the same
// without errors[] (classified by "status" and details[] ErrorInfo), and OAuth
// {"error","error_description"}) or made from a transport failure, and classified so the retry
// policy, the rate limiter and the callers act on the kind rather than on strings.
//
//   GoogleError e = GoogleError::FromResponse(response, clock.Now());
//   if (e.kind() == ErrorKind::kInvalidGrant) store.MarkNeedsReconnect(...);
//   if (e.IsRetriable()) ...   // transient, rate limited, quota
//   return std::unexpected(e.ToError());   // leaving the google layer
//
// Nothing in a GoogleError is secret: it never holds request bodies or tokens.
#pragma once

#include <chrono>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/clock.h"
#include "base/error.h"
#include "google/transport.h"

namespace telemeet::google {

enum class ErrorKind {
  kTransport,           // connection refused/reset, DNS: transient
  kTimeout,             // no answer in time; the call may have happened: transient
  kServer,              // 5xx (backendError ...): transient
  kRateLimited,         // 429, 403 rateLimitExceeded / userRateLimitExceeded
  kQuotaExceeded,       // 403 quotaExceeded / dailyLimitExceeded: back off for long
  kUnauthorized,        // 401 authError: refresh the access token once and retry
  kInvalidGrant,        // OAuth invalid_grant: the grant is dead, the doctor must reconnect
  kInvalidClient,       // OAuth invalid_client / unauthorized_client: our configuration is wrong
  kScopeNotGranted,     // the calendar scope was not granted (or 403 insufficientPermissions)
  kNeedsReconnect,      // the stored grant is already marked dead; no call was made
  kNotConnected,        // the doctor has no grant at all
  kForbidden,           // any other 403 (forbiddenForNonOrganizer ...)
  kNotFound,            // 404
  kGone,                // 410 deleted
  kFullSyncRequired,    // 410 fullSyncRequired / updatedMinTooLongAgo: wipe and resync
  kDuplicate,           // 409 duplicate: the id exists already
  kConflict,            // 409 conflict (a batch item clashing with another): retry it alone
  kPreconditionFailed,  // 412 conditionNotMet (If-Match)
  kConferenceRefused,   // 400 "Invalid conference type value.": the calendar refuses Meet
  kInvalidRequest,      // other 4xx: fix the request, never retry
  kBadResponse,         // a success we could not parse, or an unexpected status
  kStore,               // the grant store failed (not Google's fault); retry later
};

// "rate_limited", "invalid_grant", ... (stable; used in metrics and the audit trail).
std::string_view ErrorKindName(ErrorKind kind);

class [[nodiscard]] GoogleError {
 public:
  GoogleError(ErrorKind kind, std::string message, int http_status = 0)
      : kind_(kind), http_status_(http_status), message_(std::move(message)) {}

  // Parses an error answer of either shape; a body that is neither still gives a classified
  // error from the status. `now` resolves an HTTP-date Retry-After.
  static GoogleError FromResponse(const HttpResponse& response, Instant now);
  // A transport failure (kUnavailable → kTransport, kDeadlineExceeded → kTimeout, other →
  // kTransport).
  static GoogleError FromTransport(const Error& error);

  ErrorKind kind() const { return kind_; }
  int http_status() const { return http_status_; }  // 0 for transport failures
  // Calendar errors[0].reason ("rateLimitExceeded") or the OAuth "error" ("invalid_grant").
  const std::string& reason() const { return reason_; }
  const std::string& domain() const { return domain_; }  // "global", "usageLimits", ...
  // Google's words for a person: the top-level message or error_description.
  const std::string& message() const { return message_; }
  const std::string& rpc_status() const { return rpc_status_; }  // "PERMISSION_DENIED"
  std::optional<std::chrono::seconds> retry_after() const { return retry_after_; }

  // Transient failures: transport, timeout, 5xx.
  bool IsTransient() const;
  // What a retry may fix: transient, rate limited, quota exceeded.
  bool IsRetriable() const;
  // The grant cannot be used until the doctor reconnects (invalid_grant, scope missing,
  // already marked).
  bool NeedsReconnect() const;

  // The error as it leaves the google layer, mapped onto the canonical codes.
  Error ToError() const;
  // "rate_limited (403 rateLimitExceeded): Rate Limit Exceeded"
  std::string ToString() const;

  GoogleError& set_reason(std::string v) {
    reason_ = std::move(v);
    return *this;
  }
  GoogleError& set_domain(std::string v) {
    domain_ = std::move(v);
    return *this;
  }
  GoogleError& set_retry_after(std::chrono::seconds v) {
    retry_after_ = v;
    return *this;
  }

 private:
  ErrorKind kind_;
  int http_status_;
  std::string reason_;
  std::string domain_;
  std::string message_;
  std::string rpc_status_;
  std::optional<std::chrono::seconds> retry_after_;
};

template <typename T>
using GoogleResult = std::expected<T, GoogleError>;
using GoogleStatus = std::expected<void, GoogleError>;

inline std::unexpected<GoogleError> GFail(ErrorKind kind, std::string message, int status = 0) {
  return std::unexpected<GoogleError>(GoogleError(kind, std::move(message), status));
}

// Parses a Retry-After value: delta seconds or an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37
// GMT"), relative to `now`. nullopt when malformed; never negative.
std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value, Instant now);

}  // namespace telemeet::google
