// Where a doctor's Google grant lives between processes: the interface the token provider
// needs from the store (the lead adapts store/ to it). Tokens arrive here only sealed with
// crypto::KeyRing (AAD = doctor id + purpose, see GrantAad), never in plain text.
//
//   Status s = store.LockAndUpdate("doctor-42", [&](const StoredGrant& current)
//       -> Result<std::optional<StoredGrant>> {
//     if (AccessTokenStillFresh(current)) return std::nullopt;   // another instance refreshed
//     StoredGrant next = current;
//     next.sealed_access_token = ...;                             // refresh at Google
//     return next;                                                // saved before unlocking
//   });
//
// Implementations are safe for concurrent use from many threads and processes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/error.h"

namespace telemeet::google {

// The purposes bound into the AAD of sealed grant fields.
inline constexpr std::string_view kRefreshTokenPurpose = "google_refresh_token";
inline constexpr std::string_view kAccessTokenPurpose = "google_access_token";

// "doctor:<id>/<purpose>": a sealed value copied to another doctor or column does not open.
inline std::string GrantAad(std::string_view doctor_id, std::string_view purpose) {
  return "doctor:" + std::string(doctor_id) + "/" + std::string(purpose);
}

struct StoredGrant {
  std::string doctor_id{};
  std::string account_email{};         // the connected Google account (calendars/primary id)
  std::string sealed_refresh_token{};  // KeyRing::Seal(refresh token, GrantAad(id, refresh))
  std::string sealed_access_token{};   // KeyRing::Seal(access token, GrantAad(id, access)); may
                                       // be empty
  Instant access_expires_at{};
  std::vector<std::string> scopes{};
  bool needs_reconnect = false;    // the grant is dead (invalid_grant, scope removed)
  std::string reconnect_reason{};  // Google's description, shown to the doctor
  int64_t version = 0;             // bumped by the store on every write
};

class GrantStore {
 public:
  virtual ~GrantStore() = default;

  // The doctor's grant, or nullopt when the doctor never connected (or disconnected).
  virtual Result<std::optional<StoredGrant>> LoadGrant(std::string_view doctor_id) = 0;

  // Creates or replaces the doctor's grant (connect, reconnect).
  virtual Status SaveGrant(const StoredGrant& grant) = 0;

  // What LockAndUpdate runs with the lock held: the current row in, the row to write out
  // (nullopt: write nothing). An error aborts and writes nothing.
  using Update = std::function<Result<std::optional<StoredGrant>>(const StoredGrant& current)>;

  // Locks the doctor's grant row against every other LockAndUpdate for that doctor, in this
  // process and in others (PostgreSQL: SELECT ... FOR UPDATE in a transaction; SQLite: BEGIN
  // IMMEDIATE), re-reads it, runs `update`, writes what it returns, and releases the lock.
  // `update` may do network I/O (the refresh at Google) and must not call the store.
  // Returns kNotFound when the doctor has no grant, or update's error.
  virtual Status LockAndUpdate(std::string_view doctor_id, const Update& update) = 0;

  // Marks the grant dead (needs_reconnect = true, reconnect_reason = reason, access token
  // dropped) so no instance uses it until the doctor reconnects. kNotFound without a grant.
  virtual Status MarkNeedsReconnect(std::string_view doctor_id, std::string_view reason) = 0;

  // Removes the grant (disconnect). Not an error when there is none.
  virtual Status DeleteGrant(std::string_view doctor_id) = 0;
};

}  // namespace telemeet::google
