#include "api/webhooks.h"

#include <charconv>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/time.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"
#include "obs/log.h"

namespace telemeet::api {

namespace {

bool Subscribed(const core::WebhookEndpoint& e, std::string_view topic) {
  if (e.topics.empty()) return true;
  for (std::string_view t : Split(e.topics, ' ')) {
    if (t == topic) return true;
  }
  return false;
}

constexpr std::string_view kErrorsHelp =
    "Webhook delivery attempts that did not deliver, by error class.";
constexpr std::string_view kDeliveriesHelp =
    "Webhook delivery attempts by outcome: delivered, retry (to be tried again), failed (given "
    "up).";

std::string BodyFor(const core::OutboxEvent& e) {
  nlohmann::json data = nlohmann::json::parse(e.payload, nullptr, false);
  if (data.is_discarded()) data = nlohmann::json::object();
  nlohmann::json body = {
      {"id", e.id},
      {"type", e.topic},
      {"created_at", core::FormatRfc3339(e.created_at)},
      {"appointment_id",
       e.appointment_id == 0 ? nlohmann::json(nullptr) : nlohmann::json(e.appointment_id)},
      {"doctor_id", e.doctor_id == 0 ? nlohmann::json(nullptr) : nlohmann::json(e.doctor_id)},
      {"data", std::move(data)}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string WebhookSecretAad(int64_t endpoint_id) {
  return "webhook_endpoint:" + std::to_string(endpoint_id) + "/secret";
}

std::string SignatureHeaderValue(std::string_view secret, Instant at, std::string_view body,
                                 std::string_view previous_secret) {
  std::string t = std::to_string(ToUnixSeconds(at));
  std::string signed_text = t + "." + std::string(body);
  std::string out = "t=" + t + ",v1=" + crypto::HexEncode(crypto::HmacSha256(secret, signed_text));
  if (!previous_secret.empty()) {
    out += ",v1=" + crypto::HexEncode(crypto::HmacSha256(previous_secret, signed_text));
  }
  return out;
}

std::string DeliveryErrorClass(const Result<net::ClientResponse>& outcome) {
  if (!outcome) return std::string(net::FailureClass(outcome.error()));
  int status = outcome->status;
  if (status >= 200 && status < 300) return "";
  if (status < 100 || status > 599) return "http_other";
  return "http_" + std::to_string(status / 100) + "xx";
}

bool VerifySignature(std::string_view header, std::string_view secret, std::string_view body,
                     Instant now, std::chrono::seconds tolerance) {
  std::string_view t;
  std::vector<std::string_view> v1;
  for (std::string_view part : Split(header, ',')) {
    part = Trim(part);
    if (part.starts_with("t=")) t = part.substr(2);
    if (part.starts_with("v1=")) v1.push_back(part.substr(3));
  }
  int64_t unix = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), unix);
  if (t.empty() || ec != std::errc() || ptr != t.data() + t.size()) return false;
  int64_t age = ToUnixSeconds(now) - unix;
  if (age > tolerance.count() || -age > tolerance.count()) return false;
  std::string expected = SignatureHeaderValue(secret, FromUnixSeconds(unix), body);
  std::string_view expected_mac = std::string_view(expected).substr(expected.find(",v1=") + 4);
  bool ok = false;
  for (std::string_view mac : v1) ok = crypto::ConstantTimeEquals(mac, expected_mac) || ok;
  return ok;
}

WebhookDispatcher::WebhookDispatcher(store::Store& store, Clock& clock, const crypto::KeyRing& keys,
                                     WebhookOptions options)
    : store_(store),
      clock_(clock),
      keys_(keys),
      options_(std::move(options)),
      http_(net::HttpClientOptions{
          .connect_timeout =
              std::min<std::chrono::milliseconds>(options_.timeout, std::chrono::seconds(5)),
          .max_connections_per_host = 8,
          .user_agent = "telemeet-webhooks/0.1",
          // The answer's body is not read: a receiver cannot make us hold more than this (a
          // larger answer fails the attempt as too_large).
          .max_response_bytes = 1 << 20,
          .destinations = options_.destinations}) {
  if (options_.metrics != nullptr) {
    options_.metrics->DeclareCounter("telemeet_webhook_delivery_errors_total", kErrorsHelp);
    for (const char* outcome : {"delivered", "retry", "failed"}) {
      options_.metrics->GetCounter("telemeet_webhook_deliveries_total", kDeliveriesHelp,
                                   {{"outcome", outcome}});
    }
  }
}

WebhookDispatcher::~WebhookDispatcher() { Stop(); }

void WebhookDispatcher::Count(const core::WebhookDelivery& attempt) {
  if (options_.metrics == nullptr) return;
  std::string outcome = attempt.status == core::DeliveryStatus::kDelivered ? "delivered"
                        : attempt.status == core::DeliveryStatus::kFailed  ? "failed"
                                                                           : "retry";
  options_.metrics
      ->GetCounter("telemeet_webhook_deliveries_total", kDeliveriesHelp, {{"outcome", outcome}})
      .Inc();
  if (attempt.status != core::DeliveryStatus::kDelivered) {
    // One word from DeliveryErrorClass (or "secret"): bounded, and never the receiver's URL.
    options_.metrics
        ->GetCounter("telemeet_webhook_delivery_errors_total", kErrorsHelp,
                     {{"error", attempt.last_error.empty() ? "unknown" : attempt.last_error}})
        .Inc();
  }
}

Status WebhookDispatcher::Run(const core::Job& job) {
  int64_t event_id = 0;
  std::string_view digits = job.payload;
  std::from_chars(digits.data(), digits.data() + digits.size(), event_id);

  struct Snapshot {
    core::OutboxEvent event;
    std::vector<core::WebhookEndpoint> endpoints;
    std::map<int64_t, core::WebhookDelivery> deliveries;  // by endpoint id
  };
  auto snap = store_.Read([&](store::Tx& tx) -> Result<Snapshot> {
    Snapshot s;
    auto e = tx.GetOutboxEvent(event_id);
    if (!e) return std::unexpected(e.error());
    s.event = *e;
    store::PageRequest page{.limit = 1000};
    while (true) {
      auto p = tx.ListWebhookEndpoints(page);
      if (!p) return std::unexpected(p.error());
      for (auto& ep : p->items) {
        if (ep.active && Subscribed(ep, s.event.topic)) s.endpoints.push_back(std::move(ep));
      }
      if (p->next_cursor.empty()) break;
      page.cursor = p->next_cursor;
    }
    page = store::PageRequest{.limit = 1000};
    while (true) {
      auto p = tx.ListDeliveries(event_id, page);
      if (!p) return std::unexpected(p.error());
      for (auto& d : p->items) s.deliveries[d.endpoint_id] = d;
      if (p->next_cursor.empty()) break;
      page.cursor = p->next_cursor;
    }
    return s;
  });
  if (!snap) {
    if (snap.error().code() == ErrorCode::kNotFound) {
      // The event is gone: nothing to deliver.
      return store_.Transact([&](store::Tx& tx) { return tx.CompleteJob(job); });
    }
    return std::unexpected(snap.error());
  }

  const std::string body = BodyFor(snap->event);
  std::vector<core::WebhookDelivery> results;
  std::string last_error;
  bool pending = false;
  for (const core::WebhookEndpoint& ep : snap->endpoints) {
    core::WebhookDelivery d{.endpoint_id = ep.id, .event_id = event_id};
    if (auto it = snap->deliveries.find(ep.id); it != snap->deliveries.end()) d = it->second;
    if (d.status != core::DeliveryStatus::kPending) continue;  // delivered or given up
    ++d.attempts;
    auto secret = keys_.Open(ep.sealed_secret, WebhookSecretAad(ep.id));
    if (!secret) {
      obs::Log().Warn("a webhook endpoint's secret cannot be opened",
                      {{"endpoint", ep.id}, {"error", secret.error().ToString()}});
      d.status = core::DeliveryStatus::kFailed;
      d.last_error = "secret";
      Count(d);
      results.push_back(d);
      continue;
    }
    Instant now = clock_.Now();
    std::string previous;
    if (!ep.previous_sealed_secret.empty() && ep.previous_secret_expires_at &&
        now < *ep.previous_secret_expires_at) {
      // Unreadable, it is skipped: the current secret's signature still goes out.
      previous = keys_.Open(ep.previous_sealed_secret, WebhookSecretAad(ep.id)).value_or("");
    }
    net::ClientRequest req{
        .method = "POST", .url = ep.url, .body = body, .timeout = options_.timeout};
    req.headers.Set("Content-Type", "application/json");
    req.headers.Set(kSignatureHeader, SignatureHeaderValue(*secret, now, body, previous));
    req.headers.Set("Telemeet-Event-Id", std::to_string(event_id));
    req.headers.Set("Telemeet-Event-Type", snap->event.topic);
    auto resp = http_.Send(std::move(req));
    if (resp && resp->status >= 200 && resp->status < 300) {
      d.status = core::DeliveryStatus::kDelivered;
      d.response_status = resp->status;
      d.last_error.clear();
    } else {
      d.response_status = resp ? resp->status : 0;
      // The class only: the transport's text names addresses, certificates and what a probe of
      // an internal network would learn, and the log is read by integrators.
      d.last_error = DeliveryErrorClass(resp);
      if (d.last_error == "blocked") {
        // The operator's part: the endpoint's host is internal (or plain http) and not allowed.
        // Neither its URL nor the address goes to the log; the URL's path may hold a token.
        obs::Log().Warn("a webhook delivery was refused by the destination policy",
                        {{"endpoint", ep.id},
                         {"hint",
                          "list the host in webhooks.allowed_hosts, or allow http with "
                          "webhooks.allow_http"}});
      }
      if (d.attempts >= options_.max_attempts) {
        d.status = core::DeliveryStatus::kFailed;
      } else {
        pending = true;
        last_error = d.last_error;
      }
    }
    Count(d);
    results.push_back(d);
  }

  Instant now = clock_.Now();
  return store_.Transact([&](store::Tx& tx) -> Status {
    for (const core::WebhookDelivery& d : results) {
      auto r = tx.PutDelivery(d);
      if (!r && r.error().code() != ErrorCode::kNotFound) return std::unexpected(r.error());
    }
    if (pending) return tx.RetryJob(job, store::BackoffAfter(job, now), last_error);
    return tx.CompleteJob(job);
  });
}

Result<int> WebhookDispatcher::RunDue() {
  auto jobs = store_.Transact([&](store::Tx& tx) {
    return tx.LeaseJobs({.owner = options_.owner,
                         .max = options_.batch,
                         .lease_for = options_.lease_for,
                         .now = clock_.Now(),
                         .kind = std::string(store::kDeliverJobKind)});
  });
  if (!jobs) return std::unexpected(jobs.error());
  for (const core::Job& job : *jobs) {
    if (auto s = Run(job); !s) {
      obs::Log().Warn("webhook delivery job failed",
                      {{"job", job.key}, {"error", s.error().ToString()}});
    }
  }
  return static_cast<int>(jobs->size());
}

bool WebhookDispatcher::Pass() {
  auto ran = RunDue();
  if (!ran) obs::Log().Warn("webhook lease failed", {{"error", ran.error().ToString()}});
  return ran && *ran > 0;
}

}  // namespace telemeet::api
