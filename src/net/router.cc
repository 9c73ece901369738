#include "net/router.h"

#include <cstdlib>
#include <exception>

#include "net/json.h"

namespace telemeet::net {

namespace route_detail {
enum class Kind { kLiteral, kCapture, kRest };  // "users", "{id}", "{path...}"
struct Segment {
  Kind kind = Kind::kLiteral;
  std::string text;  // the literal, or the capture's name
};
}  // namespace route_detail

struct Router::Route {
  using Segment = route_detail::Segment;
  std::string method;
  std::string pattern;
  std::vector<Segment> segments;
  Handler handler;
  RouteOptions options;
  int literals = 0;
};

namespace {

using route_detail::Kind;
using route_detail::Segment;

std::vector<std::string_view> PathSegments(std::string_view path) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  return Split(path, '/');
}

Segment SegmentOf(std::string_view s) {
  if (s.size() <= 2 || s.front() != '{' || s.back() != '}') return {Kind::kLiteral, std::string(s)};
  s = s.substr(1, s.size() - 2);
  if (s.ends_with("...")) return {Kind::kRest, std::string(s.substr(0, s.size() - 3))};
  return {Kind::kCapture, std::string(s)};
}

// Whether the path, split into segments once per request, has the route's shape: its literals
// and a non-empty segment per capture. Allocates nothing: most routes fail here.
bool ShapeMatches(const std::vector<Segment>& pattern, const std::vector<std::string_view>& parts) {
  // The segment count first: it rules out most routes without comparing text.
  size_t fixed = 0;  // the segments before a rest capture, if any
  while (fixed < pattern.size() && pattern[fixed].kind != Kind::kRest) ++fixed;
  if (fixed == pattern.size() ? parts.size() != fixed : parts.size() < fixed) return false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i].kind == Kind::kRest) return true;
    if (i >= parts.size()) return false;
    if (pattern[i].kind == Kind::kCapture ? parts[i].empty() : parts[i] != pattern[i].text) {
      return false;
    }
  }
  return parts.size() == pattern.size();
}

// The captures of a route whose shape matches, URL-decoded; false when one does not decode.
bool Capture(const std::vector<Segment>& pattern, const std::vector<std::string_view>& parts,
             KeyValues& params) {
  params.clear();
  for (size_t i = 0; i < pattern.size(); ++i) {
    const Segment& seg = pattern[i];
    if (seg.kind == Kind::kLiteral) continue;
    std::string text;
    if (seg.kind == Kind::kRest) {
      for (size_t j = i; j < parts.size(); ++j) {
        if (j > i) text.push_back('/');
        text += parts[j];
      }
    } else {
      text = std::string(parts[i]);
    }
    auto decoded = UrlDecode(text, /*plus_is_space=*/false);
    if (!decoded) return false;
    params.emplace_back(seg.text, std::move(*decoded));
    if (seg.kind == Kind::kRest) return true;
  }
  return true;
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
    route->segments.push_back(SegmentOf(seg));
    if (route->segments.back().kind == Kind::kLiteral) ++route->literals;
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
    if (!ShapeMatches(route->segments, parts)) continue;
    if (!Capture(route->segments, parts, params)) continue;
    if (route->method != req.method && !(req.method == "HEAD" && route->method == "GET")) {
      if (allowed.find(route->method) == std::string::npos) {
        if (!allowed.empty()) allowed += ", ";
        allowed += route->method;
      }
      continue;
    }
    if (best == nullptr || route->literals > best->literals) {
      best = route.get();
      best_params.swap(params);
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
