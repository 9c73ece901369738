#include "api/ops.h"

#include "net/json.h"

namespace telemeet::api {

void RegisterOpsRoutes(net::Router& router, const obs::Registry& metrics,
                       std::vector<ReadinessCheck> checks) {
  router.Get("/healthz", [](net::Request&) { return net::JsonResponse(200, {{"status", "ok"}}); },
             {.quiet = true});
  router.Get(
      "/readyz",
      [checks = std::move(checks)](net::Request&) {
        nlohmann::json results = nlohmann::json::object();
        bool ready = true;
        for (const auto& [name, check] : checks) {
          Status s = check();
          results[name] = s ? "ok" : s.error().message();
          ready = ready && s.has_value();
        }
        return net::JsonResponse(ready ? 200 : 503,
                                 {{"status", ready ? "ready" : "unavailable"}, {"checks", results}});
      },
      {.quiet = true});
  router.Get("/metrics",
             [&metrics](net::Request&) {
               return net::Response::Text(200, metrics.Render(),
                                          "text/plain; version=0.0.4; charset=utf-8");
             },
             {.quiet = true});
}

}  // namespace telemeet::api
