#include "emulator/server/config.h"

#include <toml++/toml.h>

#include <fstream>
#include <sstream>

#include "base/strings.h"

namespace telemeet::emulator {

namespace {

std::unexpected<Error> Bad(const std::string& key, const std::string& what) {
  return std::unexpected(Error(ErrorCode::kInvalidArgument, key + ": " + what, key));
}

Result<std::string> String(const toml::node& n, const std::string& key) {
  if (auto v = n.value<std::string>(); v && n.is_string()) return *v;
  return Bad(key, "must be a string");
}

Result<int64_t> Int(const toml::node& n, const std::string& key, int64_t min, int64_t max) {
  if (!n.is_integer()) return Bad(key, "must be an integer");
  int64_t v = *n.value<int64_t>();
  if (v < min || v > max) {
    return Bad(key, "must be in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return v;
}

Result<bool> Bool(const toml::node& n, const std::string& key) {
  if (!n.is_boolean()) return Bad(key, "must be true or false");
  return *n.value<bool>();
}

Result<std::vector<std::string>> Strings(const toml::node& n, const std::string& key) {
  const toml::array* arr = n.as_array();
  if (arr == nullptr) return Bad(key, "must be an array of strings");
  std::vector<std::string> out;
  for (const auto& item : *arr) {
    if (!item.is_string()) return Bad(key, "must be an array of strings");
    out.push_back(*item.value<std::string>());
  }
  return out;
}

// Runs `f(key, node)` on every entry of an array of tables.
template <typename F>
Status EachTable(const toml::node& n, const std::string& key, F f) {
  const toml::array* arr = n.as_array();
  if (arr == nullptr) return Bad(key, "must be an array of tables ([[" + key + "]])");
  size_t i = 0;
  for (const auto& item : *arr) {
    const toml::table* t = item.as_table();
    std::string where = key + "[" + std::to_string(i++) + "]";
    if (t == nullptr) return Bad(where, "must be a table");
    if (auto s = f(where, *t); !s) return s;
  }
  return Ok();
}

#define TRY_ASSIGN(lhs, expr)                                   \
  do {                                                          \
    auto tmp_ = (expr);                                         \
    if (!tmp_) return std::unexpected(std::move(tmp_).error()); \
    lhs = *tmp_;                                                \
  } while (0)

Status ParseClient(const std::string& where, const toml::table& t, OAuthClient& c) {
  for (const auto& [k, v] : t) {
    std::string key = where + "." + std::string(k.str());
    if (k == "client_id")
      TRY_ASSIGN(c.client_id, String(v, key));
    else if (k == "client_secret")
      TRY_ASSIGN(c.client_secret, String(v, key));
    else if (k == "redirect_uris")
      TRY_ASSIGN(c.redirect_uris, Strings(v, key));
    else
      return Bad(key, "unknown key");
  }
  if (c.client_id.empty() || c.client_secret.empty()) {
    return Bad(where, "client_id and client_secret are required");
  }
  return Ok();
}

Status ParseAccount(const std::string& where, const toml::table& t, Account& a) {
  for (const auto& [k, v] : t) {
    std::string key = where + "." + std::string(k.str());
    if (k == "email")
      TRY_ASSIGN(a.email, String(v, key));
    else if (k == "name")
      TRY_ASSIGN(a.name, String(v, key));
    else if (k == "sub")
      TRY_ASSIGN(a.sub, String(v, key));
    else
      return Bad(key, "unknown key");
  }
  if (a.email.find('@') == std::string::npos) return Bad(where + ".email", "must be an email");
  return Ok();
}

Status ParseFault(const std::string& where, const toml::table& t, FaultRule& f) {
  for (const auto& [k, v] : t) {
    std::string key = where + "." + std::string(k.str());
    if (k == "kind") {
      std::string s;
      TRY_ASSIGN(s, String(v, key));
      auto kind = ParseFaultKind(s);
      if (!kind) return Bad(key, "must be backendError, unavailable, timeout or reset");
      f.kind = *kind;
    } else if (k == "method") {
      TRY_ASSIGN(f.method, String(v, key));
    } else if (k == "path_prefix") {
      TRY_ASSIGN(f.path_prefix, String(v, key));
    } else if (k == "fraction") {
      if (!v.is_number()) return Bad(key, "must be a number");
      f.fraction = *v.value<double>();
      if (f.fraction < 0 || f.fraction > 1) return Bad(key, "must be in [0, 1]");
    } else if (k == "next") {
      int64_t n = 0;
      TRY_ASSIGN(n, Int(v, key, 0, 1 << 30));
      f.next = static_cast<int>(n);
    } else if (k == "delay_ms") {
      int64_t n = 0;
      TRY_ASSIGN(n, Int(v, key, 0, 3'600'000));
      f.delay = std::chrono::milliseconds(n);
    } else if (k == "after") {
      TRY_ASSIGN(f.after, Bool(v, key));
    } else {
      return Bad(key, "unknown key");
    }
  }
  if (f.fraction == 0 && f.next == 0) return Bad(where, "needs fraction or next");
  return Ok();
}

}  // namespace

Result<FakeGoogleConfig> ParseFakeGoogleConfig(std::string_view text) {
  toml::table root;
  try {
    root = toml::parse(text);
  } catch (const toml::parse_error& e) {
    return Fail(ErrorCode::kInvalidArgument, "TOML syntax error at line " +
                                                 std::to_string(e.source().begin.line) + ": " +
                                                 std::string(e.description()));
  }
  FakeGoogleConfig c;
  FakeGoogleOptions& o = c.options;
  for (const auto& [k, v] : root) {
    std::string key(k.str());
    int64_t n = 0;
    if (key == "address") {
      TRY_ASSIGN(c.address, String(v, key));
    } else if (key == "port") {
      TRY_ASSIGN(n, Int(v, key, 0, 65535));
      c.port = static_cast<uint16_t>(n);
    } else if (key == "threads") {
      TRY_ASSIGN(n, Int(v, key, 1, 64));
      c.threads = static_cast<int>(n);
    } else if (key == "auto_approve") {
      TRY_ASSIGN(o.oauth.auto_approve, Bool(v, key));
    } else if (key == "access_token_lifetime_seconds") {
      TRY_ASSIGN(n, Int(v, key, 1, 86400 * 365));
      o.oauth.access_token_lifetime = std::chrono::seconds(n);
    } else if (key == "latency_ms") {
      TRY_ASSIGN(n, Int(v, key, 0, 600'000));
      o.latency = std::chrono::milliseconds(n);
    } else if (key == "fault_seed") {
      TRY_ASSIGN(n, Int(v, key, 0, INT64_MAX));
      o.fault_seed = static_cast<uint64_t>(n);
    } else if (key == "max_batch_parts") {
      TRY_ASSIGN(n, Int(v, key, 1, 1000));
      o.max_batch_parts = static_cast<size_t>(n);
    } else if (key == "log_requests") {
      TRY_ASSIGN(o.log_to_stderr, Bool(v, key));
    } else if (key == "quota") {
      const toml::table* t = v.as_table();
      if (t == nullptr) return Bad(key, "must be a table");
      for (const auto& [qk, qv] : *t) {
        std::string qkey = "quota." + std::string(qk.str());
        if (qk == "per_user") {
          TRY_ASSIGN(n, Int(qv, qkey, 0, 1 << 30));
          o.quota.per_user = static_cast<int>(n);
        } else if (qk == "per_project") {
          TRY_ASSIGN(n, Int(qv, qkey, 0, 1 << 30));
          o.quota.per_project = static_cast<int>(n);
        } else if (qk == "status") {
          TRY_ASSIGN(n, Int(qv, qkey, 403, 429));
          if (n != 403 && n != 429) return Bad(qkey, "must be 403 or 429");
          o.quota.status = static_cast<int>(n);
        } else if (qk == "retry_after_seconds") {
          TRY_ASSIGN(n, Int(qv, qkey, 0, 86400));
          o.quota.retry_after_seconds = static_cast<int>(n);
        } else {
          return Bad(qkey, "unknown key");
        }
      }
    } else if (key == "clients") {
      auto s = EachTable(v, key, [&](const std::string& where, const toml::table& t) {
        OAuthClient client;
        if (auto s = ParseClient(where, t, client); !s) return s;
        o.clients.push_back(std::move(client));
        return Ok();
      });
      if (!s) return std::unexpected(s.error());
    } else if (key == "accounts") {
      auto s = EachTable(v, key, [&](const std::string& where, const toml::table& t) {
        Account a;
        if (auto s = ParseAccount(where, t, a); !s) return s;
        o.accounts.push_back(std::move(a));
        return Ok();
      });
      if (!s) return std::unexpected(s.error());
    } else if (key == "faults") {
      auto s = EachTable(v, key, [&](const std::string& where, const toml::table& t) {
        FaultRule f;
        if (auto s = ParseFault(where, t, f); !s) return s;
        o.faults.push_back(std::move(f));
        return Ok();
      });
      if (!s) return std::unexpected(s.error());
    } else {
      return Bad(key, "unknown key");
    }
  }
  return c;
}

Result<FakeGoogleConfig> LoadFakeGoogleConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Fail(ErrorCode::kNotFound, "cannot read config file " + path, "config");
  std::stringstream text;
  text << in.rdbuf();
  auto config = ParseFakeGoogleConfig(text.str());
  if (!config) {
    return Fail(config.error().code(), path + ": " + config.error().message(),
                config.error().field());
  }
  return config;
}

Result<OAuthClient> ParseClientFlag(std::string_view spec) {
  size_t a = spec.find(':');
  size_t b = a == std::string_view::npos ? a : spec.find(':', a + 1);
  if (b == std::string_view::npos) {
    return Fail(ErrorCode::kInvalidArgument,
                "--client wants client_id:client_secret:redirect_uri[,redirect_uri...]", "client");
  }
  OAuthClient c;
  c.client_id = std::string(spec.substr(0, a));
  c.client_secret = std::string(spec.substr(a + 1, b - a - 1));
  for (auto uri : Split(spec.substr(b + 1), ',')) {
    if (!uri.empty()) c.redirect_uris.emplace_back(uri);
  }
  if (c.client_id.empty() || c.client_secret.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "--client needs a client id and a secret", "client");
  }
  return c;
}

Result<Account> ParseAccountFlag(std::string_view spec) {
  auto parts = Split(spec, ':');
  Account a;
  a.email = std::string(parts[0]);
  if (parts.size() > 1) a.name = std::string(parts[1]);
  if (parts.size() > 2) a.sub = std::string(parts[2]);
  if (parts.size() > 3 || a.email.find('@') == std::string::npos) {
    return Fail(ErrorCode::kInvalidArgument, "--account wants email[:name[:sub]]", "account");
  }
  return a;
}

Result<FaultRule> ParseFaultFlag(std::string_view spec) {
  nlohmann::json j = nlohmann::json::object();
  for (auto item : Split(spec, ',')) {
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return Fail(ErrorCode::kInvalidArgument, "--fault items are key=value", "fault");
    }
    std::string key(item.substr(0, eq));
    std::string value(item.substr(eq + 1));
    if (key == "kind" || key == "method") {
      j[key] = value;
    } else if (key == "path") {
      j["pathPrefix"] = value;
    } else if (key == "fraction") {
      try {
        j["fraction"] = std::stod(value);
      } catch (...) {
        return Fail(ErrorCode::kInvalidArgument, "--fault fraction must be a number", "fault");
      }
    } else if (key == "next" || key == "delay_ms") {
      try {
        j[key == "next" ? "next" : "delayMs"] = std::stoll(value);
      } catch (...) {
        return Fail(ErrorCode::kInvalidArgument, "--fault " + key + " must be an integer", "fault");
      }
    } else if (key == "after") {
      j["after"] = value == "true" || value == "1";
    } else {
      return Fail(ErrorCode::kInvalidArgument, "--fault: unknown key " + key, "fault");
    }
  }
  return FaultRuleFromJson(j);
}

}  // namespace telemeet::emulator
