#include "google/connect.h"

namespace telemeet::google {

GoogleResult<ConnectedAccount> CompleteConnect(OAuthClient& oauth, CalendarClient& calendar,
                                               TokenProvider& tokens, std::string_view doctor_id,
                                               std::string_view code,
                                               std::string_view code_verifier) {
  GoogleResult<TokenGrant> grant = oauth.ExchangeCode(code, code_verifier);
  if (!grant) return std::unexpected(grant.error());
  GoogleResult<CalendarInfo> primary = calendar.PrimaryCalendarWithToken(grant->access_token);
  if (!primary) return std::unexpected(primary.error());
  GoogleStatus stored = tokens.StoreNewGrant(doctor_id, *grant, primary->id);
  if (!stored) return std::unexpected(stored.error());
  return ConnectedAccount{
      .email = primary->id, .time_zone = primary->time_zone, .scopes = grant->scopes};
}

}  // namespace telemeet::google
