#include "net/router.h"

#include <cstdlib>
#include <exception>

#include "net/json.h"

namespace telemeet::net {

struct Router::Route {
  std::string method;
  std::string pattern;
  std::vector<std::string> segments;  // "{x}" captures, "{x...}" captures the rest
  Handler handler;
  RouteOptions options;
  int literals = 0;
};

namespace {

std::vector<std::string_view> PathSegments(std::string_view path) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  return Split(path, '/');
}

bool IsCapture(std::string_view s) { return s.size() > 2 && s.front() == '{' && s.back() == '}'; }
bool IsRestCapture(std::string_view s) { return IsCapture(s) && s.ends_with("...}"); }
std::string CaptureName(std::string_view s) {
  s = s.substr(1, s.size() - 2);
  if (s.ends_with("...")) s.remove_suffix(3);
  return std::string(s);
}

// Matches a path, split into segments once per request, against a route; fills `params` on
// success. (Splitting the path per route cost an eighth of an API request's CPU: bench/api.)
bool MatchRoute(const std::vector<std::string>& pattern, const std::vector<std::string_view>& parts,
                KeyValues& params) {
  params.clear();
  for (size_t i = 0; i < pattern.size(); ++i) {
    const std::string& seg = pattern[i];
    if (IsRestCapture(seg)) {
      std::string rest;
      for (size_t j = i; j < parts.size(); ++j) {
        if (j > i) rest.push_back('/');
        rest += parts[j];
      }
      auto decoded = UrlDecode(rest, /*plus_is_space=*/false);
      if (!decoded) return false;
      params.emplace_back(CaptureName(seg), std::move(*decoded));
      return true;
    }
    if (i >= parts.size()) return false;
    if (IsCapture(seg)) {
      if (parts[i].empty()) return false;
      auto decoded = UrlDecode(parts[i], /*plus_is_space=*/false);
      if (!decoded) return false;
      params.emplace_back(CaptureName(seg), std::move(*decoded));
    } else if (parts[i] != seg) {
      return false;
    }
  }
  return parts.size() == pattern.size();
}

}  // namespace

Router::Router()
    : render_error_([](int status, std::string_view code, std::string_view message) {
        return JsonError(status, code, message);
      }) {}

void Router::Add(std::string_view method, std::string_view pattern, Handler handler,
                 RouteOptions options) {
  auto route = std::make_shared<Route>();
  route->method = std::string(method);
  route->pattern = std::string(pattern);
  for (std::string_view seg : PathSegments(pattern)) {
    route->segments.emplace_back(seg);
    if (!IsCapture(seg)) ++route->literals;
  }
  route->handler = std::move(handler);
  route->options = options;
  routes_.push_back(std::move(route));
}

Router::Match Router::Find(Request& req) const {
  const Route* best = nullptr;
  KeyValues best_params;
  std::string allowed;
  KeyValues params;
  const std::vector<std::string_view> parts = PathSegments(req.path);
  for (const auto& route : routes_) {
    if (!MatchRoute(route->segments, parts, params)) continue;
    if (route->method != req.method && !(req.method == "HEAD" && route->method == "GET")) {
      if (allowed.find(route->method) == std::string::npos) {
        if (!allowed.empty()) allowed += ", ";
        allowed += route->method;
      }
      continue;
    }
    if (best == nullptr || route->literals > best->literals) {
      best = route.get();
      best_params = params;
    }
  }
  Match m;
  if (best != nullptr) {
    req.path_params = std::move(best_params);
    m.handler = &best->handler;
    m.options = best->options;
    m.pattern = best->pattern;
    return m;
  }
  m.pattern = "unmatched";
  if (!allowed.empty()) {
    m.error = render_error_(
        405, "method_not_allowed",
        req.method + " is not allowed on " + req.path + " (allowed: " + allowed + ")");
    m.error.headers.Set("Allow", allowed);
  } else {
    m.error = render_error_(404, "not_found", "no resource at " + req.path);
  }
  return m;
}

Response InvokeHandler(const Router& router, const Handler& handler, Request& req) {
  try {
    return handler(req);
  } catch (const std::exception& e) {
    // A handler bug: answer 500 without leaking the exception text to the client.
    return router.RenderError(500, "internal", "internal error (request " + req.request_id + ")");
  }
}

Response Router::Dispatch(Request& req) const {
  Match m = Find(req);
  if (m.handler == nullptr) return std::move(m.error);
  return InvokeHandler(*this, *m.handler, req);
}

std::vector<std::string> Router::Routes() const {
  std::vector<std::string> out;
  for (const auto& r : routes_) out.push_back(r->method + " " + r->pattern);
  return out;
}

}  // namespace telemeet::net
