#include "emulator/oauth/oauth_endpoints.h"

#include <algorithm>

#include "base/strings.h"
#include "crypto/encoding.h"
#include "emulator/google_error.h"
#include "emulator/oauth/id_token.h"
#include "net/json.h"

namespace telemeet::emulator {

namespace {

constexpr std::string_view kGoogleApis = "https://www.googleapis.com/auth/";

// ---- Small helpers ---------------------------------------------------------------------------

std::vector<std::string> SplitSpaces(std::string_view s) {
  std::vector<std::string> out;
  for (auto part : Split(s, ' ')) {
    if (!part.empty() && std::ranges::find(out, part) == out.end()) out.emplace_back(part);
  }
  return out;
}

bool IsKnownScope(std::string_view s) {
  return s == "openid" || s == "email" || s == "profile" ||
         (s.starts_with(kGoogleApis) && s.size() > kGoogleApis.size());
}

bool IsUnreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string AppendQuery(std::string_view uri, const KeyValues& params) {
  std::string out(uri);
  out.push_back(out.find('?') == std::string::npos ? '?' : '&');
  out += FormEncode(params);
  return out;
}

// The parameters of a form body, a JSON object body, or nullopt when neither parses.
std::optional<KeyValues> BodyParams(const net::Request& req) {
  std::string type = ToLower(req.Header("Content-Type").value_or(""));
  if (type.starts_with("application/json")) {
    auto json = net::ParseJson(req.body);
    if (!json || !json->is_object()) return std::nullopt;
    KeyValues out;
    for (const auto& [k, v] : json->items()) {
      if (v.is_string())
        out.emplace_back(k, v.get<std::string>());
      else if (v.is_number() || v.is_boolean())
        out.emplace_back(k, v.dump());
    }
    return out;
  }
  return ParseQuery(req.body);
}

std::optional<std::string> BearerToken(const net::Request& req) {
  auto h = req.Header("Authorization");
  if (!h) return std::nullopt;
  std::string_view v = Trim(*h);
  if (v.size() < 7 || !EqualsIgnoreCase(v.substr(0, 7), "Bearer ")) return std::nullopt;
  return std::string(Trim(v.substr(7)));
}

// ---- Error pages -----------------------------------------------------------------------------

net::Response ErrorPage(int status, std::string_view error, std::string_view detail,
                        const KeyValues& request_details = {}) {
  std::string html =
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>Error " +
      std::to_string(status) + " (" + HtmlEscape(error) +
      ")</title></head>\n<body>\n<main>\n<h1>Access blocked: Authorization Error</h1>\n"
      "<p id=\"error-code\">Error " +
      std::to_string(status) + ": " + HtmlEscape(error) + "</p>\n<p id=\"error-detail\">" +
      HtmlEscape(detail) + "</p>\n";
  if (!request_details.empty()) {
    html += "<h2>Request details</h2>\n<ul>\n";
    for (const auto& [k, v] : request_details) {
      html += "<li>" + HtmlEscape(k) + "=" + HtmlEscape(v) + "</li>\n";
    }
    html += "</ul>\n";
  }
  html += "</main>\n</body></html>\n";
  net::Response r = net::Response::Html(status, std::move(html));
  AddNoCacheHeaders(r);
  return r;
}

// ---- Authorization endpoint ------------------------------------------------------------------

struct AuthOutcome {
  std::optional<AuthorizationRequest> request;
  net::Response error;
};

AuthOutcome ValidateAuthorization(const OAuthState& state, const KeyValues& q) {
  auto get = [&](std::string_view k) { return FindValue(q, k); };
  AuthOutcome out;
  auto client_id = get("client_id");
  if (!client_id || client_id->empty()) {
    out.error = ErrorPage(400, "invalid_request", "Missing required parameter: client_id");
    return out;
  }
  auto client = state.FindClient(*client_id);
  if (!client) {
    out.error = ErrorPage(401, "invalid_client", "The OAuth client was not found.");
    return out;
  }
  auto redirect_uri = get("redirect_uri");
  if (!redirect_uri || redirect_uri->empty()) {
    out.error = ErrorPage(400, "invalid_request", "Missing required parameter: redirect_uri");
    return out;
  }
  if (std::ranges::find(client->redirect_uris, *redirect_uri) == client->redirect_uris.end()) {
    out.error = ErrorPage(
        400, "redirect_uri_mismatch",
        "You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 policy. "
        "If you're the app developer, register the redirect URI in the Google Cloud Console.",
        {{"redirect_uri", *redirect_uri}});
    return out;
  }
  auto fail = [&](std::string_view error, std::string detail) {
    out.error = ErrorPage(400, error, detail);
    return out;
  };
  auto response_type = get("response_type");
  if (!response_type || response_type->empty()) {
    return fail("invalid_request", "Missing required parameter: response_type");
  }
  if (*response_type != "code") {
    return fail("unsupported_response_type", "Invalid response_type: " + *response_type);
  }
  auto scope = get("scope");
  if (!scope || SplitSpaces(*scope).empty()) {
    return fail("invalid_request", "Missing required parameter: scope");
  }
  AuthorizationRequest req;
  req.client_id = *client_id;
  req.redirect_uri = *redirect_uri;
  req.scopes = SplitSpaces(*scope);
  std::vector<std::string> invalid;
  for (const auto& s : req.scopes) {
    if (!IsKnownScope(s)) invalid.push_back(s);
  }
  if (!invalid.empty()) {
    return fail("invalid_scope",
                "Some requested scopes were invalid. {invalid=[" + JoinScopes(invalid) + "]}");
  }
  if (auto s = get("state")) {
    req.state = *s;
    req.has_state = true;
  }
  std::string access_type = get("access_type").value_or("online");
  if (access_type != "online" && access_type != "offline") {
    return fail("invalid_request", "Invalid access_type: " + access_type);
  }
  req.offline = access_type == "offline";
  if (auto p = get("prompt")) {
    // Space-delimited and case-sensitive; "none" stands alone.
    for (auto part : Split(*p, ' ')) {
      if (part.empty()) continue;
      if (part != "none" && part != "consent" && part != "select_account") {
        return fail("invalid_request", "Invalid prompt: " + *p);
      }
      req.prompt.emplace_back(part);
    }
    if (req.prompt.size() > 1 && std::ranges::find(req.prompt, "none") != req.prompt.end()) {
      return fail("invalid_request", "Invalid prompt: " + *p);
    }
  }
  req.login_hint = get("login_hint").value_or("");
  req.nonce = get("nonce").value_or("");
  req.include_granted_scopes = get("include_granted_scopes").value_or("") == "true";
  auto challenge = get("code_challenge");
  auto method = get("code_challenge_method");
  if (method && !challenge) {
    return fail("invalid_request", "Missing required parameter: code_challenge");
  }
  if (challenge) {
    std::string m = method.value_or("plain");  // plain is the default (RFC 7636 §4.3)
    if (m != "S256" && m != "plain") {
      return fail("invalid_request", "Invalid code_challenge_method: " + m);
    }
    if (challenge->size() < 43 || challenge->size() > 128 ||
        !std::ranges::all_of(*challenge, IsUnreserved)) {
      return fail("invalid_request", "Invalid code_challenge: " + *challenge);
    }
    req.code_challenge = *challenge;
    req.code_challenge_method = m;
  }
  out.request = std::move(req);
  return out;
}

net::Response RedirectWithCode(const AuthorizationRequest& req, const std::string& code) {
  KeyValues params;
  if (req.has_state) params.emplace_back("state", req.state);
  params.emplace_back("code", code);
  params.emplace_back("scope", JoinScopes(req.scopes));
  params.emplace_back("authuser", "0");
  params.emplace_back("prompt", req.prompt.empty() ? "none" : "consent");
  return net::Response::Redirect(AppendQuery(req.redirect_uri, params));
}

net::Response RedirectWithError(const AuthorizationRequest& req, std::string_view error) {
  KeyValues params{{"error", std::string(error)}};
  if (req.has_state) params.emplace_back("state", req.state);
  return net::Response::Redirect(AppendQuery(req.redirect_uri, params));
}

net::Response ConsentPage(const OAuthState& state, const AuthorizationRequest& req,
                          const std::string& pending_id) {
  auto accounts = state.accounts();
  auto hinted = req.login_hint.empty() ? std::nullopt : state.FindAccount(req.login_hint);
  std::string html =
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>Sign in - Google Accounts (fake-google)</title></head>\n<body>\n<main>\n"
      "<h1>Choose an account</h1>\n<p>to continue to <strong id=\"client\">" +
      HtmlEscape(req.client_id) + "</strong></p>\n";
  html += "<form method=\"post\" action=\"/o/oauth2/v2/auth\">\n";
  html += "<input type=\"hidden\" name=\"pending\" value=\"" + HtmlEscape(pending_id) + "\">\n";
  html += "<fieldset>\n<legend>Test accounts</legend>\n";
  if (accounts.empty()) html += "<p>No test accounts are seeded.</p>\n";
  for (size_t i = 0; i < accounts.size(); ++i) {
    const Account& a = accounts[i];
    bool checked = hinted ? hinted->sub == a.sub : i == 0;
    std::string id = "account-" + std::to_string(i);
    html += "<div><input type=\"radio\" name=\"account\" id=\"" + id + "\" value=\"" +
            HtmlEscape(a.sub) + "\"" + (checked ? " checked" : "") + "> <label for=\"" + id +
            "\">" + HtmlEscape(a.name) + " (" + HtmlEscape(a.email) + ")</label></div>\n";
  }
  html += "</fieldset>\n<h2>This app wants to</h2>\n<ul id=\"scopes\">\n";
  for (const auto& s : req.scopes) html += "<li>" + HtmlEscape(s) + "</li>\n";
  html += "</ul>\n";
  html += std::string("<button type=\"submit\" name=\"decision\" value=\"allow\"") +
          (accounts.empty() ? " disabled" : "") + ">Allow</button>\n";
  html += "<button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\n";
  html += "</form>\n</main>\n</body></html>\n";
  net::Response r = net::Response::Html(200, std::move(html));
  AddNoCacheHeaders(r);
  r.headers.Set("X-Frame-Options", "DENY");
  return r;
}

net::Response Authorize(OAuthState& state, const net::Request& req) {
  auto q = req.QueryParams();
  if (!q) return ErrorPage(400, "invalid_request", "Malformed query string.");
  AuthOutcome v = ValidateAuthorization(state, *q);
  if (!v.request) return std::move(v.error);
  AuthorizationRequest& ar = *v.request;
  auto account = ar.login_hint.empty() ? std::nullopt : state.FindAccount(ar.login_hint);
  bool prompt_none = std::ranges::find(ar.prompt, "none") != ar.prompt.end();
  if (prompt_none) {
    // No page may be shown: answer from what is already known.
    if (!account) {
      auto all = state.accounts();
      if (all.size() == 1) account = all.front();
    }
    if (!account) return RedirectWithError(ar, "login_required");
    if (!state.HasConsent(account->sub, ar.client_id, ar.scopes)) {
      return RedirectWithError(ar, "consent_required");
    }
    return RedirectWithCode(ar, state.IssueCode(ar, *account));
  }
  if (account && state.settings().auto_approve) {
    return RedirectWithCode(ar, state.IssueCode(ar, *account));
  }
  std::string id = state.StartPending(ar);
  return ConsentPage(state, ar, id);
}

net::Response ConsentAnswer(OAuthState& state, const net::Request& req) {
  auto form = ParseQuery(req.body);
  if (!form) return ErrorPage(400, "invalid_request", "Malformed form body.");
  auto pending = state.TakePending(FindValue(*form, "pending").value_or(""));
  if (!pending) {
    return ErrorPage(400, "invalid_request",
                     "This sign-in request expired or was already answered. Start again.");
  }
  std::string decision = FindValue(*form, "decision").value_or("");
  if (decision == "deny") return RedirectWithError(*pending, "access_denied");
  if (decision != "allow") {
    return ErrorPage(400, "invalid_request", "Missing required parameter: decision");
  }
  auto account = state.FindAccount(FindValue(*form, "account").value_or(""));
  if (!account) return ErrorPage(400, "invalid_request", "Choose one of the test accounts.");
  return RedirectWithCode(*pending, state.IssueCode(*pending, *account));
}

// ---- Token endpoint --------------------------------------------------------------------------

net::Response TokenJson(const TokenResponse& t) {
  net::Response r = net::JsonResponse(200, t.ToJson());
  AddNoCacheHeaders(r);
  return r;
}

net::Response Fail(const OAuthFailure& f) { return OAuthError(f.status, f.error, f.description); }

net::Response Token(OAuthState& state, const net::Request& req) {
  auto params = BodyParams(req);
  if (!params) return OAuthError(400, "invalid_request", "Bad Request");
  auto get = [&](std::string_view k) { return FindValue(*params, k); };
  std::string grant_type = get("grant_type").value_or("");
  if (grant_type != "authorization_code" && grant_type != "refresh_token") {
    return OAuthError(400, "unsupported_grant_type", "Invalid grant_type: " + grant_type);
  }
  // client_secret_basic wins over client_secret_post when both are present.
  std::optional<std::string> client_id = get("client_id");
  std::optional<std::string> secret = get("client_secret");
  if (auto h = req.Header("Authorization");
      h && h->size() > 6 && EqualsIgnoreCase(h->substr(0, 6), "Basic ")) {
    auto decoded = crypto::Base64Decode(Trim(std::string_view(*h).substr(6)));
    size_t colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) {
      return OAuthError(400, "invalid_request", "Could not determine client ID from request.");
    }
    // RFC 6749 §2.3.1: both halves are form-urlencoded.
    client_id = UrlDecode(decoded->substr(0, colon));
    secret = UrlDecode(decoded->substr(colon + 1));
  }
  if (!client_id || client_id->empty()) {
    return OAuthError(400, "invalid_request", "Could not determine client ID from request.");
  }
  if (!state.FindClient(*client_id)) {
    return OAuthError(401, "invalid_client", "The OAuth client was not found.");
  }
  if (!secret || !state.CheckClientSecret(*client_id, *secret)) {
    return OAuthError(401, "invalid_client", "Unauthorized");
  }
  if (grant_type == "authorization_code") {
    auto code = get("code");
    if (!code || code->empty()) {
      return OAuthError(400, "invalid_request", "Missing required parameter: code");
    }
    auto redirect_uri = get("redirect_uri");
    if (!redirect_uri || redirect_uri->empty()) {
      return OAuthError(400, "invalid_request", "Missing required parameter: redirect_uri");
    }
    auto result = state.ExchangeCode({.client_id = *client_id,
                                      .code = *code,
                                      .redirect_uri = *redirect_uri,
                                      .code_verifier = get("code_verifier")});
    return result ? TokenJson(*result) : Fail(result.error());
  }
  auto refresh = get("refresh_token");
  if (!refresh || refresh->empty()) {
    return OAuthError(400, "invalid_request", "Missing required parameter: refresh_token");
  }
  auto result = state.Refresh(*client_id, *refresh);
  return result ? TokenJson(*result) : Fail(result.error());
}

// ---- Revoke, userinfo, tokeninfo -------------------------------------------------------------

net::Response Revoke(OAuthState& state, const net::Request& req) {
  std::optional<std::string> token = req.Query("token");
  if (!token) {
    if (auto form = BodyParams(req)) token = FindValue(*form, "token");
  }
  if (!token || token->empty()) {
    return OAuthError(400, "invalid_request", "Missing required parameter: token");
  }
  if (!state.Revoke(*token)) return OAuthError(400, "invalid_token", "Token expired or revoked");
  net::Response r = net::JsonResponse(200, nlohmann::json::object());
  AddNoCacheHeaders(r);
  return r;
}

net::Response UserInfo(const OAuthState& state, const net::Request& req) {
  auto token = BearerToken(req);
  if (!token) token = req.Query("access_token");
  auto info = token ? state.LookupAccessToken(*token) : std::nullopt;
  if (!info) {
    net::Response r = OAuthError(401, "invalid_request", "Invalid Credentials");
    r.headers.Set("WWW-Authenticate",
                  "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"");
    return r;
  }
  const auto& scopes = info->principal.scopes;
  auto has = [&](std::string_view a, std::string_view b) {
    return info->principal.HasScope(a) || info->principal.HasScope(b);
  };
  nlohmann::json body = {{"sub", info->account.sub}};
  if (has("profile", "https://www.googleapis.com/auth/userinfo.profile")) {
    const std::string& name = info->account.name;
    size_t space = name.find(' ');
    body["name"] = name;
    body["given_name"] = name.substr(0, space);
    if (space != std::string::npos) body["family_name"] = name.substr(space + 1);
    body["picture"] = "https://lh3.googleusercontent.com/a/default-user=s96-c";
  }
  if (has("email", "https://www.googleapis.com/auth/userinfo.email")) {
    body["email"] = info->account.email;
    body["email_verified"] = true;
  }
  (void)scopes;
  net::Response r = net::JsonResponse(200, body);
  AddNoCacheHeaders(r);
  return r;
}

// Claims of an ID token this emulator signed and that has not expired, else nullopt.
std::optional<nlohmann::json> VerifyOwnIdToken(OAuthState& state, std::string_view jwt,
                                               int64_t now) {
  size_t last_dot = jwt.rfind('.');
  if (last_dot == std::string_view::npos) return std::nullopt;
  size_t first_dot = jwt.find('.');
  if (first_dot == last_dot) return std::nullopt;
  auto payload = crypto::Base64UrlDecode(jwt.substr(first_dot + 1, last_dot - first_dot - 1));
  if (!payload) return std::nullopt;
  auto claims = net::ParseJson(*payload);
  if (!claims || !claims->is_object()) return std::nullopt;
  // RS256 (PKCS #1 v1.5) is deterministic: signing the same claims again must give this token.
  auto header = crypto::Base64UrlDecode(jwt.substr(0, first_dot));
  if (!header) return std::nullopt;
  std::string again = state.signer().Sign(*claims);
  if (again != jwt) return std::nullopt;
  if (!claims->contains("exp") || !(*claims)["exp"].is_number() || (*claims)["exp"] <= now) {
    return std::nullopt;
  }
  return std::move(*claims);
}

net::Response TokenInfo(OAuthState& state, const net::Request& req, const Clock& clock) {
  KeyValues params = req.QueryParams().value_or(KeyValues{});
  if (req.method == "POST") {
    if (auto form = BodyParams(req)) params.insert(params.end(), form->begin(), form->end());
  }
  auto invalid = [] { return OAuthError(400, "invalid_token", "Invalid Value"); };
  int64_t now = ToUnixSeconds(clock.Now());
  if (auto id_token = FindValue(params, "id_token")) {
    auto claims = VerifyOwnIdToken(state, *id_token, now);
    if (!claims) return invalid();
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [k, v] : claims->items())
      out[k] = v.is_string() ? v.get<std::string>() : v.dump();
    out["alg"] = "RS256";
    out["kid"] = state.signer().kid();
    out["typ"] = "JWT";
    return net::JsonResponse(200, out);
  }
  auto token = FindValue(params, "access_token");
  if (!token) token = BearerToken(req);
  if (!token) return OAuthError(400, "invalid_request", "Missing required parameter: access_token");
  auto info = state.LookupAccessToken(*token);
  if (!info) return invalid();
  int64_t exp = ToUnixSeconds(info->expires);
  nlohmann::json out = {{"azp", info->principal.client_id},
                        {"aud", info->principal.client_id},
                        {"sub", info->account.sub},
                        {"scope", JoinScopes(info->principal.scopes)},
                        {"exp", std::to_string(exp)},
                        {"expires_in", std::to_string(std::max<int64_t>(0, exp - now))},
                        {"access_type", info->offline ? "offline" : "online"}};
  if (info->principal.HasScope("email") ||
      info->principal.HasScope("https://www.googleapis.com/auth/userinfo.email")) {
    out["email"] = info->account.email;
    out["email_verified"] = "true";
  }
  return net::JsonResponse(200, out);
}

std::string BaseUrlOf(const net::Request& req) {
  return "http://" + req.Header("Host").value_or("127.0.0.1");
}

}  // namespace

void RegisterOAuthRoutes(net::Router& router, OAuthState& state) {
  OAuthState* s = &state;
  for (const char* path : {"/o/oauth2/v2/auth", "/o/oauth2/auth"}) {
    router.Get(path, [s](net::Request& req) { return Authorize(*s, req); });
    router.Post(path, [s](net::Request& req) { return ConsentAnswer(*s, req); });
  }
  for (const char* path : {"/token", "/o/oauth2/token", "/oauth2/v4/token"}) {
    router.Post(path, [s](net::Request& req) { return Token(*s, req); });
  }
  for (const char* path : {"/revoke", "/o/oauth2/revoke"}) {
    router.Post(path, [s](net::Request& req) { return Revoke(*s, req); });
  }
  router.Get("/o/oauth2/revoke", [s](net::Request& req) { return Revoke(*s, req); });
  for (const char* path : {"/v1/userinfo", "/oauth2/v3/userinfo", "/oauth2/v2/userinfo"}) {
    router.Get(path, [s](net::Request& req) { return UserInfo(*s, req); });
  }
  for (const char* path : {"/tokeninfo", "/oauth2/v3/tokeninfo"}) {
    router.Get(path, [s](net::Request& req) { return TokenInfo(*s, req, s->clock()); });
    router.Post(path, [s](net::Request& req) { return TokenInfo(*s, req, s->clock()); });
  }
  router.Get("/oauth2/v3/certs",
             [s](net::Request&) { return net::JsonResponse(200, s->signer().Jwks()); });
  router.Get("/oauth2/v1/certs",
             [s](net::Request&) { return net::JsonResponse(200, s->signer().PemCerts()); });
  router.Get("/.well-known/openid-configuration", [s](net::Request& req) {
    std::string base = BaseUrlOf(req);
    return net::JsonResponse(
        200,
        {{"issuer", s->settings().issuer},
         {"authorization_endpoint", base + "/o/oauth2/v2/auth"},
         {"token_endpoint", base + "/token"},
         {"userinfo_endpoint", base + "/v1/userinfo"},
         {"revocation_endpoint", base + "/revoke"},
         {"jwks_uri", base + "/oauth2/v3/certs"},
         {"response_types_supported", {"code"}},
         {"subject_types_supported", {"public"}},
         {"id_token_signing_alg_values_supported", {"RS256"}},
         {"scopes_supported", {"openid", "email", "profile"}},
         {"token_endpoint_auth_methods_supported", {"client_secret_post", "client_secret_basic"}},
         {"claims_supported",
          {"aud", "email", "email_verified", "exp", "iat", "iss", "name", "sub"}},
         {"code_challenge_methods_supported", {"plain", "S256"}},
         {"grant_types_supported", {"authorization_code", "refresh_token"}}});
  });
}

}  // namespace telemeet::emulator
