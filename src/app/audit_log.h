// Admin actions that concern no appointment (users, API keys, the sandbox's demo clinic), with
// their actor: "cli" for the admin command line, "system" for what telemeet does by itself at
// start-up.
//
//   AuditCli("user.created", {{"user_id", 7}, {"email", "ada@clinic.example"}});
//
// Today each is a JSON log line on stderr ("admin action"); the admin audit table takes them over
// once it exists. Never pass a secret in `detail`. Safe for concurrent use.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace telemeet::app {

void AuditCli(std::string_view action, const nlohmann::json& detail);
void AuditSystem(std::string_view action, const nlohmann::json& detail);

}  // namespace telemeet::app
