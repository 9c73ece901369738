#include "emulator/calendar/calendar_service.h"

#include <mutex>

namespace telemeet::emulator {

std::string_view ConferenceModeName(ConferenceMode mode) {
  switch (mode) {
    case ConferenceMode::kSuccess: return "success";
    case ConferenceMode::kPending: return "pending";
    case ConferenceMode::kFailure: return "failure";
    case ConferenceMode::kRefuse: return "refuse";
  }
  return "success";
}

std::optional<ConferenceMode> ParseConferenceMode(std::string_view name) {
  for (auto m : {ConferenceMode::kSuccess, ConferenceMode::kPending, ConferenceMode::kFailure,
                 ConferenceMode::kRefuse}) {
    if (ConferenceModeName(m) == name) return m;
  }
  return std::nullopt;
}

struct CalendarService::State {
  State(const Authenticator& a, Clock& c) : auth(a), clock(c) {}
  const Authenticator& auth;
  Clock& clock;
  std::mutex mu;
};

CalendarService::CalendarService(const Authenticator& auth, Clock& clock)
    : state_(std::make_unique<State>(auth, clock)) {}
CalendarService::~CalendarService() = default;
void CalendarService::Register(net::Router&) {}
void CalendarService::Reset() {}
void CalendarService::SetPushSender(std::function<void(PushMessage)>) {}
void CalendarService::SetConferenceBehaviour(std::string_view, ConferenceBehaviour) {}
void CalendarService::SetTimeZone(std::string_view, std::string_view) {}
void CalendarService::InvalidateSyncTokens(std::string_view) {}
std::optional<nlohmann::json> CalendarService::CalendarState(std::string_view) const {
  return std::nullopt;
}

}  // namespace telemeet::emulator
