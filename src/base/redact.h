// Keeps secrets out of logs. Every log path passes what it writes through these helpers:
// access and refresh tokens, authorization codes, PKCE verifiers, client secrets, passwords,
// API keys and the Authorization header never appear in a log line, only "[REDACTED]".
//
//   log.Info("token exchange", {{"body", RedactForm(body)}});
//   RedactHeader("Authorization", "Bearer ya29.x")   // "Bearer [REDACTED]"
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace telemeet {

inline constexpr std::string_view kRedacted = "[REDACTED]";

// True when a field, parameter or header of this name carries a secret
// (case-insensitive: "code", "access_token", "refresh_token", "client_secret", "password",
// "authorization", "cookie", "token", "api_key", ... and any name containing "secret",
// "token" or "password").
bool IsSecretName(std::string_view name);

// The value of a header as it may be logged: the scheme of "Authorization: Bearer x" is kept.
std::string RedactHeader(std::string_view name, std::string_view value);

// A query string or form body with every secret value replaced.
std::string RedactForm(std::string_view form);

// A request target ("/cb?code=4/x&state=y") with its query redacted.
std::string RedactTarget(std::string_view target);

// A URL with the password of its userinfo and its secret query values replaced:
// "postgres://app:pw@db/telemeet?sslpassword=x" -> "postgres://app:[REDACTED]@db/telemeet?
// sslpassword=[REDACTED]". A URL without them comes back unchanged.
std::string RedactUrl(std::string_view url);

// A JSON value with every secret member replaced, at any depth.
nlohmann::json RedactJson(const nlohmann::json& value);

}  // namespace telemeet
