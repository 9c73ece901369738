#include "google/event_ids.h"

#include "crypto/encoding.h"
#include "crypto/hash.h"

namespace telemeet::google {

std::string EventIdForAppointment(std::string_view appointment_id, std::string_view installation) {
  std::string input = "telemeet/event/";
  input += installation;
  input += '/';
  input += appointment_id;
  return "tm" + crypto::Base32HexEncode(crypto::Sha256(input).substr(0, 20));
}

std::string ConferenceRequestId(std::string_view appointment_id, int attempt) {
  return std::string(appointment_id) + "-" + std::to_string(attempt);
}

}  // namespace telemeet::google
