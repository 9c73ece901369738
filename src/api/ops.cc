#include "api/ops.h"

#include "base/strings.h"
#include "crypto/hash.h"
#include "net/json.h"
#include "obs/log.h"

namespace telemeet::api {

bool IsLoopbackAddress(std::string_view address) {
  if (address.starts_with("::ffff:")) address.remove_prefix(7);
  return address == "::1" || address.starts_with("127.");
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
               bool allowed = IsLoopbackAddress(req.remote_address) && !proxied;
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
             {.quiet = true, .any_host = true});
}

}  // namespace telemeet::api
