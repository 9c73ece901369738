// Webhooks to the integrator (M22): the outbox's "deliver" jobs POSTed to every active,
// subscribed endpoint, signed, retried with backoff, each attempt recorded in the delivery log.
//
// The request: POST <endpoint url>, Content-Type application/json, and
//   Telemeet-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//   Telemeet-Event-Id: <event id>        Telemeet-Event-Type: meeting.ready
// with the body {"id": 12, "type": "meeting.ready", "created_at": "...", "appointment_id": 3,
// "doctor_id": 1, "data": {...the event's payload...}}. For a while after the endpoint's secret
// was rotated the header carries a second v1, made with the previous secret
// ("t=..,v1=<new>,v1=<old>"); a receiver accepts the delivery when any v1 matches. A 2xx
// answer is a delivery; anything else (or no answer within the timeout) is retried with the
// store's backoff (1s, 2s, 4s ... capped at 5 minutes) until max_attempts, then the delivery is
// marked failed. The delivery log records why an attempt failed as one word
// (DeliveryErrorClass), never the transport's own text.
//
// Deliveries go through the dispatcher's own HTTP client, whose destination policy refuses
// internal addresses (after name resolution, at connect time) unless allowed, and plain http
// unless allowed: an integrator's URL cannot reach inside the clinic's network.
//
//   WebhookDispatcher dispatcher(*store, clock, keyring, {.owner = "host-1"});
//   dispatcher.Start();                // its own lease loop on one thread
//   worker_options.on_outbox = [&] { dispatcher.Nudge(); };  // whoever appends outbox events
//   ...
//   dispatcher.Stop();                 // finishes the job in hand, then returns
//
// Receivers verify with VerifySignature (the same code the tests use).
// Thread safety: Run may be called from several threads; Start/Stop from one controlling thread.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/background_loop.h"
#include "base/clock.h"
#include "base/error.h"
#include "core/types.h"
#include "crypto/keyring.h"
#include "net/destination_policy.h"
#include "net/http_client.h"
#include "obs/metrics.h"
#include "store/store.h"

namespace telemeet::api {

inline constexpr std::array<std::string_view, 9> kWebhookTopics = {
    "meeting.ready",     "meeting.updated",        "meeting.failed",
    "meeting.cancelled", "doctor.needs_reconnect", "appointment.changed_in_google",
    "doctor.google_account_changed",
    // Issue 18 (sync/attendance.h), under the attendance policy "complete".
    "appointment.attended", "appointment.no_show"};

inline constexpr std::string_view kSignatureHeader = "Telemeet-Signature";

// The AAD an endpoint's sealed secret is bound to.
std::string WebhookSecretAad(int64_t endpoint_id);

// "t=<unix>,v1=<hex hmac>" for `body` signed at `at`; with a previous secret (during a
// rotation's grace period) a second signature follows: "t=<unix>,v1=<new>,v1=<previous>".
std::string SignatureHeaderValue(std::string_view secret, Instant at, std::string_view body,
                                 std::string_view previous_secret = {});

// True when `header` carries a v1 signature of `body` under `secret` made within `tolerance`
// of `now` (replayed old deliveries are refused).
bool VerifySignature(std::string_view header, std::string_view secret, std::string_view body,
                     Instant now, std::chrono::seconds tolerance = std::chrono::minutes(5));

// Why a delivery attempt failed, as the delivery log shows it: "" for a 2xx answer,
// "http_4xx" (or http_1xx, http_3xx, http_5xx) for any other status, else the transport's
// failure class (net::FailureClass: "timeout", "refused", "dns", "tls", "connection",
// "blocked", ...).
std::string DeliveryErrorClass(const Result<net::ClientResponse>& outcome);

struct WebhookOptions {
  std::string owner = "webhooks";  // lease owner; unique per instance
  int max_attempts = 12;           // per endpoint, then the delivery is failed
  std::chrono::milliseconds timeout{10'000};
  std::chrono::milliseconds poll_interval{1'000};
  std::chrono::seconds lease_for{60};
  int batch = 8;
  // Where deliveries may go. The default is the strict one: https only, no internal address.
  net::DestinationPolicy destinations{};
  // Each attempt counted: telemeet_webhook_deliveries_total{outcome="delivered"|"retry"|
  // "failed"} and, when it did not deliver, telemeet_webhook_delivery_errors_total{error=<class>}.
  obs::Registry* metrics = nullptr;
};

class WebhookDispatcher {
 public:
  WebhookDispatcher(store::Store& store, Clock& clock, const crypto::KeyRing& keys,
                    WebhookOptions options = {});
  ~WebhookDispatcher();
  WebhookDispatcher(const WebhookDispatcher&) = delete;
  WebhookDispatcher& operator=(const WebhookDispatcher&) = delete;

  // Delivers the outbox event of one leased "deliver" job to every active endpoint subscribed
  // to its topic that has not had it yet, records each attempt, and completes the job (all
  // delivered or given up) or schedules its retry. Errors: the store's (kFailedPrecondition
  // "lease lost" when another lease replaced this one).
  Status Run(const core::Job& job);

  // Leases the due deliver jobs once and runs them; returns how many ran.
  Result<int> RunDue();

  void Start() { loop_.Start(); }
  void Nudge() { loop_.Nudge(); }
  void Stop() { loop_.Stop(); }

 private:
  // One pass of the background loop: RunDue; true when it ran jobs.
  bool Pass();
  void Count(const core::WebhookDelivery& attempt);

  store::Store& store_;
  Clock& clock_;
  const crypto::KeyRing& keys_;
  const WebhookOptions options_;
  // Its own client: the destination policy applies to deliveries only (Google is on loopback in
  // sandbox mode and tests).
  net::HttpClient http_;
  BackgroundLoop loop_{[this] { return Pass(); }, options_.poll_interval};  // after options_
};

}  // namespace telemeet::api
