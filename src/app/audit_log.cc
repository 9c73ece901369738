#include "app/audit_log.h"

#include "obs/log.h"

namespace telemeet::app {

namespace {

void Audit(std::string_view actor, std::string_view action, const nlohmann::json& detail) {
  obs::Log().Info("admin action", {{"actor", actor}, {"action", action}, {"detail", detail}});
}

}  // namespace

void AuditCli(std::string_view action, const nlohmann::json& detail) {
  Audit("cli", action, detail);
}

void AuditSystem(std::string_view action, const nlohmann::json& detail) {
  Audit("system", action, detail);
}

}  // namespace telemeet::app
