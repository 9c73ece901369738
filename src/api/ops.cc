#include "api/ops.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "base/strings.h"
#include "crypto/hash.h"
#include "net/json.h"
#include "obs/log.h"

namespace telemeet::api {

bool IsLoopbackAddress(std::string_view address) {
  if (address.starts_with("::ffff:")) address.remove_prefix(7);
  return address == "::1" || address.starts_with("127.");
}

bool IsLoopbackHost(std::string_view host) {
  if (host.starts_with('[')) {
    host = host.substr(1, host.find(']') == std::string_view::npos ? 0 : host.find(']') - 1);
  } else if (size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  if (EqualsIgnoreCase(host, "localhost")) return true;
  // Parsed, not matched by prefix: "127.0.0.1.attacker.example" is a name anyone may own.
  std::string text(host);
  in_addr a4{};
  if (inet_pton(AF_INET, text.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  in6_addr a6{};
  return inet_pton(AF_INET6, text.c_str(), &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

void RegisterOpsRoutes(net::Router& router, const obs::Registry& metrics, OpsOptions options,
                       std::vector<ReadinessCheck> checks) {
  router.Get("/healthz", [](net::Request&) { return net::JsonResponse(200, {{"status", "ok"}}); },
             {.quiet = true, .any_host = true});
  router.Get(
      "/readyz",
      [checks = std::move(checks)](net::Request&) {
        nlohmann::json results = nlohmann::json::object();
        bool ready = true;
        for (const auto& [name, check] : checks) {
          Status s = check();
          if (!s) {
            obs::Log().Warn("readiness check failed",
                            {{"check", name}, {"error", s.error().ToString()}});
          }
          results[name] = s ? "ok" : "failing";
          ready = ready && s.has_value();
        }
        return net::JsonResponse(ready ? 200 : 503,
                                 {{"status", ready ? "ready" : "unavailable"}, {"checks", results}});
      },
      {.quiet = true, .any_host = true});
  router.Get("/metrics",
             [&metrics, token = std::move(options.metrics_token)](net::Request& req) {
               // A reverse proxy on this host makes every client look like loopback; what it
               // forwards carries X-Forwarded-For or Forwarded, and needs the token.
               bool proxied = req.Header("X-Forwarded-For") || req.Header("Forwarded");
               // And a web page whose name was pointed at 127.0.0.1 (DNS rebinding) names its
               // own host: the route answers any Host, so the exemption asks for a loopback one.
               bool local_name = IsLoopbackHost(req.Header("Host").value_or(""));
               bool allowed = IsLoopbackAddress(req.remote_address) && local_name && !proxied;
               if (!allowed && !token.empty()) {
                 std::string header = req.Header("Authorization").value_or("");
                 std::string_view auth = Trim(header);
                 allowed = auth.size() > 7 && EqualsIgnoreCase(auth.substr(0, 7), "Bearer ") &&
                           crypto::ConstantTimeEquals(Trim(auth.substr(7)), token);
               }
               if (!allowed) {
                 return net::JsonError(403, "permission_denied",
                                       "metrics are served to loopback clients, or with the "
                                       "metrics token as a Bearer token");
               }
               return net::Response::Text(200, metrics.Render(),
                                          "text/plain; version=0.0.4; charset=utf-8");
             },
             // Offloaded: a render may read the store (the job queue's gauges).
             {.offload = true, .quiet = true, .any_host = true});
}

}  // namespace telemeet::api
