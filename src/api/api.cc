#include "api/api.h"

#include "api/accounts.h"
#include "api/admin_audit.h"
#include "api/auth.h"
#include "api/availability.h"
#include "api/jobs.h"
#include "api/request.h"
#include "api/view_cache.h"
#include "api/views.h"
#include "core/validation.h"
#include "crypto/encoding.h"
#include "crypto/random.h"
#include "net/json.h"

namespace telemeet::api {

extern const std::string_view kOpenApiJson;
void RegisterNotificationRoutes(net::Router& router, ApiDeps& deps);  // routes_notifications.cc

std::string_view OpenApiDocument() { return kOpenApiJson; }

void RegisterApiRoutes(net::Router& router, ApiDeps& deps) {
  if (!deps.auth_cache) deps.auth_cache = std::make_shared<AuthCache>();
  if (!deps.login_throttle) {
    deps.login_throttle = std::make_shared<LoginThrottle>(deps.options.login_throttle);
  }
  if (!deps.usage) deps.usage = std::make_shared<UsageRecorder>(deps.store);
  // The kept answers of the two routes that read one appointment's view (view_cache.h).
  auto kept = [&](std::string_view route) {
    obs::Counter* hit = nullptr;
    obs::Counter* miss = nullptr;
    if (deps.metrics != nullptr) {
      constexpr std::string_view kName = "telemeet_api_kept_answers_total";
      constexpr std::string_view kHelp =
          "GETs of an appointment answered from the answers kept since the last commit (hit) "
          "or read (miss).";
      hit = &deps.metrics->GetCounter(kName, kHelp,
                                      {{"route", std::string(route)}, {"result", "hit"}});
      miss = &deps.metrics->GetCounter(kName, kHelp,
                                       {{"route", std::string(route)}, {"result", "miss"}});
    }
    return std::make_shared<AppointmentViewCache>(deps.options.view_cache_entries, hit, miss);
  };
  if (!deps.view_cache) deps.view_cache = kept("appointment");
  if (!deps.meeting_cache) deps.meeting_cache = kept("meeting");
  router.SetErrorRenderer([](int status, std::string_view code, std::string_view message) {
    return net::JsonError(status, code, message);
  });
  router.Get("/api/v1/openapi.json", [](net::Request&) {
    net::Response r =
        net::Response::Text(200, std::string(OpenApiDocument()), "application/json; charset=utf-8");
    r.headers.Set("Cache-Control", "public, max-age=300");
    return r;
  });
  RegisterCatalogRoutes(router, deps);
  RegisterAppointmentRoutes(router, deps);
  RegisterSeriesRoutes(router, deps);
  RegisterAdminRoutes(router, deps);
  RegisterGoogleRoutes(router, deps);
  RegisterNotificationRoutes(router, deps);
  RegisterAuditRoutes(router, deps);
  RegisterAvailabilityRoutes(router, deps);
  RegisterJobRoutes(router, deps);
}

Result<core::User> CreateAdmin(store::Store& store, std::string_view email,
                               std::string_view password, const crypto::PasswordLimits& limits) {
  NewUser u;
  u.email = std::string(email);
  u.name = "Administrator";
  u.role = "admin";
  u.password = std::string(password);
  return CreateUser(store, u, "", limits);
}

Result<NewApiKey> CreateApiKey(store::Store& store, std::string_view name, std::string_view scopes,
                               const std::function<Status(store::Tx&, const core::ApiKey&)>& also) {
  std::vector<std::string> list;
  for (std::string_view s : Split(scopes, ' ')) {
    if (!s.empty()) list.emplace_back(s);
  }
  const std::string joined = TM_TRY(JoinScopes(list));
  if (Trim(name).empty()) {
    return Fail(ErrorCode::kInvalidArgument, "name must not be empty", "name");
  }
  NewApiKey out;
  std::string prefix = crypto::HexEncode(crypto::RandomBytes(6));
  std::string secret = crypto::RandomToken(32);
  out.secret = "tm_" + prefix + "_" + secret;
  core::ApiKey k;
  k.name = std::string(name);
  k.prefix = prefix;
  k.key_hash = TokenHash(secret);
  k.scopes = joined;
  auto created = store.Transact([&](store::Tx& tx) -> Result<core::ApiKey> {
    auto key = TM_TRY(tx.CreateApiKey(k));
    if (also) TM_TRY(also(tx, key));
    return key;
  });
  if (!created) return std::unexpected(created.error());
  out.key = *created;
  return out;
}

}  // namespace telemeet::api
