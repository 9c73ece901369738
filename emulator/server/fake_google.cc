#include "emulator/server/fake_google.h"

#include <cstdio>

#include "base/redact.h"
#include "base/strings.h"
#include "emulator/google_error.h"
#include "emulator/oauth/oauth_endpoints.h"
#include "emulator/server/batch.h"
#include "net/http_server.h"
#include "net/json.h"

namespace telemeet::emulator {

namespace {

constexpr std::string_view kControlPrefix = "/_emulator/";
constexpr std::string_view kCalendarPrefix = "/calendar/v3/";
constexpr std::string_view kMeetPrefix = "/v2/";

bool IsBatchPath(std::string_view path) { return path == "/batch/calendar/v3" || path == "/batch"; }

std::optional<std::string> BearerToken(const net::Request& req) {
  auto h = req.Header("Authorization");
  if (!h) return std::nullopt;
  std::string_view v = Trim(*h);
  if (v.size() < 7 || !EqualsIgnoreCase(v.substr(0, 7), "Bearer ")) return std::nullopt;
  return std::string(Trim(v.substr(7)));
}

nlohmann::json LogEntryJson(const RequestLogEntry& e) {
  nlohmann::json j = {{"timeMs", e.time_ms},
                      {"method", e.method},
                      {"path", e.path},
                      {"status", e.status},
                      {"user", e.user}};
  if (!e.query.empty()) j["query"] = e.query;
  if (!e.fault.empty()) j["fault"] = e.fault;
  if (e.in_batch) j["inBatch"] = true;
  return j;
}

net::Response BadControl(std::string message, std::string field = {}) {
  return net::JsonError(400, "invalid_argument", message, field);
}

// Reads an optional JSON body of a control route (an empty body is an empty object).
Result<nlohmann::json> ControlBody(const net::Request& req) {
  if (Trim(req.body).empty()) return nlohmann::json::object();
  return net::ParseJsonBody(req);
}

Result<int> IntField(const nlohmann::json& j, const char* key, int min, int max) {
  const auto& v = j[key];
  if (!v.is_number_integer() || v.get<int64_t>() < min || v.get<int64_t>() > max) {
    return Fail(ErrorCode::kInvalidArgument,
                std::string(key) + " must be an integer in [" + std::to_string(min) + ", " +
                    std::to_string(max) + "]",
                key);
  }
  return v.get<int>();
}

nlohmann::json QuotaJson(const QuotaOptions& q) {
  return {{"perUser", q.per_user},
          {"perProject", q.per_project},
          {"status", q.status},
          {"retryAfterSeconds", q.retry_after_seconds}};
}

}  // namespace

net::Response GoogleErrorRenderer(int status, std::string_view code, std::string_view message) {
  std::string reason = "invalid";
  std::string text(message);
  switch (status) {
    case 400:
      reason = "badRequest";
      break;
    case 404:
      reason = "notFound";
      text = "Not Found";
      break;
    case 405:
      reason = "httpMethodNotAllowed";
      break;
    case 408:
      reason = "requestTimeout";
      break;
    case 413:
      reason = "uploadTooLarge";
      text = "Request Entity Too Large";
      break;
    case 431:
      reason = "badRequest";
      break;
    case 500:
      reason = "backendError";
      text = "Backend Error";
      break;
    case 503:
      reason = "backendError";
      text = "The service is currently unavailable.";
      break;
    default:
      reason = std::string(code);
      break;
  }
  return ApiError(
      status,
      {.domain = "global", .reason = reason, .message = text, .location_type = "", .location = ""});
}

FakeGoogle::FakeGoogle(FakeGoogleOptions options, Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      oauth_(clock, options_.oauth),
      push_(options_.push_timeout),
      meet_(oauth_, clock),
      calendar_(oauth_, clock),
      quota_(clock, options_.quota),
      faults_(options_.fault_seed),
      latency_ms_(options_.latency.count()),
      max_batch_parts_(options_.max_batch_parts) {
  calendar_.SetPushSender([this](PushMessage m) { push_.Send(std::move(m)); });
  // Every Meet conference the Calendar makes has a Meet space, owned by the calendar's owner.
  calendar_.SetMeetSpaceSink([this](std::string_view owner, std::string_view code) {
    meet_.AddCalendarSpace(owner, code);
  });
  meet_.SetAccountLookup([this](std::string_view email) -> std::optional<MeetUser> {
    auto a = oauth_.FindAccount(email);
    if (!a) return std::nullopt;
    return MeetUser{.user_id = a->sub, .display_name = a->name};
  });
  RegisterOAuthRoutes(inner_, oauth_);
  calendar_.Register(calendar_router_);
  meet_.Register(meet_router_);
  RegisterControl();
  calendar_router_.SetErrorRenderer(GoogleErrorRenderer);
  meet_router_.SetErrorRenderer([](int status, std::string_view, std::string_view message) {
    return RpcError(status, status == 404 ? "Requested entity was not found." : message);
  });
  inner_.SetErrorRenderer(GoogleErrorRenderer);
  outer_.SetErrorRenderer(GoogleErrorRenderer);
  for (const char* method : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
    outer_.Add(method, "/{path...}", [this](net::Request& req) { return Handle(req); });
  }
  Seed();
}

FakeGoogle::~FakeGoogle() { Stop(); }

void FakeGoogle::Seed() {
  for (const auto& c : options_.clients) {
    if (auto s = oauth_.AddClient(c); !s) {
      std::fprintf(stderr, "fake-google: client %s not seeded: %s\n", c.client_id.c_str(),
                   s.error().message().c_str());
    }
  }
  for (const auto& a : options_.accounts) {
    if (auto s = oauth_.AddAccount(a); !s) {
      std::fprintf(stderr, "fake-google: account %s not seeded: %s\n", a.email.c_str(),
                   s.error().message().c_str());
    }
  }
  for (const auto& f : options_.faults) faults_.Add(f);
}

void FakeGoogle::Reset() {
  oauth_.Reset();
  oauth_.SetAutoApprove(options_.oauth.auto_approve);
  oauth_.SetAccessTokenLifetime(options_.oauth.access_token_lifetime);
  calendar_.Reset();
  meet_.Reset();
  quota_.SetOptions(options_.quota);
  quota_.Reset();
  faults_.Clear();
  faults_.Reseed(options_.fault_seed);
  push_.ClearLog();
  {
    std::lock_guard lock(mu_);
    latency_ms_ = options_.latency.count();
    max_batch_parts_ = options_.max_batch_parts;
    log_.clear();
  }
  Seed();
}

Status FakeGoogle::Start(std::string address, uint16_t port, int threads) {
  if (server_) return Fail(ErrorCode::kFailedPrecondition, "fake-google is already started");
  net::ServerOptions so;
  so.address = std::move(address);
  so.port = port;
  so.io_threads = threads;
  so.worker_threads = 1;  // no route is offloaded
  so.max_body_bytes = options_.max_body_bytes;
  so.server_header = "ESF";  // what Google's front end calls itself
  so.allowed_hosts = options_.allowed_hosts;
  auto server = std::make_unique<net::HttpServer>(so, outer_);
  if (auto s = server->Start(); !s) return s;
  server_ = std::move(server);
  return Ok();
}

uint16_t FakeGoogle::port() const { return server_ ? server_->port() : 0; }
std::string FakeGoogle::base_url() const { return server_ ? server_->BaseUrl() : ""; }

void FakeGoogle::Stop() {
  if (!server_) return;
  server_->Shutdown(std::chrono::seconds(2));
  server_.reset();
}

void FakeGoogle::SetLatency(std::chrono::milliseconds latency) { latency_ms_ = latency.count(); }

std::vector<RequestLogEntry> FakeGoogle::RequestLog() const {
  std::lock_guard lock(mu_);
  return {log_.begin(), log_.end()};
}

void FakeGoogle::ClearRequestLog() {
  std::lock_guard lock(mu_);
  log_.clear();
}

std::string FakeGoogle::UserOf(const net::Request& req) const {
  auto token = BearerToken(req);
  if (!token) return {};
  auto who = oauth_.FromAccessToken(*token);
  return who ? who->email : std::string();
}

void FakeGoogle::Record(const net::Request& req, int status, const std::string& user,
                        std::string_view fault, bool in_batch) {
  RequestLogEntry e{.time_ms = ToUnixMillis(clock_.Now()),
                    .method = req.method,
                    .path = req.path,
                    .query = req.query.empty() ? std::string() : RedactForm(req.query),
                    .status = status,
                    .user = user,
                    .fault = std::string(fault),
                    .in_batch = in_batch};
  if (options_.log_to_stderr) {
    std::fprintf(stderr, "%s %s %d %s%s%s\n", e.method.c_str(), e.path.c_str(), e.status,
                 e.user.empty() ? "-" : e.user.c_str(),
                 e.fault.empty() ? "" : " fault=", e.fault.c_str());
  }
  std::lock_guard lock(mu_);
  log_.push_back(std::move(e));
  while (log_.size() > options_.request_log_size) log_.pop_front();
}

net::Response FakeGoogle::Handle(net::Request& req) {
  if (req.path.starts_with(kControlPrefix)) {
    // Browsers send Origin with every POST, PUT, PATCH and DELETE, even a form's or a no-cors
    // fetch's; test code does not. Without this, a web page opened beside a sandbox could
    // script its loopback emulator: fabricate a Meet conference (attendance), revoke grants,
    // reset everything.
    if (req.method != "GET" && req.Header("Origin")) {
      return net::JsonError(403, "permission_denied",
                            "control requests from web pages are refused", "Origin");
    }
    return Dispatch(req);
  }
  net::Response r = Process(req, /*in_batch=*/false);
  r.delay += std::chrono::milliseconds(latency_ms_.load(std::memory_order_relaxed));
  return r;
}

net::Response FakeGoogle::Dispatch(net::Request& req) {
  if (req.path.starts_with(kMeetPrefix) || req.path.starts_with("/_emulator/meet/")) {
    return meet_router_.Dispatch(req);
  }
  bool calendar = req.path.starts_with(kCalendarPrefix) ||
                  req.path.starts_with("/_emulator/calendars/") ||
                  req.path == "/_emulator/calendars";
  return calendar ? calendar_router_.Dispatch(req) : inner_.Dispatch(req);
}

net::Response FakeGoogle::Process(net::Request& req, bool in_batch) {
  std::string user = UserOf(req);
  bool is_batch = !in_batch && req.method == "POST" && IsBatchPath(req.path);
  if (req.path.starts_with(kCalendarPrefix)) {
    // Each call weighs its quota units; a patch costs 3 (google-protocol.md §6).
    int units = req.method == "PATCH" ? 3 : 1;
    if (auto exceeded = quota_.Charge(user, units)) {
      net::Response r = QuotaError(*exceeded, quota_.options());
      Record(req, r.status, user, "", in_batch);
      return r;
    }
  }
  std::optional<FaultRule> fault = faults_.Pick(req.method, req.path);
  if (fault && in_batch &&
      (fault->kind == FaultKind::kTimeout || fault->kind == FaultKind::kReset)) {
    // A part of a batch cannot drop the connection on its own; it fails like a 503.
    fault->kind = FaultKind::kUnavailable;
  }
  net::Response r;
  if (fault && !fault->after) {
    r = FaultResponse(*fault);
  } else {
    r = is_batch ? HandleBatch(req, user) : Dispatch(req);
    if (fault) r = FaultResponse(*fault);
  }
  int logged_status = r.reset_connection ? 0 : r.status;
  Record(req, logged_status, user, fault ? FaultKindName(fault->kind) : "", in_batch);
  return r;
}

net::Response FakeGoogle::HandleBatch(net::Request& req, const std::string&) {
  size_t max_parts;
  {
    std::lock_guard lock(mu_);
    max_parts = max_batch_parts_;
  }
  auto parts = ParseBatch(req, max_parts);
  if (!parts) {
    return ApiError(400, {.domain = "global",
                          .reason = "badRequest",
                          .message = parts.error().message(),
                          .location_type = "",
                          .location = ""});
  }
  std::vector<BatchAnswer> answers;
  answers.reserve(parts->size());
  for (auto& part : *parts) {
    net::Response r = part.request.path.starts_with(kControlPrefix)
                          ? GoogleErrorRenderer(404, "not_found", "Not Found")
                          : Process(part.request, /*in_batch=*/true);
    answers.push_back({part.content_id, std::move(r)});
  }
  return BatchResponse(answers);
}

void FakeGoogle::RegisterControl() {
  net::Router& r = inner_;
  r.Post("/_emulator/reset", [this](net::Request&) {
    Reset();
    return net::JsonResponse(200, {{"reset", true}});
  });
  r.Get("/_emulator/oauth",
        [this](net::Request&) { return net::JsonResponse(200, oauth_.Snapshot()); });
  r.Post("/_emulator/clients", [this](net::Request& req) {
    auto body = ControlBody(req);
    if (!body) return net::ErrorResponse(body.error());
    OAuthClient c;
    try {
      c.client_id = body->at("clientId").get<std::string>();
      c.client_secret = body->at("clientSecret").get<std::string>();
      c.redirect_uris = body->value("redirectUris", std::vector<std::string>{});
    } catch (const nlohmann::json::exception&) {
      return BadControl("expected {clientId, clientSecret, redirectUris: [..]} as strings");
    }
    if (auto s = oauth_.AddClient(c); !s) return net::ErrorResponse(s.error());
    return net::JsonResponse(201, {{"clientId", c.client_id}, {"redirectUris", c.redirect_uris}});
  });
  r.Post("/_emulator/accounts", [this](net::Request& req) {
    auto body = ControlBody(req);
    if (!body) return net::ErrorResponse(body.error());
    Account a;
    try {
      a.email = body->at("email").get<std::string>();
      a.name = body->value("name", "");
      a.sub = body->value("sub", "");
    } catch (const nlohmann::json::exception&) {
      return BadControl("expected {email, name?, sub?} as strings");
    }
    if (auto s = oauth_.AddAccount(a); !s) return net::ErrorResponse(s.error());
    auto stored = oauth_.FindAccount(a.email);
    return net::JsonResponse(
        201, {{"email", stored->email}, {"sub", stored->sub}, {"name", stored->name}});
  });
  r.Get("/_emulator/quotas",
        [this](net::Request&) { return net::JsonResponse(200, QuotaJson(quota_.options())); });
  r.Put("/_emulator/quotas", [this](net::Request& req) {
    auto body = ControlBody(req);
    if (!body) return net::ErrorResponse(body.error());
    QuotaOptions q = quota_.options();
    for (const auto& [key, v] : body->items()) {
      Result<int> n = Fail(ErrorCode::kInvalidArgument, "unknown field " + key, key);
      if (key == "perUser" || key == "perProject") n = IntField(*body, key.c_str(), 0, 1 << 30);
      if (key == "retryAfterSeconds") n = IntField(*body, key.c_str(), 0, 86400);
      if (key == "status") {
        n = IntField(*body, key.c_str(), 403, 429);
        if (n && *n != 403 && *n != 429)
          n = Fail(ErrorCode::kInvalidArgument, "status must be 403 or 429", key);
      }
      if (!n) return net::ErrorResponse(n.error());
      if (key == "perUser") q.per_user = *n;
      if (key == "perProject") q.per_project = *n;
      if (key == "retryAfterSeconds") q.retry_after_seconds = *n;
      if (key == "status") q.status = *n;
    }
    quota_.SetOptions(q);
    quota_.Reset();
    return net::JsonResponse(200, QuotaJson(q));
  });
  r.Get("/_emulator/faults", [this](net::Request&) {
    nlohmann::json rules = nlohmann::json::array();
    for (const auto& f : faults_.rules()) rules.push_back(FaultRuleToJson(f));
    return net::JsonResponse(200, {{"seed", faults_.seed()}, {"rules", rules}});
  });
  r.Post("/_emulator/faults", [this](net::Request& req) {
    auto body = ControlBody(req);
    if (!body) return net::ErrorResponse(body.error());
    auto rule = FaultRuleFromJson(*body);
    if (!rule) return net::ErrorResponse(rule.error());
    faults_.Add(*rule);
    return net::JsonResponse(201, FaultRuleToJson(*rule));
  });
  r.Delete("/_emulator/faults", [this](net::Request&) {
    faults_.Clear();
    return net::Response::Empty(204);
  });
  r.Post("/_emulator/grants/revoke", [this](net::Request& req) {
    auto body = ControlBody(req);
    if (!body) return net::ErrorResponse(body.error());
    if (!(*body)["email"].is_string()) return BadControl("email is required", "email");
    std::string client = body->value("clientId", "");
    int n = oauth_.RevokeGrant((*body)["email"].get<std::string>(), client);
    return net::JsonResponse(200, {{"revoked", n}});
  });
  r.Post("/_emulator/tokens/expire", [this](net::Request&) {
    return net::JsonResponse(200, {{"expired", oauth_.ExpireAccessTokens()}});
  });
  r.Get("/_emulator/requests", [this](net::Request&) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : RequestLog()) out.push_back(LogEntryJson(e));
    return net::JsonResponse(200, {{"requests", out}});
  });
  r.Delete("/_emulator/requests", [this](net::Request&) {
    ClearRequestLog();
    return net::Response::Empty(204);
  });
  r.Get("/_emulator/push-log", [this](net::Request&) {
    return net::JsonResponse(200, {{"deliveries", push_.Log()}});
  });
  auto settings_json = [this] {
    OAuthSettings s = oauth_.settings();
    std::lock_guard lock(mu_);
    return nlohmann::json{{"autoApprove", s.auto_approve},
                          {"accessTokenLifetimeSeconds", s.access_token_lifetime.count()},
                          {"latencyMs", latency_ms_.load()},
                          {"faultSeed", faults_.seed()},
                          {"maxBatchParts", max_batch_parts_}};
  };
  r.Get("/_emulator/settings",
        [settings_json](net::Request&) { return net::JsonResponse(200, settings_json()); });
  r.Patch("/_emulator/settings", [this, settings_json](net::Request& req) {
    auto body = ControlBody(req);
    if (!body) return net::ErrorResponse(body.error());
    // Validate everything first, then apply: a bad field changes nothing.
    for (const auto& [key, v] : body->items()) {
      auto in = [&v](int64_t lo, int64_t hi) {
        return v.is_number_integer() && v.get<int64_t>() >= lo && v.get<int64_t>() <= hi;
      };
      bool ok = (key == "autoApprove" && v.is_boolean()) ||
                (key == "accessTokenLifetimeSeconds" && in(1, 86400 * 365)) ||
                (key == "latencyMs" && in(0, 600'000)) ||
                (key == "faultSeed" && v.is_number_unsigned()) ||
                (key == "maxBatchParts" && in(1, 1000));
      if (!ok) return BadControl("bad or unknown setting " + key, key);
    }
    if (body->contains("autoApprove")) oauth_.SetAutoApprove((*body)["autoApprove"]);
    if (body->contains("accessTokenLifetimeSeconds")) {
      oauth_.SetAccessTokenLifetime(
          std::chrono::seconds((*body)["accessTokenLifetimeSeconds"].get<int64_t>()));
    }
    if (body->contains("faultSeed")) faults_.Reseed((*body)["faultSeed"].get<uint64_t>());
    {
      std::lock_guard lock(mu_);
      if (body->contains("latencyMs")) {
        latency_ms_ = (*body)["latencyMs"].get<int64_t>();
      }
      if (body->contains("maxBatchParts")) max_batch_parts_ = (*body)["maxBatchParts"];
    }
    return net::JsonResponse(200, settings_json());
  });
}

}  // namespace telemeet::emulator
