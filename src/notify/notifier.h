// The notifier (M23): emails to patients and doctors from the outbox, beside the webhook
// dispatcher and without touching its "deliver" jobs or the reconciler. A failed email never
// blocks a meeting: the reconciler does not know this exists.
//
//   Notifier notifier(*store, clock, *mailer, NotifierOptions{.owner = "host-1:notify",
//                                                             .public_url = url});
//   notifier.Start();               // its own thread: scan the outbox, send due emails
//   api_deps.on_work_enqueued = [&] { worker.Nudge(); notifier.Nudge(); };
//   ...
//   notifier.Stop();                // finishes the email in hand, then returns
//
// How it works, in two steps that each commit on their own:
//  1. Scan: a cursor in the settings table ("notify.outbox_cursor": the opaque ListOutbox page
//     cursor and the last event id handled) walks Tx::ListOutbox. For each new event, in the
//     write transaction that advances the cursor, it upserts one job per recipient: kind
//     "email", key "email:<event id>:<role>", doctor_id 0 (so parking a doctor's Google work
//     never parks their mail), payload {event, template, role}. The transaction first writes
//     the row "notify.outbox_lock", so two instances sharing PostgreSQL scan one after the
//     other, each reading the cursor the previous one committed. Ids that
//     appear out of order (a PostgreSQL transaction still open, or rolled back) hold the cursor
//     for at most `settle`; events older than `max_event_age` when first seen (an install
//     upgraded with old history) are passed over without mail.
//  2. Send: leases due "email" jobs, reads the CURRENT appointment, doctor, patient and meeting
//     (so a reschedule mail says the new time; times in the recipient's zone, or the
//     appointment's when the recipient's record was left at the default UTC), renders the stored
//     template (or the default), attaches the .ics to patient mails (doctors have the event in
//     their Google Calendar already; a second copy would duplicate it), sends through the Mailer,
//     and then CompleteJob, or RetryJob at BackoffAfter(retry_base, retry_max) for a transient
//     failure, until max_attempts; a permanent failure (the server refused the recipient) or the
//     last attempt gives up. Every outcome (sent with the server's reply, failed, gave up, skipped)
//     lands in the appointment's audit trail as "email.sent" / "email.failed" /
//     "email.skipped"; never a password. A mail that no longer makes sense (a "ready" mail for
//     an appointment cancelled meanwhile, a recipient without an address) is skipped.
//
// Topics and templates: meeting.ready → meeting.ready.{patient,doctor}; meeting.updated →
// meeting.rescheduled.{patient,doctor}; meeting.cancelled → meeting.cancelled.{patient,doctor};
// doctor.needs_reconnect → doctor.needs_reconnect.doctor. meeting.failed sends nothing (admins
// see failed meetings in the UI, and webhooks carry them).
//
// Reminders (reminders.h) come from no outbox event: each pass also queues the patient
// reminders falling due (appointment.reminder.patient), and sending one checks again that the
// appointment is booked or confirmed, still starts at the time the reminder was for, and has not
// started. A reminder carries the Meet link only once the meeting is ready, and always the
// patient page, which shows the link as soon as there is one; no .ics (the patient has it).
//
// Thread safety: Scan, RunDue and Run may be called from several threads and instances (the
// store serializes them); Start/Stop from one controlling thread.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "base/background_loop.h"
#include "base/clock.h"
#include "base/error.h"
#include "core/types.h"
#include "notify/reminders.h"
#include "notify/smtp.h"
#include "notify/templates.h"
#include "obs/metrics.h"
#include "store/store.h"

namespace telemeet::notify {

inline constexpr std::string_view kEmailJobKind = "email";
inline constexpr std::string_view kOutboxCursorKey = "notify.outbox_cursor";
inline constexpr std::string_view kOutboxLockKey = "notify.outbox_lock";

struct NotifierOptions {
  std::string owner = "notify";  // lease owner; unique per instance
  std::string actor = "notify";  // in the audit trail
  int max_attempts = 12;         // then the email is given up
  std::chrono::microseconds retry_base{std::chrono::seconds(30)};
  std::chrono::microseconds retry_max{std::chrono::hours(1)};
  std::chrono::milliseconds poll_interval{1'000};
  std::chrono::seconds lease_for{180};  // longer than the SMTP timeout
  int batch = 8;
  int scan_limit = 500;  // events turned into jobs per Scan
  std::chrono::microseconds settle{std::chrono::seconds(10)};
  std::chrono::microseconds max_event_age{std::chrono::hours(24)};
  std::string clinic_name = "telemeet";  // {{clinic_name}}: config notify.clinic_name
  // Patient reminders (reminders.h): the configuration's lead times (notify.reminders), which
  // an admin's saved ones replace.
  LeadTimes reminder_leads{std::chrono::hours(24), std::chrono::hours(1)};
  std::string public_url;  // {{app_link}}
  // Makes {{patient_page_link}} for a patient mail (a new access link: the API's token rules
  // live in api/, above this layer). Runs in its own write transaction before the send. Unset,
  // or an error: the variable is empty.
  std::function<Result<std::string>(store::Tx&, const core::Appointment&)> patient_page_link;
  // Optional: telemeet_emails_total{outcome="sent|retry|gave_up|skipped"}.
  obs::Registry* metrics = nullptr;
};

// The templates an outbox topic sends, with their recipient roles; empty for other topics.
struct Recipient {
  std::string_view template_name;  // "meeting.ready.patient"
  std::string_view role;           // "patient" or "doctor"
};
std::vector<Recipient> RecipientsFor(std::string_view topic);

class Notifier {
 public:
  Notifier(store::Store& store, Clock& clock, Mailer& mailer, NotifierOptions options = {});
  ~Notifier();  // Stop()
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Turns new outbox events into email jobs (step 1); returns how many events it consumed.
  Result<int> Scan();
  // Queues the patient reminders due now (reminders.h, QueueDueReminders); returns how many.
  Result<int> QueueReminders();
  // Sends the email of one leased "email" job and records the outcome (step 2). Errors: the
  // store's (kFailedPrecondition "lease lost" when another lease replaced this one).
  Status Run(const core::Job& job);
  // Leases the due email jobs once and runs them; returns how many ran.
  Result<int> RunDue();

  void Start() { loop_.Start(); }
  void Nudge() { loop_.Nudge(); }
  void Stop() { loop_.Stop(); }

 private:
  // One pass of the background loop: Scan, then RunDue; true when either found work.
  bool Pass();
  void Count(std::string_view outcome);

  store::Store& store_;
  Clock& clock_;
  Mailer& mailer_;
  const NotifierOptions options_;
  BackgroundLoop loop_{[this] { return Pass(); }, options_.poll_interval};  // after options_
};

}  // namespace telemeet::notify
