// Routes the Google clients' CallRecords to the job the calling thread is running, so each
// reconcile run can write its own calls to the appointment's audit trail. The Calendar client
// and the token provider report synchronously on the thread that made the call, so a
// thread-local scope is enough; records made outside any scope only go to `next`.
//
//   CallCollector calls(&metrics_observer);              // `next` may be nullptr
//   CalendarClient calendar(options, {..., .observer = &calls});
//   {
//     CallCollector::Scope scope;                        // on the worker thread
//     calendar.InsertEvent(...);
//     std::vector<google::CallRecord> made = scope.Take();
//   }
//
// Thread-safe: OnCall may run on many threads at once; a Scope belongs to its thread.
#pragma once

#include <string>
#include <vector>

#include "google/observer.h"

namespace telemeet::sync {

// A call's entry in the appointment's audit trail ("google.<operation>"), its detail as JSON
// text: {"attempt","latency_ms","method","outcome","path","status"}.
std::string CallAuditDetail(const google::CallRecord& call);

class CallCollector final : public google::CallObserver {
 public:
  explicit CallCollector(google::CallObserver* next = nullptr) : next_(next) {}

  // google::CallObserver
  void OnCall(const google::CallRecord& record) override;

  // Collects the calls of this thread while it lives; scopes nest (the inner one collects).
  class Scope {
   public:
    Scope();
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    // The calls collected so far; the scope starts empty again.
    std::vector<google::CallRecord> Take();

   private:
    std::vector<google::CallRecord> records_;
    std::vector<google::CallRecord>* previous_;
  };

 private:
  google::CallObserver* next_;
};

}  // namespace telemeet::sync
