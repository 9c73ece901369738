#include "sync/call_collector.h"

#include <utility>

namespace telemeet::sync {

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
