#include "app/cli.h"

#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "app/serve.h"
#include "crypto/random.h"

namespace telemeet::app {

CLI::App* CliCommands::Add(CLI::App& parent, const std::string& name,
                           const std::string& description, Run run) {
  CLI::App* cmd = parent.add_subcommand(name, description);
  add_config_options_(cmd);
  commands_.emplace_back(cmd, std::move(run));
  return cmd;
}

std::optional<int> CliCommands::RunParsed(const Config& config) const {
  for (const auto& [cmd, run] : commands_) {
    if (cmd->parsed()) return run(config);
  }
  return std::nullopt;
}

int CliFailed(const Error& error) { return CliFailed(error.message()); }

int CliFailed(std::string_view message) {
  std::cerr << "telemeet: " << message << "\n";
  return 1;
}

Result<std::unique_ptr<store::Store>> OpenStoreForCli(const Config& config) {
  if (!config.storage.url.empty() ||
      std::filesystem::exists(std::filesystem::path(config.data_dir) / "telemeet.db")) {
    return OpenConfiguredStore(config, /*migrate=*/false);
  }
  // Opening SQLite would create an empty database in a data dir that does not exist yet: a
  // mistyped --data-dir must not look like a telemeet without users.
  return Fail(ErrorCode::kFailedPrecondition,
              "no telemeet data in " + config.data_dir +
                  ": pass the data dir and configuration serve uses (--data-dir, --config), or "
                  "run `telemeet migrate` first to create a new database",
              "data_dir");
}

namespace {

Result<std::string> ReadLine(bool echo_off) {
  termios saved{};
  const bool tty = echo_off && ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (tty) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  const bool got = static_cast<bool>(std::getline(std::cin, line));
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::cerr << "\n";
  }
  if (!got && line.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "no password on standard input: type it, pipe it in (printf '%s\\n' \"$PW\" | "
                "telemeet ...), or pass --generate-password",
                "password");
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

Result<std::string> ReadPassword(std::string_view prompt) {
  const bool tty = ::isatty(STDIN_FILENO) == 1;
  if (tty) std::cerr << prompt << ": " << std::flush;
  std::string first = TM_TRY(ReadLine(tty));
  if (tty) {
    std::cerr << "again: " << std::flush;
    std::string second = TM_TRY(ReadLine(true));
    if (second != first) {
      return Fail(ErrorCode::kInvalidArgument, "the two passwords differ; nothing was changed",
                  "password");
    }
  }
  return first;
}

std::string GeneratePassword() { return crypto::RandomToken(18); }

std::string FormatProgress(std::string_view what, int64_t done, int64_t total, double rate,
                           bool tty) {
  std::string out(what);
  if (tty) {
    constexpr int kWidth = 30;
    const int filled =
        total > 0 ? static_cast<int>(std::min<int64_t>(kWidth, done * kWidth / total)) : kWidth;
    out += " [" + std::string(filled, '#') + std::string(kWidth - filled, '.') + "]";
  }
  out += " " + std::to_string(done) + "/" + std::to_string(total);
  if (rate > 0) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), " %.1f/s", rate);
    out += buf;
    if (done < total) {
      const int64_t left = static_cast<int64_t>(static_cast<double>(total - done) / rate + 0.5);
      out += ", ETA ";
      if (left >= 3600) out += std::to_string(left / 3600) + "h";
      if (left >= 60) out += std::to_string(left % 3600 / 60) + "m";
      out += std::to_string(left % 60) + "s";
    }
  }
  return out;
}

void Progress::Report(std::string_view what, int64_t done, int64_t total) {
  const auto now = std::chrono::steady_clock::now();
  if (what != what_) {
    what_ = std::string(what);
    since_ = now;
    done_at_start_ = done;
  } else if (done == last_done_ && total == last_total_) {
    return;  // nothing new to say
  }
  last_done_ = done;
  last_total_ = total;
  const double seconds = std::chrono::duration<double>(now - since_).count();
  const double rate = seconds > 0 && done > done_at_start_
                          ? static_cast<double>(done - done_at_start_) / seconds
                          : 0.0;
  const std::string line = FormatProgress(what, done, total, rate, tty_);
  if (tty_) {
    out_ << "\r" << line << "\x1b[K";  // erase what a longer line left
    open_ = done < total;
    if (!open_) out_ << "\n";
  } else {
    out_ << line << "\n";
  }
  out_ << std::flush;
}

void Progress::Interrupt() {
  if (open_) out_ << "\n" << std::flush;
  open_ = false;
}

void Table::Print(std::ostream& out) const {
  std::vector<size_t> width;
  for (const auto& row : rows_) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows_) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
}

}  // namespace telemeet::app
