#include "api/request.h"

#include <charconv>

#include "core/time.h"
#include "net/json.h"
#include "obs/log.h"

namespace telemeet::api {

namespace {

std::unexpected<Error> Invalid(std::string message, std::string_view field) {
  return Fail(ErrorCode::kInvalidArgument, std::move(message), std::string(field));
}

std::optional<int64_t> ParseDecimal(std::string_view text) {
  int64_t v = 0;
  if (text.empty() || text.size() > 18) return std::nullopt;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return v;
}

// API answers carry personal data: never cached by intermediaries, never sniffed or framed.
net::Response Secure(net::Response r) {
  if (!r.headers.Has("Cache-Control")) r.headers.Set("Cache-Control", "no-store");
  r.headers.Set("X-Content-Type-Options", "nosniff");
  r.headers.Set("X-Frame-Options", "DENY");
  return r;
}

}  // namespace

Result<int64_t> PathId(const net::Request& req, std::string_view what, std::string_view param) {
  const std::string& text = req.Param(param);
  auto v = ParseDecimal(text);
  if (!v || *v <= 0) {
    return Fail(ErrorCode::kNotFound, std::string(what) + " " + text + " does not exist");
  }
  return *v;
}

Result<store::PageRequest> PageFrom(const net::Request& req) {
  store::PageRequest page{.limit = 20};
  auto params = req.QueryParams();
  if (!params) return Invalid("the query string is malformed", "query");
  if (auto limit = FindValue(*params, "limit")) {
    auto v = ParseDecimal(*limit);
    if (!v || *v < 1 || *v > 100) return Invalid("limit must be an integer from 1 to 100", "limit");
    page.limit = static_cast<int32_t>(*v);
  }
  if (auto cursor = FindValue(*params, "cursor")) page.cursor = *cursor;
  return page;
}

nlohmann::json TimeJson(Instant t) {
  if (t == Instant{}) return nullptr;
  return core::FormatRfc3339(t);
}

void NotifyWork(ApiDeps& deps) {
  if (deps.on_work_enqueued) deps.on_work_enqueued();
}

net::RouteOptions StoreReadRoute(const ApiDeps& deps) {
  return {.offload = deps.store.backend() != "sqlite"};
}

net::RouteOptions StoreWriteRoute(const ApiDeps& /*deps*/) { return {.offload = true}; }

net::Handler Handle(ApiDeps& deps, Access access, CallHandler fn) {
  return [&deps, access, fn = std::move(fn)](net::Request& req) -> net::Response {
    Call call{req, deps, {}};
    auto run = [&]() -> Result<net::Response> {
      if (access != Access::kPublic) {
        auto p = Authenticate(req, deps);
        if (!p) return std::unexpected(p.error());
        call.principal = std::move(*p);
        bool write = req.method != "GET" && req.method != "HEAD";
        if (auto s = RequireRead(call.principal); !s) return std::unexpected(s.error());
        if (access == Access::kAdmin) {
          if (auto s = RequireAdmin(call.principal); !s) return std::unexpected(s.error());
        }
        if (write || access == Access::kWrite) {
          if (auto s = RequireWrite(call.principal, req); !s) return std::unexpected(s.error());
        }
      }
      return fn(call);
    };
    auto r = run();
    if (r) return Secure(std::move(*r));
    const Error& e = r.error();
    if (e.code() == ErrorCode::kInternal || e.code() == ErrorCode::kUnavailable) {
      obs::Log().Warn("api request failed",
                      {{"method", req.method}, {"path", req.path}, {"error", e.ToString()}});
    }
    net::Response resp;
    if (e.code() == ErrorCode::kResourceExhausted && e.field() == "body") {
      resp = net::JsonError(413, "payload_too_large", e.message(), e.field());
    } else {
      resp = net::ErrorResponse(e);
    }
    if (e.code() == ErrorCode::kUnauthenticated) {
      resp.headers.Set("WWW-Authenticate", "Bearer realm=\"telemeet\"");
    }
    return Secure(std::move(resp));
  };
}

}  // namespace telemeet::api
