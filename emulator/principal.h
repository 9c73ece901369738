// The seam between the emulator's OAuth side and its Calendar side: who a bearer token is.
//
//   auto who = auth.FromAccessToken(token);
//   if (!who) return ApiError(401, {.reason = "authError", ...});
//   if (!who->HasScope(kCalendarScope)) return ApiError(403, {.reason = "insufficientPermissions"});
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace telemeet::emulator {

struct Principal {
  std::string email;      // the account, also its primary calendar id
  std::string sub;        // the stable account id
  std::string client_id;  // the OAuth client the token was issued to
  std::vector<std::string> scopes;

  bool HasScope(std::string_view scope) const {
    return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
  }
};

// Resolves live access tokens. Implementations are safe for concurrent use.
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // The principal of a live access token; nullopt when unknown, expired or revoked.
  virtual std::optional<Principal> FromAccessToken(std::string_view token) const = 0;
};

}  // namespace telemeet::emulator
