#include "app/config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>
#include <variant>

#include "base/redact.h"
#include "base/strings.h"
#include "core/attendance.h"
#include "core/meeting.h"
#include "notify/reminders.h"

namespace telemeet::app {

namespace {

enum class Kind { kString, kInt, kBool, kStrings };  // kStrings: a list of strings

// A key: its name, kind, where it lives in Config, and the range or rule it must satisfy.
struct Key {
  std::string_view name;
  Kind kind;
  std::function<void*(Config&)> field;
  int64_t min = 0;
  int64_t max = 0;
  std::function<std::string(const std::string&)> check;  // string (or item) rule; "" when fine
};

std::string OneOf(const std::string& v, std::initializer_list<std::string_view> allowed) {
  for (auto a : allowed) {
    if (v == a) return {};
  }
  std::string list;
  for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  return "must be one of " + list;
}

std::string HttpUrl(const std::string& v) {
  if (v.empty() || v.starts_with("http://") || v.starts_with("https://")) return {};
  return "must be an http:// or https:// URL";
}

std::string NotEmpty(const std::string& v) { return v.empty() ? "must not be empty" : ""; }

// A host name or IP literal (IPv6 with or without brackets), nothing more: no scheme, port or
// path, which would never match a URL's host.
std::string HostName(const std::string& v) {
  if (v.empty()) return "must not contain an empty host";
  for (unsigned char c : v) {
    if (!std::isalnum(c) &&
        std::string_view(".-_:[]").find(static_cast<char>(c)) == std::string_view::npos) {
      return "must list host names or IP addresses only (no scheme, port or path)";
    }
  }
  if (v.find(':') != std::string::npos && !v.starts_with('[') &&
      std::count(v.begin(), v.end(), ':') < 2) {
    return "must list host names or IP addresses only (no scheme, port or path)";
  }
  return {};
}

// What `url`'s authority names, without port or brackets ("http://[::1]:80/x" gives "::1").
std::string UrlHost(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  if (rest.starts_with('[')) return std::string(rest.substr(1, rest.find(']') - 1));
  return std::string(rest.substr(0, rest.rfind(':') == std::string_view::npos ? rest.size()
                                                                                : rest.rfind(':')));
}

// An origin as browsers compare them: http(s)://host[:port], nothing before the host (userinfo)
// and nothing after the port (a path would never match a URL's origin).
std::string Origin(const std::string& v) {
  static constexpr std::string_view kRule =
      "must list origins like https://clinic.example or http://127.0.0.1:8081 (scheme, host and "
      "optional port; no path, user or trailing slash)";
  std::string_view rest = v;
  if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else {
    return std::string(kRule);
  }
  if (rest.empty()) return std::string(kRule);
  for (unsigned char c : rest) {
    if (!std::isalnum(c) &&
        std::string_view(".-:[]").find(static_cast<char>(c)) == std::string_view::npos) {
      return std::string(kRule);
    }
  }
  if (size_t colon = rest.rfind(':'); colon != std::string_view::npos && !rest.ends_with(']')) {
    std::string_view port = rest.substr(colon + 1);
    int64_t n = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
    if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || n < 1 ||
        n > 65535) {
      return std::string(kRule);
    }
  }
  return {};
}

std::string LeadTime(const std::string& v) {
  if (notify::ParseLeadTime(v, "")) return {};
  return "must list lead times like 24h, 90m or 2d (from 5m to 30d)";
}

template <typename T>
std::function<void*(Config&)> At(T Config::*section, auto member) {
  return [section, member](Config& c) -> void* { return &((c.*section).*member); };
}

const std::vector<Key>& Keys() {
  using C = Config;
  static const std::vector<Key> keys = {
      {"server.address", Kind::kString, At(&C::server, &C::Server::address), 0, 0, NotEmpty},
      {"server.port", Kind::kInt, At(&C::server, &C::Server::port), 0, 65535, nullptr},
      {"server.public_url", Kind::kString, At(&C::server, &C::Server::public_url), 0, 0,
       HttpUrl},
      {"server.io_threads", Kind::kInt, At(&C::server, &C::Server::io_threads), 1, 64, nullptr},
      {"server.worker_threads", Kind::kInt, At(&C::server, &C::Server::worker_threads), 1, 512,
       nullptr},
      {"server.max_header_bytes", Kind::kInt, At(&C::server, &C::Server::max_header_bytes),
       1024, 1 << 20, nullptr},
      {"server.max_body_bytes", Kind::kInt, At(&C::server, &C::Server::max_body_bytes), 1,
       int64_t{1} << 30, nullptr},
      {"server.read_timeout_ms", Kind::kInt, At(&C::server, &C::Server::read_timeout_ms), 1,
       3'600'000, nullptr},
      {"server.idle_timeout_ms", Kind::kInt, At(&C::server, &C::Server::idle_timeout_ms), 1,
       3'600'000, nullptr},
      {"server.max_connections", Kind::kInt, At(&C::server, &C::Server::max_connections), 1,
       1'000'000, nullptr},
      {"server.shutdown_grace_ms", Kind::kInt, At(&C::server, &C::Server::shutdown_grace_ms),
       0, 3'600'000, nullptr},
      {"server.allowed_hosts", Kind::kStrings, At(&C::server, &C::Server::allowed_hosts), 0, 0,
       HostName},
      {"server.trusted_proxies", Kind::kStrings, At(&C::server, &C::Server::trusted_proxies), 0,
       0, HostName},
      {"session.idle_timeout_minutes", Kind::kInt,
       At(&C::session, &C::Session::idle_timeout_minutes), 1, 7 * 24 * 60, nullptr},
      {"session.max_age_hours", Kind::kInt, At(&C::session, &C::Session::max_age_hours), 1,
       24 * 90, nullptr},
      {"ops.metrics_token", Kind::kString, At(&C::ops, &C::Ops::metrics_token), 0, 0,
       [](const std::string& v) -> std::string {
         return v.empty() || v.size() >= 16 ? "" : "must have at least 16 characters";
       }},
      {"data_dir", Kind::kString,
       [](Config& c) -> void* { return &c.data_dir; }, 0, 0, NotEmpty},
      {"storage.url", Kind::kString, At(&C::storage, &C::Storage::url), 0, 0,
       [](const std::string& v) -> std::string {
         if (v.empty() || v.starts_with("sqlite:") || v.starts_with("postgres://") ||
             v.starts_with("postgresql://")) {
           return {};
         }
         return "must start with sqlite:, postgres:// or postgresql://";
       }},
      {"storage.migrate_on_start", Kind::kBool,
       At(&C::storage, &C::Storage::migrate_on_start), 0, 0, nullptr},
      {"worker.threads", Kind::kInt, At(&C::worker, &C::Worker::threads), 1, 256, nullptr},
      {"retention.days", Kind::kInt, At(&C::retention, &C::Retention::days), 1, 36'500,
       nullptr},
      {"retention.audit_days", Kind::kInt, At(&C::retention, &C::Retention::audit_days), 1,
       36'500, nullptr},
      {"security.master_key_file", Kind::kString,
       At(&C::security, &C::Security::master_key_file), 0, 0, nullptr},
      {"log.level", Kind::kString, At(&C::log, &C::Log::level), 0, 0,
       [](const std::string& v) { return OneOf(v, {"debug", "info", "warn", "error", "off"}); }},
      {"log.requests", Kind::kBool, At(&C::log, &C::Log::requests), 0, 0, nullptr},
      {"google.client_id", Kind::kString, At(&C::google, &C::Google::client_id), 0, 0,
       nullptr},
      {"google.client_secret", Kind::kString, At(&C::google, &C::Google::client_secret), 0, 0,
       nullptr},
      {"google.redirect_uri", Kind::kString, At(&C::google, &C::Google::redirect_uri), 0, 0,
       HttpUrl},
      {"google.scope", Kind::kString, At(&C::google, &C::Google::scope), 0, 0,
       [](const std::string& v) {
         return OneOf(v, {"https://www.googleapis.com/auth/calendar",
                          "https://www.googleapis.com/auth/calendar.events"});
       }},
      {"google.api_base_url", Kind::kString, At(&C::google, &C::Google::api_base_url), 0, 0,
       HttpUrl},
      {"google.oauth_base_url", Kind::kString, At(&C::google, &C::Google::oauth_base_url), 0,
       0, HttpUrl},
      {"google.accounts_base_url", Kind::kString,
       At(&C::google, &C::Google::accounts_base_url), 0, 0, HttpUrl},
      {"google.meet_base_url", Kind::kString, At(&C::google, &C::Google::meet_base_url), 0, 0,
       HttpUrl},
      {"google.quota.per_user_per_minute", Kind::kInt,
       [](C& c) -> void* { return &c.google.quota.per_user_per_minute; }, 1, 1'000'000, nullptr},
      {"google.quota.per_project_per_minute", Kind::kInt,
       [](C& c) -> void* { return &c.google.quota.per_project_per_minute; }, 1, 100'000'000,
       nullptr},
      {"google.quota.safety_margin_percent", Kind::kInt,
       [](C& c) -> void* { return &c.google.quota.safety_margin_percent; }, 50, 100, nullptr},
      {"smtp.enabled", Kind::kBool, At(&C::smtp, &C::Smtp::enabled), 0, 0, nullptr},
      {"smtp.host", Kind::kString, At(&C::smtp, &C::Smtp::host), 0, 0, nullptr},
      {"smtp.port", Kind::kInt, At(&C::smtp, &C::Smtp::port), 1, 65535, nullptr},
      {"smtp.tls", Kind::kString, At(&C::smtp, &C::Smtp::tls), 0, 0,
       [](const std::string& v) { return OneOf(v, {"none", "starttls", "tls"}); }},
      {"smtp.username", Kind::kString, At(&C::smtp, &C::Smtp::username), 0, 0, nullptr},
      {"smtp.password", Kind::kString, At(&C::smtp, &C::Smtp::password), 0, 0, nullptr},
      {"smtp.from", Kind::kString, At(&C::smtp, &C::Smtp::from), 0, 0, nullptr},
      {"smtp.timeout_ms", Kind::kInt, At(&C::smtp, &C::Smtp::timeout_ms), 1'000, 600'000,
       nullptr},
      {"notify.clinic_name", Kind::kString, At(&C::notify, &C::Notify::clinic_name), 0, 0,
       nullptr},
      {"notify.reminders", Kind::kStrings, At(&C::notify, &C::Notify::reminders), 0, 0,
       LeadTime},
      {"webhooks.allowed_hosts", Kind::kStrings, At(&C::webhooks, &C::Webhooks::allowed_hosts),
       0, 0, HostName},
      {"webhooks.allow_http", Kind::kBool, At(&C::webhooks, &C::Webhooks::allow_http), 0, 0,
       nullptr},
      {"integrations.allowed_return_origins", Kind::kStrings,
       At(&C::integrations, &C::Integrations::allowed_return_origins), 0, 0, Origin},
      {"booking.google_busy", Kind::kString, At(&C::booking, &C::Booking::google_busy), 0, 0,
       [](const std::string& v) { return OneOf(v, {"ignore", "warn", "refuse"}); }},
      {"availability.cache_ttl_seconds", Kind::kInt,
       At(&C::availability, &C::Availability::cache_ttl_seconds), 0, 3'600, nullptr},
      {"availability.cache_max_entries", Kind::kInt,
       At(&C::availability, &C::Availability::cache_max_entries), 1, 1'000'000, nullptr},
      {"meeting.invite_patient", Kind::kBool, At(&C::meeting, &C::Meeting::invite_patient), 0,
       0, nullptr},
      {"meeting.event_reminders", Kind::kString, At(&C::meeting, &C::Meeting::event_reminders),
       0, 0,
       [](const std::string& v) -> std::string {
         if (core::ParseEventReminders(v, "meeting.event_reminders")) return {};
         return "must be \"default\" or up to 5 overrides such as \"popup:10,email:60\" "
                "(method popup or email, minutes 0..40320)";
       }},
      {"meeting.access_type", Kind::kString, At(&C::meeting, &C::Meeting::access_type), 0, 0,
       [](const std::string& v) { return OneOf(v, {"default", "open", "trusted", "restricted"}); }},
      {"attendance.mode", Kind::kString, At(&C::attendance, &C::Attendance::mode), 0, 0,
       [](const std::string& v) { return OneOf(v, {"off", "record", "complete"}); }},
      {"attendance.min_minutes", Kind::kInt, At(&C::attendance, &C::Attendance::min_minutes), 0,
       core::kMaxAttendanceMinMinutes, nullptr},
      {"attendance.grace_minutes", Kind::kInt, At(&C::attendance, &C::Attendance::grace_minutes),
       0, 24 * 60, nullptr},
      {"attendance.polls", Kind::kInt, At(&C::attendance, &C::Attendance::polls), 1, 20, nullptr},
      {"attendance.poll_interval_minutes", Kind::kInt,
       At(&C::attendance, &C::Attendance::poll_interval_minutes), 1, 24 * 60, nullptr},
  };
  return keys;
}

const Key* FindKey(std::string_view name) {
  for (const Key& k : Keys()) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

std::string EnvName(std::string_view key) {
  std::string out = "TELEMEET_";
  for (char c : key) out.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(c)));
  return out;
}

using Value = std::variant<std::string, int64_t, bool, std::vector<std::string>>;

Status Invalid(const Key& key, const std::string& problem, const std::string& source) {
  return Fail(ErrorCode::kInvalidArgument,
              "config: " + std::string(key.name) + ": " + problem + " (from " + source + ")",
              std::string(key.name));
}

Status Apply(Config& config, const Key& key, const Value& value, const std::string& source) {
  void* field = key.field(config);
  switch (key.kind) {
    case Kind::kString: {
      const auto& s = std::get<std::string>(value);
      if (key.check) {
        if (std::string problem = key.check(s); !problem.empty()) {
          return Invalid(key, problem + ", got \"" + s + "\"", source);
        }
      }
      *static_cast<std::string*>(field) = s;
      return Ok();
    }
    case Kind::kInt: {
      int64_t v = std::get<int64_t>(value);
      if (v < key.min || v > key.max) {
        return Invalid(key,
                       "must be between " + std::to_string(key.min) + " and " +
                           std::to_string(key.max) + ", got " + std::to_string(v),
                       source);
      }
      *static_cast<int64_t*>(field) = v;
      return Ok();
    }
    case Kind::kBool:
      *static_cast<bool*>(field) = std::get<bool>(value);
      return Ok();
    case Kind::kStrings: {
      const auto& items = std::get<std::vector<std::string>>(value);
      for (const std::string& item : items) {
        if (std::string problem = key.check ? key.check(item) : ""; !problem.empty()) {
          return Invalid(key, problem + ", got \"" + item + "\"", source);
        }
      }
      *static_cast<std::vector<std::string>*>(field) = items;
      return Ok();
    }
  }
  return Ok();
}

// Parses text from the environment or a flag into the key's kind.
Result<Value> ParseText(const Key& key, std::string_view text, const std::string& source) {
  switch (key.kind) {
    case Kind::kString:
      return Value(std::string(text));
    case Kind::kInt: {
      int64_t v = 0;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
        return std::unexpected(
            Invalid(key, "must be an integer, got \"" + std::string(text) + "\"", source).error());
      }
      return Value(v);
    }
    case Kind::kBool:
      if (text == "true" || text == "1" || text == "yes") return Value(true);
      if (text == "false" || text == "0" || text == "no") return Value(false);
      return std::unexpected(
          Invalid(key, "must be true or false, got \"" + std::string(text) + "\"", source)
              .error());
    case Kind::kStrings: {
      // Comma separated in the environment and on the command line; "" is the empty list.
      std::vector<std::string> items;
      if (!Trim(text).empty()) {
        for (std::string_view item : Split(text, ',')) items.emplace_back(Trim(item));
      }
      return Value(std::move(items));
    }
  }
  return Value(std::string(text));
}

std::string_view TomlTypeName(const toml::node& node) {
  if (node.is_string()) return "a string";
  if (node.is_integer()) return "an integer";
  if (node.is_boolean()) return "a boolean";
  if (node.is_floating_point()) return "a float";
  if (node.is_table()) return "a table";
  if (node.is_array()) return "an array";
  return "another type";
}

Status ApplyTomlTable(Config& config, const toml::table& table, const std::string& prefix,
                      const std::string& file) {
  for (const auto& [k, node] : table) {
    std::string name = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    std::string source = file + ":" + std::to_string(node.source().begin.line);
    if (const toml::table* sub = node.as_table()) {
      if (auto s = ApplyTomlTable(config, *sub, name, file); !s) return s;
      continue;
    }
    const Key* key = FindKey(name);
    if (key == nullptr) {
      return Fail(ErrorCode::kInvalidArgument,
                  "config: " + name + ": unknown key (from " + source + ")", name);
    }
    Value value;
    if (key->kind == Kind::kString && node.is_string()) {
      value = std::string(*node.value<std::string>());
    } else if (key->kind == Kind::kInt && node.is_integer()) {
      value = *node.value<int64_t>();
    } else if (key->kind == Kind::kBool && node.is_boolean()) {
      value = *node.value<bool>();
    } else if (key->kind == Kind::kStrings && node.is_array() &&
               (node.as_array()->empty() ||
                node.as_array()->is_homogeneous(toml::node_type::string))) {
      std::vector<std::string> items;
      for (const toml::node& item : *node.as_array()) {
        items.emplace_back(*item.value<std::string>());
      }
      value = std::move(items);
    } else {
      std::string want = key->kind == Kind::kString ? "a string"
                         : key->kind == Kind::kInt  ? "an integer"
                         : key->kind == Kind::kBool ? "a boolean"
                                                    : "an array of strings";
      return Invalid(*key, "must be " + want + ", got " + std::string(TomlTypeName(node)), source);
    }
    if (auto s = Apply(config, *key, value, source); !s) return s;
  }
  return Ok();
}

}  // namespace

std::string Config::PublicUrl() const {
  if (!server.public_url.empty()) {
    std::string url = server.public_url;
    while (url.ends_with('/')) url.pop_back();
    return url;
  }
  std::string host = server.address == "0.0.0.0" || server.address == "::" ? "127.0.0.1"
                                                                             : server.address;
  return "http://" + host + ":" + std::to_string(server.port);
}

std::string Config::StorageUrl() const {
  return storage.url.empty() ? "sqlite:" + data_dir + "/telemeet.db" : storage.url;
}

std::string Config::MasterKeyFile() const {
  return security.master_key_file.empty() ? data_dir + "/master.key" : security.master_key_file;
}

std::string Config::MailDir() const { return data_dir + "/mail"; }

std::vector<std::string> Config::AllowedHosts() const {
  std::vector<std::string> hosts;
  for (const std::string& h : server.allowed_hosts) {  // "[::1]" names what Host ::1 does
    hosts.push_back(h.starts_with('[') && h.ends_with(']') ? h.substr(1, h.size() - 2) : h);
  }
  if (std::string h = UrlHost(PublicUrl()); !h.empty()) hosts.push_back(h);
  return hosts;
}

std::string Config::RedirectUri() const {
  return google.redirect_uri.empty() ? PublicUrl() + "/oauth/google/callback"
                                     : google.redirect_uri;
}

Result<Config> LoadConfig(const ConfigSources& sources) {
  Config config;
  if (!sources.file.empty()) {
    toml::table parsed;
    try {
      parsed = toml::parse_file(sources.file);
    } catch (const toml::parse_error& err) {
      return Fail(ErrorCode::kInvalidArgument,
                  "config: " + sources.file + ":" + std::to_string(err.source().begin.line) + ": " +
                      std::string(err.description()));
    }
    if (auto s = ApplyTomlTable(config, parsed, "", sources.file); !s) {
      return std::unexpected(s.error());
    }
  }
  if (sources.env != nullptr) {
    for (const Key& key : Keys()) {
      std::string name = EnvName(key.name);
      for (char** e = sources.env; *e != nullptr; ++e) {
        std::string_view entry(*e);
        if (entry.size() <= name.size() || !entry.starts_with(name) || entry[name.size()] != '=') {
          continue;
        }
        auto value = ParseText(key, entry.substr(name.size() + 1), name);
        if (!value) return std::unexpected(value.error());
        if (auto s = Apply(config, key, *value, name); !s) return std::unexpected(s.error());
      }
    }
  }
  for (const std::string& set : sources.sets) {
    size_t eq = set.find('=');
    std::string name = set.substr(0, eq);
    const Key* key = FindKey(name);
    if (eq == std::string::npos || key == nullptr) {
      return Fail(ErrorCode::kInvalidArgument,
                  "config: " + name + ": " +
                      (eq == std::string::npos ? "expected key=value" : "unknown key") +
                      " (from --set)",
                  name);
    }
    auto value = ParseText(*key, std::string_view(set).substr(eq + 1), "--set");
    if (!value) return std::unexpected(value.error());
    if (auto s = Apply(config, *key, *value, "--set"); !s) return std::unexpected(s.error());
  }
  if (!config.google.client_id.empty() && config.google.client_secret.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "config: google.client_secret: must be set when google.client_id is set",
                "google.client_secret");
  }
  if (!IsLoopbackAddress(config.server.address) && config.server.public_url.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "config: server.public_url: must be set when server.address is " +
                    config.server.address +
                    " (not loopback): emails, patient links and Google's redirect would point at "
                    "http://127.0.0.1; set it to the URL browsers use, like "
                    "--set server.public_url=https://telemeet.clinic.example",
                "server.public_url");
  }
  if (auto leads = notify::ParseLeadTimes(config.notify.reminders, "notify.reminders"); !leads) {
    return Fail(ErrorCode::kInvalidArgument, "config: " + leads.error().message(),
                "notify.reminders");
  }
  if (config.smtp.enabled && (config.smtp.host.empty() || config.smtp.from.empty())) {
    std::string key = config.smtp.host.empty() ? "smtp.host" : "smtp.from";
    return Fail(ErrorCode::kInvalidArgument,
                "config: " + key + ": must be set when smtp.enabled is true", key);
  }
  return config;
}

nlohmann::json ConfigToJson(const Config& config) {
  Config copy = config;
  nlohmann::json out = nlohmann::json::object();
  for (const Key& key : Keys()) {
    void* field = key.field(copy);
    nlohmann::json value;
    switch (key.kind) {
      case Kind::kString: value = *static_cast<std::string*>(field); break;
      case Kind::kInt: value = *static_cast<int64_t*>(field); break;
      case Kind::kBool: value = *static_cast<bool*>(field); break;
      case Kind::kStrings: value = *static_cast<std::vector<std::string>*>(field); break;
    }
    out[std::string(key.name)] = value;
  }
  if (!config.google.client_secret.empty()) out["google.client_secret"] = kRedacted;
  if (!config.smtp.password.empty()) out["smtp.password"] = kRedacted;
  out["storage.url"] = RedactUrl(config.storage.url);
  if (!config.ops.metrics_token.empty()) out["ops.metrics_token"] = kRedacted;
  return out;
}

bool IsLoopbackAddress(std::string_view address) {
  if (address == "localhost" || address == "::1" || address == "[::1]") return true;
  in_addr v4{};
  const std::string text(address);
  return ::inet_pton(AF_INET, text.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

std::vector<std::string> ConfigKeys() {
  std::vector<std::string> out;
  for (const Key& k : Keys()) out.emplace_back(k.name);
  return out;
}

}  // namespace telemeet::app
