#include "obs/log.h"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>

#include "base/redact.h"

namespace telemeet::obs {

namespace {

spdlog::level::level_enum ToSpd(Level level) {
  switch (level) {
    case Level::kDebug: return spdlog::level::debug;
    case Level::kInfo: return spdlog::level::info;
    case Level::kWarn: return spdlog::level::warn;
    case Level::kError: return spdlog::level::err;
    case Level::kOff: return spdlog::level::off;
  }
  return spdlog::level::info;
}

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
    case Level::kOff: return "off";
  }
  return "info";
}

std::string NowRfc3339() {
  auto now = std::chrono::system_clock::now();
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buf, static_cast<int>(ms.count()));
}

std::shared_ptr<spdlog::logger> MakeLogger(spdlog::sink_ptr sink) {
  auto logger = std::make_shared<spdlog::logger>("telemeet", std::move(sink));
  logger->set_pattern("%v");
  logger->set_level(spdlog::level::info);
  logger->flush_on(spdlog::level::trace);
  return logger;
}

}  // namespace

std::optional<Level> ParseLevel(std::string_view text) {
  if (text == "debug") return Level::kDebug;
  if (text == "info") return Level::kInfo;
  if (text == "warn") return Level::kWarn;
  if (text == "error") return Level::kError;
  if (text == "off") return Level::kOff;
  return std::nullopt;
}

Logger::Logger() : impl_(MakeLogger(std::make_shared<spdlog::sinks::stderr_sink_mt>())) {}

Logger::Logger(std::ostream& out)
    : impl_(MakeLogger(std::make_shared<spdlog::sinks::ostream_sink_mt>(out, true))) {}

Logger::~Logger() = default;

void Logger::SetLevel(Level level) { impl_->set_level(ToSpd(level)); }

bool Logger::Enabled(Level level) const {
  return level != Level::kOff && impl_->should_log(ToSpd(level));
}

void Logger::Log(Level level, std::string_view message, const nlohmann::json& fields) {
  if (!Enabled(level)) return;
  nlohmann::json line = {{"ts", NowRfc3339()}, {"level", LevelName(level)}, {"msg", message}};
  if (fields.is_object()) {
    nlohmann::json redacted = RedactJson(fields);
    for (const auto& [k, v] : redacted.items()) line[k] = v;
  }
  impl_->log(ToSpd(level), "{}",
             line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Logger& Log() {
  static Logger logger;
  return logger;
}

}  // namespace telemeet::obs
