// Valid access tokens per doctor (DESIGN.md "Tokens"): memory cache → GrantStore → refresh at
// Google, refreshing 5 minutes before expiry. Refresh is single-flight per doctor: in this
// process a per-doctor mutex makes 100 concurrent callers cause one refresh; across instances
// the store's row lock (GrantStore::LockAndUpdate) serialises refreshes and the row is re-read
// after taking it, so an instance that waited uses the token the other one stored. Tokens reach
// the store only sealed with the KeyRing (AAD = doctor id + purpose). invalid_grant marks the
// grant dead in the same locked write and answers kNeedsReconnect with Google's description.
//
//   TokenProvider tokens(oauth, store, keyring, clock);
//   tokens.StoreNewGrant("doctor-42", *grant, "dr.who@example.com");   // after ExchangeCode
//   GoogleResult<std::string> access = tokens.AccessTokenFor("doctor-42");
//   if (!access && access.error().NeedsReconnect()) park the doctor's work
//
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "crypto/keyring.h"
#include "google/grant_store.h"
#include "google/oauth_client.h"
#include "google/token_source.h"

namespace telemeet::google {

struct TokenProviderOptions {
  std::chrono::seconds refresh_margin{300};  // refresh this long before expiry
};

class TokenProvider final : public AccessTokenSource {
 public:
  TokenProvider(OAuthClient& oauth, GrantStore& store, const crypto::KeyRing& keys,
                const Clock& clock, TokenProviderOptions options = {});

  // AccessTokenSource
  // Errors: kNotConnected (no grant), kNeedsReconnect (the grant is dead, or died now:
  // reason() is "invalid_grant" or "scope_not_granted" and message() Google's description),
  // kInvalidClient (our configuration), kStore, and transient kinds from the refresh.
  GoogleResult<std::string> AccessTokenFor(std::string_view doctor_id) override;
  GoogleResult<std::string> RefreshAfterRejection(std::string_view doctor_id,
                                                  std::string_view rejected) override;
  void MarkNeedsReconnect(std::string_view doctor_id, const GoogleError& why) override;

  // Seals and saves a grant fresh from ExchangeCode (connect or reconnect: the dead mark is
  // cleared) and caches its access token.
  GoogleStatus StoreNewGrant(std::string_view doctor_id, const TokenGrant& grant,
                             std::string_view account_email);

  // Drops the cached token.
  void Forget(std::string_view doctor_id);

  // Disconnect: revokes the refresh token at Google (which revokes the whole grant; a token
  // Google no longer knows is fine), then deletes the stored grant and the cached token. The
  // grant is deleted even when Google cannot be reached (the error is returned after).
  GoogleStatus Disconnect(std::string_view doctor_id);

  // Refreshes this instance made at Google since construction.
  int64_t refreshes() const { return refreshes_.load(); }

 private:
  struct Cached {
    std::string token;
    Instant expires_at;
  };
  struct DoctorState {
    std::mutex mu;                 // single flight: held while loading or refreshing
    std::optional<Cached> cached;  // guarded by mu
  };

  std::shared_ptr<DoctorState> StateFor(std::string_view doctor_id);
  bool Fresh(Instant expires_at) const;
  // With state.mu held: the store's token if fresh and not `rejected`, else a refresh under
  // the row lock.
  GoogleResult<std::string> LoadOrRefreshLocked(std::string_view doctor_id, DoctorState& state,
                                                std::string_view rejected);
  // The access token a stored grant holds, if it is fresh and not `rejected`.
  std::optional<Cached> UsableStoredToken(const StoredGrant& grant,
                                          std::string_view rejected) const;

  OAuthClient& oauth_;
  GrantStore& store_;
  const crypto::KeyRing& keys_;
  const Clock& clock_;
  const TokenProviderOptions options_;
  std::mutex map_mu_;
  std::map<std::string, std::shared_ptr<DoctorState>, std::less<>> states_;  // guarded
  std::atomic<int64_t> refreshes_{0};
};

}  // namespace telemeet::google
