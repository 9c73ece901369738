// Idempotency-Key on every POST that creates something (doctors, services, patients,
// appointments, series, users, API keys, webhook endpoints): a client that retries a create
// after a lost answer gets the first answer again instead of a second record.
//
//   auto key = TM_TRY(IdempotencyKey::From(c, "doctors", body.json().dump()));
//   return CreateOnce(c, key, [&]() -> Result<net::Response> {
//     json out = TM_TRY(c.deps.store.Transact([&](store::Tx& tx) -> Result<json> {
//       json j = DoctorJson(TM_TRY(tx.CreateDoctor(d)));
//       TM_TRY(key.Remember(tx, c.deps, 201, j));  // in the transaction that created it
//       return j;
//     }));
//     return net::JsonResponse(201, out);
//   });
//
// Keys are scoped to the caller and the collection, kept `ApiOptions::idempotency_ttl`. The same
// key with a different request answers 422 `idempotency_key_reused`; a replay carries the
// header `Idempotent-Replayed: true`. A secret shown once (an API key's, a webhook secret, a
// patient link's token) is never kept: its field is null in a replay.
//
// Internal to the api library.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "api/request.h"

namespace telemeet::api {

class IdempotencyKey {
 public:
  // The request's Idempotency-Key header, scoped to the caller and `collection`; `request`
  // is what makes two requests the same one (the body's text, without any password). No
  // header: an empty key, whose Earlier finds nothing and whose Remember keeps nothing.
  // kInvalidArgument (field "Idempotency-Key") unless 1 to 255 printable characters.
  static Result<IdempotencyKey> From(const Call& c, std::string_view collection,
                                     std::string_view request);

  bool empty() const { return key_.empty(); }

  // The answer an earlier request with this key got; a 422 when that was another request;
  // nullopt when there was none.
  Result<std::optional<net::Response>> Earlier(store::Tx& tx) const;

  // Keeps `body` as this key's answer. Call it in the transaction that created the record, so
  // the two commit together. kAlreadyExists (field "Idempotency-Key") when a concurrent request
  // with the key committed first: the transaction rolls back and CreateOnce answers as a retry.
  Status Remember(store::Tx& tx, const ApiDeps& deps, int status, const nlohmann::json& body) const;

  // True for the error Remember gives when a concurrent request with the key won.
  static bool LostRace(const Error& e);

 private:
  std::string key_;
  std::string request_hash_;
};

// Runs `create` unless an earlier request with `key` was answered already (then that answer);
// when a concurrent request with the key committed first, answers as its retry would.
Result<net::Response> CreateOnce(Call& c, const IdempotencyKey& key,
                                 const std::function<Result<net::Response>()>& create);

}  // namespace telemeet::api
