#include "google/token_provider.h"

#include <utility>

namespace telemeet::google {
namespace {

GoogleError StoreError(const Error& e) {
  return GoogleError(ErrorKind::kStore, "grant store: " + e.message());
}

GoogleError Dead(std::string reason, std::string message) {
  GoogleError e(ErrorKind::kNeedsReconnect, std::move(message));
  e.set_reason(std::move(reason));
  return e;
}

}  // namespace

TokenProvider::TokenProvider(OAuthClient& oauth, GrantStore& store, const crypto::KeyRing& keys,
                             const Clock& clock, TokenProviderOptions options)
    : oauth_(oauth), store_(store), keys_(keys), clock_(clock), options_(options) {}

std::shared_ptr<TokenProvider::DoctorState> TokenProvider::StateFor(std::string_view doctor_id) {
  std::lock_guard lock(map_mu_);
  auto it = states_.find(doctor_id);
  if (it == states_.end()) {
    it = states_.emplace(std::string(doctor_id), std::make_shared<DoctorState>()).first;
  }
  return it->second;
}

bool TokenProvider::Fresh(Instant expires_at) const {
  return clock_.Now() + options_.refresh_margin < expires_at;
}

GoogleResult<std::string> TokenProvider::AccessTokenFor(std::string_view doctor_id) {
  std::shared_ptr<DoctorState> state = StateFor(doctor_id);
  std::lock_guard lock(state->mu);
  if (state->cached && Fresh(state->cached->expires_at)) return state->cached->token;
  return LoadOrRefreshLocked(doctor_id, *state, {});
}

GoogleResult<std::string> TokenProvider::RefreshAfterRejection(std::string_view doctor_id,
                                                               std::string_view rejected) {
  std::shared_ptr<DoctorState> state = StateFor(doctor_id);
  std::lock_guard lock(state->mu);
  // Another caller already replaced the rejected token.
  if (state->cached && state->cached->token != rejected && Fresh(state->cached->expires_at)) {
    return state->cached->token;
  }
  state->cached.reset();
  return LoadOrRefreshLocked(doctor_id, *state, rejected);
}

std::optional<TokenProvider::Cached> TokenProvider::UsableStoredToken(
    const StoredGrant& grant, std::string_view rejected) const {
  if (grant.sealed_access_token.empty() || !Fresh(grant.access_expires_at)) return std::nullopt;
  Result<std::string> token =
      keys_.Open(grant.sealed_access_token, GrantAad(grant.doctor_id, kAccessTokenPurpose));
  if (!token || *token == rejected) return std::nullopt;
  return Cached{std::move(*token), grant.access_expires_at};
}

GoogleResult<std::string> TokenProvider::LoadOrRefreshLocked(std::string_view doctor_id,
                                                             DoctorState& state,
                                                             std::string_view rejected) {
  Result<std::optional<StoredGrant>> loaded = store_.LoadGrant(doctor_id);
  if (!loaded) return std::unexpected(StoreError(loaded.error()));
  if (!*loaded) {
    return GFail(ErrorKind::kNotConnected, "the doctor has not connected Google Calendar");
  }
  if ((*loaded)->needs_reconnect) return std::unexpected(Dead("", (*loaded)->reconnect_reason));
  if (auto usable = UsableStoredToken(**loaded, rejected)) {
    state.cached = *usable;
    return usable->token;
  }

  std::optional<GoogleError> failure;
  std::optional<Cached> result;
  Status locked = store_.LockAndUpdate(
      doctor_id, [&](const StoredGrant& current) -> Result<std::optional<StoredGrant>> {
        if (current.needs_reconnect) {
          failure = Dead("", current.reconnect_reason);
          return std::nullopt;
        }
        // Another instance may have refreshed while this one waited for the lock.
        if (auto usable = UsableStoredToken(current, rejected)) {
          result = std::move(usable);
          return std::nullopt;
        }
        Result<std::string> refresh_token = keys_.Open(
            current.sealed_refresh_token, GrantAad(current.doctor_id, kRefreshTokenPurpose));
        if (!refresh_token) {
          // A key missing from the ring is our configuration, not the doctor's grant.
          failure = GoogleError(ErrorKind::kStore, "cannot open the sealed refresh token: " +
                                                       refresh_token.error().message());
          return std::nullopt;
        }
        ++refreshes_;
        GoogleResult<TokenGrant> fresh = oauth_.Refresh(*refresh_token);
        if (!fresh) {
          const GoogleError& e = fresh.error();
          if (e.kind() == ErrorKind::kInvalidGrant || e.kind() == ErrorKind::kScopeNotGranted) {
            StoredGrant dead = current;
            dead.needs_reconnect = true;
            dead.reconnect_reason = e.message();
            dead.sealed_access_token.clear();
            failure = Dead(std::string(e.kind() == ErrorKind::kInvalidGrant ? "invalid_grant"
                                                                            : "scope_not_granted"),
                           e.message());
            return std::optional<StoredGrant>(std::move(dead));
          }
          failure = e;
          return std::nullopt;
        }
        StoredGrant next = current;
        Result<std::string> sealed_access =
            keys_.Seal(fresh->access_token, GrantAad(current.doctor_id, kAccessTokenPurpose));
        if (!sealed_access) return std::unexpected(sealed_access.error());
        next.sealed_access_token = std::move(*sealed_access);
        if (fresh->refresh_token != *refresh_token) {
          Result<std::string> sealed_refresh =
              keys_.Seal(fresh->refresh_token, GrantAad(current.doctor_id, kRefreshTokenPurpose));
          if (!sealed_refresh) return std::unexpected(sealed_refresh.error());
          next.sealed_refresh_token = std::move(*sealed_refresh);
        }
        next.access_expires_at = fresh->expires_at;
        if (!fresh->scopes.empty()) next.scopes = fresh->scopes;
        result = Cached{fresh->access_token, fresh->expires_at};
        return std::optional<StoredGrant>(std::move(next));
      });
  if (failure) return std::unexpected(*failure);
  if (!locked) {
    if (locked.error().code() == ErrorCode::kNotFound) {
      return GFail(ErrorKind::kNotConnected, "the doctor has not connected Google Calendar");
    }
    return std::unexpected(StoreError(locked.error()));
  }
  if (!result) return GFail(ErrorKind::kStore, "grant update produced no token");
  state.cached = *result;
  return result->token;
}

GoogleStatus TokenProvider::StoreNewGrant(std::string_view doctor_id, const TokenGrant& grant,
                                          std::string_view account_email) {
  if (grant.refresh_token.empty()) {
    return GFail(ErrorKind::kBadResponse, "a new grant needs a refresh token");
  }
  Result<std::string> refresh =
      keys_.Seal(grant.refresh_token, GrantAad(doctor_id, kRefreshTokenPurpose));
  Result<std::string> access =
      keys_.Seal(grant.access_token, GrantAad(doctor_id, kAccessTokenPurpose));
  if (!refresh) return std::unexpected(StoreError(refresh.error()));
  if (!access) return std::unexpected(StoreError(access.error()));
  StoredGrant stored{.doctor_id = std::string(doctor_id),
                     .account_email = std::string(account_email),
                     .sealed_refresh_token = std::move(*refresh),
                     .sealed_access_token = std::move(*access),
                     .access_expires_at = grant.expires_at,
                     .scopes = grant.scopes,
                     .needs_reconnect = false,
                     .reconnect_reason = {},
                     .version = 0};
  std::shared_ptr<DoctorState> state = StateFor(doctor_id);
  std::lock_guard lock(state->mu);
  Status saved = store_.SaveGrant(stored);
  if (!saved) return std::unexpected(StoreError(saved.error()));
  state->cached = Cached{grant.access_token, grant.expires_at};
  return {};
}

void TokenProvider::Forget(std::string_view doctor_id) {
  std::shared_ptr<DoctorState> state = StateFor(doctor_id);
  std::lock_guard lock(state->mu);
  state->cached.reset();
}

void TokenProvider::MarkNeedsReconnect(std::string_view doctor_id, const GoogleError& why) {
  std::shared_ptr<DoctorState> state = StateFor(doctor_id);
  std::lock_guard lock(state->mu);
  state->cached.reset();
  // Best effort: if the store is down, the next call meets the same 403 and tries again.
  (void)store_.MarkNeedsReconnect(doctor_id, why.message());
}

GoogleStatus TokenProvider::Disconnect(std::string_view doctor_id) {
  std::shared_ptr<DoctorState> state = StateFor(doctor_id);
  std::lock_guard lock(state->mu);
  Result<std::optional<StoredGrant>> loaded = store_.LoadGrant(doctor_id);
  if (!loaded) return std::unexpected(StoreError(loaded.error()));
  GoogleStatus revoked;
  if (*loaded) {
    Result<std::string> refresh =
        keys_.Open((*loaded)->sealed_refresh_token, GrantAad(doctor_id, kRefreshTokenPurpose));
    if (refresh) revoked = oauth_.Revoke(*refresh);
  }
  state->cached.reset();
  Status deleted = store_.DeleteGrant(doctor_id);
  if (!deleted) return std::unexpected(StoreError(deleted.error()));
  return revoked;
}

}  // namespace telemeet::google
