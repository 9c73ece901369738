#include "api/booking.h"

#include <algorithm>

#include "crypto/random.h"

namespace telemeet::api {

Result<std::string> IssueAccessLink(store::Tx& tx, ApiDeps& deps, const core::Appointment& a) {
  std::string token = crypto::RandomToken(32);
  Instant expires = std::max(a.end, deps.clock.Now()) + deps.options.access_link_after_end;
  TM_TRY(tx.CreateAccessLink(
      {.appointment_id = a.id, .token_hash = TokenHash(token), .expires_at = expires}));
  return deps.options.public_url + "/p?token=" + token;
}

Status AuditAppointment(store::Tx& tx, int64_t appointment_id, const Principal& p,
                        std::string action, const nlohmann::json& detail) {
  core::AuditEntry e{.appointment_id = appointment_id,
                     .actor = p.actor,
                     .action = std::move(action),
                     .detail = detail.dump()};
  TM_TRY(tx.AppendAudit(e));
  return Ok();
}

}  // namespace telemeet::api
