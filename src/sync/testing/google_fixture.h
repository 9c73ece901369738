// What the sync and notify integration tests set up the same way: fake-google with one OAuth
// client whose consent needs no browser, and our OAuth client pointed at it. Tests differ in the
// rest (calendar timeouts, the Meet client, quotas of their own) and build that themselves.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "base/strings.h"
#include "emulator/server/fake_google.h"
#include "google/oauth_client.h"
#include "google/transport.h"

namespace telemeet::sync::testing {

// The test's redirect URI: never visited (consent is auto-approved and the code read from the
// emulator's answer), so any fixed loopback URL does.
inline const std::string kTestRedirect = "http://127.0.0.1:9/oauth/callback";

// One client, these accounts, consent given at once, quotas off (a test that wants quotas sets
// its own on the returned options).
inline emulator::FakeGoogleOptions EmulatorFor(const std::string& client_id,
                                               const std::string& secret,
                                               std::vector<emulator::Account> accounts) {
  emulator::FakeGoogleOptions options;
  options.clients.push_back({client_id, secret, {kTestRedirect}});
  options.accounts = std::move(accounts);
  options.oauth.auto_approve = true;
  options.quota.per_user = 0;
  options.quota.per_project = 0;
  return options;
}

// Our OAuth client's endpoints on the emulator at `base`.
inline google::OAuthConfig OAuthAt(const std::string& base, const std::string& client_id,
                                   const std::string& secret) {
  google::OAuthConfig c;
  c.client_id = client_id;
  c.client_secret = secret;
  c.redirect_uri = kTestRedirect;
  c.auth_url = base + "/o/oauth2/v2/auth";
  c.token_url = base + "/token";
  c.revoke_url = base + "/revoke";
  return c;
}

// The connect flow without a browser: the consent page (auto-approved) answers with the code at
// the redirect URI, exchanged with PKCE. nullopt, the failure recorded, when a step fails.
inline std::optional<google::TokenGrant> GrantByConsent(
    google::OAuthClient& oauth, google::Transport& transport, const std::string& email,
    const std::vector<std::string>& extra_scopes = {}) {
  auto start = oauth.BuildAuthorizationUrl("state-1", email, extra_scopes);
  if (!start) {
    ADD_FAILURE() << start.error().ToString();
    return std::nullopt;
  }
  google::HttpRequest consent_request;
  consent_request.url = start->url;
  auto consent = transport.Send(consent_request);
  if (!consent || consent->status != 302) {
    ADD_FAILURE() << "consent: " << (consent ? consent->body : consent.error().ToString());
    return std::nullopt;
  }
  const std::string location = consent->headers.Get("Location").value_or("");
  KeyValues q = ParseQuery(location.substr(kTestRedirect.size() + 1)).value_or(KeyValues{});
  auto code = FindValue(q, "code");
  if (!code) {
    ADD_FAILURE() << "no code in " << location;
    return std::nullopt;
  }
  auto grant = oauth.ExchangeCode(*code, start->code_verifier);
  if (!grant) {
    ADD_FAILURE() << grant.error().ToString();
    return std::nullopt;
  }
  return std::move(*grant);
}

}  // namespace telemeet::sync::testing
