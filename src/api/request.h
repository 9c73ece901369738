// Plumbing shared by the API's route files: strict JSON bodies (body.h, included here), ids and
// pagination from the URL, and the handler wrapper that authenticates, checks the access level
// and turns errors into the JSON error body {"error": {"code", "message", "field"}}.
//
//   router.Post("/api/v1/doctors", Handle(deps, Access::kWrite, [&](Call& c) -> Result<...> {
//     auto body = Body::Parse(c.req, deps.options, {"name", "email", "time_zone"});
//     if (!body) return std::unexpected(body.error());
//     auto name = body->String("name");           // kInvalidArgument "name is required"
//     ...
//   }), {.offload = true});
//
// Internal to the api library.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/api.h"
#include "api/auth.h"
#include "api/body.h"
#include "base/error.h"
#include "net/http.h"
#include "net/router.h"
#include "store/store.h"

namespace telemeet::api {

// A path id: a positive decimal integer; kNotFound ("<what> <text> does not exist") otherwise.
Result<int64_t> PathId(const net::Request& req, std::string_view what,
                       std::string_view param = "id");

// ?limit=&cursor=: limit 1..100 (default 20); kInvalidArgument naming "limit".
Result<store::PageRequest> PageFrom(const net::Request& req);

// {"data": [...], "next_cursor": "..." or null}
template <typename T, typename F>
nlohmann::json PageJson(const store::Page<T>& page, F&& to_json) {
  nlohmann::json data = nlohmann::json::array();
  for (const T& item : page.items) data.push_back(to_json(item));
  return {{"data", std::move(data)},
          {"next_cursor",
           page.next_cursor.empty() ? nlohmann::json(nullptr) : nlohmann::json(page.next_cursor)}};
}

enum class Access {
  kPublic,  // no credentials needed
  kRead,    // any principal with read access
  kWrite,   // any principal with write access (and CSRF for cookies)
  kAdmin,   // admin sessions only (writes also need CSRF)
};

struct Call {
  net::Request& req;
  ApiDeps& deps;
  Principal principal;  // empty for kPublic routes
};

using CallHandler = std::function<Result<net::Response>(Call&)>;

// The options of a route that only reads the store. SQLite reads are in-process and, in WAL
// mode, never wait for a writer: they run on the I/O thread, which saves the hand-off to the
// worker pool and back (a fifth of a GET's CPU in bench/api). PostgreSQL reads are network
// round trips: they go to the worker pool like every write. (Authentication may write too, in
// SQLite a short transaction: an API key's last-used time, at most once per touch interval.)
net::RouteOptions StoreReadRoute(const ApiDeps& deps);

// The options of a route that writes the store and calls nothing outside it: on the worker pool,
// in parallel. With SQLite the store's group commit (store.h Store::Run) turns the writes that
// arrive together into one transaction and one fsync; a serial lane here would leave it nothing
// to group.
net::RouteOptions StoreWriteRoute(const ApiDeps& deps);

// Authenticates and checks `access`, runs `fn`, and renders an error result as JSON.
net::Handler Handle(ApiDeps& deps, Access access, CallHandler fn);

// A patient's fields in a body (POST and PATCH /patients; a new patient inside
// POST /appointments): what the body holds is applied to `p`.
inline constexpr std::array<std::string_view, 6> kPatientFields = {
    "name", "email", "phone", "time_zone", "active", "external_ref"};
Status ApplyPatient(const Body& b, core::Patient& p);

// Text of an Instant for JSON, or null for the zero instant.
nlohmann::json TimeJson(Instant t);

// Calls deps.on_work_enqueued when set.
void NotifyWork(ApiDeps& deps);

}  // namespace telemeet::api
