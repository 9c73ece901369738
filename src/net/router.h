// Maps method + path to a handler. Patterns have literal segments and "{name}" captures one
// segment; a final "{name...}" captures the rest of the path. When several patterns match,
// the one with more literal segments wins, so ".../events/watch" beats ".../events/{eventId}".
//
//   Router r;
//   r.Get("/api/v1/doctors/{id}", [](Request& req) { return Show(req.Param("id")); });
//   r.Post("/api/v1/appointments", Create, {.offload = true});   // may block: worker pool
//
// A path that matches no pattern is a 404; a path that matches only for other methods is a
// 405 with an Allow header. Both bodies come from the error renderer, which the server also
// uses for the errors it raises itself (400, 408, 413, 431, 500, 503).
//
// A Router is built before the server starts and is read-only afterwards: safe for concurrent
// Dispatch from multiple threads.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/http.h"

namespace telemeet::net {

using Handler = std::function<Response(Request&)>;

// Renders an error the router or server raises: status, machine code ("not_found"), message.
using ErrorRenderer =
    std::function<Response(int status, std::string_view code, std::string_view message)>;

struct RouteOptions {
  // The handler may block (database, outbound HTTP): the server runs it on its worker pool
  // instead of an I/O thread.
  bool offload = false;
  // No access-log line (health probes and metrics scrapes would drown the log).
  bool quiet = false;
  // Answered whatever the Host header says (ServerOptions::allowed_hosts): health probes,
  // which load balancers send to an address rather than a name.
  bool any_host = false;
};

class Router {
 public:
  Router();

  void Add(std::string_view method, std::string_view pattern, Handler handler,
           RouteOptions options = {});
  void Get(std::string_view p, Handler h, RouteOptions o = {}) { Add("GET", p, std::move(h), o); }
  void Post(std::string_view p, Handler h, RouteOptions o = {}) { Add("POST", p, std::move(h), o); }
  void Put(std::string_view p, Handler h, RouteOptions o = {}) { Add("PUT", p, std::move(h), o); }
  void Patch(std::string_view p, Handler h, RouteOptions o = {}) {
    Add("PATCH", p, std::move(h), o);
  }
  void Delete(std::string_view p, Handler h, RouteOptions o = {}) {
    Add("DELETE", p, std::move(h), o);
  }

  void SetErrorRenderer(ErrorRenderer renderer) { render_error_ = std::move(renderer); }
  Response RenderError(int status, std::string_view code, std::string_view message) const {
    return render_error_(status, code, message);
  }

  // The outcome of matching a request: the handler to run (with the request's path params
  // filled in), or a ready error response.
  struct Match {
    const Handler* handler = nullptr;  // null when `error` is set
    RouteOptions options;
    std::string pattern;  // the matched pattern, or "unmatched"; a metrics label
    Response error;
  };
  Match Find(Request& req) const;

  // Find + run. Exceptions escaping a handler become a 500.
  Response Dispatch(Request& req) const;

  // Every registered "METHOD pattern", in registration order (for docs and route-coverage tests).
  std::vector<std::string> Routes() const;

 private:
  struct Route;
  std::vector<std::shared_ptr<const Route>> routes_;
  ErrorRenderer render_error_;
};

// Runs a handler, turning an escaping exception into a rendered 500.
Response InvokeHandler(const Router& router, const Handler& handler, Request& req);

}  // namespace telemeet::net
