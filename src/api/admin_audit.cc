#include "api/admin_audit.h"

#include <algorithm>

#include "api/request.h"
#include "base/redact.h"
#include "base/strings.h"
#include "net/json.h"

namespace telemeet::api {

using nlohmann::json;

Status AuditAdminChange(store::Tx& tx, const Principal& who, std::string_view kind,
                        std::string_view action, std::string target, const json& detail) {
  // A kind outside the list would be an entry GET /api/v1/audit?kind= can never find.
  if (std::find(core::kAdminAuditKinds.begin(), core::kAdminAuditKinds.end(), kind) ==
      core::kAdminAuditKinds.end()) {
    return Fail(ErrorCode::kInternal, "unknown admin audit kind " + std::string(kind));
  }
  core::AdminAuditEntry e;
  e.actor = who.actor;
  e.kind = std::string(kind);
  e.action = std::string(action);
  e.target = std::move(target);
  e.detail = RedactJson(detail.is_null() ? json::object() : detail)
                 .dump(-1, ' ', false, json::error_handler_t::replace);
  TM_TRY(tx.AppendAdminAudit(std::move(e)));
  return Ok();
}

Status AuditWebhookEndpoint(store::Tx& tx, const Principal& who, std::string_view action,
                            const core::WebhookEndpoint& endpoint,
                            const std::vector<std::string_view>& changed) {
  json detail = {{"changed", json::array()}};
  for (std::string_view field : changed) {
    detail["changed"].push_back(field);
    if (field == "url") detail["url"] = UrlOrigin(endpoint.url);
    if (field == "topics") detail["topics"] = Words(endpoint.topics);
    if (field == "active") detail["active"] = endpoint.active;
  }
  return AuditAdminChange(tx, who, "webhook_endpoint", action,
                          "webhook_endpoint:" + std::to_string(endpoint.id), detail);
}

std::string UrlOrigin(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  size_t end = url.find_first_of("/?#", scheme + 3);
  std::string_view authority = url.substr(
      scheme + 3, end == std::string_view::npos ? std::string_view::npos : end - scheme - 3);
  // user:password@ is a secret too.
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  return std::string(url.substr(0, scheme + 3)) + std::string(authority);
}

json Words(std::string_view space_separated) {
  json out = json::array();
  for (std::string_view w : Split(space_separated, ' ')) {
    if (!w.empty()) out.push_back(std::string(w));
  }
  return out;
}

json AdminAuditJson(const core::AdminAuditEntry& e) {
  json detail = json::parse(e.detail, nullptr, false);
  if (detail.is_discarded()) detail = e.detail;
  return {{"id", e.id},           {"object", "admin_audit_entry"},
          {"at", TimeJson(e.at)}, {"actor", e.actor},
          {"kind", e.kind},       {"action", e.action},
          {"target", e.target},   {"detail", std::move(detail)}};
}

void RegisterAuditRoutes(net::Router& r, ApiDeps& deps) {
  r.Get("/api/v1/audit",
        Handle(deps, Access::kAdmin,
               [](Call& c) -> Result<net::Response> {
                 auto page = TM_TRY(PageFrom(c.req));
                 store::AdminAuditFilter filter;
                 filter.actor = c.req.Query("actor").value_or("");
                 filter.kind = c.req.Query("kind").value_or("");
                 if (!filter.kind.empty() &&
                     std::find(core::kAdminAuditKinds.begin(), core::kAdminAuditKinds.end(),
                               filter.kind) == core::kAdminAuditKinds.end()) {
                   std::string list;
                   for (std::string_view k : core::kAdminAuditKinds) {
                     list += (list.empty() ? "" : ", ") + std::string(k);
                   }
                   return Fail(ErrorCode::kInvalidArgument, "kind must be one of: " + list, "kind");
                 }
                 auto p = TM_TRY(c.deps.store.Read(
                     [&](store::Tx& tx) { return tx.ListAdminAudit(filter, page); }));
                 return net::JsonResponse(200, PageJson(p, AdminAuditJson));
               }),
        StoreReadRoute(deps));
}

}  // namespace telemeet::api
