// Admin routes for the email templates (M23; notify/templates.h):
//   GET   /api/v1/settings/notifications                 every template, its defaults and the
//                                                        variables templates may use
//   GET   /api/v1/settings/notifications/{name}          one template
//   PATCH /api/v1/settings/notifications/{name}          change some parts; null resets a part
//   PUT   /api/v1/settings/notifications/{name}          replace all three parts
//   POST  /api/v1/settings/notifications/{name}/preview  render (saved or draft parts) with
//                                                        sample values; nothing is stored
//   GET   /api/v1/settings/reminders                     the patient reminders' lead times
//   PATCH /api/v1/settings/reminders                     {"lead_times": ["24h", "1h"]} saves
//                                                        them, null goes back to the config's
// A template that does not validate is refused with 400 naming the part (error.field) and the
// unknown variable (error.message); nothing is stored then.
#include <nlohmann/json.hpp>

#include "api/admin_audit.h"
#include "api/request.h"
#include "net/json.h"
#include "notify/reminders.h"
#include "notify/templates.h"

namespace telemeet::api {

using nlohmann::json;

namespace {

constexpr net::RouteOptions kOffload{.offload = true};
constexpr notify::Part kParts[] = {notify::Part::kSubject, notify::Part::kText,
                                   notify::Part::kHtml};

json TemplateJson(const notify::StoredTemplate& t) {
  std::string_view name = t.name;
  size_t dot = name.rfind('.');
  notify::Template defaults = notify::DefaultTemplate(name);
  json out{{"object", "notification_template"},
           {"name", t.name},
           {"event", std::string(name.substr(0, dot))},
           {"recipient", std::string(name.substr(dot + 1))}};
  json customized = json::object();
  json default_parts = json::object();
  for (notify::Part p : kParts) {
    std::string key(notify::Name(p));
    out[key] = t.current.part(p);
    customized[key] = t.customized[static_cast<int>(p)];
    default_parts[key] = defaults.part(p);
  }
  out["customized"] = std::move(customized);
  out["defaults"] = std::move(default_parts);
  return out;
}

json VariablesJson() {
  json vars = json::array();
  for (const notify::VariableInfo& v : notify::KnownVariables()) {
    vars.push_back({{"name", v.name}, {"description", v.description}, {"sample", v.sample}});
  }
  return vars;
}

Result<std::string> TemplateName(const net::Request& req) {
  const std::string& name = req.Param("name");
  if (!notify::IsTemplateName(name)) {
    return Fail(ErrorCode::kNotFound, "notification template " + name + " does not exist");
  }
  return name;
}

// Applies the body's parts: a string saves that part, null resets it (PATCH); with `all`
// (PUT) every part must be a string.
Result<json> Update(Call& c, bool all) {
  auto name = TemplateName(c.req);
  if (!name) return std::unexpected(name.error());
  auto body = Body::Parse(c.req, c.deps.options, {"subject", "text", "html"});
  if (!body) return std::unexpected(body.error());
  struct Change {
    notify::Part part;
    std::optional<std::string> source;  // nullopt: reset
  };
  std::vector<Change> changes;
  for (notify::Part p : kParts) {
    std::string_view field = notify::Name(p);
    if (all) {
      auto v = body->String(field);
      if (!v) return std::unexpected(v.error());
      changes.push_back({p, *v});
    } else if (body->json().contains(field)) {
      auto v = body->OptString(field);
      if (!v) return std::unexpected(v.error());
      changes.push_back({p, *v});
    }
  }
  if (changes.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "nothing to change: send subject, text or html",
                "subject");
  }
  return c.deps.store.Transact([&](store::Tx& tx) -> Result<json> {
    for (const Change& ch : changes) {
      Status s = ch.source ? notify::SaveTemplatePart(tx, *name, ch.part, *ch.source)
                           : notify::ResetTemplatePart(tx, *name, ch.part);
      if (!s) return std::unexpected(s.error());
    }
    // The parts changed and reset, by name; a template's text is long and not the point.
    json detail = {{"template", *name}, {"changed", json::array()}, {"reset", json::array()}};
    for (const Change& ch : changes) {
      detail[ch.source ? "changed" : "reset"].push_back(notify::Name(ch.part));
    }
    TM_TRY(AuditAdminChange(tx, c.principal, "settings", "settings.notifications.updated",
                            "settings:notifications:" + *name, detail));
    auto t = notify::LoadTemplate(tx, *name);
    if (!t) return std::unexpected(t.error());
    return TemplateJson(*t);
  });
}

Result<json> ReminderSettingsJson(store::Tx& tx, const ApiOptions& options) {
  auto leads = notify::LoadLeadTimes(tx, options.reminder_lead_times);
  if (!leads) return std::unexpected(leads.error());
  return json{{"object", "reminder_settings"},
              {"lead_times", notify::FormatLeadTimes(leads->current)},
              {"defaults", notify::FormatLeadTimes(options.reminder_lead_times)},
              {"customized", leads->customized}};
}

Result<json> PatchReminders(Call& c) {
  auto body = Body::Parse(c.req, c.deps.options, {"lead_times"});
  if (!body) return std::unexpected(body.error());
  if (!body->json().contains("lead_times")) {
    return Fail(ErrorCode::kInvalidArgument,
                "lead_times is required: a list like [\"24h\", \"1h\"], or null for the "
                "configuration's",
                "lead_times");
  }
  auto items = body->OptStrings("lead_times");
  if (!items) return std::unexpected(items.error());
  std::optional<notify::LeadTimes> leads;
  if (*items) {
    auto parsed = notify::ParseLeadTimes(**items, "lead_times");
    if (!parsed) return std::unexpected(parsed.error());
    leads = std::move(*parsed);
  }
  return c.deps.store.Transact([&](store::Tx& tx) -> Result<json> {
    TM_TRY(notify::SaveLeadTimes(tx, leads));
    json detail =
        leads ? json{{"lead_times", notify::FormatLeadTimes(*leads)}} : json{{"reset", true}};
    TM_TRY(AuditAdminChange(tx, c.principal, "settings", "settings.reminders.updated",
                            "settings:reminders", detail));
    return ReminderSettingsJson(tx, c.deps.options);
  });
}

}  // namespace

void RegisterNotificationRoutes(net::Router& r, ApiDeps& deps) {
  r.Get("/api/v1/settings/reminders",
        Handle(deps, Access::kAdmin,
               [](Call& c) -> Result<net::Response> {
                 auto out = c.deps.store.Read(
                     [&](store::Tx& tx) { return ReminderSettingsJson(tx, c.deps.options); });
                 if (!out) return std::unexpected(out.error());
                 return net::JsonResponse(200, *out);
               }),
        kOffload);
  r.Patch("/api/v1/settings/reminders",
          Handle(deps, Access::kAdmin,
                 [](Call& c) -> Result<net::Response> {
                   auto out = PatchReminders(c);
                   if (!out) return std::unexpected(out.error());
                   return net::JsonResponse(200, *out);
                 }),
          kOffload);
  r.Get("/api/v1/settings/notifications",
        Handle(deps, Access::kAdmin,
               [](Call& c) -> Result<net::Response> {
                 auto out = c.deps.store.Read([](store::Tx& tx) -> Result<json> {
                   json templates = json::array();
                   for (std::string_view name : notify::TemplateNames()) {
                     auto t = notify::LoadTemplate(tx, name);
                     if (!t) return std::unexpected(t.error());
                     templates.push_back(TemplateJson(*t));
                   }
                   return json{{"object", "notification_settings"},
                               {"templates", std::move(templates)},
                               {"variables", VariablesJson()}};
                 });
                 if (!out) return std::unexpected(out.error());
                 return net::JsonResponse(200, *out);
               }),
        kOffload);
  r.Get("/api/v1/settings/notifications/{name}",
        Handle(deps, Access::kAdmin,
               [](Call& c) -> Result<net::Response> {
                 auto name = TemplateName(c.req);
                 if (!name) return std::unexpected(name.error());
                 auto t = c.deps.store.Read(
                     [&](store::Tx& tx) { return notify::LoadTemplate(tx, *name); });
                 if (!t) return std::unexpected(t.error());
                 return net::JsonResponse(200, TemplateJson(*t));
               }),
        kOffload);
  r.Patch("/api/v1/settings/notifications/{name}",
          Handle(deps, Access::kAdmin,
                 [](Call& c) -> Result<net::Response> {
                   auto out = Update(c, /*all=*/false);
                   if (!out) return std::unexpected(out.error());
                   return net::JsonResponse(200, *out);
                 }),
          kOffload);
  r.Put("/api/v1/settings/notifications/{name}",
        Handle(deps, Access::kAdmin,
               [](Call& c) -> Result<net::Response> {
                 auto out = Update(c, /*all=*/true);
                 if (!out) return std::unexpected(out.error());
                 return net::JsonResponse(200, *out);
               }),
        kOffload);
  r.Post("/api/v1/settings/notifications/{name}/preview",
         Handle(deps, Access::kAdmin,
                [](Call& c) -> Result<net::Response> {
                  auto name = TemplateName(c.req);
                  if (!name) return std::unexpected(name.error());
                  auto body = Body::Parse(c.req, c.deps.options, {"subject", "text", "html"});
                  if (!body) return std::unexpected(body.error());
                  auto t = c.deps.store.Read(
                      [&](store::Tx& tx) { return notify::LoadTemplate(tx, *name); });
                  if (!t) return std::unexpected(t.error());
                  notify::Template draft = t->current;
                  for (notify::Part p : kParts) {
                    auto v = body->OptString(notify::Name(p));
                    if (!v) return std::unexpected(v.error());
                    if (*v) draft.part(p) = **v;
                  }
                  json out{{"object", "notification_preview"}, {"name", *name}};
                  for (notify::Part p : kParts) {
                    auto rendered = notify::Render(draft.part(p), notify::SampleVariables(), p);
                    if (!rendered) return std::unexpected(rendered.error());
                    out[std::string(notify::Name(p))] = *rendered;
                  }
                  return net::JsonResponse(200, out);
                }),
         kOffload);
}

}  // namespace telemeet::api
