#include "google/oauth_client.h"

#include <algorithm>
#include <utility>

#include "base/strings.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "google/json_util.h"

namespace telemeet::google {
namespace {

using nlohmann::json;
using namespace internal;

std::vector<std::string> SplitScopes(std::string_view s) {
  std::vector<std::string> out;
  for (std::string_view part : Split(s, ' ')) {
    if (!part.empty()) out.emplace_back(part);
  }
  return out;
}

std::string PathOf(const std::string& url) {
  size_t scheme = url.find("://");
  size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return slash == std::string::npos ? "/" : url.substr(0, url.find('?')).substr(slash);
}

// The calendar scopes of a configured scope list, one of which must be granted.
std::vector<std::string> RequiredCalendarScopes(const OAuthConfig& config) {
  std::vector<std::string> out;
  for (const std::string& s : SplitScopes(config.scope)) {
    if (s == kCalendarScope || s == kCalendarEventsScope) out.push_back(s);
  }
  return out;
}

}  // namespace

Result<std::string> SealClientSecret(const crypto::KeyRing& keys, std::string_view secret) {
  return keys.Seal(secret, kClientSecretAad);
}

Result<std::string> OpenClientSecret(const crypto::KeyRing& keys, std::string_view sealed) {
  return keys.Open(sealed, kClientSecretAad);
}

bool TokenGrant::HasScope(std::string_view scope) const {
  return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

OAuthClient::OAuthClient(OAuthConfig config, OAuthDeps deps)
    : fixed_(std::make_shared<const OAuthConfig>(std::move(config))), deps_(deps) {}

OAuthClient::OAuthClient(const OAuthConfigSource& source, OAuthDeps deps)
    : source_(&source), deps_(deps) {}

std::shared_ptr<const OAuthConfig> OAuthClient::Current() const {
  return fixed_ ? fixed_ : source_->Current();
}

std::string IdTokenSubject(std::string_view id_token, std::string_view client_id) {
  const size_t first = id_token.find('.');
  const size_t last = id_token.rfind('.');
  if (first == std::string_view::npos || first == last) return {};
  Result<std::string> payload =
      crypto::Base64UrlDecode(id_token.substr(first + 1, last - first - 1));
  if (!payload) return {};
  nlohmann::json claims = ParseOrDiscard(*payload);
  if (!claims.is_object()) return {};
  // aud is one string for Google's ID tokens; a list would name several audiences.
  if (Str(claims, "aud") != client_id || client_id.empty()) return {};
  std::string sub = Str(claims, "sub");
  const bool plain =
      !sub.empty() && sub.size() <= 255 && std::all_of(sub.begin(), sub.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '-' || c == '_';
      });
  return plain ? sub : std::string();
}

Result<AuthorizationRequest> OAuthClient::BuildAuthorizationUrl(
    std::string_view state, std::string_view login_hint,
    const std::vector<std::string>& extra_scopes) const {
  const std::shared_ptr<const OAuthConfig> cfg = Current();
  const OAuthConfig& config = *cfg;
  if (state.empty()) return Fail(ErrorCode::kInvalidArgument, "state is required", "state");
  if (config.client_id.empty() || config.redirect_uri.empty() || config.auth_url.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "google.client_id, google.redirect_uri and the auth URL must be configured");
  }
  if (RequiredCalendarScopes(config).empty()) {
    return Fail(ErrorCode::kInvalidArgument, "the scope must include calendar or calendar.events",
                "scope");
  }
  AuthorizationRequest out;
  out.code_verifier = crypto::PkceVerifier();
  std::string scope = config.scope;
  for (const std::string& extra : extra_scopes) {
    const std::vector<std::string> have = SplitScopes(scope);
    if (std::ranges::find(have, extra) == have.end()) scope += " " + extra;
  }
  KeyValues q = {{"client_id", config.client_id},
                 {"redirect_uri", config.redirect_uri},
                 {"response_type", "code"},
                 {"scope", scope},
                 {"access_type", "offline"},
                 {"prompt", "consent"},
                 {"include_granted_scopes", "true"},
                 {"state", std::string(state)},
                 {"code_challenge", crypto::PkceChallengeS256(out.code_verifier)},
                 {"code_challenge_method", "S256"}};
  if (!login_hint.empty()) q.emplace_back("login_hint", std::string(login_hint));
  out.url = config.auth_url + (config.auth_url.find('?') == std::string::npos ? "?" : "&") +
            FormEncode(q);
  return out;
}

GoogleResult<HttpResponse> OAuthClient::Post(const OAuthConfig& config, std::string_view operation,
                                             const std::string& url, const KeyValues& form,
                                             bool idempotent) {
  HttpRequest req{.method = "POST",
                  .url = url,
                  .headers = {},
                  .body = FormEncode(form),
                  .timeout = config.timeout};
  req.headers.Set("Content-Type", "application/x-www-form-urlencoded");
  req.headers.Set("Accept", "application/json");
  const std::string path = PathOf(url);
  return deps_.retry.Run(idempotent, [&](int attempt) -> GoogleResult<HttpResponse> {
    const auto started = std::chrono::steady_clock::now();
    Result<HttpResponse> res = deps_.transport.Send(req);
    const auto latency = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started);
    std::optional<GoogleError> error;
    if (!res) {
      error = GoogleError::FromTransport(res.error());
    } else if (res->status < 200 || res->status >= 300) {
      error = GoogleError::FromResponse(*res, deps_.clock.Now());
    }
    if (deps_.observer != nullptr) {
      deps_.observer->OnCall(CallRecord{
          .operation = std::string(operation),
          .doctor_id = {},
          .method = "POST",
          .path = path,
          .status = res ? res->status : 0,
          .latency = latency,
          .attempt = attempt,
          .outcome = error ? std::string(ErrorKindName(error->kind())) : std::string("ok")});
    }
    if (error) return std::unexpected(std::move(*error));
    return std::move(*res);
  });
}

GoogleResult<TokenGrant> OAuthClient::TokenCall(const OAuthConfig& config,
                                                std::string_view operation, const KeyValues& form,
                                                bool idempotent,
                                                std::string_view previous_refresh_token) {
  GoogleResult<HttpResponse> res = Post(config, operation, config.token_url, form, idempotent);
  if (!res) return std::unexpected(res.error());
  GoogleResult<TokenGrant> grant = ParseTokenAnswer(res->body, deps_.clock.Now());
  if (!grant) return GFail(grant.error().kind(), grant.error().message(), res->status);
  if (grant->refresh_token.empty()) grant->refresh_token = std::string(previous_refresh_token);
  const std::vector<std::string> required = RequiredCalendarScopes(config);
  const bool granted = std::any_of(required.begin(), required.end(),
                                   [&](const std::string& s) { return grant->HasScope(s); });
  if (!granted) {
    std::string have;
    for (const std::string& s : grant->scopes) have += (have.empty() ? "" : " ") + s;
    return GFail(ErrorKind::kScopeNotGranted,
                 "Google Calendar access was not granted (granted: " +
                     (have.empty() ? std::string("none") : have) +
                     "); reconnect and keep the calendar box ticked",
                 res->status);
  }
  return grant;
}

GoogleResult<TokenGrant> OAuthClient::ExchangeCode(std::string_view code,
                                                   std::string_view code_verifier) {
  if (code.empty() || code_verifier.empty()) {
    return GFail(ErrorKind::kInvalidRequest, "code and code_verifier are required");
  }
  const std::shared_ptr<const OAuthConfig> cfg = Current();
  const OAuthConfig& config = *cfg;
  // Not idempotent: a code is redeemed once, so only rate limits are retried.
  GoogleResult<TokenGrant> grant = TokenCall(config, "oauth.exchange",
                                             {{"grant_type", "authorization_code"},
                                              {"code", std::string(code)},
                                              {"client_id", config.client_id},
                                              {"client_secret", config.client_secret},
                                              {"redirect_uri", config.redirect_uri},
                                              {"code_verifier", std::string(code_verifier)}},
                                             /*idempotent=*/false, {});
  if (grant && grant->refresh_token.empty()) {
    return GFail(ErrorKind::kBadResponse,
                 "Google returned no refresh token: offline access was not granted");
  }
  return grant;
}

GoogleResult<TokenGrant> OAuthClient::Refresh(std::string_view refresh_token) {
  if (refresh_token.empty()) {
    return GFail(ErrorKind::kInvalidRequest, "no refresh token to refresh with");
  }
  const std::shared_ptr<const OAuthConfig> cfg = Current();
  const OAuthConfig& config = *cfg;
  return TokenCall(config, "oauth.refresh",
                   {{"grant_type", "refresh_token"},
                    {"refresh_token", std::string(refresh_token)},
                    {"client_id", config.client_id},
                    {"client_secret", config.client_secret}},
                   /*idempotent=*/true, refresh_token);
}

GoogleStatus OAuthClient::Revoke(std::string_view token) {
  const std::shared_ptr<const OAuthConfig> cfg = Current();
  GoogleResult<HttpResponse> res =
      Post(*cfg, "oauth.revoke", cfg->revoke_url, {{"token", std::string(token)}}, true);
  if (!res) {
    const GoogleError& e = res.error();
    // Already revoked or expired: the goal is reached.
    if (e.http_status() == 400 && e.reason() == "invalid_token") {
      return {};
    }
    return std::unexpected(e);
  }
  return {};
}

GoogleStatus OAuthClient::CheckClient() {
  const std::shared_ptr<const OAuthConfig> cfg = Current();
  if (cfg->client_id.empty() || cfg->token_url.empty()) {
    return GFail(ErrorKind::kInvalidClient, "no OAuth client id is configured");
  }
  // A code Google never issued: a real one is never this short or this shaped.
  GoogleResult<HttpResponse> res = Post(*cfg, "oauth.check_client", cfg->token_url,
                                        {{"grant_type", "authorization_code"},
                                         {"code", "telemeet-client-check"},
                                         {"client_id", cfg->client_id},
                                         {"client_secret", cfg->client_secret},
                                         {"redirect_uri", cfg->redirect_uri},
                                         {"code_verifier", crypto::PkceVerifier()}},
                                        /*idempotent=*/true);
  if (res) {
    return GFail(ErrorKind::kBadResponse, "the token endpoint accepted a code that cannot exist",
                 res->status);
  }
  if (res.error().kind() == ErrorKind::kInvalidGrant) return {};
  return std::unexpected(res.error());
}

}  // namespace telemeet::google
