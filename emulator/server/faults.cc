#include "emulator/server/faults.h"

#include "emulator/google_error.h"

namespace telemeet::emulator {

std::string_view FaultKindName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kBackendError:
      return "backendError";
    case FaultKind::kUnavailable:
      return "unavailable";
    case FaultKind::kTimeout:
      return "timeout";
    case FaultKind::kReset:
      return "reset";
  }
  return "backendError";
}

std::optional<FaultKind> ParseFaultKind(std::string_view name) {
  for (FaultKind k : {FaultKind::kBackendError, FaultKind::kUnavailable, FaultKind::kTimeout,
                      FaultKind::kReset}) {
    if (FaultKindName(k) == name) return k;
  }
  return std::nullopt;
}

nlohmann::json FaultRuleToJson(const FaultRule& r) {
  return {{"method", r.method},
          {"pathPrefix", r.path_prefix},
          {"kind", FaultKindName(r.kind)},
          {"fraction", r.fraction},
          {"next", r.next},
          {"delayMs", r.delay.count()},
          {"after", r.after}};
}

Result<FaultRule> FaultRuleFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return Fail(ErrorCode::kInvalidArgument, "a fault rule is a JSON object");
  FaultRule r;
  for (const auto& [key, v] : j.items()) {
    auto bad = [&](std::string_view want) {
      return Fail(ErrorCode::kInvalidArgument, key + " must be " + std::string(want), key);
    };
    if (key == "method") {
      if (!v.is_string()) return bad("a string");
      r.method = v.get<std::string>();
    } else if (key == "pathPrefix") {
      if (!v.is_string()) return bad("a string");
      r.path_prefix = v.get<std::string>();
    } else if (key == "kind") {
      auto kind = v.is_string() ? ParseFaultKind(v.get<std::string>()) : std::nullopt;
      if (!kind) return bad("one of backendError, unavailable, timeout, reset");
      r.kind = *kind;
    } else if (key == "fraction") {
      if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1) {
        return bad("a number in [0, 1]");
      }
      r.fraction = v.get<double>();
    } else if (key == "next") {
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > (1 << 30)) {
        return bad("an integer in [0, 2^30]");
      }
      r.next = v.get<int>();
    } else if (key == "delayMs") {
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 3'600'000) {
        return bad("an integer in [0, 3600000]");
      }
      r.delay = std::chrono::milliseconds(v.get<int64_t>());
    } else if (key == "after") {
      if (!v.is_boolean()) return bad("a boolean");
      r.after = v.get<bool>();
    } else {
      return Fail(ErrorCode::kInvalidArgument, "unknown field " + key, key);
    }
  }
  if (r.fraction == 0 && r.next == 0) {
    return Fail(ErrorCode::kInvalidArgument, "a fault rule needs fraction or next", "fraction");
  }
  return r;
}

void FaultInjector::Add(FaultRule rule) {
  std::lock_guard lock(mu_);
  rules_.push_back(std::move(rule));
}

void FaultInjector::Clear() {
  std::lock_guard lock(mu_);
  rules_.clear();
}

void FaultInjector::Reseed(uint64_t seed) {
  std::lock_guard lock(mu_);
  seed_ = seed;
  rng_.seed(seed);
}

std::vector<FaultRule> FaultInjector::rules() const {
  std::lock_guard lock(mu_);
  return rules_;
}

uint64_t FaultInjector::seed() const {
  std::lock_guard lock(mu_);
  return seed_;
}

std::optional<FaultRule> FaultInjector::Pick(std::string_view method, std::string_view path) {
  std::lock_guard lock(mu_);
  for (auto it = rules_.begin(); it != rules_.end(); ++it) {
    if (!it->method.empty() && it->method != method) continue;
    if (!path.starts_with(it->path_prefix)) continue;
    if (it->next > 0) {
      FaultRule fired = *it;
      if (--it->next == 0 && it->fraction == 0) rules_.erase(it);
      return fired;
    }
    if (it->fraction > 0) {
      double roll = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
      if (roll < it->fraction) return *it;
    }
  }
  return std::nullopt;
}

net::Response FaultResponse(const FaultRule& rule) {
  switch (rule.kind) {
    case FaultKind::kBackendError:
      return ApiError(500, {.domain = "global",
                            .reason = "backendError",
                            .message = "Backend Error",
                            .location_type = "",
                            .location = ""});
    case FaultKind::kUnavailable:
      return ApiError(503, {.domain = "global",
                            .reason = "backendError",
                            .message = "The service is currently unavailable.",
                            .location_type = "",
                            .location = ""});
    case FaultKind::kTimeout: {
      net::Response r = net::Response::Empty(504);
      r.delay = rule.delay;
      r.reset_connection = true;
      return r;
    }
    case FaultKind::kReset: {
      net::Response r = net::Response::Empty(502);
      r.reset_connection = true;
      return r;
    }
  }
  return net::Response::Empty(500);
}

}  // namespace telemeet::emulator
