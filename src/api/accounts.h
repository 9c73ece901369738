// Users and API keys: the rules the REST routes (routes_admin.cc) and the admin command line
// (`telemeet users ...`, `telemeet api-keys ...`) share, so each is written once.
//
//   auto user = api::CreateUser(store, {.email = "ada@clinic.example", .role = "doctor",
//                                       .doctor_id = 3, .password = secret});
//   auto changed = api::UpdateUser(store, user->id, {.disabled = true});   // sessions end
//   bool any = *store.Read([](store::Tx& tx) { return api::HasActiveAdmin(tx); });
//
// Each function makes at most one write transaction. Safe for concurrent use.
#pragma once

#include <cstdint>
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

// kInvalidArgument (field "password") when shorter than kMinPasswordLength.
Status CheckPassword(std::string_view password);

struct NewUser {
  std::string email;
  std::optional<std::string> name = {};   // default: the part of the email before '@'
  std::string role;                       // "admin" or "doctor"
  std::optional<int64_t> doctor_id = {};  // required for a doctor, refused for an admin
  std::string password;
};

// Creates a user. kInvalidArgument naming the field (email, role, doctor_id, password);
// kAlreadyExists (field "email") when the email is taken.
Result<core::User> CreateUser(
    store::Store& store, const NewUser& user,
    const crypto::PasswordLimits& limits = crypto::PasswordLimits::Interactive());

// What changes about a user; absent fields stay.
struct UserChange {
  std::optional<std::string> name = {};
  std::optional<std::string> password = {};
  std::optional<bool> disabled = {};
};

// Applies `change` to user `id`. A new password or a disabled account ends every open session
// of the user in the same transaction. kNotFound; kInvalidArgument (field "password").
Result<core::User> UpdateUser(
    store::Store& store, int64_t id, const UserChange& change,
    const crypto::PasswordLimits& limits = crypto::PasswordLimits::Interactive());

// True when an enabled admin user exists (false: nobody can administer this telemeet yet).
Result<bool> HasActiveAdmin(store::Tx& tx);

// Joins API key scopes ("read", "write") into the stored form; kInvalidArgument (field
// "scopes") for an unknown or missing scope.
Result<std::string> JoinScopes(const std::vector<std::string>& scopes);

}  // namespace telemeet::api
