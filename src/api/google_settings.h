// The Google OAuth client configuration as the admin makes it (M1): the config file's values are
// the defaults, the settings saved through PATCH /api/v1/settings/google override them (the
// secret sealed with AAD "setting:google.client_secret"), and a live OAuthClient asks this
// object on every operation, so a save takes effect for the next connect, callback, refresh or
// revoke without a restart.
//
//   LiveGoogleConfig live(store, keys, clock, defaults_from_config, {.sandbox = sandbox});
//   if (auto s = live.Reload(); !s) ...              // at start-up: saved settings win
//   google::OAuthClient oauth(live, oauth_deps);     // asks live.Current() per operation
//   api_deps.google_config = &live;                  // PATCH reloads it after the commit
//
// The sandbox rule: telemeet runs in sandbox mode (the built-in Google emulator) when neither the
// config nor the saved settings hold a client id; it is decided once, at start-up
// (SandboxDecision). Credentials saved while in sandbox are stored but not used: the emulator's
// URLs and its client stay until a restart, and the settings answer says "restart to leave the
// sandbox" instead of sending real credentials to the emulator or emulator codes to Google.
//
// Another instance's save reaches this one when a Google route here finds the configuration
// older than reload_after (ReloadIfStale); background token refreshes use whatever is current.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/error.h"
#include "crypto/keyring.h"
#include "google/oauth_client.h"
#include "store/store.h"

namespace telemeet::api {

// The settings-table keys.
inline constexpr std::string_view kGoogleClientIdSetting = "google.client_id";
inline constexpr std::string_view kGoogleClientSecretSetting = "google.client_secret";
inline constexpr std::string_view kGoogleRedirectUriSetting = "google.redirect_uri";
inline constexpr std::string_view kGoogleScopeSetting = "google.scope";

inline constexpr std::string_view kRestartToLeaveSandbox =
    "saved; telemeet is running in sandbox mode with its built-in Google emulator, so these "
    "credentials are used after a restart: restart telemeet to leave the sandbox";

// Whether a client id was saved through the API.
Result<bool> HasSavedGoogleClient(store::Store& store);

// Sandbox mode: no client id configured and none saved. Errors: the store's.
Result<bool> SandboxDecision(store::Store& store, std::string_view configured_client_id);

class LiveGoogleConfig final : public google::OAuthConfigSource {
 public:
  struct Options {
    bool sandbox = false;
    std::chrono::milliseconds reload_after{5000};
  };

  // `store`, `keys` and `clock` must outlive this object.
  LiveGoogleConfig(store::Store& store, const crypto::KeyRing& keys, const Clock& clock,
                   google::OAuthConfig defaults, Options options);

  // google::OAuthConfigSource: the last loaded configuration (memory only).
  std::shared_ptr<const google::OAuthConfig> Current() const override;

  // Reads the settings and makes them current; in sandbox mode the defaults stay. On an error
  // the previous configuration stays. Errors: the store's; kInvalidArgument when the saved
  // secret cannot be opened (sealed under another master key, tampered with).
  Status Reload();
  // Reload when the last one is older than reload_after; an error is logged (the previous
  // configuration stays).
  void ReloadIfStale();

  // The configuration the saved settings over the defaults make, read in `tx` (in sandbox mode
  // too: it is what a restart would use, apart from the emulator's URLs).
  Result<google::OAuthConfig> Effective(store::Tx& tx) const;

  bool sandbox() const { return options_.sandbox; }
  const google::OAuthConfig& defaults() const { return defaults_; }

 private:
  store::Store& store_;
  const crypto::KeyRing& keys_;
  const Clock& clock_;
  const google::OAuthConfig defaults_;
  const Options options_;

  mutable std::mutex mu_;
  std::shared_ptr<const google::OAuthConfig> current_;  // guarded by mu_
  Instant loaded_at_{};                                 // guarded by mu_
};

}  // namespace telemeet::api
