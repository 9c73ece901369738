// google::GrantStore over store::Store: where the token provider keeps a doctor's sealed Google
// grant. Doctor ids are the decimal strings of core ids. The grant's side effects on the rest of
// the system happen in the same transaction as the grant write, so no crash can separate them:
// marking a grant dead parks the doctor's jobs and appends a "doctor.needs_reconnect" outbox
// event; saving a fresh grant (connect, reconnect) wakes the doctor's parked and waiting work.
//
//   StoreGrantStore grants(*store);
//   google::TokenProvider tokens(oauth, grants, keyring, clock);
//   tokens.StoreNewGrant("42", *grant, "dr.who@example.com");   // + WakeDoctor(42)
//
// Thread-safe (the store is).
#pragma once

#include <optional>
#include <string_view>

#include "core/types.h"
#include "google/grant_store.h"
#include "store/store.h"

namespace telemeet::sync {

inline constexpr std::string_view kNeedsReconnectTopic = "doctor.needs_reconnect";
// A connect or reconnect gave a grant for another Google account than the doctor's last one
// (their meetings now go to another calendar owner): the clinic should hear of it.
inline constexpr std::string_view kAccountChangedTopic = "doctor.google_account_changed";
// The setting remembering the Google account a doctor connected last; it outlives a
// disconnect, which deletes the grant.
std::string LastAccountSetting(int64_t doctor_id);

// Conversions between the two grant shapes (`version` is the store's, bumped on every write).
google::StoredGrant ToStoredGrant(const core::GoogleGrant& grant);
core::GoogleGrant ToCoreGrant(const google::StoredGrant& grant, int64_t doctor_id);

// "42" → 42; kInvalidArgument naming "doctor_id" for anything but a positive decimal.
Result<int64_t> ParseDoctorId(std::string_view doctor_id);

class StoreGrantStore final : public google::GrantStore {
 public:
  explicit StoreGrantStore(store::Store& store) : store_(store) {}

  // google::GrantStore
  // A disconnected grant reads as absent.
  Result<std::optional<google::StoredGrant>> LoadGrant(std::string_view doctor_id) override;
  // Saving a live grant wakes the doctor's work; saving a dead one parks it (see the top).
  Status SaveGrant(const google::StoredGrant& grant) override;
  // PostgreSQL: a write transaction holding the grant row lock (Tx::LockGrant) around `update`.
  // SQLite: `update` runs outside any transaction (SQLite's one writer lock must not wait on
  // Google); its result is written only if the row did not change meanwhile, else it runs
  // again on the new row (kAborted after 4 such races).
  Status LockAndUpdate(std::string_view doctor_id, const Update& update) override;
  // Under the row lock: dead, the access token dropped, the doctor's jobs parked and the
  // outbox told (once). kNotFound without a grant.
  Status MarkNeedsReconnect(std::string_view doctor_id, std::string_view reason) override;
  Status DeleteGrant(std::string_view doctor_id) override;

 private:
  // Writes `next` over `previous` (nullopt: none) with the transitions' side effects.
  static Status Write(store::Tx& tx, const std::optional<core::GoogleGrant>& previous,
                      const google::StoredGrant& next, int64_t doctor_id);

  store::Store& store_;
};

}  // namespace telemeet::sync
