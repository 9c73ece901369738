// A Transport that sends the Calendar calls of many threads as batch requests
// (google-protocol.md §10): each thread's CalendarClient call stays a call of its own (its own
// token, rate-limiter permits, retry policy and 401 refresh, reported to the observer as
// usual), but the HTTP exchange is one part of a multipart/mixed POST to /batch/calendar/v3
// carrying up to `max_parts` calls that share an Authorization header. A part's answer is
// handed to its caller as if it had come alone, so an inner 403/429/5xx is retried by that
// caller's retry policy, alone, with back-off, and joins a later batch; when the batch request
// fails as a whole (transport error, non-2xx, unreadable answer) every caller in it gets that
// failure and retries it the same way. Calls outside /calendar/v3 and conditional ones
// (If-Match, which the batch codec does not carry per part) go straight through.
//
// When to send: bulk work runs a known set of threads (participants, Join/Leave). A batch goes
// out once every participant is waiting on a call, or `max_parts` calls wait, or the oldest
// waiting call has waited `linger` (a participant busy elsewhere, e.g. in a back-off sleep,
// cannot hold the others for longer). Not a quiet period after the last call: participants
// that reach their call one store commit apart (SQLite commits one at a time) would each go
// alone.
//
//   BatchingTransport batching(http, "https://www.googleapis.com");
//   CalendarClient calendar(options, {.transport = batching, ...});
//   // on each of N threads:  BatchingTransport::Participant p(batching); calendar.InsertEvent(...)
//
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "google/transport.h"

namespace telemeet::google {

struct BatchingOptions {
  size_t max_parts = 50;  // google-protocol.md §10: 50 to be safe
  std::chrono::milliseconds linger{1000};
};

class BatchingTransport final : public Transport {
 public:
  // `base_url` is the Calendar client's (CalendarOptions::base_url); `inner` must outlive this.
  BatchingTransport(Transport& inner, std::string base_url, BatchingOptions options = {});

  // Transport
  Result<HttpResponse> Send(const HttpRequest& request) override;

  // A thread that takes part in bulk work, for the scope of the object.
  class Participant {
   public:
    explicit Participant(BatchingTransport& t) : t_(t) { t_.Join(); }
    ~Participant() { t_.Leave(); }
    Participant(const Participant&) = delete;
    Participant& operator=(const Participant&) = delete;

   private:
    BatchingTransport& t_;
  };
  void Join();
  void Leave();

  // Batch requests sent (each one HTTP exchange), and the calls they carried.
  int64_t batches_sent() const { return batches_.load(); }
  int64_t calls_batched() const { return calls_.load(); }

 private:
  struct Waiter {
    const HttpRequest* request = nullptr;
    std::string auth;
    std::chrono::steady_clock::time_point since{};
    std::optional<Result<HttpResponse>> answer{};
  };

  // Takes the oldest waiting call's group (same Authorization, at most max_parts) off the queue
  // and sends it, outside the lock; answers each waiter. Called with `lock` held, returns with
  // it held.
  void FlushOne(std::unique_lock<std::mutex>& lock);
  bool ShouldFlush() const;  // mu_ held

  Transport& inner_;
  std::string base_url_;
  const BatchingOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Waiter>> queue_;  // guarded by mu_
  int participants_ = 0;                       // guarded by mu_
  int waiting_ = 0;                            // participants' calls queued; guarded by mu_
  std::atomic<int64_t> batches_{0};
  std::atomic<int64_t> calls_{0};
};

}  // namespace telemeet::google
