// Doctors, services and patients: create, read, update, list, deactivate.
#include <array>
#include <optional>
#include <span>

#include "api/availability.h"
#include "api/idempotency.h"
#include "api/request.h"
#include "api/views.h"
#include "net/json.h"

namespace telemeet::api {

using nlohmann::json;

namespace {

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

// ?external_ref=: the one record of a kind with that booking system id.
std::optional<std::string> ExternalRefParam(const net::Request& req) {
  auto params = req.QueryParams();
  if (!params) return std::nullopt;
  return FindValue(*params, "external_ref");
}

// The record with external_ref `ref`, or nullopt when none has it.
template <typename T>
Result<std::optional<T>> FindByRef(store::Tx& tx, store::RefKind kind, const std::string& ref,
                                   Result<T> (store::Tx::*get)(int64_t)) {
  auto id = tx.IdByExternalRef(kind, ref);
  if (!id) {
    if (id.error().code() == ErrorCode::kNotFound) return std::nullopt;
    return std::unexpected(id.error());
  }
  return TM_TRY((tx.*get)(*id));
}

// A list's shape for a lookup: the record found, or an empty list.
template <typename T, typename F>
json FoundJson(const std::optional<T>& found, F&& to_json) {
  json data = json::array();
  if (found) data.push_back(to_json(*found));
  return json{{"data", std::move(data)}, {"next_cursor", nullptr}};
}

// --- Doctors ---

constexpr std::array<std::string_view, 7> kDoctorFields = {
    "name", "email", "time_zone", "calendar_id", "active", "working_hours", "external_ref"};

// The body's working hours when it names them: nullopt (leave them), or the new value (a null
// inside clears them).
Result<std::optional<std::optional<core::WorkingHours>>> BodyWorkingHours(const Body& b) {
  if (!b.json().contains("working_hours")) return std::nullopt;
  return TM_TRY(ParseWorkingHours(b.json()["working_hours"]));
}

Status ApplyDoctor(const Body& b, core::Doctor& d) {
  if (auto s = Assign(b.OptString("name"), d.name); !s) return s;
  if (auto s = Assign(b.OptString("email"), d.email); !s) return s;
  if (auto s = Assign(b.OptString("time_zone"), d.time_zone); !s) return s;
  if (auto s = Assign(b.OptString("calendar_id"), d.calendar_id); !s) return s;
  if (auto s = Assign(b.OptString("external_ref"), d.external_ref); !s) return s;
  return Assign(b.OptBool("active"), d.active);
}

void RegisterDoctors(net::Router& r, ApiDeps& deps) {
  const net::RouteOptions reads = StoreReadRoute(deps);
  const net::RouteOptions writes = StoreWriteRoute(deps);
  r.Get("/api/v1/doctors",
        Handle(deps, Access::kRead,
               [](Call& c) -> Result<net::Response> {
                 auto page = PageFrom(c.req);
                 if (!page) return std::unexpected(page.error());
                 auto out = c.deps.store.Read([&](store::Tx& tx) -> Result<json> {
                   if (auto ref = ExternalRefParam(c.req)) {
                     // A doctor finds only themself, as in the list without the filter.
                     auto d = TM_TRY(
                         FindByRef(tx, store::RefKind::kDoctor, *ref, &store::Tx::GetDoctor));
                     if (d && c.principal.kind == Principal::Kind::kDoctor &&
                         d->id != c.principal.doctor_id) {
                       d.reset();
                     }
                     json data = json::array();
                     if (d) data.push_back(TM_TRY(DoctorWithHoursJson(tx, *d)));
                     return json{{"data", std::move(data)}, {"next_cursor", nullptr}};
                   }
                   if (c.principal.kind == Principal::Kind::kDoctor) {
                     // A doctor's list holds their own record only.
                     auto d = tx.GetDoctor(c.principal.doctor_id);
                     if (!d) return std::unexpected(d.error());
                     auto j = TM_TRY(DoctorWithHoursJson(tx, *d));
                     return json{{"data", json::array({std::move(j)})}, {"next_cursor", nullptr}};
                   }
                   auto p = tx.ListDoctors(*page);
                   if (!p) return std::unexpected(p.error());
                   json out = PageJson(*p, DoctorJson);
                   for (json& d : out["data"]) {
                     auto hours = TM_TRY(LoadWorkingHours(tx, d["id"].get<int64_t>()));
                     d["working_hours"] = hours ? WorkingHoursJson(*hours) : json(nullptr);
                   }
                   return out;
                 });
                 if (!out) return std::unexpected(out.error());
                 return net::JsonResponse(200, *out);
               }),
        reads);

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
                  auto hours = TM_TRY(BodyWorkingHours(*body));
                  auto key = TM_TRY(IdempotencyKey::From(c, "doctors", body->json().dump()));
                  return CreateOnce(c, key, [&]() -> Result<net::Response> {
                    auto out = TM_TRY(c.deps.store.Transact([&](store::Tx& tx) -> Result<json> {
                      auto made = TM_TRY(tx.CreateDoctor(d));
                      if (hours) TM_TRY(SaveWorkingHours(tx, made.id, *hours));
                      json j = TM_TRY(DoctorWithHoursJson(tx, made));
                      TM_TRY(key.Remember(tx, c.deps, 201, j));
                      return j;
                    }));
                    return net::JsonResponse(201, out);
                  });
                }),
         writes);

  r.Get("/api/v1/doctors/{id}",
        Handle(deps, Access::kRead,
               [](Call& c) -> Result<net::Response> {
                 auto id = PathId(c.req, "doctor");
                 if (!id) return std::unexpected(id.error());
                 if (auto s = AuthorizeDoctor(c.principal, *id); !s)
                   return std::unexpected(s.error());
                 auto d = TM_TRY(c.deps.store.Read([&](store::Tx& tx) -> Result<json> {
                   return DoctorWithHoursJson(tx, TM_TRY(tx.GetDoctor(*id)));
                 }));
                 return net::JsonResponse(200, d);
               }),
        reads);

  r.Patch("/api/v1/doctors/{id}",
          Handle(deps, Access::kWrite,
                 [](Call& c) -> Result<net::Response> {
                   if (auto s = AuthorizeCatalogWrite(c.principal); !s)
                     return std::unexpected(s.error());
                   auto id = PathId(c.req, "doctor");
                   if (!id) return std::unexpected(id.error());
                   auto body = Body::Parse(c.req, c.deps.options, kDoctorFields);
                   if (!body) return std::unexpected(body.error());
                   auto hours = TM_TRY(BodyWorkingHours(*body));
                   auto out = TM_TRY(c.deps.store.Transact([&](store::Tx& tx) -> Result<json> {
                     auto d = TM_TRY(tx.GetDoctor(*id));
                     TM_TRY(ApplyDoctor(*body, d));
                     auto updated = TM_TRY(tx.UpdateDoctor(d));
                     if (hours) TM_TRY(SaveWorkingHours(tx, updated.id, *hours));
                     return DoctorWithHoursJson(tx, updated);
                   }));
                   return net::JsonResponse(200, out);
                 }),
          writes);

  r.Post("/api/v1/doctors/{id}/deactivate",
         Handle(deps, Access::kWrite,
                [](Call& c) -> Result<net::Response> {
                  if (auto s = AuthorizeCatalogWrite(c.principal); !s)
                    return std::unexpected(s.error());
                  auto id = PathId(c.req, "doctor");
                  if (!id) return std::unexpected(id.error());
                  auto out = c.deps.store.Transact([&](store::Tx& tx) -> Result<json> {
                    auto d = TM_TRY(tx.GetDoctor(*id));
                    d.active = false;
                    return DoctorWithHoursJson(tx, TM_TRY(tx.UpdateDoctor(d)));
                  });
                  if (!out) return std::unexpected(out.error());
                  return net::JsonResponse(200, *out);
                }),
         writes);
}

// --- Services and patients ---
// Their routes have one shape; their `active` flag lives in the settings table because the
// store has no column for it (InactiveKey in views.h).

constexpr std::array<std::string_view, 6> kServiceFields = {
    "name", "telemedicine", "default_duration_minutes", "title_template", "active", "external_ref"};

Status ApplyService(const Body& b, core::Service& s) {
  TM_TRY(Assign(b.OptString("name"), s.name));
  TM_TRY(Assign(b.OptBool("telemedicine"), s.telemedicine));
  TM_TRY(Assign32(b.OptInt("default_duration_minutes"), s.default_duration_minutes,
                  "default_duration_minutes"));
  TM_TRY(Assign(b.OptString("title_template"), s.event_title_template));
  TM_TRY(Assign(b.OptString("external_ref"), s.external_ref));
  return Assign(b.OptBool("active"), s.active);
}

}  // namespace

Status ApplyPatient(const Body& b, core::Patient& p) {
  TM_TRY(Assign(b.OptString("name"), p.name));
  TM_TRY(Assign(b.OptString("email"), p.email));
  TM_TRY(Assign(b.OptString("phone"), p.phone));
  TM_TRY(Assign(b.OptString("time_zone"), p.time_zone));
  TM_TRY(Assign(b.OptString("external_ref"), p.external_ref));
  return Assign(b.OptBool("active"), p.active);
}

namespace {

// Services and patients: a name, body fields, store operations, JSON shape and read rules.
// (Doctors differ: their own rules for who reads and changes them.)
template <typename T>
struct CatalogKind {
  std::string_view kind;  // "service": the path ("/api/v1/services"), errors, the active key
  store::RefKind ref_kind;
  std::span<const std::string_view> fields;
  Status (*apply)(const Body&, T&);
  Result<T> (store::Tx::*create)(T);
  Result<T> (store::Tx::*get)(int64_t);
  Result<T> (store::Tx::*update)(const T&);
  Result<store::Page<T>> (store::Tx::*list)(const store::PageRequest&);
  // A doctor's list, when it is not the whole list (nullptr: the whole list).
  Result<store::Page<T>> (store::Tx::*list_of_doctor)(int64_t, const store::PageRequest&);
  json (*to_json)(const T&);
  // Runs after the record was found (so an unknown id stays a 404).
  Status (*authorize_read)(const Principal&, int64_t id, store::Tx&);
};

Status AnyoneWhoMayRead(const Principal&, int64_t, store::Tx&) { return Ok(); }
Status PatientReadable(const Principal& p, int64_t id, store::Tx& tx) {
  return AuthorizePatientRead(p, id, tx);
}

const CatalogKind<core::Service> kServices{.kind = "service",
                                           .ref_kind = store::RefKind::kService,
                                           .fields = kServiceFields,
                                           .apply = ApplyService,
                                           .create = &store::Tx::CreateService,
                                           .get = &store::Tx::GetService,
                                           .update = &store::Tx::UpdateService,
                                           .list = &store::Tx::ListServices,
                                           .to_json = ServiceJson,
                                           .authorize_read = AnyoneWhoMayRead};

const CatalogKind<core::Patient> kPatients{.kind = "patient",
                                           .ref_kind = store::RefKind::kPatient,
                                           .fields = kPatientFields,
                                           .apply = ApplyPatient,
                                           .create = &store::Tx::CreatePatient,
                                           .get = &store::Tx::GetPatient,
                                           .update = &store::Tx::UpdatePatient,
                                           .list = &store::Tx::ListPatients,
                                           .list_of_doctor = &store::Tx::ListPatientsOfDoctor,
                                           .to_json = PatientJson,
                                           .authorize_read = PatientReadable};

template <typename T>
void RegisterCatalogKind(net::Router& r, ApiDeps& deps, const CatalogKind<T>& k) {
  const net::RouteOptions reads = StoreReadRoute(deps);
  const net::RouteOptions writes = StoreWriteRoute(deps);
  const std::string collection = "/api/v1/" + std::string(k.kind) + "s";
  r.Get(collection,
        Handle(deps, Access::kRead,
               [&k](Call& c) -> Result<net::Response> {
                 store::PageRequest page = TM_TRY(PageFrom(c.req));
                 const bool doctor = c.principal.kind == Principal::Kind::kDoctor;
                 auto out = TM_TRY(c.deps.store.Read([&](store::Tx& tx) -> Result<json> {
                   if (auto ref = ExternalRefParam(c.req)) {
                     auto found = TM_TRY(FindByRef(tx, k.ref_kind, *ref, k.get));
                     // What the principal may not read is not there, as in the list.
                     if (found && !k.authorize_read(c.principal, found->id, tx)) found.reset();
                     return FoundJson(found, k.to_json);
                   }
                   store::Page<T> p =
                       TM_TRY(doctor && k.list_of_doctor != nullptr
                                  ? (tx.*k.list_of_doctor)(c.principal.doctor_id, page)
                                  : (tx.*k.list)(page));
                   json data = json::array();
                   for (const T& item : p.items) data.push_back(k.to_json(item));
                   return json{{"data", std::move(data)},
                               {"next_cursor",
                                p.next_cursor.empty() ? json(nullptr) : json(p.next_cursor)}};
                 }));
                 return net::JsonResponse(200, out);
               }),
        reads);

  r.Post(collection,
         Handle(deps, Access::kWrite,
                [&k](Call& c) -> Result<net::Response> {
                  TM_TRY(AuthorizeCatalogWrite(c.principal));
                  Body body = TM_TRY(Body::Parse(c.req, c.deps.options, k.fields));
                  T item;
                  TM_TRY(k.apply(body, item));
                  if (!body.Has("name")) {
                    return Fail(ErrorCode::kInvalidArgument, "name is required", "name");
                  }
                  auto key = TM_TRY(
                      IdempotencyKey::From(c, std::string(k.kind) + "s", body.json().dump()));
                  return CreateOnce(c, key, [&]() -> Result<net::Response> {
                    auto out = TM_TRY(c.deps.store.Transact([&](store::Tx& tx) -> Result<json> {
                      json j = k.to_json(TM_TRY((tx.*k.create)(item)));
                      TM_TRY(key.Remember(tx, c.deps, 201, j));
                      return j;
                    }));
                    return net::JsonResponse(201, out);
                  });
                }),
         writes);

  r.Get(collection + "/{id}",
        Handle(deps, Access::kRead,
               [&k](Call& c) -> Result<net::Response> {
                 int64_t id = TM_TRY(PathId(c.req, k.kind));
                 auto out = TM_TRY(c.deps.store.Read([&](store::Tx& tx) -> Result<json> {
                   T item = TM_TRY((tx.*k.get)(id));
                   TM_TRY(k.authorize_read(c.principal, id, tx));
                   return k.to_json(item);
                 }));
                 return net::JsonResponse(200, out);
               }),
        reads);

  // PATCH applies a body (active included); deactivate only clears the flag.
  auto change = [&k](bool deactivate) {
    return [&k, deactivate](Call& c) -> Result<net::Response> {
      TM_TRY(AuthorizeCatalogWrite(c.principal));
      int64_t id = TM_TRY(PathId(c.req, k.kind));
      std::optional<Body> body;
      if (!deactivate) body = TM_TRY(Body::Parse(c.req, c.deps.options, k.fields));
      auto out = TM_TRY(c.deps.store.Transact([&](store::Tx& tx) -> Result<json> {
        T item = TM_TRY((tx.*k.get)(id));
        if (body) {
          TM_TRY(k.apply(*body, item));
        } else {
          item.active = false;
        }
        item = TM_TRY((tx.*k.update)(item));
        return k.to_json(item);
      }));
      NotifyWork(c.deps);  // a patient's new email makes their events' reconciles due
      return net::JsonResponse(200, out);
    };
  };
  r.Patch(collection + "/{id}", Handle(deps, Access::kWrite, change(false)), writes);
  r.Post(collection + "/{id}/deactivate", Handle(deps, Access::kWrite, change(true)), writes);
}

}  // namespace

void RegisterCatalogRoutes(net::Router& router, ApiDeps& deps) {
  RegisterDoctors(router, deps);
  RegisterCatalogKind(router, deps, kServices);
  RegisterCatalogKind(router, deps, kPatients);
}

}  // namespace telemeet::api
