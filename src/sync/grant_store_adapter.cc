#include "sync/grant_store_adapter.h"

#include <fmt/format.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "sync/calendar_sync.h"

namespace telemeet::sync {

namespace {

std::vector<std::string> SplitScopes(std::string_view scopes) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < scopes.size()) {
    size_t j = scopes.find(' ', i);
    if (j == std::string_view::npos) j = scopes.size();
    if (j > i) out.emplace_back(scopes.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string JoinScopes(const std::vector<std::string>& scopes) {
  std::string out;
  for (const std::string& s : scopes) {
    if (!out.empty()) out += ' ';
    out += s;
  }
  return out;
}

}  // namespace

google::StoredGrant ToStoredGrant(const core::GoogleGrant& g) {
  google::StoredGrant s;
  s.doctor_id = std::to_string(g.doctor_id);
  s.account_email = g.account_email;
  s.sealed_refresh_token = g.sealed_refresh_token;
  s.sealed_access_token = g.access_token;
  s.access_expires_at = g.access_token_expires_at;
  s.scopes = SplitScopes(g.scopes);
  s.needs_reconnect = g.status == core::GrantStatus::kNeedsReconnect;
  s.reconnect_reason = s.needs_reconnect ? g.last_error : std::string();
  s.version = g.version;
  return s;
}

core::GoogleGrant ToCoreGrant(const google::StoredGrant& s, int64_t doctor_id) {
  core::GoogleGrant g;
  g.doctor_id = doctor_id;
  g.account_email = s.account_email;
  g.scopes = JoinScopes(s.scopes);
  g.sealed_refresh_token = s.sealed_refresh_token;
  g.access_token = s.sealed_access_token;
  g.access_token_expires_at = s.access_expires_at;
  g.status = s.needs_reconnect ? core::GrantStatus::kNeedsReconnect : core::GrantStatus::kActive;
  g.last_error = s.needs_reconnect ? s.reconnect_reason : std::string();
  return g;
}

Result<int64_t> ParseDoctorId(std::string_view doctor_id) {
  int64_t id = 0;
  auto [end, ec] = std::from_chars(doctor_id.data(), doctor_id.data() + doctor_id.size(), id);
  if (ec != std::errc() || end != doctor_id.data() + doctor_id.size() || id <= 0) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("doctor id \"{}\" is not a positive integer", doctor_id), "doctor_id");
  }
  return id;
}

Result<std::optional<google::StoredGrant>> StoreGrantStore::LoadGrant(std::string_view doctor_id) {
  auto id = ParseDoctorId(doctor_id);
  if (!id) return std::unexpected(id.error());
  auto grant = store_.Read([&](store::Tx& tx) { return tx.GetGrant(*id); });
  if (!grant) {
    if (grant.error().code() == ErrorCode::kNotFound) return std::nullopt;
    return std::unexpected(grant.error());
  }
  if (grant->status == core::GrantStatus::kDisconnected) return std::nullopt;
  return ToStoredGrant(*grant);
}

Status StoreGrantStore::Write(store::Tx& tx, const std::optional<core::GoogleGrant>& previous,
                              const google::StoredGrant& next, int64_t doctor_id) {
  core::GoogleGrant row = ToCoreGrant(next, doctor_id);
  if (auto s = tx.PutGrant(row); !s) return s;
  const bool was_dead =
      previous.has_value() && previous->status == core::GrantStatus::kNeedsReconnect;
  if (next.needs_reconnect) {
    if (was_dead) return Ok();  // already parked and announced
    std::string reason = next.reconnect_reason.empty()
                             ? std::string("the Google grant was revoked or expired")
                             : next.reconnect_reason;
    auto parked = tx.ParkDoctorJobs(doctor_id, "needs_reconnect: " + reason);
    if (!parked) return std::unexpected(parked.error());
    core::OutboxEvent event;
    event.topic = std::string(kNeedsReconnectTopic);
    event.doctor_id = doctor_id;
    event.payload = nlohmann::json{
        {"doctor_id", doctor_id},
        {"account_email", next.account_email},
        {"reason", reason},
        {"parked_jobs",
         *parked}}.dump();
    if (auto e = tx.AppendOutbox(std::move(event)); !e) return std::unexpected(e.error());
    return Ok();
  }
  // A live grant: from nothing or from dead (connect, reconnect) the waiting work resumes.
  if (!previous.has_value() || was_dead || previous->status == core::GrantStatus::kDisconnected) {
    if (auto woken = tx.WakeDoctor(doctor_id); !woken) return std::unexpected(woken.error());
    // And the doctor's calendar is watched for changes made in Google by hand.
    if (auto j = EnqueueCalendarSync(tx, doctor_id, tx.Now()); !j) {
      return std::unexpected(j.error());
    }
  }
  return Ok();
}

std::string LastAccountSetting(int64_t doctor_id) {
  return "google.account:" + std::to_string(doctor_id);
}

namespace {

// Records the account of a new grant and announces a change of account (outbox and audit).
// The account before is the previous grant's, or the one remembered past a disconnect.
Status NoteAccount(store::Tx& tx, const std::optional<core::GoogleGrant>& previous,
                   const std::string& account, int64_t doctor_id) {
  if (account.empty()) return Ok();  // Google did not say which account: nothing to compare
  std::string before = previous ? previous->account_email : std::string();
  if (before.empty()) {
    auto remembered = tx.GetSetting(LastAccountSetting(doctor_id));
    if (remembered) {
      before = *remembered;
    } else if (remembered.error().code() != ErrorCode::kNotFound) {
      return std::unexpected(remembered.error());
    }
  }
  if (!before.empty() && !EqualsIgnoreCase(before, account)) {
    // Google decided which account the doctor signed in with: no person to name as the actor.
    TM_TRY(tx.AppendAdminAudit({.actor = "system",
                                .kind = "google_connection",
                                .action = "google.account_changed",
                                .target = "doctor:" + std::to_string(doctor_id),
                                .detail = nlohmann::json{{"previous_account_email", before},
                                                         {"account_email", account}}
                                              .dump()}));
    core::OutboxEvent event;
    event.topic = std::string(kAccountChangedTopic);
    event.doctor_id = doctor_id;
    event.payload = nlohmann::json{{"doctor_id", doctor_id},
                                   {"previous_account_email", before},
                                   {"account_email", account}}
                        .dump();
    if (auto e = tx.AppendOutbox(std::move(event)); !e) return std::unexpected(e.error());
  }
  if (before == account) return Ok();
  return tx.PutSetting(LastAccountSetting(doctor_id), account);
}

}  // namespace

Status StoreGrantStore::SaveGrant(const google::StoredGrant& grant) {
  auto id = ParseDoctorId(grant.doctor_id);
  if (!id) return std::unexpected(id.error());
  return store_.Transact([&](store::Tx& tx) -> Status {
    std::optional<core::GoogleGrant> previous;
    auto current = tx.LockGrant(*id);
    if (current) {
      previous = std::move(*current);
    } else if (current.error().code() != ErrorCode::kNotFound) {
      return std::unexpected(current.error());
    }
    if (auto s = Write(tx, previous, grant, *id); !s) return s;
    if (auto s = NoteAccount(tx, previous, grant.account_email, *id); !s) return s;
    // SaveGrant is connect or reconnect: wake the doctor's work even when the old grant was
    // still marked live (Write wakes only on a transition).
    if (!grant.needs_reconnect && previous.has_value() &&
        previous->status == core::GrantStatus::kActive) {
      if (auto woken = tx.WakeDoctor(*id); !woken) return std::unexpected(woken.error());
    }
    return Ok();
  });
}

namespace {

// The store bumps a grant's version on every write.
bool SameRow(const core::GoogleGrant& a, const core::GoogleGrant& b) {
  return a.version == b.version;
}

Result<core::GoogleGrant> LiveGrant(store::Tx& tx, int64_t id, bool lock) {
  auto current = lock ? tx.LockGrant(id) : tx.GetGrant(id);
  if (!current) return std::unexpected(current.error());
  if (current->status == core::GrantStatus::kDisconnected) {
    return Fail(ErrorCode::kNotFound, fmt::format("doctor {} has no Google grant", id));
  }
  return current;
}

}  // namespace

Status StoreGrantStore::LockAndUpdate(std::string_view doctor_id, const Update& update) {
  auto id = ParseDoctorId(doctor_id);
  if (!id) return std::unexpected(id.error());
  if (store_.backend() == "postgres") {
    // The row lock excludes only this doctor's other refreshers, so the network call may run
    // under it.
    return store_.Transact([&](store::Tx& tx) -> Status {
      auto current = LiveGrant(tx, *id, /*lock=*/true);
      if (!current) return std::unexpected(current.error());
      auto next = update(ToStoredGrant(*current));
      if (!next) return std::unexpected(next.error());
      if (!next->has_value()) return Ok();
      return Write(tx, *current, **next, *id);
    });
  }
  // SQLite has one writer for the whole database: holding it across a call to Google would stall
  // every other write for as long as Google takes. So `update` runs outside any transaction, and
  // its result is written only if the row is still the one it saw; otherwise it runs again on
  // the newer row (which usually carries the token another refresher just stored). Within this
  // process the token provider's single flight already keeps refreshes of a doctor to one.
  constexpr int kAttempts = 4;
  for (int attempt = 1;; ++attempt) {
    auto seen = store_.Read([&](store::Tx& tx) { return LiveGrant(tx, *id, /*lock=*/false); });
    if (!seen) return std::unexpected(seen.error());
    auto next = update(ToStoredGrant(*seen));
    if (!next) return std::unexpected(next.error());
    if (!next->has_value()) return Ok();
    bool raced = false;
    Status written = store_.Transact([&](store::Tx& tx) -> Status {
      raced = false;
      auto current = LiveGrant(tx, *id, /*lock=*/true);
      if (!current) return std::unexpected(current.error());
      if (!SameRow(*current, *seen)) {
        raced = true;
        return Ok();
      }
      return Write(tx, *current, **next, *id);
    });
    if (!written || !raced) return written;
    if (attempt == kAttempts) {
      return Fail(ErrorCode::kAborted,
                  fmt::format("doctor {}'s Google grant kept changing during the update", *id));
    }
  }
}

Status StoreGrantStore::MarkNeedsReconnect(std::string_view doctor_id, std::string_view reason) {
  return LockAndUpdate(doctor_id, [&](const google::StoredGrant& current) {
    google::StoredGrant next = current;
    next.needs_reconnect = true;
    next.reconnect_reason = std::string(reason);
    next.sealed_access_token.clear();
    next.access_expires_at = Instant{};
    return Result<std::optional<google::StoredGrant>>(std::move(next));
  });
}

Status StoreGrantStore::DeleteGrant(std::string_view doctor_id) {
  auto id = ParseDoctorId(doctor_id);
  if (!id) return std::unexpected(id.error());
  return store_.Transact([&](store::Tx& tx) -> Status {
    auto s = tx.DeleteGrant(*id);
    if (!s && s.error().code() == ErrorCode::kNotFound) return Ok();
    return s;
  });
}

}  // namespace telemeet::sync
