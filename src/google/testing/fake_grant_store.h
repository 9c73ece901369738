// An in-memory GrantStore for tests that models the row lock: LockAndUpdate for one doctor
// runs one at a time (a mutex per doctor), re-reading the row after the lock is taken, as the
// real store's SELECT ... FOR UPDATE does. Every written grant is kept, so tests can prove
// that no token ever reached the store in plain text.
//
//   FakeGrantStore store;
//   TokenProvider a(oauth, store, keys, clock), b(oauth, store, keys, clock);  // two instances
//   EXPECT_EQ(store.locks_taken(), 1);
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "google/grant_store.h"

namespace telemeet::google::testing {

class FakeGrantStore final : public GrantStore {
 public:
  Result<std::optional<StoredGrant>> LoadGrant(std::string_view doctor_id) override {
    std::lock_guard lock(mu_);
    if (fail_loads_) return Fail(ErrorCode::kUnavailable, "store down");
    auto it = rows_.find(doctor_id);
    if (it == rows_.end()) return std::optional<StoredGrant>();
    return std::optional<StoredGrant>(it->second);
  }

  Status SaveGrant(const StoredGrant& grant) override {
    std::lock_guard lock(mu_);
    WriteLocked(grant);
    return {};
  }

  Status LockAndUpdate(std::string_view doctor_id, const Update& update) override {
    std::mutex* row_lock;
    {
      std::lock_guard lock(mu_);
      auto& m = row_locks_[std::string(doctor_id)];
      if (!m) m = std::make_unique<std::mutex>();
      row_lock = m.get();
    }
    std::lock_guard row(*row_lock);  // held across update(), like FOR UPDATE
    StoredGrant current;
    {
      std::lock_guard lock(mu_);
      ++locks_taken_;
      auto it = rows_.find(doctor_id);
      if (it == rows_.end()) return Fail(ErrorCode::kNotFound, "no grant");
      current = it->second;  // re-read after taking the lock
    }
    Result<std::optional<StoredGrant>> next = update(current);
    if (!next) return std::unexpected(next.error());
    if (*next) {
      std::lock_guard lock(mu_);
      WriteLocked(**next);
    }
    return {};
  }

  Status MarkNeedsReconnect(std::string_view doctor_id, std::string_view reason) override {
    std::lock_guard lock(mu_);
    auto it = rows_.find(doctor_id);
    if (it == rows_.end()) return Fail(ErrorCode::kNotFound, "no grant");
    StoredGrant dead = it->second;
    dead.needs_reconnect = true;
    dead.reconnect_reason = std::string(reason);
    dead.sealed_access_token.clear();
    WriteLocked(std::move(dead));
    return {};
  }

  Status DeleteGrant(std::string_view doctor_id) override {
    std::lock_guard lock(mu_);
    auto it = rows_.find(doctor_id);
    if (it != rows_.end()) rows_.erase(it);
    return {};
  }

  // Every grant ever written, in order.
  std::vector<StoredGrant> writes() const {
    std::lock_guard lock(mu_);
    return writes_;
  }
  int locks_taken() const {
    std::lock_guard lock(mu_);
    return locks_taken_;
  }
  void set_fail_loads(bool fail) {
    std::lock_guard lock(mu_);
    fail_loads_ = fail;
  }

 private:
  void WriteLocked(StoredGrant grant) {
    auto it = rows_.find(grant.doctor_id);
    grant.version = it == rows_.end() ? 1 : it->second.version + 1;
    writes_.push_back(grant);
    rows_[grant.doctor_id] = std::move(grant);
  }

  mutable std::mutex mu_;
  std::map<std::string, StoredGrant, std::less<>> rows_;
  std::map<std::string, std::unique_ptr<std::mutex>> row_locks_;
  std::vector<StoredGrant> writes_;
  int locks_taken_ = 0;
  bool fail_loads_ = false;
};

}  // namespace telemeet::google::testing
