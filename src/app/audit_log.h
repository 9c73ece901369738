// Admin actions that concern no appointment (users, API keys, the sandbox's demo clinic), with
// their actor: "cli" for the admin command line, "system" for what telemeet does by itself at
// start-up.
//
//   AuditCli("user.created", {{"user_id", 7}, {"email", "ada@clinic.example"}});
//
// Each is a JSON log line on stderr ("admin action"), the operator's journal. Changes to users
// and API keys are also in the admin audit (GET /api/v1/audit): the shared functions of
// api/accounts.h write it in their transaction, with the actor they are given ("cli",
// "system"). Never pass a secret in `detail`. Safe for concurrent use.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace telemeet::app {

void AuditCli(std::string_view action, const nlohmann::json& detail);
void AuditSystem(std::string_view action, const nlohmann::json& detail);

}  // namespace telemeet::app
