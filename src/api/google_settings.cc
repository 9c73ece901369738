#include "api/google_settings.h"

#include <utility>

#include "obs/log.h"

namespace telemeet::api {

namespace {

// The saved value of `key`, or nullopt when none (an empty value counts as none).
Result<std::optional<std::string>> Saved(store::Tx& tx, std::string_view key) {
  auto v = tx.GetSetting(key);
  if (!v) {
    if (v.error().code() == ErrorCode::kNotFound) return std::optional<std::string>();
    return std::unexpected(v.error());
  }
  if (v->empty()) return std::optional<std::string>();
  return std::optional<std::string>(std::move(*v));
}

}  // namespace

Result<bool> HasSavedGoogleClient(store::Store& store) {
  return store.Read([](store::Tx& tx) -> Result<bool> {
    auto id = TM_TRY(Saved(tx, kGoogleClientIdSetting));
    return id.has_value();
  });
}

Result<bool> SandboxDecision(store::Store& store, std::string_view configured_client_id) {
  if (!configured_client_id.empty()) return false;
  auto saved = TM_TRY(HasSavedGoogleClient(store));
  return !saved;
}

LiveGoogleConfig::LiveGoogleConfig(store::Store& store, const crypto::KeyRing& keys,
                                   const Clock& clock, google::OAuthConfig defaults,
                                   Options options)
    : store_(store),
      keys_(keys),
      clock_(clock),
      defaults_(std::move(defaults)),
      options_(options),
      current_(std::make_shared<const google::OAuthConfig>(defaults_)) {}

std::shared_ptr<const google::OAuthConfig> LiveGoogleConfig::Current() const {
  std::lock_guard lock(mu_);
  return current_;
}

Result<google::OAuthConfig> LiveGoogleConfig::Effective(store::Tx& tx) const {
  google::OAuthConfig out = defaults_;
  if (auto id = TM_TRY(Saved(tx, kGoogleClientIdSetting))) out.client_id = std::move(*id);
  if (auto sealed = TM_TRY(Saved(tx, kGoogleClientSecretSetting))) {
    auto secret = google::OpenClientSecret(keys_, *sealed);
    if (!secret) {
      return Fail(ErrorCode::kInvalidArgument,
                  "the saved Google client secret cannot be opened with this master key: "
                  "save it again",
                  "client_secret");
    }
    out.client_secret = std::move(*secret);
  }
  if (auto uri = TM_TRY(Saved(tx, kGoogleRedirectUriSetting))) out.redirect_uri = std::move(*uri);
  if (auto scope = TM_TRY(Saved(tx, kGoogleScopeSetting))) out.scope = std::move(*scope);
  return out;
}

Status LiveGoogleConfig::Reload() {
  Instant now = clock_.Now();
  if (options_.sandbox) {
    std::lock_guard lock(mu_);
    loaded_at_ = now;
    return Ok();
  }
  auto loaded = TM_TRY(store_.Read([&](store::Tx& tx) { return Effective(tx); }));
  auto next = std::make_shared<const google::OAuthConfig>(std::move(loaded));
  std::lock_guard lock(mu_);
  current_ = std::move(next);
  loaded_at_ = now;
  return Ok();
}

void LiveGoogleConfig::ReloadIfStale() {
  {
    std::lock_guard lock(mu_);
    if (loaded_at_ != Instant{} && clock_.Now() - loaded_at_ < options_.reload_after) return;
  }
  if (auto s = Reload(); !s) {
    obs::Log().Warn("google settings reload failed; the previous ones stay",
                    {{"error", s.error().ToString()}});
  }
}

}  // namespace telemeet::api
