// GET /api/v1/jobs/{id}: a bulk job's progress (api/jobs.h).
#include <fmt/format.h>

#include "api/jobs.h"
#include "api/request.h"
#include "api/views.h"
#include "core/time.h"
#include "net/json.h"

namespace telemeet::api {

using nlohmann::json;

json BulkJobJson(const store::BulkJob& job) {
  json failures = json::parse(job.failures, nullptr, false);
  if (!failures.is_array()) failures = json::array();
  return json{{"object", "bulk_job"},
              {"id", job.id},
              {"kind", job.kind},
              {"doctor_id", job.doctor_id},
              {"state", job.state},
              {"total", job.total},
              {"done", job.done},
              {"failed", job.failed},
              {"failures", std::move(failures)},
              {"created_at", core::FormatRfc3339(job.created_at)},
              {"updated_at", core::FormatRfc3339(job.updated_at)},
              {"finished_at",
               job.finished_at ? json(core::FormatRfc3339(*job.finished_at)) : json(nullptr)},
              {"url", fmt::format("/api/v1/jobs/{}", job.id)}};
}

Status AuthorizeJobRead(const Principal& p, const store::BulkJob& job) {
  const bool may = p.kind == Principal::Kind::kAdmin ||
                   (p.kind == Principal::Kind::kDoctor && p.doctor_id == job.doctor_id) ||
                   (!p.actor.empty() && p.actor == job.created_by);
  if (may) return Ok();
  return Fail(ErrorCode::kNotFound, fmt::format("job {} does not exist", job.id));
}

void RegisterJobRoutes(net::Router& r, ApiDeps& deps) {
  r.Get("/api/v1/jobs/{id}",
        Handle(deps, Access::kRead,
               [](Call& c) -> Result<net::Response> {
                 const int64_t id = TM_TRY(PathId(c.req, "job"));
                 auto job = c.deps.store.Read([&](store::Tx& tx) { return tx.GetBulkJob(id); });
                 if (!job) {
                   if (job.error().code() == ErrorCode::kNotFound) {
                     return Fail(ErrorCode::kNotFound, fmt::format("job {} does not exist", id));
                   }
                   return std::unexpected(job.error());
                 }
                 TM_TRY(AuthorizeJobRead(c.principal, *job));
                 return net::JsonResponse(200, BulkJobJson(*job));
               }),
        {.offload = true});
}

}  // namespace telemeet::api
