// The HTTP face of the emulator's OAuth side: Google's accounts and oauth2 hosts served on one
// port by path (google-protocol.md §1-4).
//
//   OAuthState oauth(clock);
//   net::Router router;
//   RegisterOAuthRoutes(router, oauth);
//
// Routes:
//   GET  /o/oauth2/v2/auth          validation, Google-like error pages, the consent page
//   POST /o/oauth2/v2/auth          the consent page's Allow / Deny form
//   POST /token                     authorization_code and refresh_token grants
//   POST /revoke                    token in the form body or the query
//   GET  /v1/userinfo, /oauth2/v3/userinfo
//   GET|POST /tokeninfo             ?access_token= or ?id_token=
//   GET  /oauth2/v3/certs (JWKS), /oauth2/v1/certs (PEM), /.well-known/openid-configuration
// plus the legacy aliases /o/oauth2/auth, /o/oauth2/token, /oauth2/v4/token, /o/oauth2/revoke
// and /oauth2/v3/tokeninfo.
#pragma once

#include <string>
#include <string_view>

#include "emulator/oauth/oauth_state.h"
#include "net/router.h"

namespace telemeet::emulator {

void RegisterOAuthRoutes(net::Router& router, OAuthState& state);

}  // namespace telemeet::emulator
