// The JSON shapes the API answers with, one function per resource, and the route groups'
// registration functions. Internal to the api library.
//
//   return net::JsonResponse(200, DoctorJson(doctor));
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "api/api.h"
#include "core/types.h"
#include "net/router.h"
#include "store/store.h"

namespace telemeet::api {

// A record's external_ref, or null when it has none.
nlohmann::json RefJson(const std::string& external_ref);
nlohmann::json DoctorJson(const core::Doctor& d);
nlohmann::json ServiceJson(const core::Service& s);
nlohmann::json PatientJson(const core::Patient& p);
nlohmann::json UserJson(const core::User& u);
nlohmann::json ApiKeyJson(const core::ApiKey& k);
nlohmann::json AuditJson(const core::AuditEntry& e);
nlohmann::json WebhookEndpointJson(const core::WebhookEndpoint& e);
nlohmann::json DeliveryJson(const core::WebhookDelivery& d);
nlohmann::json OutboxEventJson(const core::OutboxEvent& e);

// The meeting as embedded in an appointment: state, join_url (only once the conference exists),
// event_url, last_error, attempts, next_run_at (from the reconcile job) and parked.
nlohmann::json MeetingJson(const std::optional<core::Meeting>& m,
                           const std::optional<core::Job>& job, int64_t appointment_id);

// Reads the appointment's meeting and reconcile job and renders the appointment with them and
// its access link; `link_url` is the patient URL when a token was just issued (shown once).
Result<nlohmann::json> AppointmentJson(store::Tx& tx, const core::Appointment& a,
                                       const std::string& link_url = {});
// The same rendering of a view already read (Tx::GetAppointmentView: one statement).
nlohmann::json AppointmentViewJson(const store::AppointmentView& v,
                                   const std::string& link_url = {});
// AppointmentViewJson as JSON text (net::JsonWriter; the same bytes as DumpJson of it), for
// GET's answer, without building the nlohmann document first.
std::string AppointmentViewText(const store::AppointmentView& v, const std::string& link_url = {});
// The view's meeting as JSON text: GET /api/v1/appointments/{id}/meeting's answer, the same
// bytes as the "meeting" member of AppointmentViewText.
std::string MeetingViewText(const store::AppointmentView& v);

void RegisterCatalogRoutes(net::Router& router, ApiDeps& deps);
void RegisterAppointmentRoutes(net::Router& router, ApiDeps& deps);
void RegisterAdminRoutes(net::Router& router, ApiDeps& deps);
void RegisterGoogleRoutes(net::Router& router, ApiDeps& deps);
void RegisterSeriesRoutes(net::Router& router, ApiDeps& deps);  // routes_series.cc

}  // namespace telemeet::api
