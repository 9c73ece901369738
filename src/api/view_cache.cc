#include "api/view_cache.h"

namespace telemeet::api {

std::optional<AppointmentViewCache::Answer> AppointmentViewCache::Find(
    int64_t appointment_id, const std::optional<store::CommitMark>& mark) {
  std::optional<Answer> found = Lookup(appointment_id, mark);
  if (obs::Counter* c = found ? hits_ : misses_; c != nullptr) c->Inc();
  return found;
}

std::optional<AppointmentViewCache::Answer> AppointmentViewCache::Lookup(
    int64_t appointment_id, const std::optional<store::CommitMark>& mark) {
  if (!mark) return std::nullopt;
  std::lock_guard lock(mu_);
  if (mark_ != *mark) {
    answers_.clear();  // read before a commit: never valid again
    mark_ = *mark;
    return std::nullopt;
  }
  auto it = answers_.find(appointment_id);
  if (it == answers_.end()) return std::nullopt;
  return it->second;
}

void AppointmentViewCache::Put(int64_t appointment_id, const std::optional<store::CommitMark>& mark,
                               Answer answer) {
  if (!mark || capacity_ == 0) return;
  std::lock_guard lock(mu_);
  if (mark_ != *mark) {
    answers_.clear();
    mark_ = *mark;
  }
  if (answers_.size() < capacity_ || answers_.contains(appointment_id)) {
    answers_.insert_or_assign(appointment_id, std::move(answer));
  }
}

size_t AppointmentViewCache::size() const {
  std::lock_guard lock(mu_);
  return answers_.size();
}

}  // namespace telemeet::api
