// `telemeet serve`: wires the real dependencies from a Config and runs until SIGINT/SIGTERM.
//
//   sigset_t stop = BlockStopSignals();   // first thing in main(), before any thread exists
//   return RunServe(config, stop);
#pragma once

#include <csignal>
#include <memory>
#include <ostream>

#include "app/config.h"
#include "base/error.h"
#include "store/retention.h"
#include "store/store.h"

namespace telemeet::app {

// Blocks SIGINT and SIGTERM in the calling thread (and so in every thread it starts later),
// returning the set for RunServe to wait on.
sigset_t BlockStopSignals();

// Serves until a stop signal, then shuts down gracefully. Returns the process exit code:
// 0 after a clean stop, 1 when start-up failed (the reason is logged and printed).
int RunServe(const Config& config, const sigset_t& stop_signals);

// Opens the configured store and brings its schema up to date (`migrate`), or checks that it
// is (kFailedPrecondition naming `telemeet migrate` when it is older; a newer schema is always
// refused).
Result<std::unique_ptr<store::Store>> OpenConfiguredStore(const Config& config, bool migrate);

// `telemeet migrate`: applies pending migrations and prints the schema version. Exit code.
int RunMigrate(const Config& config);

// The configured retention (retention.days, retention.audit_days).
store::RetentionPolicy RetentionPolicyOf(const Config& config);

// `telemeet purge [--dry-run]`: one retention purge now (the janitor's store::Purge), printing
// the rows deleted (or, dry run, that would be) per table to `out`. Exit code.
int RunPurge(const Config& config, bool dry_run, std::ostream& out);

}  // namespace telemeet::app
