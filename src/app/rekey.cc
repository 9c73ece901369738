#include "app/rekey.h"

#include <algorithm>
#include <vector>

#include "api/google_settings.h"
#include "api/webhooks.h"
#include "google/grant_store.h"
#include "google/oauth_client.h"

namespace telemeet::app {

namespace {

std::string KeyIdOf(std::string_view sealed) {
  return std::string(sealed.substr(0, sealed.find('.')));
}

// Re-seals one value in place; `owner` names it in errors. Counts into `report`.
Status Reseal(const crypto::KeyRing& keys, std::string& sealed, std::string_view aad,
              std::string_view owner, RekeyReport& report) {
  if (sealed.empty()) return Ok();
  const std::string id = KeyIdOf(sealed);
  if (id == keys.primary_id()) {
    ++report.already_current;
    return Ok();
  }
  if (!keys.Contains(id)) {
    return Fail(ErrorCode::kFailedPrecondition,
                std::string(owner) + " is sealed under key \"" + id +
                    "\", which the key ring lacks: add that key back (after the new one) and run "
                    "`telemeet rekey` again");
  }
  auto plain = keys.Open(sealed, aad);
  if (!plain) {
    return Fail(plain.error().code(),
                std::string(owner) + " does not open: " + plain.error().message());
  }
  sealed = TM_TRY(keys.Seal(*plain, aad));
  report.old_key_ids.insert(id);
  ++report.resealed;
  return Ok();
}

template <typename T, typename F>
Result<std::vector<int64_t>> AllIds(store::Store& store, F&& list_page) {
  std::vector<int64_t> ids;
  store::PageRequest page{.limit = 1000};
  do {
    auto p = store.Read([&](store::Tx& tx) { return list_page(tx, page); });
    if (!p) return std::unexpected(p.error());
    for (const T& item : p->items) ids.push_back(item.id);
    page.cursor = p->next_cursor;
  } while (!page.cursor.empty());
  return ids;
}

// Runs `one(tx, id)` over `ids` in transactions of `batch`, reporting after each.
// A transaction may run more than once (a conflict retries it): each run counts afresh.
template <typename F>
Status InBatches(store::Store& store, const std::vector<int64_t>& ids, const RekeyOptions& o,
                 std::string_view what, RekeyReport& report, F&& one) {
  const size_t batch = static_cast<size_t>(std::max(1, o.batch));
  for (size_t at = 0; at < ids.size(); at += batch) {
    const size_t end = std::min(ids.size(), at + batch);
    const RekeyReport before = report;
    TM_TRY(store.Transact([&](store::Tx& tx) -> Status {
      report = before;
      for (size_t i = at; i < end; ++i) TM_TRY(one(tx, ids[i]));
      return Ok();
    }));
    if (o.progress) {
      o.progress({std::string(what), static_cast<int64_t>(end), static_cast<int64_t>(ids.size())});
    }
  }
  if (ids.empty() && o.progress) o.progress({std::string(what), 0, 0});
  return Ok();
}

}  // namespace

Result<RekeyReport> Rekey(store::Store& store, const crypto::KeyRing& keys,
                          const RekeyOptions& options) {
  if (keys.empty()) return Fail(ErrorCode::kFailedPrecondition, "the key ring is empty");
  RekeyReport report;

  // The OAuth client secret saved through the settings API.
  TM_TRY(store.Transact([&](store::Tx& tx) -> Status {
    report = RekeyReport{};
    auto sealed = tx.GetSetting(api::kGoogleClientSecretSetting);
    if (!sealed && sealed.error().code() == ErrorCode::kNotFound) return Ok();
    if (!sealed) return std::unexpected(sealed.error());
    std::string value = *sealed;
    TM_TRY(Reseal(keys, value, google::kClientSecretAad, "the saved Google client secret", report));
    if (value != *sealed) TM_TRY(tx.PutSetting(api::kGoogleClientSecretSetting, value));
    return Ok();
  }));
  if (options.progress) options.progress({"google client secret", 1, 1});

  // Webhook endpoints' signing secrets.
  auto endpoints = AllIds<core::WebhookEndpoint>(
      store, [](store::Tx& tx, const store::PageRequest& p) { return tx.ListWebhookEndpoints(p); });
  if (!endpoints) return std::unexpected(endpoints.error());
  TM_TRY(InBatches(store, *endpoints, options, "webhook endpoints", report,
                   [&](store::Tx& tx, int64_t id) -> Status {
                     // Locked: a rotation or an edit racing this one is not written over.
                     core::WebhookEndpoint e = TM_TRY(tx.LockWebhookEndpoint(id));
                     const core::WebhookEndpoint was = e;
                     TM_TRY(Reseal(keys, e.sealed_secret, api::WebhookSecretAad(id),
                                   "webhook endpoint " + std::to_string(id), report));
                     // The secret a rotation replaced still signs until its grace ends; once
                     // it has ended the secret goes rather than being carried over.
                     if (!e.previous_secret_expires_at || *e.previous_secret_expires_at <= tx.Now()) {
                       e.previous_sealed_secret.clear();
                     }
                     if (!e.previous_sealed_secret.empty()) {
                       TM_TRY(Reseal(keys, e.previous_sealed_secret, api::WebhookSecretAad(id),
                                     "webhook endpoint " + std::to_string(id) +
                                         " (previous secret)",
                                     report));
                     }
                     if (e.sealed_secret != was.sealed_secret ||
                         e.previous_sealed_secret != was.previous_sealed_secret) {
                       TM_TRY(tx.ResealWebhookSecrets(id, e.sealed_secret,
                                                      e.previous_sealed_secret));
                     }
                     return Ok();
                   }));

  // Doctors' Google grants (the row lock keeps a concurrent token refresh out).
  auto doctors = AllIds<core::Doctor>(
      store, [](store::Tx& tx, const store::PageRequest& p) { return tx.ListDoctors(p); });
  if (!doctors) return std::unexpected(doctors.error());
  TM_TRY(InBatches(
      store, *doctors, options, "grants", report, [&](store::Tx& tx, int64_t id) -> Status {
        auto grant = tx.LockGrant(id);
        if (!grant && grant.error().code() == ErrorCode::kNotFound) return Ok();
        if (!grant) return std::unexpected(grant.error());
        const std::string doctor = std::to_string(id);
        core::GoogleGrant g = *grant;
        TM_TRY(Reseal(keys, g.sealed_refresh_token,
                      google::GrantAad(doctor, google::kRefreshTokenPurpose),
                      "doctor " + doctor + "'s Google refresh token", report));
        // A cached access token that does not open is only a cache: dropped, refreshed later.
        RekeyReport scratch;
        if (!Reseal(keys, g.access_token, google::GrantAad(doctor, google::kAccessTokenPurpose),
                    "access token", scratch)) {
          g.access_token.clear();
        }
        report.resealed += scratch.resealed;
        report.already_current += scratch.already_current;
        report.old_key_ids.insert(scratch.old_key_ids.begin(), scratch.old_key_ids.end());
        if (g.sealed_refresh_token != grant->sealed_refresh_token ||
            g.access_token != grant->access_token) {
          TM_TRY(tx.PutGrant(g));
        }
        return Ok();
      }));
  return report;
}

}  // namespace telemeet::app
