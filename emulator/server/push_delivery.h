// Delivers the Calendar service's watch notifications for real: an HTTP POST with no body and
// the X-Goog-* headers to the channel's address, sent by net::HttpClient off the request path.
// Messages of one channel go out one at a time, in order (the `sync` message first), so a
// receiver never sees `exists` before `sync`.
//
//   PushDelivery push;
//   calendar.SetPushSender([&](PushMessage m) { push.Send(std::move(m)); });
//   push.WaitIdle(std::chrono::seconds(5));    // tests: everything delivered or failed
//
// Google retries 5xx answers with backoff; this emulator does not (each message is tried once)
// and records every outcome for /_emulator/push-log.
//
// Thread safety: Send may be called from any thread; destruction cancels what is in flight.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "emulator/calendar/calendar_service.h"
#include "net/http_client.h"

namespace telemeet::emulator {

class PushDelivery {
 public:
  explicit PushDelivery(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~PushDelivery();
  PushDelivery(const PushDelivery&) = delete;
  PushDelivery& operator=(const PushDelivery&) = delete;

  void Send(PushMessage message);
  // True when nothing is queued or in flight within `timeout`.
  bool WaitIdle(std::chrono::milliseconds timeout);
  // The last deliveries, oldest first: {channelId, state, address, status | error}.
  nlohmann::json Log() const;
  void ClearLog();

 private:
  void StartLocked(const std::string& channel);
  void Done(const std::string& channel, const PushMessage& message,
            const Result<net::ClientResponse>& result);

  std::chrono::milliseconds timeout_;
  mutable std::mutex mu_;
  std::condition_variable idle_;
  bool stopping_ = false;
  std::map<std::string, std::deque<PushMessage>> queues_;  // per channel; front is in flight
  size_t pending_ = 0;
  std::deque<nlohmann::json> log_;
  std::unique_ptr<net::HttpClient> client_;  // last: destroyed first, its callbacks need the rest
};

}  // namespace telemeet::emulator
