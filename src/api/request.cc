#include "api/request.h"

#include <algorithm>
#include <charconv>

#include "core/time.h"
#include "net/json.h"
#include "obs/log.h"

namespace telemeet::api {

namespace {

std::unexpected<Error> Invalid(std::string message, std::string_view field) {
  return Fail(ErrorCode::kInvalidArgument, std::move(message), std::string(field));
}

std::unexpected<Error> WrongType(std::string_view field, std::string_view type) {
  return Invalid(std::string(field) + " must be " + std::string(type), field);
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

Result<Body> Body::Parse(const net::Request& req, const ApiOptions& options,
                         std::span<const std::string_view> allowed) {
  if (req.body.size() > options.max_body_bytes) {
    return Fail(ErrorCode::kResourceExhausted,
                "the body is larger than " + std::to_string(options.max_body_bytes) + " bytes",
                "body");
  }
  Result<nlohmann::json> json = net::ParseJsonBody(req);
  if (!json) {
    const Error& e = json.error();
    return Fail(e.code(), e.message(), e.field().empty() ? "body" : e.field());
  }
  for (const auto& [key, value] : json->items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return Invalid("unknown field \"" + key + "\"", key);
    }
  }
  return Body(std::move(*json));
}

Result<std::string> Body::String(std::string_view field) const {
  auto v = OptString(field);
  if (!v) return std::unexpected(v.error());
  if (!*v) return Invalid(std::string(field) + " is required", field);
  return std::move(**v);
}

Result<int64_t> Body::Int(std::string_view field) const {
  auto v = OptInt(field);
  if (!v) return std::unexpected(v.error());
  if (!*v) return Invalid(std::string(field) + " is required", field);
  return **v;
}

Result<std::optional<std::string>> Body::OptString(std::string_view field) const {
  if (!Has(field)) return std::optional<std::string>();
  const auto& v = json_[field];
  if (!v.is_string()) return WrongType(field, "a string");
  return std::optional<std::string>(v.get<std::string>());
}

Result<std::optional<int64_t>> Body::OptInt(std::string_view field) const {
  if (!Has(field)) return std::optional<int64_t>();
  const auto& v = json_[field];
  if (!v.is_number_integer()) return WrongType(field, "an integer");
  if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t{INT64_MAX}) {
    return WrongType(field, "an integer in range");
  }
  return std::optional<int64_t>(v.get<int64_t>());
}

Result<std::optional<bool>> Body::OptBool(std::string_view field) const {
  if (!Has(field)) return std::optional<bool>();
  const auto& v = json_[field];
  if (!v.is_boolean()) return WrongType(field, "true or false");
  return std::optional<bool>(v.get<bool>());
}

Result<std::optional<std::vector<std::string>>> Body::OptStrings(std::string_view field) const {
  if (!Has(field)) return std::optional<std::vector<std::string>>();
  const auto& v = json_[field];
  if (!v.is_array()) return WrongType(field, "an array of strings");
  std::vector<std::string> out;
  for (const auto& item : v) {
    if (!item.is_string()) return WrongType(field, "an array of strings");
    out.push_back(item.get<std::string>());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

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

Result<Instant> ParseTime(std::string_view text, std::string_view zone, std::string_view field) {
  // An offset or Z after the seconds makes it an instant; otherwise it is local wall time.
  bool has_offset = text.size() > 19 && (text.back() == 'Z' || text.back() == 'z' ||
                                         text.find_first_of("+-", 19) != std::string_view::npos);
  if (has_offset) return core::ParseRfc3339(text, field);
  return core::LocalToInstant(text, zone, field);
}

nlohmann::json TimeJson(Instant t) {
  if (t == Instant{}) return nullptr;
  return core::FormatRfc3339(t);
}

void NotifyWork(ApiDeps& deps) {
  if (deps.on_work_enqueued) deps.on_work_enqueued();
}

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
