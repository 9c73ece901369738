// Users and API keys: the rules the REST routes (routes_admin.cc) and the admin command line
// (`telemeet users ...`, `telemeet api-keys ...`) share, so each is written once.
//
//   auto user = api::CreateUser(store, {.email = "ada@clinic.example", .role = "doctor",
//                                       .doctor_id = 3, .password = secret}, "cli");
//   auto changed = api::UpdateUser(store, user->id, {.disabled = true}, "cli");  // sessions end
//   bool any = *store.Read([](store::Tx& tx) { return api::HasActiveAdmin(tx); });
//
// Each function makes at most one write transaction. Safe for concurrent use.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "core/types.h"
#include "crypto/password.h"
#include "store/store.h"

namespace telemeet::api {

inline constexpr size_t kMinPasswordLength = 10;

// kInvalidArgument (field "password") when shorter than kMinPasswordLength or longer than
// kMaxPasswordBytes (which sign-in would refuse).
Status CheckPassword(std::string_view password);

struct NewUser {
  std::string email;
  std::optional<std::string> name = {};   // default: the part of the email before '@'
  std::string role;                       // "admin" or "doctor"
  std::optional<int64_t> doctor_id = {};  // required for a doctor, refused for an admin
  std::string password;
};

// Creates a user. kInvalidArgument naming the field (email, role, doctor_id, password);
// kAlreadyExists (field "email") when the email is taken. With an `actor` ("user:3", "cli")
// the admin audit records it in the same transaction; empty: not audited (the sandbox seed).
// `also` runs in that transaction too, after the insert (the route's Idempotency-Key record).
Result<core::User> CreateUser(
    store::Store& store, const NewUser& user, std::string_view actor,
    const crypto::PasswordLimits& limits = crypto::PasswordLimits::Interactive(),
    const std::function<Status(store::Tx&, const core::User&)>& also = {});

// What changes about a user; absent fields stay.
struct UserChange {
  std::optional<std::string> name = {};
  std::optional<std::string> password = {};
  std::optional<bool> disabled = {};
};

// Applies `change` to user `id`. A new password or a disabled account ends every open session
// of the user in the same transaction. kNotFound; kInvalidArgument (field "password"). Audited
// as CreateUser is (a password only as the word "password" among the changed fields).
Result<core::User> UpdateUser(
    store::Store& store, int64_t id, const UserChange& change, std::string_view actor,
    const crypto::PasswordLimits& limits = crypto::PasswordLimits::Interactive());

// For CreateApiKey's `also`: the admin audit entry of a new key made by `actor`.
std::function<Status(store::Tx&, const core::ApiKey&)> ApiKeyCreatedAudit(std::string actor);

// Revokes API key `id` and audits it as `actor`. kNotFound when no key has that id.
Status RevokeApiKey(store::Store& store, int64_t id, std::string_view actor);

// An admin audit entry written in `tx` by `actor` ("cli", "system", "user:3"), for changes
// made outside the REST routes; `kind` one of core::kAdminAuditKinds; never a secret in
// `detail`. Nothing is written for an empty actor.
Status AuditAs(store::Tx& tx, std::string_view actor, std::string_view kind,
               std::string_view action, std::string target, const nlohmann::json& detail);

// True when an enabled admin user exists (false: nobody can administer this telemeet yet).
Result<bool> HasActiveAdmin(store::Tx& tx);

// Joins API key scopes ("read", "write") into the stored form; kInvalidArgument (field
// "scopes") for an unknown or missing scope.
Result<std::string> JoinScopes(const std::vector<std::string>& scopes);

}  // namespace telemeet::api
