#include "sync/call_collector.h"

#include <utility>

#include "net/json.h"

namespace telemeet::sync {

std::string CallAuditDetail(const google::CallRecord& call) {
  std::string detail;
  net::JsonWriter w(detail);
  w.BeginObject().Key("attempt").Int(call.attempt);
  w.Key("latency_ms").Double(static_cast<double>(call.latency.count()) / 1000.0);
  w.Key("method").String(call.method).Key("outcome").String(call.outcome);
  w.Key("path").String(call.path).Key("status").Int(call.status).EndObject();
  return detail;
}

namespace {
thread_local std::vector<google::CallRecord>* current_records = nullptr;
}  // namespace

void CallCollector::OnCall(const google::CallRecord& record) {
  if (current_records != nullptr) current_records->push_back(record);
  if (next_ != nullptr) next_->OnCall(record);
}

CallCollector::Scope::Scope() : previous_(current_records) { current_records = &records_; }

CallCollector::Scope::~Scope() { current_records = previous_; }

std::vector<google::CallRecord> CallCollector::Scope::Take() { return std::exchange(records_, {}); }

}  // namespace telemeet::sync
