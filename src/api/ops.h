// Operational endpoints: /healthz (the process is alive), /readyz (its dependencies are
// ready), /metrics (Prometheus text format).
//
//   RegisterOpsRoutes(router, metrics, {{"store", [&] { return store.Ping(); }},
//                                       {"draining", [&] { return server_running(); }}});
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "net/router.h"
#include "obs/metrics.h"

namespace telemeet::api {

// A named readiness check; an error makes /readyz answer 503 naming the check and the problem.
using ReadinessCheck = std::pair<std::string, std::function<Status()>>;

void RegisterOpsRoutes(net::Router& router, const obs::Registry& metrics,
                       std::vector<ReadinessCheck> checks);

}  // namespace telemeet::api
