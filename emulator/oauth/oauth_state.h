// The emulator's Google OAuth 2.0 authority: registered clients, seeded test accounts, consents
// (grants), authorization codes, access and refresh tokens, with Google's rules
// (google-protocol.md §1-4). It resolves bearer tokens for the Calendar side (Authenticator);
// the HTTP endpoints that drive it live in oauth_endpoints.h.
//
//   OAuthState oauth(clock);
//   oauth.AddClient({.client_id = "app", .client_secret = "s",
//                    .redirect_uris = {"http://127.0.0.1:8080/cb"}});
//   oauth.AddAccount({.email = "alice@example.com", .name = "Alice"});
//   std::string code = oauth.IssueCode(request, *oauth.FindAccount("alice@example.com"));
//   auto tokens = oauth.ExchangeCode({.client_id = "app", .code = code, ...});
//   auto who = oauth.FromAccessToken(tokens->access_token);   // Principal or nullopt
//
// Rules kept here: codes are single-use, expire after code_lifetime and are bound to the client,
// the redirect_uri and the PKCE challenge; refresh tokens come only with access_type=offline on a
// first consent or prompt=consent, at most 100 live per account and client (the oldest is
// dropped); refresh answers carry no refresh token; revoking any token revokes its whole grant.
//
// Thread safety: every method may be called concurrently (one shared mutex; lookups share it).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <expected>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "emulator/principal.h"

namespace telemeet::emulator {

class IdTokenSigner;

struct OAuthClient {
  std::string client_id;
  std::string client_secret;
  std::vector<std::string> redirect_uris;  // exact match, scheme, case and trailing slash count
};

struct Account {
  std::string email;
  std::string sub;   // derived from the email when empty (21 digits, stable)
  std::string name;  // derived from the email's local part when empty
};

struct OAuthSettings {
  std::chrono::seconds access_token_lifetime{3599};
  std::chrono::seconds code_lifetime{600};
  std::chrono::seconds id_token_lifetime{3600};
  size_t max_refresh_tokens = 100;  // per account per client; the oldest is invalidated
  // Skip the consent page when login_hint names a seeded account (tests without a browser).
  bool auto_approve = false;
  std::string issuer = "https://accounts.google.com";
};

// A validated request to the authorization endpoint.
struct AuthorizationRequest {
  std::string client_id;
  std::string redirect_uri;
  std::vector<std::string> scopes;
  std::string state;  // echoed unchanged; absent when has_state is false
  bool has_state = false;
  bool offline = false;  // access_type=offline
  std::vector<std::string> prompt;
  std::string login_hint;
  std::string nonce;
  bool include_granted_scopes = false;
  std::string code_challenge;
  std::string code_challenge_method;  // "S256" or "plain"; empty without PKCE
};

// An OAuth error as the token, revoke and tokeninfo endpoints answer it.
struct OAuthFailure {
  int status = 400;
  std::string error;
  std::string description;
};
template <typename T>
using OAuthResult = std::expected<T, OAuthFailure>;

struct TokenResponse {
  std::string access_token;
  int64_t expires_in = 0;
  std::string scope;          // space-separated
  std::string refresh_token;  // empty: not issued
  std::string id_token;       // empty: openid not granted
  nlohmann::json ToJson() const;
};

struct CodeExchange {
  std::string client_id;
  std::string code;
  std::string redirect_uri;
  std::optional<std::string> code_verifier;
};

// What a live access token stands for (userinfo, tokeninfo).
struct AccessTokenInfo {
  Principal principal;
  Account account;
  Instant expires;
  bool offline = false;
};

class OAuthState final : public Authenticator {
 public:
  explicit OAuthState(Clock& clock, OAuthSettings settings = {});
  ~OAuthState() override;

  // Registration. kInvalidArgument when a redirect URI breaks Google's rules (https except
  // loopback, no fragment, no userinfo, no "/..", no wildcard) or a field is empty;
  // an existing client or account with the same id/email is replaced.
  Status AddClient(OAuthClient client);
  Status AddAccount(Account account);
  std::optional<OAuthClient> FindClient(std::string_view client_id) const;
  // By email (case-insensitive) or sub.
  std::optional<Account> FindAccount(std::string_view email_or_sub) const;
  std::vector<Account> accounts() const;

  OAuthSettings settings() const;
  void SetAutoApprove(bool on);
  void SetAccessTokenLifetime(std::chrono::seconds lifetime);

  // True when `client_id` authenticates with `secret` (constant-time compare).
  bool CheckClientSecret(std::string_view client_id, std::string_view secret) const;

  // Consent pages waiting for Allow/Deny: the validated request is kept server-side under an
  // opaque id the page posts back; entries expire with code_lifetime.
  std::string StartPending(AuthorizationRequest request);
  std::optional<AuthorizationRequest> TakePending(std::string_view id);

  // True when the account already granted `client_id` every scope asked for.
  bool HasConsent(std::string_view sub, std::string_view client_id,
                  const std::vector<std::string>& scopes) const;

  // Records the account's consent and returns a new authorization code. A refresh token will
  // come with it when the request is offline and this is the first consent for these scopes or
  // prompt contains "consent".
  std::string IssueCode(const AuthorizationRequest& request, const Account& account);

  // The token endpoint's two grants; client authentication is the caller's job.
  OAuthResult<TokenResponse> ExchangeCode(const CodeExchange& exchange);
  OAuthResult<TokenResponse> Refresh(std::string_view client_id, std::string_view refresh_token);

  // Revokes the grant behind an access or refresh token. False when the token is unknown or
  // no longer valid.
  bool Revoke(std::string_view token);

  std::optional<AccessTokenInfo> LookupAccessToken(std::string_view token) const;
  std::optional<Principal> FromAccessToken(std::string_view token) const override;

  // Control: revoke every grant of an account (for one client, or all when client_id is empty);
  // returns how many grants went. Expire every live access token now; returns how many.
  int RevokeGrant(std::string_view email, std::string_view client_id = {});
  int ExpireAccessTokens();
  // Forgets everything: clients, accounts, grants, codes, tokens. Settings stay.
  void Reset();
  // Clients (without secrets), accounts and grants with token counts (never token values).
  nlohmann::json Snapshot() const;

  // The signer of ID tokens, for the certificate endpoints.
  IdTokenSigner& signer() { return *signer_; }
  const Clock& clock() const { return clock_; }

 private:
  using GrantKey = std::pair<std::string, std::string>;  // sub, client_id

  struct Grant {
    std::set<std::string> scopes;
    bool offline = false;  // offline access was consented to
  };
  struct Code {
    AuthorizationRequest request;
    std::string sub;
    std::vector<std::string> scopes;  // what the tokens will cover
    bool issue_refresh = false;
    bool redeemed = false;
    Instant expires;
  };
  struct AccessToken {
    GrantKey grant;
    std::vector<std::string> scopes;
    Instant expires;
    bool offline = false;
  };
  struct RefreshToken {
    GrantKey grant;
    std::vector<std::string> scopes;
    std::string nonce;
  };
  struct Pending {
    AuthorizationRequest request;
    Instant expires;
  };

  TokenResponse MintLocked(const GrantKey& key, const std::vector<std::string>& scopes,
                           bool offline, bool with_refresh, const std::string& nonce);
  void RevokeGrantLocked(const GrantKey& key);
  std::optional<Account> FindAccountLocked(std::string_view email_or_sub) const;

  Clock& clock_;
  std::unique_ptr<IdTokenSigner> signer_;
  mutable std::shared_mutex mu_;
  OAuthSettings settings_;
  std::map<std::string, OAuthClient, std::less<>> clients_;
  std::vector<Account> accounts_;
  std::map<GrantKey, Grant> grants_;
  std::unordered_map<std::string, Code> codes_;
  std::unordered_map<std::string, AccessToken> access_tokens_;
  std::unordered_map<std::string, RefreshToken> refresh_tokens_;
  std::map<GrantKey, std::deque<std::string>> refresh_order_;  // oldest first
  std::unordered_map<std::string, Pending> pending_;
};

// Google's checks on a registered redirect URI (google-protocol.md §1). Empty when valid,
// else the reason.
std::string RedirectUriProblem(std::string_view uri);

// Joins scopes with single spaces.
std::string JoinScopes(const std::vector<std::string>& scopes);

}  // namespace telemeet::emulator
