// Operational endpoints: /healthz (the process is alive), /readyz (its dependencies are
// ready), /metrics (Prometheus text format).
//
//   RegisterOpsRoutes(router, metrics, {.metrics_token = token},
//                     {{"store", [&] { return store.Ping(); }},
//                      {"draining", [&] { return server_running(); }}});
//
// All three answer whatever the Host header names (load balancers probe by address). /metrics
// answers loopback clients that name a loopback host (not a rebound name) and were not
// forwarded by a proxy (X-Forwarded-For, Forwarded), and others only with
// "Authorization: Bearer <metrics_token>": its series name routes and counts that outsiders
// need not see. /readyz names a failing
// check but never its error text (which may hold addresses or database messages); the text
// goes to the log.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "net/router.h"
#include "obs/metrics.h"

namespace telemeet::api {

// A named readiness check; an error makes /readyz answer 503 naming the check.
using ReadinessCheck = std::pair<std::string, std::function<Status()>>;

struct OpsOptions {
  std::string metrics_token;  // empty: /metrics for loopback clients only
};

void RegisterOpsRoutes(net::Router& router, const obs::Registry& metrics, OpsOptions options,
                       std::vector<ReadinessCheck> checks);

// True for a loopback client address ("127.0.0.1", "::1", "::ffff:127.0.0.1").
bool IsLoopbackAddress(std::string_view address);
// True for a Host header naming loopback ("localhost:8080", "127.0.0.1", "[::1]:80").
bool IsLoopbackHost(std::string_view host);

}  // namespace telemeet::api
