#include "api/idempotency.h"

#include <algorithm>

#include "base/strings.h"
#include "net/json.h"

namespace telemeet::api {

using nlohmann::json;

namespace {

constexpr size_t kMaxKey = 255;
constexpr std::string_view kField = "Idempotency-Key";

net::Response Replayed(int status, json body) {
  net::Response resp = net::JsonResponse(status, body);
  resp.headers.Set("Idempotent-Replayed", "true");
  return resp;
}

}  // namespace

Result<IdempotencyKey> IdempotencyKey::From(const Call& c, std::string_view collection,
                                            std::string_view request) {
  IdempotencyKey out;
  auto header = c.req.Header(kField);
  if (!header) return out;
  std::string_view k = Trim(*header);
  bool printable = std::all_of(k.begin(), k.end(), [](char ch) { return ch > 32 && ch < 127; });
  if (k.empty() || k.size() > kMaxKey || !printable) {
    return Fail(ErrorCode::kInvalidArgument,
                "Idempotency-Key must be 1 to 255 printable characters", std::string(kField));
  }
  out.key_ = c.principal.actor + ":" + std::string(collection) + ":" + std::string(k);
  out.request_hash_ = TokenHash(request);
  return out;
}

Result<std::optional<net::Response>> IdempotencyKey::Earlier(store::Tx& tx) const {
  if (empty()) return std::nullopt;
  auto prior = tx.GetIdempotency(key_);
  if (!prior) {
    if (prior.error().code() == ErrorCode::kNotFound) return std::nullopt;
    return std::unexpected(prior.error());
  }
  if (prior->request_hash != request_hash_) {
    json error = {{"code", "idempotency_key_reused"},
                  {"message",
                   "this Idempotency-Key was used with a different request; use a new key for a "
                   "new request"},
                  {"field", kField}};
    return net::JsonResponse(422, json{{"error", std::move(error)}});
  }
  return Replayed(prior->response_status, json::parse(prior->response_body, nullptr, false));
}

Status IdempotencyKey::Remember(store::Tx& tx, const ApiDeps& deps, int status,
                                const json& body) const {
  if (empty()) return Ok();
  core::IdempotencyRecord rec{.key = key_,
                              .request_hash = request_hash_,
                              .response_status = status,
                              .response_body = body.dump(),
                              .expires_at = deps.clock.Now() + deps.options.idempotency_ttl};
  auto s = tx.PutIdempotency(rec);
  if (!s && s.error().code() == ErrorCode::kAlreadyExists) {
    return Fail(ErrorCode::kAlreadyExists, "a concurrent request used this Idempotency-Key",
                std::string(kField));
  }
  return s;
}

bool IdempotencyKey::LostRace(const Error& e) {
  return e.code() == ErrorCode::kAlreadyExists && e.field() == kField;
}

Result<net::Response> CreateOnce(Call& c, const IdempotencyKey& key,
                                 const std::function<Result<net::Response>()>& create) {
  if (key.empty()) return create();
  auto earlier = [&] { return c.deps.store.Read([&](store::Tx& tx) { return key.Earlier(tx); }); };
  if (auto before = TM_TRY(earlier())) return std::move(*before);
  auto made = create();
  if (!made && IdempotencyKey::LostRace(made.error())) {
    if (auto winner = TM_TRY(earlier())) return std::move(*winner);
  }
  return made;
}

}  // namespace telemeet::api
