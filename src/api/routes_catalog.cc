// Doctors, services and patients: create, read, update, list, deactivate.
#include <array>

#include "api/request.h"
#include "api/views.h"
#include "net/json.h"

namespace telemeet::api {

using nlohmann::json;

namespace {

constexpr net::RouteOptions kOffload{.offload = true};

template <typename T>
Status Assign(Result<std::optional<T>> v, T& target) {
  if (!v) return std::unexpected(v.error());
  if (*v) target = std::move(**v);
  return Ok();
}

Status Assign32(Result<std::optional<int64_t>> v, int32_t& target, std::string_view field) {
  if (!v) return std::unexpected(v.error());
  if (*v) {
    if (**v < 1 || **v > 24 * 60) {
      return Fail(ErrorCode::kInvalidArgument, std::string(field) + " must be 1 to 1440",
                  std::string(field));
    }
    target = static_cast<int32_t>(**v);
  }
  return Ok();
}

// --- Doctors ---

constexpr std::array<std::string_view, 5> kDoctorFields = {"name", "email", "time_zone",
                                                           "calendar_id", "active"};

Status ApplyDoctor(const Body& b, core::Doctor& d) {
  if (auto s = Assign(b.OptString("name"), d.name); !s) return s;
  if (auto s = Assign(b.OptString("email"), d.email); !s) return s;
  if (auto s = Assign(b.OptString("time_zone"), d.time_zone); !s) return s;
  if (auto s = Assign(b.OptString("calendar_id"), d.calendar_id); !s) return s;
  return Assign(b.OptBool("active"), d.active);
}

void RegisterDoctors(net::Router& r, ApiDeps& deps) {
  r.Get("/api/v1/doctors",
        Handle(deps, Access::kRead,
               [](Call& c) -> Result<net::Response> {
                 auto page = PageFrom(c.req);
                 if (!page) return std::unexpected(page.error());
                 auto out = c.deps.store.Read([&](store::Tx& tx) -> Result<json> {
                   if (c.principal.kind == Principal::Kind::kDoctor) {
                     // A doctor's list holds their own record only.
                     auto d = tx.GetDoctor(c.principal.doctor_id);
                     if (!d) return std::unexpected(d.error());
                     return json{{"data", json::array({DoctorJson(*d)})}, {"next_cursor", nullptr}};
                   }
                   auto p = tx.ListDoctors(*page);
                   if (!p) return std::unexpected(p.error());
                   return PageJson(*p, DoctorJson);
                 });
                 if (!out) return std::unexpected(out.error());
                 return net::JsonResponse(200, *out);
               }),
        kOffload);

  r.Post("/api/v1/doctors",
         Handle(deps, Access::kWrite,
                [](Call& c) -> Result<net::Response> {
                  if (auto s = AuthorizeCatalogWrite(c.principal); !s)
                    return std::unexpected(s.error());
                  auto body = Body::Parse(c.req, c.deps.options, kDoctorFields);
                  if (!body) return std::unexpected(body.error());
                  core::Doctor d;
                  if (auto s = ApplyDoctor(*body, d); !s) return std::unexpected(s.error());
                  if (!body->Has("name"))
                    return Fail(ErrorCode::kInvalidArgument, "name is required", "name");
                  if (!body->Has("email")) {
                    return Fail(ErrorCode::kInvalidArgument, "email is required", "email");
                  }
                  auto out =
                      c.deps.store.Transact([&](store::Tx& tx) { return tx.CreateDoctor(d); });
                  if (!out) return std::unexpected(out.error());
                  return net::JsonResponse(201, DoctorJson(*out));
                }),
         kOffload);

  r.Get("/api/v1/doctors/{id}",
        Handle(deps, Access::kRead,
               [](Call& c) -> Result<net::Response> {
                 auto id = PathId(c.req, "doctor");
                 if (!id) return std::unexpected(id.error());
                 if (auto s = AuthorizeDoctor(c.principal, *id); !s)
                   return std::unexpected(s.error());
                 auto d = c.deps.store.Read([&](store::Tx& tx) { return tx.GetDoctor(*id); });
                 if (!d) return std::unexpected(d.error());
                 return net::JsonResponse(200, DoctorJson(*d));
               }),
        kOffload);

  r.Patch("/api/v1/doctors/{id}",
          Handle(deps, Access::kWrite,
                 [](Call& c) -> Result<net::Response> {
                   if (auto s = AuthorizeCatalogWrite(c.principal); !s)
                     return std::unexpected(s.error());
                   auto id = PathId(c.req, "doctor");
                   if (!id) return std::unexpected(id.error());
                   auto body = Body::Parse(c.req, c.deps.options, kDoctorFields);
                   if (!body) return std::unexpected(body.error());
                   auto out = c.deps.store.Transact([&](store::Tx& tx) -> Result<core::Doctor> {
                     auto d = tx.GetDoctor(*id);
                     if (!d) return d;
                     if (auto s = ApplyDoctor(*body, *d); !s) return std::unexpected(s.error());
                     return tx.UpdateDoctor(*d);
                   });
                   if (!out) return std::unexpected(out.error());
                   return net::JsonResponse(200, DoctorJson(*out));
                 }),
          kOffload);

  r.Post("/api/v1/doctors/{id}/deactivate",
         Handle(deps, Access::kWrite,
                [](Call& c) -> Result<net::Response> {
                  if (auto s = AuthorizeCatalogWrite(c.principal); !s)
                    return std::unexpected(s.error());
                  auto id = PathId(c.req, "doctor");
                  if (!id) return std::unexpected(id.error());
                  auto out = c.deps.store.Transact([&](store::Tx& tx) -> Result<core::Doctor> {
                    auto d = tx.GetDoctor(*id);
                    if (!d) return d;
                    d->active = false;
                    return tx.UpdateDoctor(*d);
                  });
                  if (!out) return std::unexpected(out.error());
                  return net::JsonResponse(200, DoctorJson(*out));
                }),
         kOffload);
}

// --- Services ---

constexpr std::array<std::string_view, 5> kServiceFields = {
    "name", "telemedicine", "default_duration_minutes", "title_template", "active"};

Status ApplyService(const Body& b, core::Service& s) {
  if (auto v = Assign(b.OptString("name"), s.name); !v) return v;
  if (auto v = Assign(b.OptBool("telemedicine"), s.telemedicine); !v) return v;
  if (auto v = Assign32(b.OptInt("default_duration_minutes"), s.default_duration_minutes,
                        "default_duration_minutes");
      !v) {
    return v;
  }
  return Assign(b.OptString("title_template"), s.event_title_template);
}

// Applies {"active": bool} of a body to the inactive:<kind>:<id> setting.
Status ApplyActive(store::Tx& tx, const Body& b, std::string_view kind, int64_t id) {
  auto active = b.OptBool("active");
  if (!active) return std::unexpected(active.error());
  if (!*active) return Ok();
  return tx.PutSetting(InactiveKey(kind, id), **active ? "0" : "1");
}

void RegisterServices(net::Router& r, ApiDeps& deps) {
  r.Get("/api/v1/services",
        Handle(deps, Access::kRead,
               [](Call& c) -> Result<net::Response> {
                 auto page = PageFrom(c.req);
                 if (!page) return std::unexpected(page.error());
                 auto out = c.deps.store.Read([&](store::Tx& tx) -> Result<json> {
                   auto p = tx.ListServices(*page);
                   if (!p) return std::unexpected(p.error());
                   json body =
                       PageJson(*p, [](const core::Service& s) { return ServiceJson(s, true); });
                   for (json& item : body["data"]) {
                     auto active = IsActive(tx, "service", item["id"].get<int64_t>());
                     if (!active) return std::unexpected(active.error());
                     item["active"] = *active;
                   }
                   return body;
                 });
                 if (!out) return std::unexpected(out.error());
                 return net::JsonResponse(200, *out);
               }),
        kOffload);

  r.Post("/api/v1/services",
         Handle(deps, Access::kWrite,
                [](Call& c) -> Result<net::Response> {
                  if (auto s = AuthorizeCatalogWrite(c.principal); !s)
                    return std::unexpected(s.error());
                  auto body = Body::Parse(c.req, c.deps.options, kServiceFields);
                  if (!body) return std::unexpected(body.error());
                  core::Service svc;
                  if (auto s = ApplyService(*body, svc); !s) return std::unexpected(s.error());
                  if (!body->Has("name"))
                    return Fail(ErrorCode::kInvalidArgument, "name is required", "name");
                  auto out = c.deps.store.Transact([&](store::Tx& tx) -> Result<json> {
                    auto created = tx.CreateService(svc);
                    if (!created) return std::unexpected(created.error());
                    if (auto s = ApplyActive(tx, *body, "service", created->id); !s) {
                      return std::unexpected(s.error());
                    }
                    auto active = IsActive(tx, "service", created->id);
                    if (!active) return std::unexpected(active.error());
                    return ServiceJson(*created, *active);
                  });
                  if (!out) return std::unexpected(out.error());
                  return net::JsonResponse(201, *out);
                }),
         kOffload);

  r.Get("/api/v1/services/{id}",
        Handle(deps, Access::kRead,
               [](Call& c) -> Result<net::Response> {
                 auto id = PathId(c.req, "service");
                 if (!id) return std::unexpected(id.error());
                 auto out = c.deps.store.Read([&](store::Tx& tx) -> Result<json> {
                   auto s = tx.GetService(*id);
                   if (!s) return std::unexpected(s.error());
                   auto active = IsActive(tx, "service", *id);
                   if (!active) return std::unexpected(active.error());
                   return ServiceJson(*s, *active);
                 });
                 if (!out) return std::unexpected(out.error());
                 return net::JsonResponse(200, *out);
               }),
        kOffload);

  auto update = [](bool deactivate) {
    return [deactivate](Call& c) -> Result<net::Response> {
      if (auto s = AuthorizeCatalogWrite(c.principal); !s) return std::unexpected(s.error());
      auto id = PathId(c.req, "service");
      if (!id) return std::unexpected(id.error());
      std::optional<Body> body;
      if (!deactivate) {
        auto b = Body::Parse(c.req, c.deps.options, kServiceFields);
        if (!b) return std::unexpected(b.error());
        body = std::move(*b);
      }
      auto out = c.deps.store.Transact([&](store::Tx& tx) -> Result<json> {
        auto s = tx.GetService(*id);
        if (!s) return std::unexpected(s.error());
        if (body) {
          if (auto v = ApplyService(*body, *s); !v) return std::unexpected(v.error());
          auto u = tx.UpdateService(*s);
          if (!u) return std::unexpected(u.error());
          s = *u;
          if (auto v = ApplyActive(tx, *body, "service", *id); !v)
            return std::unexpected(v.error());
        } else if (auto v = tx.PutSetting(InactiveKey("service", *id), "1"); !v) {
          return std::unexpected(v.error());
        }
        auto active = IsActive(tx, "service", *id);
        if (!active) return std::unexpected(active.error());
        return ServiceJson(*s, *active);
      });
      if (!out) return std::unexpected(out.error());
      return net::JsonResponse(200, *out);
    };
  };
  r.Patch("/api/v1/services/{id}", Handle(deps, Access::kWrite, update(false)), kOffload);
  r.Post("/api/v1/services/{id}/deactivate", Handle(deps, Access::kWrite, update(true)), kOffload);
}

// --- Patients ---

constexpr std::array<std::string_view, 5> kPatientFields = {"name", "email", "phone", "time_zone",
                                                            "active"};

Status ApplyPatient(const Body& b, core::Patient& p) {
  if (auto v = Assign(b.OptString("name"), p.name); !v) return v;
  if (auto v = Assign(b.OptString("email"), p.email); !v) return v;
  if (auto v = Assign(b.OptString("phone"), p.phone); !v) return v;
  return Assign(b.OptString("time_zone"), p.time_zone);
}

void RegisterPatients(net::Router& r, ApiDeps& deps) {
  r.Get("/api/v1/patients",
        Handle(deps, Access::kRead,
               [](Call& c) -> Result<net::Response> {
                 if (c.principal.kind == Principal::Kind::kDoctor) {
                   return Fail(ErrorCode::kPermissionDenied,
                               "doctors see patients through their appointments");
                 }
                 auto page = PageFrom(c.req);
                 if (!page) return std::unexpected(page.error());
                 auto out = c.deps.store.Read([&](store::Tx& tx) -> Result<json> {
                   auto p = tx.ListPatients(*page);
                   if (!p) return std::unexpected(p.error());
                   json body =
                       PageJson(*p, [](const core::Patient& x) { return PatientJson(x, true); });
                   for (json& item : body["data"]) {
                     auto active = IsActive(tx, "patient", item["id"].get<int64_t>());
                     if (!active) return std::unexpected(active.error());
                     item["active"] = *active;
                   }
                   return body;
                 });
                 if (!out) return std::unexpected(out.error());
                 return net::JsonResponse(200, *out);
               }),
        kOffload);

  r.Post("/api/v1/patients",
         Handle(deps, Access::kWrite,
                [](Call& c) -> Result<net::Response> {
                  if (auto s = AuthorizeCatalogWrite(c.principal); !s)
                    return std::unexpected(s.error());
                  auto body = Body::Parse(c.req, c.deps.options, kPatientFields);
                  if (!body) return std::unexpected(body.error());
                  core::Patient p;
                  if (auto s = ApplyPatient(*body, p); !s) return std::unexpected(s.error());
                  if (!body->Has("name"))
                    return Fail(ErrorCode::kInvalidArgument, "name is required", "name");
                  auto out = c.deps.store.Transact([&](store::Tx& tx) -> Result<json> {
                    auto created = tx.CreatePatient(p);
                    if (!created) return std::unexpected(created.error());
                    if (auto s = ApplyActive(tx, *body, "patient", created->id); !s) {
                      return std::unexpected(s.error());
                    }
                    auto active = IsActive(tx, "patient", created->id);
                    if (!active) return std::unexpected(active.error());
                    return PatientJson(*created, *active);
                  });
                  if (!out) return std::unexpected(out.error());
                  return net::JsonResponse(201, *out);
                }),
         kOffload);

  r.Get("/api/v1/patients/{id}",
        Handle(deps, Access::kRead,
               [](Call& c) -> Result<net::Response> {
                 auto id = PathId(c.req, "patient");
                 if (!id) return std::unexpected(id.error());
                 auto out = c.deps.store.Read([&](store::Tx& tx) -> Result<json> {
                   auto p = tx.GetPatient(*id);
                   if (!p) return std::unexpected(p.error());
                   if (auto s = AuthorizePatientRead(c.principal, *id, tx); !s) {
                     return std::unexpected(s.error());
                   }
                   auto active = IsActive(tx, "patient", *id);
                   if (!active) return std::unexpected(active.error());
                   return PatientJson(*p, *active);
                 });
                 if (!out) return std::unexpected(out.error());
                 return net::JsonResponse(200, *out);
               }),
        kOffload);

  auto update = [](bool deactivate) {
    return [deactivate](Call& c) -> Result<net::Response> {
      if (auto s = AuthorizeCatalogWrite(c.principal); !s) return std::unexpected(s.error());
      auto id = PathId(c.req, "patient");
      if (!id) return std::unexpected(id.error());
      std::optional<Body> body;
      if (!deactivate) {
        auto b = Body::Parse(c.req, c.deps.options, kPatientFields);
        if (!b) return std::unexpected(b.error());
        body = std::move(*b);
      }
      auto out = c.deps.store.Transact([&](store::Tx& tx) -> Result<json> {
        auto p = tx.GetPatient(*id);
        if (!p) return std::unexpected(p.error());
        if (body) {
          if (auto v = ApplyPatient(*body, *p); !v) return std::unexpected(v.error());
          auto u = tx.UpdatePatient(*p);
          if (!u) return std::unexpected(u.error());
          p = *u;
          if (auto v = ApplyActive(tx, *body, "patient", *id); !v)
            return std::unexpected(v.error());
        } else if (auto v = tx.PutSetting(InactiveKey("patient", *id), "1"); !v) {
          return std::unexpected(v.error());
        }
        auto active = IsActive(tx, "patient", *id);
        if (!active) return std::unexpected(active.error());
        return PatientJson(*p, *active);
      });
      if (!out) return std::unexpected(out.error());
      return net::JsonResponse(200, *out);
    };
  };
  r.Patch("/api/v1/patients/{id}", Handle(deps, Access::kWrite, update(false)), kOffload);
  r.Post("/api/v1/patients/{id}/deactivate", Handle(deps, Access::kWrite, update(true)), kOffload);
}

}  // namespace

void RegisterCatalogRoutes(net::Router& router, ApiDeps& deps) {
  RegisterDoctors(router, deps);
  RegisterServices(router, deps);
  RegisterPatients(router, deps);
}

}  // namespace telemeet::api
