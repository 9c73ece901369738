#include "emulator/oauth/oauth_state.h"

#include <algorithm>

#include "base/strings.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "emulator/oauth/id_token.h"

namespace telemeet::emulator {

namespace {

// Google-like token shapes: codes "4/0A…", access tokens "ya29.…", refresh tokens "1//0…".
std::string NewCode() { return "4/0A" + crypto::RandomToken(48); }
std::string NewAccessToken() { return "ya29.a0" + crypto::RandomToken(96); }
std::string NewRefreshToken() { return "1//0" + crypto::RandomToken(64); }

bool IsLoopbackHost(std::string_view host) {
  return host == "localhost" || host == "127.0.0.1" || host == "[::1]" || host.starts_with("127.");
}

bool IsIpLiteral(std::string_view host) {
  if (host.starts_with('[')) return true;
  return !host.empty() && std::all_of(host.begin(), host.end(),
                                      [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

std::string DerivedSub(std::string_view email) {
  // 21 decimal digits from a hash, starting with 1 like Google's numeric subject ids.
  std::string digest = crypto::Sha256(ToLower(email));
  std::string sub = "1";
  for (size_t i = 0; sub.size() < 21; ++i) {
    sub.push_back(static_cast<char>('0' + static_cast<unsigned char>(digest[i % 32]) % 10));
  }
  return sub;
}

std::string DerivedName(std::string_view email) {
  std::string local(email.substr(0, email.find('@')));
  if (!local.empty()) local[0] = static_cast<char>(std::toupper(local[0]));
  return local;
}

bool HasEmailScope(const std::vector<std::string>& scopes) {
  return std::ranges::any_of(scopes, [](const std::string& s) {
    return s == "email" || s == "https://www.googleapis.com/auth/userinfo.email";
  });
}
bool HasProfileScope(const std::vector<std::string>& scopes) {
  return std::ranges::any_of(scopes, [](const std::string& s) {
    return s == "profile" || s == "https://www.googleapis.com/auth/userinfo.profile";
  });
}
bool HasOpenId(const std::vector<std::string>& scopes) {
  return std::ranges::find(scopes, "openid") != scopes.end();
}

OAuthFailure Failure(int status, std::string error, std::string description) {
  return OAuthFailure{status, std::move(error), std::move(description)};
}

bool IsVerifierChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

}  // namespace

std::string RedirectUriProblem(std::string_view uri) {
  std::string_view rest;
  bool https = false;
  if (uri.starts_with("https://")) {
    rest = uri.substr(8);
    https = true;
  } else if (uri.starts_with("http://")) {
    rest = uri.substr(7);
  } else {
    return "the scheme must be https (or http for localhost)";
  }
  if (uri.find('#') != std::string_view::npos) return "a redirect URI cannot contain a fragment";
  if (uri.find('*') != std::string_view::npos) return "a redirect URI cannot contain a wildcard";
  if (uri.find("/..") != std::string_view::npos) return "a redirect URI cannot contain /..";
  std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
  if (authority.find('@') != std::string_view::npos) {
    return "a redirect URI cannot contain userinfo";
  }
  std::string_view host = authority;
  if (host.starts_with('[')) {
    host = host.substr(0, host.find(']') + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  if (host.empty()) return "a redirect URI needs a host";
  if (!https && !IsLoopbackHost(host)) return "http is allowed only for localhost";
  if (IsIpLiteral(host) && !IsLoopbackHost(host)) return "raw IP addresses must be loopback";
  return {};
}

std::string JoinScopes(const std::vector<std::string>& scopes) {
  std::string out;
  for (const auto& s : scopes) {
    if (!out.empty()) out.push_back(' ');
    out += s;
  }
  return out;
}

nlohmann::json TokenResponse::ToJson() const {
  nlohmann::json j = {{"access_token", access_token},
                      {"expires_in", expires_in},
                      {"scope", scope},
                      {"token_type", "Bearer"}};
  if (!refresh_token.empty()) j["refresh_token"] = refresh_token;
  if (!id_token.empty()) j["id_token"] = id_token;
  return j;
}

OAuthState::OAuthState(Clock& clock, OAuthSettings settings)
    : clock_(clock), signer_(std::make_unique<IdTokenSigner>()), settings_(std::move(settings)) {}

OAuthState::~OAuthState() = default;

Status OAuthState::AddClient(OAuthClient client) {
  if (client.client_id.empty()) return Fail(ErrorCode::kInvalidArgument, "empty client_id");
  if (client.client_secret.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "empty client_secret", "client_secret");
  }
  for (const auto& uri : client.redirect_uris) {
    if (auto problem = RedirectUriProblem(uri); !problem.empty()) {
      return Fail(ErrorCode::kInvalidArgument, "redirect URI " + uri + ": " + problem,
                  "redirect_uris");
    }
  }
  std::unique_lock lock(mu_);
  clients_[client.client_id] = std::move(client);
  return Ok();
}

Status OAuthState::AddAccount(Account account) {
  if (account.email.find('@') == std::string::npos) {
    return Fail(ErrorCode::kInvalidArgument, "an account needs an email address", "email");
  }
  if (account.sub.empty()) account.sub = DerivedSub(account.email);
  if (account.name.empty()) account.name = DerivedName(account.email);
  std::unique_lock lock(mu_);
  std::erase_if(accounts_, [&](const Account& a) {
    return EqualsIgnoreCase(a.email, account.email) || a.sub == account.sub;
  });
  accounts_.push_back(std::move(account));
  return Ok();
}

std::optional<OAuthClient> OAuthState::FindClient(std::string_view client_id) const {
  std::shared_lock lock(mu_);
  auto it = clients_.find(client_id);
  if (it == clients_.end()) return std::nullopt;
  return it->second;
}

std::optional<Account> OAuthState::FindAccountLocked(std::string_view email_or_sub) const {
  for (const auto& a : accounts_) {
    if (EqualsIgnoreCase(a.email, email_or_sub) || a.sub == email_or_sub) return a;
  }
  return std::nullopt;
}

std::optional<Account> OAuthState::FindAccount(std::string_view email_or_sub) const {
  std::shared_lock lock(mu_);
  return FindAccountLocked(email_or_sub);
}

std::vector<Account> OAuthState::accounts() const {
  std::shared_lock lock(mu_);
  return accounts_;
}

OAuthSettings OAuthState::settings() const {
  std::shared_lock lock(mu_);
  return settings_;
}

void OAuthState::SetAutoApprove(bool on) {
  std::unique_lock lock(mu_);
  settings_.auto_approve = on;
}

void OAuthState::SetAccessTokenLifetime(std::chrono::seconds lifetime) {
  std::unique_lock lock(mu_);
  settings_.access_token_lifetime = lifetime;
}

bool OAuthState::CheckClientSecret(std::string_view client_id, std::string_view secret) const {
  std::shared_lock lock(mu_);
  auto it = clients_.find(client_id);
  if (it == clients_.end()) return false;
  return crypto::ConstantTimeEquals(it->second.client_secret, secret);
}

std::string OAuthState::StartPending(AuthorizationRequest request) {
  std::string id = crypto::RandomToken(24);
  std::unique_lock lock(mu_);
  Instant now = clock_.Now();
  std::erase_if(pending_, [&](const auto& p) { return p.second.expires <= now; });
  pending_[id] = Pending{std::move(request), now + settings_.code_lifetime};
  return id;
}

std::optional<AuthorizationRequest> OAuthState::TakePending(std::string_view id) {
  std::unique_lock lock(mu_);
  auto it = pending_.find(std::string(id));
  if (it == pending_.end()) return std::nullopt;
  Pending p = std::move(it->second);
  pending_.erase(it);
  if (p.expires <= clock_.Now()) return std::nullopt;
  return std::move(p.request);
}

bool OAuthState::HasConsent(std::string_view sub, std::string_view client_id,
                            const std::vector<std::string>& scopes) const {
  std::shared_lock lock(mu_);
  auto it = grants_.find({std::string(sub), std::string(client_id)});
  if (it == grants_.end()) return false;
  return std::ranges::all_of(scopes,
                             [&](const std::string& s) { return it->second.scopes.contains(s); });
}

std::string OAuthState::IssueCode(const AuthorizationRequest& request, const Account& account) {
  std::string code = NewCode();
  std::unique_lock lock(mu_);
  GrantKey key{account.sub, request.client_id};
  auto it = grants_.find(key);
  // A consent is new when it covers scopes or offline access not granted before.
  bool first_consent = it == grants_.end() || (request.offline && !it->second.offline) ||
                       !std::ranges::all_of(request.scopes, [&](const std::string& s) {
                         return it->second.scopes.contains(s);
                       });
  bool prompt_consent = std::ranges::find(request.prompt, "consent") != request.prompt.end();
  Grant& grant = grants_[key];
  std::vector<std::string> scopes = request.scopes;
  if (request.include_granted_scopes) {
    for (const auto& s : grant.scopes) {
      if (std::ranges::find(scopes, s) == scopes.end()) scopes.push_back(s);
    }
  }
  grant.scopes.insert(request.scopes.begin(), request.scopes.end());
  grant.offline = grant.offline || request.offline;
  Instant now = clock_.Now();
  std::erase_if(codes_,
                [&](const auto& c) { return c.second.expires + std::chrono::hours(1) <= now; });
  codes_[code] = Code{.request = request,
                      .sub = account.sub,
                      .scopes = std::move(scopes),
                      .issue_refresh = request.offline && (first_consent || prompt_consent),
                      .redeemed = false,
                      .expires = now + settings_.code_lifetime};
  return code;
}

TokenResponse OAuthState::MintLocked(const GrantKey& key, const std::vector<std::string>& scopes,
                                     bool offline, bool with_refresh, const std::string& nonce) {
  Instant now = clock_.Now();
  TokenResponse out;
  out.access_token = NewAccessToken();
  out.expires_in = settings_.access_token_lifetime.count();
  out.scope = JoinScopes(scopes);
  access_tokens_[out.access_token] =
      AccessToken{key, scopes, now + settings_.access_token_lifetime, offline};
  if (with_refresh) {
    out.refresh_token = NewRefreshToken();
    refresh_tokens_[out.refresh_token] = RefreshToken{key, scopes, nonce};
    auto& order = refresh_order_[key];
    order.push_back(out.refresh_token);
    while (order.size() > settings_.max_refresh_tokens) {
      refresh_tokens_.erase(order.front());  // Google drops the oldest silently
      order.pop_front();
    }
  }
  if (HasOpenId(scopes)) {
    auto account = FindAccountLocked(key.first);
    nlohmann::json claims = {
        {"iss", settings_.issuer},   {"azp", key.second},
        {"aud", key.second},         {"sub", key.first},
        {"iat", ToUnixSeconds(now)}, {"exp", ToUnixSeconds(now + settings_.id_token_lifetime)}};
    // at_hash: the left half of SHA-256 of the access token (OpenID Connect Core 3.1.3.6).
    claims["at_hash"] = crypto::Base64UrlEncode(crypto::Sha256(out.access_token).substr(0, 16));
    if (!nonce.empty()) claims["nonce"] = nonce;
    if (account && HasEmailScope(scopes)) {
      claims["email"] = account->email;
      claims["email_verified"] = true;
    }
    if (account && HasProfileScope(scopes)) claims["name"] = account->name;
    out.id_token = signer_->Sign(claims);
  }
  return out;
}

OAuthResult<TokenResponse> OAuthState::ExchangeCode(const CodeExchange& ex) {
  std::unique_lock lock(mu_);
  auto it = codes_.find(ex.code);
  if (it == codes_.end())
    return std::unexpected(Failure(400, "invalid_grant", "Malformed auth code."));
  Code& code = it->second;
  if (code.redeemed) {
    return std::unexpected(Failure(400, "invalid_grant", "Code was already redeemed."));
  }
  if (code.expires <= clock_.Now()) {
    return std::unexpected(Failure(400, "invalid_grant", "Token has been expired or revoked."));
  }
  if (code.request.client_id != ex.client_id) {
    return std::unexpected(Failure(400, "invalid_grant", "Bad Request"));
  }
  if (ex.redirect_uri != code.request.redirect_uri) {
    return std::unexpected(Failure(400, "redirect_uri_mismatch", "Bad Request"));
  }
  if (!code.request.code_challenge.empty()) {
    if (!ex.code_verifier || ex.code_verifier->empty()) {
      return std::unexpected(Failure(400, "invalid_grant", "Missing code verifier."));
    }
    const std::string& v = *ex.code_verifier;
    bool well_formed = v.size() >= 43 && v.size() <= 128 && std::ranges::all_of(v, IsVerifierChar);
    std::string derived =
        code.request.code_challenge_method == "S256" ? crypto::PkceChallengeS256(v) : v;
    if (!well_formed || !crypto::ConstantTimeEquals(derived, code.request.code_challenge)) {
      return std::unexpected(Failure(400, "invalid_grant", "Invalid code verifier."));
    }
  }
  GrantKey key{code.sub, code.request.client_id};
  if (!grants_.contains(key)) {  // revoked between consent and exchange
    return std::unexpected(Failure(400, "invalid_grant", "Token has been expired or revoked."));
  }
  code.redeemed = true;
  return MintLocked(key, code.scopes, code.request.offline, code.issue_refresh, code.request.nonce);
}

OAuthResult<TokenResponse> OAuthState::Refresh(std::string_view client_id,
                                               std::string_view refresh_token) {
  std::unique_lock lock(mu_);
  auto it = refresh_tokens_.find(std::string(refresh_token));
  if (it == refresh_tokens_.end() || !grants_.contains(it->second.grant)) {
    return std::unexpected(Failure(400, "invalid_grant", "Token has been expired or revoked."));
  }
  if (it->second.grant.second != client_id) {
    return std::unexpected(Failure(401, "unauthorized_client", "Unauthorized"));
  }
  RefreshToken rt = it->second;
  return MintLocked(rt.grant, rt.scopes, /*offline=*/true, /*with_refresh=*/false, rt.nonce);
}

void OAuthState::RevokeGrantLocked(const GrantKey& key) {
  grants_.erase(key);
  std::erase_if(access_tokens_, [&](const auto& t) { return t.second.grant == key; });
  std::erase_if(refresh_tokens_, [&](const auto& t) { return t.second.grant == key; });
  refresh_order_.erase(key);
}

bool OAuthState::Revoke(std::string_view token) {
  std::unique_lock lock(mu_);
  std::string t(token);
  if (auto it = access_tokens_.find(t);
      it != access_tokens_.end() && it->second.expires > clock_.Now()) {
    RevokeGrantLocked(GrantKey(it->second.grant));
    return true;
  }
  if (auto it = refresh_tokens_.find(t); it != refresh_tokens_.end()) {
    RevokeGrantLocked(GrantKey(it->second.grant));
    return true;
  }
  return false;
}

std::optional<AccessTokenInfo> OAuthState::LookupAccessToken(std::string_view token) const {
  std::shared_lock lock(mu_);
  auto it = access_tokens_.find(std::string(token));
  if (it == access_tokens_.end() || it->second.expires <= clock_.Now()) return std::nullopt;
  auto account = FindAccountLocked(it->second.grant.first);
  if (!account) return std::nullopt;
  AccessTokenInfo info;
  info.principal = Principal{.email = account->email,
                             .sub = account->sub,
                             .client_id = it->second.grant.second,
                             .scopes = it->second.scopes};
  info.account = *account;
  info.expires = it->second.expires;
  info.offline = it->second.offline;
  return info;
}

std::optional<Principal> OAuthState::FromAccessToken(std::string_view token) const {
  auto info = LookupAccessToken(token);
  if (!info) return std::nullopt;
  return std::move(info->principal);
}

int OAuthState::RevokeGrant(std::string_view email, std::string_view client_id) {
  std::unique_lock lock(mu_);
  auto account = FindAccountLocked(email);
  if (!account) return 0;
  std::vector<GrantKey> keys;
  for (const auto& [key, grant] : grants_) {
    if (key.first == account->sub && (client_id.empty() || key.second == client_id)) {
      keys.push_back(key);
    }
  }
  for (const auto& key : keys) RevokeGrantLocked(key);
  return static_cast<int>(keys.size());
}

int OAuthState::ExpireAccessTokens() {
  std::unique_lock lock(mu_);
  Instant now = clock_.Now();
  int n = 0;
  for (auto& [token, at] : access_tokens_) {
    if (at.expires > now) {
      at.expires = now;
      ++n;
    }
  }
  return n;
}

void OAuthState::Reset() {
  std::unique_lock lock(mu_);
  clients_.clear();
  accounts_.clear();
  grants_.clear();
  codes_.clear();
  access_tokens_.clear();
  refresh_tokens_.clear();
  refresh_order_.clear();
  pending_.clear();
}

nlohmann::json OAuthState::Snapshot() const {
  std::shared_lock lock(mu_);
  Instant now = clock_.Now();
  nlohmann::json clients = nlohmann::json::array();
  for (const auto& [id, c] : clients_) {
    clients.push_back({{"client_id", id}, {"redirect_uris", c.redirect_uris}});
  }
  nlohmann::json accounts = nlohmann::json::array();
  for (const auto& a : accounts_) {
    accounts.push_back({{"email", a.email}, {"sub", a.sub}, {"name", a.name}});
  }
  nlohmann::json grants = nlohmann::json::array();
  for (const auto& [key, g] : grants_) {
    int live_access = 0;
    for (const auto& [t, at] : access_tokens_) {
      if (at.grant == key && at.expires > now) ++live_access;
    }
    auto order = refresh_order_.find(key);
    auto account = FindAccountLocked(key.first);
    grants.push_back(
        {{"email", account ? account->email : ""},
         {"sub", key.first},
         {"client_id", key.second},
         {"scopes", std::vector<std::string>(g.scopes.begin(), g.scopes.end())},
         {"live_access_tokens", live_access},
         {"refresh_tokens", order == refresh_order_.end() ? 0 : order->second.size()}});
  }
  return {{"clients", clients},
          {"accounts", accounts},
          {"grants", grants},
          {"settings",
           {{"auto_approve", settings_.auto_approve},
            {"access_token_lifetime_seconds", settings_.access_token_lifetime.count()}}}};
}

}  // namespace telemeet::emulator
