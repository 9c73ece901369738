// The end of the OAuth connect flow in one call: exchange the code (PKCE verifier), read the
// account email from calendars/primary with the new access token, and store the sealed grant.
// The API layer calls it from the OAuth callback after checking `state`.
//
//   auto account = CompleteConnect(oauth, calendar, tokens, "doctor-42", code, verifier);
//   if (!account && account.error().kind() == ErrorKind::kScopeNotGranted) ask again
//   else show account->email
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "google/calendar_client.h"
#include "google/oauth_client.h"
#include "google/token_provider.h"

namespace telemeet::google {

struct ConnectedAccount {
  std::string email{};      // the Google account (its primary calendar id)
  std::string time_zone{};  // the calendar's zone
  std::vector<std::string> scopes{};
};

// Errors: those of OAuthClient::ExchangeCode (kInvalidGrant, kScopeNotGranted, kBadResponse
// without a refresh token, ...), of calendars/primary, and kStore.
GoogleResult<ConnectedAccount> CompleteConnect(OAuthClient& oauth, CalendarClient& calendar,
                                               TokenProvider& tokens, std::string_view doctor_id,
                                               std::string_view code,
                                               std::string_view code_verifier);

}  // namespace telemeet::google
