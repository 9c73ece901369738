// `telemeet serve`: wires the real dependencies from a Config and runs until SIGINT/SIGTERM.
//
//   sigset_t stop = BlockStopSignals();   // first thing in main(), before any thread exists
//   return RunServe(config, stop);
#pragma once

#include <csignal>

#include "app/config.h"

namespace telemeet::app {

// Blocks SIGINT and SIGTERM in the calling thread (and so in every thread it starts later),
// returning the set for RunServe to wait on.
sigset_t BlockStopSignals();

// Serves until a stop signal, then shuts down gracefully. Returns the process exit code:
// 0 after a clean stop, 1 when start-up failed (the reason is logged and printed).
int RunServe(const Config& config, const sigset_t& stop_signals);

}  // namespace telemeet::app
