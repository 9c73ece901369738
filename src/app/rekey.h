// `telemeet rekey`: re-seals every secret sealed at rest (doctors' Google refresh and access
// tokens, the saved OAuth client secret, webhook endpoints' signing secrets) under the primary
// key of the ring, so older keys can then be dropped from TELEMEET_MASTER_KEY or the key file.
//
//   crypto::KeyRing keys = ...;                       // new key first, the old ones after it
//   auto report = Rekey(store, keys, {.batch = 100, .progress = print_line});
//
// Values already sealed under the primary key are left alone, so a rekey stopped half way is
// resumed by running it again. Each batch is one transaction. Pending Google connect flows
// (their PKCE verifiers live 10 minutes) are not re-sealed: start a connect again if one fails
// right after the old key was dropped. Safe to run while telemeet serves.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>

#include "base/error.h"
#include "crypto/keyring.h"
#include "store/store.h"

namespace telemeet::app {

struct RekeyProgress {
  std::string what;  // "grants", "webhook endpoints", "google client secret"
  int64_t done = 0;
  int64_t total = 0;
};

struct RekeyOptions {
  int batch = 100;  // values per transaction
  std::function<void(const RekeyProgress&)> progress = {};
};

struct RekeyReport {
  int64_t resealed = 0;
  int64_t already_current = 0;
  std::set<std::string> old_key_ids;  // the key ids values were sealed under before
};

// kFailedPrecondition naming the key id and the owner when a value was sealed under a key the
// ring lacks (add that key back, then run again); kInvalidArgument when a value does not open
// (tampered with, or copied from elsewhere). What was re-sealed before stays re-sealed.
Result<RekeyReport> Rekey(store::Store& store, const crypto::KeyRing& keys,
                          const RekeyOptions& options);

}  // namespace telemeet::app
