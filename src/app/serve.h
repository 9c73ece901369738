// `telemeet serve`: wires the real dependencies from a Config and runs until SIGINT/SIGTERM.
//
//   sigset_t stop = BlockStopSignals();   // first thing in main(), before any thread exists
//   return RunServe(config, stop);
#pragma once

#include <csignal>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "app/config.h"
#include "base/error.h"
#include "crypto/keyring.h"
#include "store/retention.h"
#include "store/store.h"

namespace telemeet::app {

// Blocks SIGINT and SIGTERM in the calling thread (and so in every thread it starts later),
// returning the set for RunServe to wait on.
sigset_t BlockStopSignals();

// Serves until a stop signal, then shuts down gracefully. Returns the process exit code:
// 0 after a clean stop, 1 when start-up failed (the reason is logged and printed).
// `config_file` (the --config given, if any) goes into the printed first-admin command.
int RunServe(const Config& config, const sigset_t& stop_signals, std::string_view config_file = {});

// The command that creates the first admin, for the start-up lines and /signin.
std::string FirstAdminCommand(const Config& config, std::string_view config_file);

// What start-up warns about outside sandbox mode: a master key file inside the data dir, email
// written to .eml files. One sentence each, saying why and what to change.
std::vector<std::string> StartupWarnings(const Config& config);

// Opens the configured store and brings its schema up to date (`migrate`), or checks that it
// is (kFailedPrecondition naming `telemeet migrate` when it is older; a newer schema is always
// refused).
Result<std::unique_ptr<store::Store>> OpenConfiguredStore(const Config& config, bool migrate);

// The key ring from TELEMEET_MASTER_KEY or security.master_key_file (never created here).
// kFailedPrecondition naming both when neither is there.
Result<crypto::KeyRing> LoadKeyRing(const Config& config);

// `telemeet migrate`: applies pending migrations and prints the schema version. Exit code.
int RunMigrate(const Config& config);

// The configured retention (retention.days, retention.audit_days).
store::RetentionPolicy RetentionPolicyOf(const Config& config);

// `telemeet purge [--dry-run]`: one retention purge now (the janitor's store::Purge), printing
// the rows deleted (or, dry run, that would be) per table to `out`. Exit code.
int RunPurge(const Config& config, bool dry_run, std::ostream& out);

}  // namespace telemeet::app
