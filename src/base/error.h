// The error type every layer returns, and the result alias built on it.
//
// Codes follow Abseil's canonical set so a caller knows what to do: retry the call
// (kUnavailable, kDeadlineExceeded, kResourceExhausted after a wait), retry at a higher level
// (kAborted), fix state first (kFailedPrecondition), or fix the input (kInvalidArgument).
//
//   Result<Appointment> a = store.GetAppointment(id);
//   if (!a) return std::unexpected(a.error());
//   if (a.error().code() == ErrorCode::kNotFound) ...
//
// TM_TRY propagates an error to the caller and yields the value otherwise:
//
//   Result<Booking> Book(Tx& tx, int64_t id) {
//     core::Appointment a = TM_TRY(tx.GetAppointment(id));  // returns the error, if any
//     TM_TRY(tx.PutSetting("last_booked", std::to_string(id)));  // a Status: no value
//     return Booking{a};
//   }
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

namespace internal {
template <typename T, typename E>
T TakeValue(std::expected<T, E>&& r) {
  return std::move(*r);
}
template <typename E>
void TakeValue(std::expected<void, E>&&) {}
}  // namespace internal

}  // namespace telemeet

// Evaluates an expression of type std::expected<T, E> once. On an error, returns
// std::unexpected(error) from the enclosing function (or lambda), whose return type must accept
// it (Result<U> or Status for E = Error); otherwise the whole TM_TRY(...) is the value (moved
// out), or void for a Status. A GNU statement expression (g++ and clang), so it can sit on the
// right of a declaration. The expression is copied when it names a variable, never moved from.
// Use it as a whole statement or the whole right-hand side, never inside a brace initializer
// or beside other temporaries: g++ does not destroy what an initializer list already built
// when a statement expression returns from inside it (a leak LeakSanitizer reports).
#define TM_TRY(...)                                              \
  ({                                                             \
    auto tm_try_result_ = (__VA_ARGS__);                         \
    if (!tm_try_result_.has_value()) {                           \
      return std::unexpected(std::move(tm_try_result_).error()); \
    }                                                            \
    ::telemeet::internal::TakeValue(std::move(tm_try_result_));  \
  })

namespace telemeet {}  // namespace telemeet
