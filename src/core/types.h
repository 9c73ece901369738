// The domain's value types: what the store persists and the layers above pass around. Plain
// structs without behaviour; the rules live in validation.h, appointment.h and meeting.h.
// Ids are store-assigned integers (0 = not yet stored); instants are UTC (base/clock.h).
//
//   core::Appointment a{.doctor_id = 1, .service_id = 2, .patient_id = 3,
//                       .start = *ParseRfc3339("2026-03-30T08:00:00Z"),
//                       .end = *ParseRfc3339("2026-03-30T08:30:00Z"),
//                       .time_zone = "Europe/Berlin"};
//   std::string_view s = Name(a.status);             // "booked"
//   Result<AppointmentStatus> st = ParseAppointmentStatus("confirmed");
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/error.h"

namespace telemeet::core {

enum class AppointmentStatus { kBooked, kConfirmed, kCompleted, kCancelled };

enum class MeetingState {
  kNotNeeded,          // no meeting wanted (not telemedicine, not confirmed yet, ...)
  kAwaitingDoctor,     // wanted, but the doctor has not connected Google
  kCreating,           // insert in progress or due
  kConferencePending,  // event exists, conference still being created at Google
  kReady,              // event and join link exist and match the appointment
  kUpdating,           // start/end changed, a patch is due
  kCancelling,         // the appointment was cancelled, delete due
  kCancelled,          // the event is gone
  kFailed,             // permanent error; an admin retry starts again
  kNeedsReconnect,     // the doctor's grant was revoked; resumes after reconnect
};

enum class GrantStatus { kActive, kNeedsReconnect, kDisconnected };

enum class JobState { kReady, kParked };

enum class DeliveryStatus { kPending, kDelivered, kFailed };

enum class Role { kAdmin, kDoctor };

std::string_view Name(AppointmentStatus s);
std::string_view Name(MeetingState s);
std::string_view Name(GrantStatus s);
std::string_view Name(JobState s);
std::string_view Name(DeliveryStatus s);
std::string_view Name(Role r);
// Parsers take the snake_case names above; kInvalidArgument naming `field` otherwise.
Result<AppointmentStatus> ParseAppointmentStatus(std::string_view s,
                                                 std::string_view field = "status");
Result<MeetingState> ParseMeetingState(std::string_view s, std::string_view field = "state");
Result<GrantStatus> ParseGrantStatus(std::string_view s, std::string_view field = "status");
Result<JobState> ParseJobState(std::string_view s, std::string_view field = "state");
Result<DeliveryStatus> ParseDeliveryStatus(std::string_view s, std::string_view field = "status");
Result<Role> ParseRole(std::string_view s, std::string_view field = "role");

struct Doctor {
  int64_t id = 0;
  std::string name;
  std::string email;
  std::string time_zone = "UTC";
  std::string calendar_id = "primary";  // the Google calendar events go to
  bool active = true;
  Instant created_at{};
  std::string external_ref;  // the booking system's id ("" = none); unique among doctors
};

struct Service {
  int64_t id = 0;
  std::string name;
  bool telemedicine = false;
  int32_t default_duration_minutes = 30;
  // "{service} with {doctor}"; placeholders: {service} {doctor} {patient}.
  std::string event_title_template = "{service} with {doctor}";
  bool active = true;  // a deactivated service takes no new bookings
  Instant created_at{};
  std::string external_ref;  // the booking system's id ("" = none); unique among services
};

struct Patient {
  int64_t id = 0;
  std::string name;
  std::string email;  // may be empty
  std::string phone;  // may be empty
  std::string time_zone = "UTC";
  bool active = true;  // a deactivated patient takes no new bookings
  Instant created_at{};
  std::string external_ref;  // the booking system's id ("" = none); unique among patients
};

struct Appointment {
  int64_t id = 0;
  // Random public id (32 lowercase hex chars) assigned by the store; event ids and
  // conference request ids derive from it, so they never collide across databases.
  std::string uid;
  int64_t doctor_id = 0;
  int64_t service_id = 0;
  int64_t patient_id = 0;
  Instant start{};
  Instant end{};
  std::string time_zone = "UTC";
  AppointmentStatus status = AppointmentStatus::kBooked;
  int64_t revision = 0;  // bumped by the store on every change
  std::string notes;
  Instant created_at{};
  Instant updated_at{};
  // The booking system's id ("" = none); unique among appointments. Not part of the event:
  // changing it makes no new revision.
  std::string external_ref;
  int64_t series_id = 0;  // the AppointmentSeries this is an occurrence of; 0 = none
  // For an occurrence: the start the series' rule gave it (set by the store at creation, kept
  // when it moves); the zero instant otherwise.
  Instant original_start{};
};

// A recurring series (M15): the rule its occurrences were expanded from. Each occurrence is an
// Appointment with series_id set and its own lifecycle (core/recurrence.h expands the rule).
enum class SeriesMode { kPerOccurrence, kSingleEvent };
enum class SeriesStatus { kActive, kCancelled };
std::string_view Name(SeriesMode m);
std::string_view Name(SeriesStatus s);
Result<SeriesMode> ParseSeriesMode(std::string_view s, std::string_view field = "mode");
Result<SeriesStatus> ParseSeriesStatus(std::string_view s, std::string_view field = "status");

struct AppointmentSeries {
  int64_t id = 0;
  std::string uid;  // random public id (32 hex chars) assigned by the store
  int64_t doctor_id = 0;
  int64_t service_id = 0;
  int64_t patient_id = 0;
  std::string rrule;  // canonical, as core::FormatRecurrence writes it
  std::string time_zone = "UTC";
  SeriesMode mode = SeriesMode::kPerOccurrence;
  Instant first_start{};  // the first occurrence as booked
  Instant first_end{};
  SeriesStatus status = SeriesStatus::kActive;
  std::string notes;
  Instant created_at{};
  Instant updated_at{};
};

// What exists at Google for one appointment.
struct Meeting {
  int64_t appointment_id = 0;
  int64_t doctor_id = 0;
  std::string calendar_id = "primary";
  MeetingState state = MeetingState::kNotNeeded;
  std::string event_id;  // ours, from EventIdFor(); unique per calendar
  std::string conference_id;
  std::string join_url;  // published only once the conference exists
  std::string event_url;
  std::string etag;
  int64_t synced_revision = 0;  // appointment revision the event reflects
  Instant synced_start{};       // start/end the event has at Google
  Instant synced_end{};
  int32_t conference_attempt = 1;  // part of requestId; bumped by a deliberate retry
  int32_t attempts = 0;            // consecutive failed calls
  std::string last_error;
  Instant updated_at{};
  // Set by the Google calendar sync (not by PutMeeting): what the doctor did to the event in
  // Google Calendar by hand, "moved" or "deleted"; empty while in step.
  std::string drift;
  std::string drift_etag;  // the event version that drift was reported for
  // What the event's attendees and reminders were last set to (core/meeting.h GuestsFingerprint,
  // RemindersFingerprint): a change of the patient's email or of the meeting policy is told
  // from these without asking Google. Empty: no attendees, the calendar's default reminders.
  std::string attendees_fingerprint;
  std::string reminders_fingerprint;
};

struct GoogleGrant {
  int64_t doctor_id = 0;
  std::string account_email;
  std::string scopes;                // space separated, as granted
  std::string sealed_refresh_token;  // opaque to the store (crypto::KeyRing::Seal output)
  std::string access_token;          // opaque cache; may be empty
  Instant access_token_expires_at{};
  GrantStatus status = GrantStatus::kActive;
  std::string last_error;
  int64_t version = 0;  // bumped by the store on every write
  Instant updated_at{};
};

struct Job {
  int64_t id = 0;
  std::string kind;       // "reconcile", "deliver", ...
  std::string key;        // unique: "reconcile:42"
  int64_t doctor_id = 0;  // 0 = none; lets a doctor's jobs park and wake together
  std::string payload;
  JobState state = JobState::kReady;
  Instant run_at{};
  int32_t attempts = 0;
  std::string last_error;
  std::string lease_owner;  // empty when not leased
  Instant lease_expires_at{};
  int64_t lease_seq = 0;  // fencing: bumped on every lease
  bool rerun = false;     // changed while leased: run again after completion
  Instant created_at{};
};

// A fact other systems hear about (webhooks, email), written in the causing transaction.
struct OutboxEvent {
  int64_t id = 0;
  std::string topic;  // "meeting.ready", "grant.needs_reconnect", ...
  int64_t appointment_id = 0;
  int64_t doctor_id = 0;
  std::string payload;  // JSON
  Instant created_at{};
};

struct WebhookEndpoint {
  int64_t id = 0;
  std::string url;
  std::string sealed_secret;  // opaque
  std::string topics;         // space separated; empty = all
  bool active = true;
  Instant created_at{};
  // The secret the last rotation replaced: deliveries are signed with it too until
  // previous_secret_expires_at, so receivers can switch over without losing one.
  std::string previous_sealed_secret;  // opaque; empty when never rotated
  std::optional<Instant> previous_secret_expires_at;
  std::optional<Instant> secret_rotated_at;
};

struct WebhookDelivery {
  int64_t id = 0;
  int64_t endpoint_id = 0;
  int64_t event_id = 0;
  DeliveryStatus status = DeliveryStatus::kPending;
  int32_t attempts = 0;
  int32_t response_status = 0;
  std::string last_error;
  Instant updated_at{};
};

struct AuditEntry {
  int64_t id = 0;
  int64_t appointment_id = 0;
  Instant at{};
  std::string actor;   // "worker:host-1", "user:3", "api_key:7"
  std::string action;  // "google.events.insert", "appointment.rescheduled", ...
  std::string detail;  // JSON: method, path, status, latency_ms, outcome; never a secret
};

// An administrator's change (M25): settings, Google settings, users, API keys, webhook
// endpoints; and who started a doctor's Google connect flow, and a change of the doctor's Google
// account. Apart from AuditEntry because those belong to one appointment each.
struct AdminAuditEntry {
  int64_t id = 0;
  Instant at{};
  std::string actor;   // "user:3", "api_key:7"
  std::string kind;    // one of kAdminAuditKinds
  std::string action;  // "user.created", "settings.meetings.updated", ...
  std::string target;  // what changed: "user:3", "api_key:7", "settings:meetings"
  std::string detail;  // JSON: the field names and new non-secret values; never a secret
};
inline constexpr std::array<std::string_view, 6> kAdminAuditKinds = {
    "settings", "google_settings", "user", "api_key", "webhook_endpoint", "google_connection"};

struct ApiKey {
  int64_t id = 0;
  std::string name;
  std::string prefix;    // public lookup part shown in lists
  std::string key_hash;  // hash of the secret; the secret is never stored
  std::string scopes;    // space separated
  Instant created_at{};
  std::optional<Instant> revoked_at;
  std::optional<Instant> last_used_at;
};

struct User {
  int64_t id = 0;
  std::string email;
  std::string name;
  Role role = Role::kDoctor;
  std::string password_hash;  // Argon2id string
  int64_t doctor_id = 0;      // for doctors; 0 for admins
  bool disabled = false;
  Instant created_at{};
};

struct Session {
  int64_t id = 0;
  std::string token_hash;
  int64_t user_id = 0;
  std::string csrf_token;
  Instant created_at{};
  Instant expires_at{};
};

struct AccessLink {
  int64_t id = 0;
  int64_t appointment_id = 0;
  std::string token_hash;
  Instant created_at{};
  Instant expires_at{};
  std::optional<Instant> revoked_at;
};

// A pending Google connect flow: single use, expiring.
struct OAuthState {
  std::string state_hash;
  int64_t doctor_id = 0;
  std::string sealed_verifier;  // PKCE verifier, opaque
  std::string return_to;
  Instant created_at{};
  Instant expires_at{};
};

// A stored answer for a retried request carrying the same Idempotency-Key.
struct IdempotencyRecord {
  std::string key;           // scoped by the caller, e.g. "api_key:7:<header value>"
  std::string request_hash;  // same key with another body is a conflict
  int32_t response_status = 0;
  std::string response_body;
  Instant created_at{};
  Instant expires_at{};
};

}  // namespace telemeet::core
