// The admin audit (M25): every change an administrator makes to settings, Google settings,
// users, API keys and webhook endpoints is recorded (who, what, when; never a secret) in the
// transaction that makes it, and listed by GET /api/v1/audit (admins only, newest first,
// ?actor= and ?kind= filters, paged like every list). Internal to the api library.
//
//   auto out = deps.store.Transact([&](store::Tx& tx) -> Result<core::User> {
//     auto saved = TM_TRY(tx.UpdateUser(u));
//     TM_TRY(AuditAdminChange(tx, c.principal, "user", "user.updated", "user:3",
//                             {{"changed", {"name"}}, {"name", u.name}}));
//     return saved;
//   });
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "api/api.h"
#include "api/auth.h"
#include "base/error.h"
#include "core/types.h"
#include "net/router.h"
#include "store/store.h"

namespace telemeet::api {

// Appends one admin audit entry in `tx`: actor = who.actor, kind one of core::kAdminAuditKinds.
// `detail` names what changed (field names, ids, new values that are not secret); as a guard,
// any member whose name marks a secret (base/redact.h) is replaced by "[REDACTED]".
Status AuditAdminChange(store::Tx& tx, const Principal& who, std::string_view kind,
                        std::string_view action, std::string target, const nlohmann::json& detail);

// AuditAdminChange for a webhook endpoint: `changed` names the fields set, and the detail
// carries their values (the URL as its UrlOrigin).
Status AuditWebhookEndpoint(store::Tx& tx, const Principal& who, std::string_view action,
                            const core::WebhookEndpoint& endpoint,
                            const std::vector<std::string_view>& changed);

// What the audit keeps of a webhook URL: scheme, host and port. The path and query of a webhook
// URL often carry the receiver's secret (a token in the path, ?key=...).
std::string UrlOrigin(std::string_view url);

// "read write" as ["read", "write"]; "" as [].
nlohmann::json Words(std::string_view space_separated);

nlohmann::json AdminAuditJson(const core::AdminAuditEntry& e);

// GET /api/v1/audit.
void RegisterAuditRoutes(net::Router& router, ApiDeps& deps);

}  // namespace telemeet::api
