// Structured logs: one JSON object per line on stderr, with a timestamp, level, message and
// fields. Every field passes through RedactJson, so a token handed to the logger by mistake is
// written as "[REDACTED]", never in clear.
//
//   obs::Logger& log = obs::Log();
//   log.Info("request", {{"method", "GET"}, {"path", RedactTarget(target)}, {"status", 200}});
//
// A Logger is safe for concurrent use from multiple threads.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string_view>

namespace spdlog {
class logger;
}

namespace telemeet::obs {

enum class Level { kDebug, kInfo, kWarn, kError, kOff };

// Parses "debug", "info", "warn", "error", "off"; nullopt otherwise.
std::optional<Level> ParseLevel(std::string_view text);

class Logger {
 public:
  // Writes to stderr.
  Logger();
  // Writes to `out` (tests capture logs this way); `out` must outlive the logger.
  explicit Logger(std::ostream& out);
  ~Logger();

  void SetLevel(Level level);
  bool Enabled(Level level) const;

  void Log(Level level, std::string_view message, const nlohmann::json& fields = nullptr);
  void Debug(std::string_view m, const nlohmann::json& f = nullptr) { Log(Level::kDebug, m, f); }
  void Info(std::string_view m, const nlohmann::json& f = nullptr) { Log(Level::kInfo, m, f); }
  void Warn(std::string_view m, const nlohmann::json& f = nullptr) { Log(Level::kWarn, m, f); }
  void Error(std::string_view m, const nlohmann::json& f = nullptr) { Log(Level::kError, m, f); }

 private:
  std::shared_ptr<spdlog::logger> impl_;
};

// The process's logger, set up by main(); code that cannot be handed one uses it.
Logger& Log();

}  // namespace telemeet::obs
