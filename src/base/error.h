// The error type every layer returns, and the result alias built on it.
//
// Codes follow Abseil's canonical set so a caller knows what to do: retry the call
// (kUnavailable, kDeadlineExceeded, kResourceExhausted after a wait), retry at a higher level
// (kAborted), fix state first (kFailedPrecondition), or fix the input (kInvalidArgument).
//
//   Result<Appointment> a = store.GetAppointment(id);
//   if (!a) return std::unexpected(a.error());
//   if (a.error().code() == ErrorCode::kNotFound) ...
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace telemeet {

enum class ErrorCode {
  kInvalidArgument,     // the input is wrong; repeating it will fail again
  kUnauthenticated,     // no or bad credentials
  kPermissionDenied,    // credentials fine, action not allowed
  kNotFound,            // the named thing does not exist
  kAlreadyExists,       // a create found the thing already there
  kFailedPrecondition,  // the system is not in a state that allows this; fix state first
  kAborted,             // a concurrency conflict; retry the whole operation
  kResourceExhausted,   // a quota or size limit; retry later or with less
  kDeadlineExceeded,    // it took too long; it may or may not have happened
  kUnavailable,         // transient; retry with backoff
  kInternal,            // a bug or a broken invariant
};

// The stable snake_case name of a code, as used in JSON error bodies ("not_found").
std::string_view ErrorCodeName(ErrorCode code);

// The HTTP status an API answers for a code (400, 401, 403, 404, 409, 429, 500, 503, 504).
int HttpStatusFor(ErrorCode code);

// An error: a code, a human message, and optionally the input field it concerns.
class [[nodiscard]] Error {
 public:
  Error(ErrorCode code, std::string message, std::string field = {})
      : code_(code), message_(std::move(message)), field_(std::move(field)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // The input field the error names ("start", "patient.email"), or empty.
  const std::string& field() const { return field_; }

  // "not_found: appointment 12 does not exist"
  std::string ToString() const;

  friend bool operator==(const Error&, const Error&) = default;

 private:
  ErrorCode code_;
  std::string message_;
  std::string field_;
};

template <typename T>
using Result = std::expected<T, Error>;

// Result<void> for operations that return nothing but may fail.
using Status = std::expected<void, Error>;

inline std::unexpected<Error> Fail(ErrorCode code, std::string message, std::string field = {}) {
  return std::unexpected<Error>(Error(code, std::move(message), std::move(field)));
}

inline Status Ok() { return {}; }

}  // namespace telemeet
