#include "google/google_error.h"

#include <array>
#include <charconv>
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "google/json_util.h"

namespace telemeet::google {
namespace {

using nlohmann::json;

std::string StringMember(const json& object, const char* key) {
  if (!object.is_object()) return {};
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

ErrorKind ClassifyCalendar(int status, const std::string& reason, const std::string& message) {
  if (status >= 500 || status == 408) return ErrorKind::kServer;
  if (status == 429) return ErrorKind::kRateLimited;
  if (reason == "rateLimitExceeded" || reason == "userRateLimitExceeded") {
    return ErrorKind::kRateLimited;
  }
  if (reason == "quotaExceeded" || reason == "dailyLimitExceeded") {
    return ErrorKind::kQuotaExceeded;
  }
  switch (status) {
    case 401:
      return ErrorKind::kUnauthorized;
    case 403:
      return reason == "insufficientPermissions" ? ErrorKind::kScopeNotGranted
                                                 : ErrorKind::kForbidden;
    case 404:
      return ErrorKind::kNotFound;
    case 409:
      return reason == "conflict" ? ErrorKind::kConflict : ErrorKind::kDuplicate;
    case 410:
      return reason == "fullSyncRequired" || reason == "updatedMinTooLongAgo"
                 ? ErrorKind::kFullSyncRequired
                 : ErrorKind::kGone;
    case 412:
      return ErrorKind::kPreconditionFailed;
    default:
      break;
  }
  if (status == 400 && message == "Invalid conference type value.") {
    return ErrorKind::kConferenceRefused;
  }
  if (status >= 400) return ErrorKind::kInvalidRequest;
  return ErrorKind::kBadResponse;
}

// Google's newer APIs (Meet REST v2) answer {"error":{"code","message","status","details"}}
// without the errors[] list: the canonical status decides, and the ErrorInfo reason in details
// tells a missing scope from another refusal.
ErrorKind ClassifyRpc(int status, const std::string& rpc_status, const std::string& info_reason,
                      const std::string& message) {
  if (status >= 500 || status == 408 || rpc_status == "UNAVAILABLE" || rpc_status == "INTERNAL" ||
      rpc_status == "DEADLINE_EXCEEDED") {
    return ErrorKind::kServer;
  }
  if (status == 429 || rpc_status == "RESOURCE_EXHAUSTED") return ErrorKind::kRateLimited;
  if (status == 401 || rpc_status == "UNAUTHENTICATED") return ErrorKind::kUnauthorized;
  if (rpc_status == "PERMISSION_DENIED" || status == 403) {
    const bool scope = info_reason == "ACCESS_TOKEN_SCOPE_INSUFFICIENT" ||
                       message.find("insufficient authentication scopes") != std::string::npos;
    return scope ? ErrorKind::kScopeNotGranted : ErrorKind::kForbidden;
  }
  if (status == 404 || rpc_status == "NOT_FOUND") return ErrorKind::kNotFound;
  if (rpc_status == "ALREADY_EXISTS") return ErrorKind::kDuplicate;
  if (rpc_status == "ABORTED") return ErrorKind::kConflict;
  if (status >= 400) return ErrorKind::kInvalidRequest;
  return ErrorKind::kBadResponse;
}

// The reason of the first google.rpc.ErrorInfo in details[], or "".
std::string ErrorInfoReason(const json& error) {
  auto details = error.find("details");
  if (details == error.end() || !details->is_array()) return {};
  for (const json& d : *details) {
    if (StringMember(d, "@type").ends_with("google.rpc.ErrorInfo")) {
      return StringMember(d, "reason");
    }
  }
  return {};
}

ErrorKind ClassifyOAuth(int status, const std::string& error) {
  if (status >= 500) return ErrorKind::kServer;
  if (status == 429) return ErrorKind::kRateLimited;
  if (error == "invalid_grant") return ErrorKind::kInvalidGrant;
  if (error == "invalid_client" || error == "unauthorized_client" || error == "deleted_client") {
    return ErrorKind::kInvalidClient;
  }
  return ErrorKind::kInvalidRequest;
}

std::optional<int> ParseInt(std::string_view s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::string_view ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kTransport:
      return "transport";
    case ErrorKind::kTimeout:
      return "timeout";
    case ErrorKind::kServer:
      return "server_error";
    case ErrorKind::kRateLimited:
      return "rate_limited";
    case ErrorKind::kQuotaExceeded:
      return "quota_exceeded";
    case ErrorKind::kUnauthorized:
      return "unauthorized";
    case ErrorKind::kInvalidGrant:
      return "invalid_grant";
    case ErrorKind::kInvalidClient:
      return "invalid_client";
    case ErrorKind::kScopeNotGranted:
      return "scope_not_granted";
    case ErrorKind::kNeedsReconnect:
      return "needs_reconnect";
    case ErrorKind::kNotConnected:
      return "not_connected";
    case ErrorKind::kForbidden:
      return "forbidden";
    case ErrorKind::kNotFound:
      return "not_found";
    case ErrorKind::kGone:
      return "gone";
    case ErrorKind::kFullSyncRequired:
      return "full_sync_required";
    case ErrorKind::kDuplicate:
      return "duplicate";
    case ErrorKind::kConflict:
      return "conflict";
    case ErrorKind::kPreconditionFailed:
      return "precondition_failed";
    case ErrorKind::kConferenceRefused:
      return "conference_refused";
    case ErrorKind::kInvalidRequest:
      return "invalid_request";
    case ErrorKind::kBadResponse:
      return "bad_response";
    case ErrorKind::kStore:
      return "store";
  }
  return "unknown";
}

GoogleError GoogleError::FromResponse(const HttpResponse& response, Instant now) {
  json body = internal::ParseOrDiscard(response.body);
  std::string reason, domain, message, rpc_status;
  ErrorKind kind;
  const json* error = body.is_object() && body.contains("error") ? &body["error"] : nullptr;
  if (error != nullptr && error->is_object()) {
    // Calendar shape, or the rpc-status shape of Meet (no errors[] list).
    message = StringMember(*error, "message");
    rpc_status = StringMember(*error, "status");
    auto errors = error->find("errors");
    if (errors != error->end() && errors->is_array() && !errors->empty()) {
      reason = StringMember((*errors)[0], "reason");
      domain = StringMember((*errors)[0], "domain");
      if (message.empty()) message = StringMember((*errors)[0], "message");
    }
    const bool has_errors = errors != error->end() && errors->is_array() && !errors->empty();
    if (!has_errors && !rpc_status.empty()) {
      reason = ErrorInfoReason(*error);
      kind = ClassifyRpc(response.status, rpc_status, reason, message);
    } else {
      kind = ClassifyCalendar(response.status, reason, message);
    }
    if (response.status == 400 && kind == ErrorKind::kInvalidRequest && errors != error->end() &&
        errors->is_array() && !errors->empty() &&
        StringMember((*errors)[0], "message") == "Invalid conference type value.") {
      kind = ErrorKind::kConferenceRefused;
    }
  } else if (error != nullptr && error->is_string()) {
    // OAuth shape.
    reason = error->get<std::string>();
    message = StringMember(body, "error_description");
    kind = ClassifyOAuth(response.status, reason);
  } else {
    message = std::string(net::StatusReason(response.status));
    kind = ClassifyCalendar(response.status, {}, {});
  }
  GoogleError out(kind, std::move(message), response.status);
  out.reason_ = std::move(reason);
  out.domain_ = std::move(domain);
  out.rpc_status_ = std::move(rpc_status);
  if (auto ra = response.headers.Get("Retry-After")) out.retry_after_ = ParseRetryAfter(*ra, now);
  return out;
}

GoogleError GoogleError::FromTransport(const Error& error) {
  ErrorKind kind = error.code() == ErrorCode::kDeadlineExceeded  ? ErrorKind::kTimeout
                   : error.code() == ErrorCode::kInvalidArgument ? ErrorKind::kInvalidRequest
                                                                 : ErrorKind::kTransport;
  return GoogleError(kind, error.message(), 0);
}

bool GoogleError::IsTransient() const {
  return kind_ == ErrorKind::kTransport || kind_ == ErrorKind::kTimeout ||
         kind_ == ErrorKind::kServer;
}

bool GoogleError::IsRetriable() const {
  return IsTransient() || kind_ == ErrorKind::kRateLimited || kind_ == ErrorKind::kQuotaExceeded;
}

bool GoogleError::NeedsReconnect() const {
  return kind_ == ErrorKind::kInvalidGrant || kind_ == ErrorKind::kNeedsReconnect ||
         kind_ == ErrorKind::kScopeNotGranted;
}

Error GoogleError::ToError() const {
  ErrorCode code = ErrorCode::kInternal;
  switch (kind_) {
    case ErrorKind::kTransport:
    case ErrorKind::kServer:
      code = ErrorCode::kUnavailable;
      break;
    case ErrorKind::kTimeout:
      code = ErrorCode::kDeadlineExceeded;
      break;
    case ErrorKind::kRateLimited:
    case ErrorKind::kQuotaExceeded:
      code = ErrorCode::kResourceExhausted;
      break;
    case ErrorKind::kUnauthorized:
      code = ErrorCode::kUnauthenticated;
      break;
    case ErrorKind::kInvalidGrant:
    case ErrorKind::kScopeNotGranted:
    case ErrorKind::kNeedsReconnect:
    case ErrorKind::kNotConnected:
    case ErrorKind::kFullSyncRequired:
    case ErrorKind::kPreconditionFailed:
    case ErrorKind::kConferenceRefused:
      code = ErrorCode::kFailedPrecondition;
      break;
    case ErrorKind::kInvalidClient:
      code = ErrorCode::kInternal;
      break;
    case ErrorKind::kForbidden:
      code = ErrorCode::kPermissionDenied;
      break;
    case ErrorKind::kNotFound:
    case ErrorKind::kGone:
      code = ErrorCode::kNotFound;
      break;
    case ErrorKind::kDuplicate:
      code = ErrorCode::kAlreadyExists;
      break;
    case ErrorKind::kConflict:
      code = ErrorCode::kAborted;
      break;
    case ErrorKind::kInvalidRequest:
      code = ErrorCode::kInvalidArgument;
      break;
    case ErrorKind::kBadResponse:
      code = ErrorCode::kInternal;
      break;
    case ErrorKind::kStore:
      code = ErrorCode::kUnavailable;
      break;
  }
  return Error(code, "google: " + ToString());
}

std::string GoogleError::ToString() const {
  std::string out(ErrorKindName(kind_));
  if (http_status_ != 0 || !reason_.empty()) {
    out += " (";
    if (http_status_ != 0) out += std::to_string(http_status_);
    if (!reason_.empty()) {
      if (http_status_ != 0) out += ' ';
      out += reason_;
    }
    out += ')';
  }
  if (!message_.empty()) out += ": " + message_;
  return out;
}

std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value, Instant now) {
  value = Trim(value);
  if (value.empty()) return std::nullopt;
  if (auto n = ParseInt(value)) {
    if (*n < 0) return std::nullopt;
    return std::chrono::seconds(*n);
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (29 characters).
  if (value.size() != 29 || value.substr(3, 2) != ", " || value.substr(25) != " GMT") {
    return std::nullopt;
  }
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  auto day = ParseInt(value.substr(5, 2));
  auto year = ParseInt(value.substr(12, 4));
  auto hour = ParseInt(value.substr(17, 2));
  auto minute = ParseInt(value.substr(20, 2));
  auto second = ParseInt(value.substr(23, 2));
  unsigned month = 0;
  for (unsigned i = 0; i < kMonths.size(); ++i) {
    if (value.substr(8, 3) == kMonths[i]) month = i + 1;
  }
  if (!day || !year || !hour || !minute || !second || month == 0) return std::nullopt;
  std::chrono::year_month_day ymd{std::chrono::year(*year), std::chrono::month(month),
                                  std::chrono::day(static_cast<unsigned>(*day))};
  if (!ymd.ok() || *hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
  auto at = std::chrono::sys_days(ymd) + std::chrono::hours(*hour) + std::chrono::minutes(*minute) +
            std::chrono::seconds(*second);
  auto delta = std::chrono::duration_cast<std::chrono::seconds>(at - now);
  return delta.count() < 0 ? std::chrono::seconds(0) : delta;
}

}  // namespace telemeet::google
