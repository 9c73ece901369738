// Google's OAuth 2.0 web-server flow (google-protocol.md §1-§4): the authorization URL (offline
// access, consent prompt, PKCE S256), code exchange and refresh at the token endpoint
// (client_secret_post), and revoke. Answers become typed results: granted scopes checked (a user
// can untick the calendar scope), expiry as an Instant, errors as GoogleError with Google's
// description kept (invalid_grant → reconnect, invalid_client → our configuration).
//
//   OAuthClient oauth(config, {.transport = transport, .clock = clock, .retry = retry});
//   auto start = oauth.BuildAuthorizationUrl(state, "dr.who@example.com");
//   // redirect the browser to start->url; keep start->code_verifier with the state
//   auto grant = oauth.ExchangeCode(code, verifier);   // kScopeNotGranted if calendar unticked
//   auto fresh = oauth.Refresh(grant->refresh_token);  // refresh_token is kept in the result
//
// The configuration is fixed at construction, or comes from an OAuthConfigSource asked once per
// operation (admin settings that change at run time, see api/google_settings.h): one operation
// uses one snapshot, so a change never mixes two client ids within a call.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "crypto/keyring.h"
#include "google/google_error.h"
#include "google/observer.h"
#include "google/retry.h"
#include "google/transport.h"

namespace telemeet::google {

inline constexpr std::string_view kCalendarScope = "https://www.googleapis.com/auth/calendar";
inline constexpr std::string_view kCalendarEventsScope =
    "https://www.googleapis.com/auth/calendar.events";

struct OAuthConfig {
  std::string client_id{};
  std::string client_secret{};
  std::string redirect_uri{};
  std::string auth_url = "https://accounts.google.com/o/oauth2/v2/auth";
  std::string token_url = "https://oauth2.googleapis.com/token";
  std::string revoke_url = "https://oauth2.googleapis.com/revoke";
  // Space-separated; must contain the calendar scope or calendar.events.
  std::string scope = std::string(kCalendarScope);
  std::chrono::milliseconds timeout{30'000};
};

// Where a live OAuthClient takes its configuration from.
class OAuthConfigSource {
 public:
  virtual ~OAuthConfigSource() = default;
  // The configuration for the next operation; never null. Called once per operation, possibly
  // inside a store transaction (token refresh under the grant's row lock): it must be cheap and
  // must not touch the store. Thread-safe.
  virtual std::shared_ptr<const OAuthConfig> Current() const = 0;
};

struct OAuthDeps {
  Transport& transport;
  const Clock& clock;
  RetryPolicy& retry;
  CallObserver* observer = nullptr;
};

struct AuthorizationRequest {
  std::string url{};            // where to send the browser
  std::string code_verifier{};  // PKCE secret: keep it server-side with the state
};

struct TokenGrant {
  std::string access_token{};
  std::string refresh_token{};  // on refresh: Google's new one, else the one refreshed
  Instant expires_at{};
  std::vector<std::string> scopes{};
  std::string token_type{};
  std::string id_token{};

  bool HasScope(std::string_view scope) const;
};

// A token endpoint's success answer (code exchange or refresh) as a grant expiring relative to
// `now`: kBadResponse without an access_token or with a token_type other than Bearer. Which
// scopes must be granted, and which refresh token to keep, are the client's to decide.
GoogleResult<TokenGrant> ParseTokenAnswer(std::string_view body, Instant now);

// The OAuth client secret at rest (the settings table) is sealed like refresh tokens:
// XChaCha20-Poly1305 under the key ring, bound to this AAD (its setting's name).
inline constexpr std::string_view kClientSecretAad = "setting:google.client_secret";
Result<std::string> SealClientSecret(const crypto::KeyRing& keys, std::string_view secret);
// kInvalidArgument when tampered with or sealed for something else; kFailedPrecondition when
// the ring lacks the key id.
Result<std::string> OpenClientSecret(const crypto::KeyRing& keys, std::string_view sealed);

// The `sub` of an ID token that came straight from the token endpoint over TLS (OpenID Connect
// Core 3.1.3.7: TLS authenticates the issuer there, so the signature need not be checked), when
// its `aud` is `client_id`; "" when there is none, it is malformed or meant for another client.
std::string IdTokenSubject(std::string_view id_token, std::string_view client_id);

class OAuthClient {
 public:
  // A client with a fixed configuration.
  OAuthClient(OAuthConfig config, OAuthDeps deps);
  // A client asking `source` (which must outlive it) for its configuration on every operation.
  OAuthClient(const OAuthConfigSource& source, OAuthDeps deps);

  // The configuration the next operation would use (a copy: a live one may change meanwhile).
  OAuthConfig config() const { return *Current(); }

  // The consent URL with access_type=offline, prompt=consent, include_granted_scopes=true, PKCE
  // S256 (a fresh verifier from libsodium randomness), the caller's `state`, and `login_hint`
  // when not empty. kInvalidArgument when state is empty or the configuration is incomplete.
  // `extra_scopes` are asked for on top of the configured scope (incremental authorization:
  // include_granted_scopes keeps what was granted before), e.g. the Meet scopes and openid.
  Result<AuthorizationRequest> BuildAuthorizationUrl(
      std::string_view state, std::string_view login_hint = {},
      const std::vector<std::string>& extra_scopes = {}) const;

  // grant_type=authorization_code. Errors: kInvalidGrant (bad, used or expired code, wrong
  // verifier), kInvalidClient, kScopeNotGranted (the calendar scope was not granted),
  // kBadResponse (no refresh token: offline access was not given), transient kinds.
  GoogleResult<TokenGrant> ExchangeCode(std::string_view code, std::string_view code_verifier);

  // grant_type=refresh_token. The result keeps `refresh_token` unless Google sent a new one.
  // Errors: kInvalidGrant (revoked, expired, 7-day testing limit ...), kInvalidClient,
  // kScopeNotGranted, transient kinds.
  GoogleResult<TokenGrant> Refresh(std::string_view refresh_token);

  // Revokes an access or refresh token; a token Google no longer knows counts as revoked.
  GoogleStatus Revoke(std::string_view token);

  // Checks that Google accepts the client id and secret, without a user: a token request with
  // a code that cannot exist. Google authenticates the client before it looks at the code, so
  // invalid_grant proves the credentials work (success), while kInvalidClient means a wrong
  // client id or secret. Other errors (a redirect URI Google does not know for this client is
  // kInvalidRequest with reason "redirect_uri_mismatch"; transient kinds) as they come.
  GoogleStatus CheckClient();

 private:
  std::shared_ptr<const OAuthConfig> Current() const;
  GoogleResult<TokenGrant> TokenCall(const OAuthConfig& config, std::string_view operation,
                                     const KeyValues& form, bool idempotent,
                                     std::string_view previous_refresh_token);
  GoogleResult<HttpResponse> Post(const OAuthConfig& config, std::string_view operation,
                                  const std::string& url, const KeyValues& form, bool idempotent);

  std::shared_ptr<const OAuthConfig> fixed_;  // null when live
  const OAuthConfigSource* source_ = nullptr;
  OAuthDeps deps_;
};

}  // namespace telemeet::google
