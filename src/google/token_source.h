// Where the Calendar client gets access tokens: the TokenProvider in production, a fake in
// tests.
//
//   GoogleResult<std::string> token = tokens.AccessTokenFor("doctor-42");
//   ... Google answers 401 for it ...
//   token = tokens.RefreshAfterRejection("doctor-42", *token);   // one forced refresh
#pragma once

#include <string>
#include <string_view>

#include "google/google_error.h"

namespace telemeet::google {

class AccessTokenSource {
 public:
  virtual ~AccessTokenSource() = default;
  // A token valid for at least a few minutes. Errors: kNotConnected, kNeedsReconnect,
  // kInvalidGrant (the grant died now), kInvalidClient, transient kinds.
  virtual GoogleResult<std::string> AccessTokenFor(std::string_view doctor_id) = 0;
  // Google refused `rejected` with 401: returns a different token, refreshing unless another
  // caller already replaced it.
  virtual GoogleResult<std::string> RefreshAfterRejection(std::string_view doctor_id,
                                                          std::string_view rejected) = 0;
  // Google refused the grant in a way only the doctor can fix (403 insufficientPermissions:
  // the calendar scope is gone): later calls answer kNeedsReconnect.
  virtual void MarkNeedsReconnect(std::string_view doctor_id, const GoogleError& why) = 0;
};

}  // namespace telemeet::google
