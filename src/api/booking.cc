#include "api/booking.h"

#include <algorithm>

#include "crypto/random.h"

namespace telemeet::api {

namespace {

constexpr std::array<std::string_view, 5> kNewPatientFields = {"name", "email", "phone",
                                                               "time_zone", "external_ref"};

}  // namespace

Result<BookingPatient> BookingPatient::From(const Body& body) {
  BookingPatient out;
  out.id_ = TM_TRY(body.OptInt("patient_id"));
  if (auto inline_patient = TM_TRY(body.OptObject("patient", kNewPatientFields))) {
    if (out.id_) {
      return Fail(ErrorCode::kInvalidArgument, "give patient_id or patient, not both", "patient");
    }
    out.new_.emplace();
    TM_TRY(ApplyPatient(*inline_patient, *out.new_));
    if (out.new_->time_zone.empty()) out.new_->time_zone = "UTC";
  } else if (!out.id_) {
    return Fail(ErrorCode::kInvalidArgument, "patient_id is required", "patient_id");
  }
  return out;
}

Result<int64_t> BookingPatient::Resolve(store::Tx& tx, const Principal& p) const {
  if (new_) return TM_TRY(tx.CreatePatient(*new_)).id;
  TM_TRY(AuthorizePatientRead(p, *id_, tx, "patient_id"));
  TM_TRY(Bookable(tx.GetPatient(*id_), "patient", *id_, "patient_id"));
  return *id_;
}

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
