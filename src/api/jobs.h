// Bulk jobs seen through the API (issue 17): GET /api/v1/jobs/{id} and the body of the 202
// that starts one (DELETE /api/v1/doctors/{id}/google?meetings=cancel).
//
// Who may read a job: an admin, the doctor the job is for, and the principal that started it
// (e.g. an integrator's key); anyone else gets the 404 a missing job gets, so job ids cannot
// be probed.
#pragma once

#include <nlohmann/json.hpp>

#include "api/auth.h"
#include "net/router.h"
#include "store/store.h"

namespace telemeet::api {

struct ApiDeps;

// {"object": "bulk_job", "id", "kind", "doctor_id", "state", "total", "done", "failed",
//  "failures": [...], "created_at", "updated_at", "finished_at", "url"}.
nlohmann::json BulkJobJson(const store::BulkJob& job);

// kNotFound ("job N does not exist") unless `p` may read `job` (see above).
Status AuthorizeJobRead(const Principal& p, const store::BulkJob& job);

void RegisterJobRoutes(net::Router& router, ApiDeps& deps);

}  // namespace telemeet::api
