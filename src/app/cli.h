// The admin command line beside `telemeet serve`: `telemeet users|api-keys|doctors|appointments`
// (and rekey, backup, restore). Each command works directly on the configured store, with the
// same configuration sources as serve, while the service runs or not, and calls the functions
// the API routes call (api/accounts.h, api/views.h): a rule is never written twice.
//
//   CliCommands commands(add_config_options);    // --config, --set, --data-dir, ...
//   AddAccountCommands(cli, commands);           // users ..., api-keys ...
//   CLI11_PARSE(cli, argc, argv);
//   if (auto code = commands.RunParsed(config)) return *code;
//
// Exit codes: 0 done, 1 the command failed (the message says what is wrong and what to type),
// 2 bad configuration or arguments. Not thread-safe (one command per process).
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <functional>
#include <iosfwd>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/audit_log.h"  // AuditCli: every write a command makes
#include "app/config.h"
#include "base/error.h"
#include "store/store.h"

namespace telemeet::app {

class CliCommands {
 public:
  using Run = std::function<int(const Config&)>;
  explicit CliCommands(std::function<void(CLI::App*)> add_config_options)
      : add_config_options_(std::move(add_config_options)) {}

  // Adds `name` under `parent` with the configuration options; `run` runs when it was parsed.
  CLI::App* Add(CLI::App& parent, const std::string& name, const std::string& description, Run run);
  // The exit code of the parsed command, or nullopt when none of these was parsed.
  std::optional<int> RunParsed(const Config& config) const;

 private:
  std::function<void(CLI::App*)> add_config_options_;
  std::vector<std::pair<CLI::App*, Run>> commands_;
};

void AddAccountCommands(CLI::App& cli, CliCommands& commands);      // cli_accounts.cc
void AddAppointmentCommands(CLI::App& cli, CliCommands& commands);  // cli_appointments.cc
void AddKeyCommands(CLI::App& cli, CliCommands& commands);          // cli_keys.cc: rekey
void AddBackupCommands(CLI::App& cli, CliCommands& commands);       // cli_backup.cc
void AddBulkCommands(CLI::App& cli, CliCommands& commands);         // cli_bulk.cc: resync, backfill

// --- Helpers for the commands ---

// Prints "telemeet: <message>" on stderr and returns 1.
int CliFailed(const Error& error);
int CliFailed(std::string_view message);

// The configured store, its schema checked as serve checks it (never migrated here).
Result<std::unique_ptr<store::Store>> OpenStoreForCli(const Config& config);

// Reads a password from standard input: one line, without echo on a terminal (with a prompt
// and a second entry to confirm there). kInvalidArgument when nothing was read.
Result<std::string> ReadPassword(std::string_view prompt);
// A strong random password for --generate-password (24 characters, about 143 bits).
std::string GeneratePassword();

// The one progress reporter of long commands: on a terminal one line per step with a bar,
// rewritten in place as it advances; otherwise a line per report (for logs and scripts). Both
// say done/total and, once something was done, the rate and the time left (ETA) at that rate.
class Progress {
 public:
  Progress(std::ostream& out, bool tty) : out_(out), tty_(tty) {}
  void Report(std::string_view what, int64_t done, int64_t total);
  // Ends a line left open on a terminal (call before printing an error).
  void Interrupt();

 private:
  std::ostream& out_;
  bool tty_;
  bool open_ = false;
  std::string what_;  // the step the rate is measured for
  std::chrono::steady_clock::time_point since_{};
  int64_t done_at_start_ = 0;
  int64_t last_done_ = -1;
  int64_t last_total_ = -1;
};

// One report as Progress prints it (without the leading "\r" or the newline): "what 12/50",
// then on a terminal a bar before the counts; then " 3.1/s, ETA 12s" once `rate` > 0.
std::string FormatProgress(std::string_view what, int64_t done, int64_t total, double rate,
                           bool tty);

// A table for people: columns padded to their widest cell.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void Row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  void Print(std::ostream& out) const;
  size_t size() const { return rows_.size() - 1; }

 private:
  std::vector<std::vector<std::string>> rows_;
};

// Every item of a paged store list.
template <typename T, typename F>
Result<std::vector<T>> ListAll(store::Store& store, F&& list_page) {
  std::vector<T> out;
  store::PageRequest page{.limit = 1000};
  do {
    auto p = store.Read([&](store::Tx& tx) { return list_page(tx, page); });
    if (!p) return std::unexpected(p.error());
    for (auto& item : p->items) out.push_back(std::move(item));
    page.cursor = p->next_cursor;
  } while (!page.cursor.empty());
  return out;
}

}  // namespace telemeet::app
