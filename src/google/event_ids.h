// The ids telemeet chooses for Google (DESIGN.md "The heart"): the event id, derived from the
// appointment so a repeated insert answers 409 and the existing event is adopted (never two
// events for one appointment), and the conference requestId, stable across retries and new
// only when a failed conference is deliberately retried.
//
//   spec.id = EventIdForAppointment("appt-42");                  // "tm" + 32 base32hex chars
//   spec.conference_request_id = ConferenceRequestId("appt-42", 1);   // "appt-42-1"
#pragma once

#include <string>
#include <string_view>

namespace telemeet::google {

// "tm" followed by base32hex(first 20 bytes of SHA-256("telemeet/event/" + installation + "/" +
// appointment_id)): 34 characters of [a-v0-9], the same for the same inputs. `installation`
// keeps two telemeet deployments writing to one calendar apart.
std::string EventIdForAppointment(std::string_view appointment_id,
                                  std::string_view installation = {});

// "<appointment id>-<attempt>"; attempt starts at 1.
std::string ConferenceRequestId(std::string_view appointment_id, int attempt);

}  // namespace telemeet::google
