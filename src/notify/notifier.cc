#include "notify/notifier.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "core/ics.h"
#include "obs/log.h"

namespace telemeet::notify {

namespace {

using nlohmann::json;

constexpr std::string_view kEmailsHelp =
    "Emails by outcome: sent, skipped, retry (to be tried again), gave_up.";
constexpr int32_t kScanPage = 100;

struct Cursor {
  std::string page;  // the ListOutbox cursor the current page starts at ("" = the first)
  int64_t last_id = 0;
};

Cursor ParseCursor(std::string_view text) {
  Cursor c;
  json j = json::parse(text, nullptr, false);
  if (j.is_object()) {
    c.page = j.value("page", "");
    c.last_id = j.value("last_id", int64_t{0});
  }
  return c;
}

std::string FormatCursor(const Cursor& c) {
  return json{{"page", c.page}, {"last_id", c.last_id}}.dump();
}

struct EmailPayload {
  int64_t event_id = 0;
  std::string topic;
  std::string template_name;
  std::string role;
  int64_t appointment_id = 0;
  int64_t doctor_id = 0;
  json data;  // the event's payload
  // A patient reminder (reminders.h): the start it is for and its lead time.
  std::optional<Instant> reminder_start;
  std::chrono::seconds reminder_lead{};
};

Result<EmailPayload> ParsePayload(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return Fail(ErrorCode::kInvalidArgument, "email job payload is not JSON");
  EmailPayload p;
  p.event_id = j.value("event_id", int64_t{0});
  p.topic = j.value("topic", "");
  p.template_name = j.value("template", "");
  p.role = j.value("role", "");
  p.appointment_id = j.value("appointment_id", int64_t{0});
  p.doctor_id = j.value("doctor_id", int64_t{0});
  p.data = j.contains("data") ? j["data"] : json::object();
  if (j.contains("reminder") && j["reminder"].is_object()) {
    p.reminder_start =
        Instant(std::chrono::microseconds(j["reminder"].value("start_us", int64_t{0})));
    p.reminder_lead = std::chrono::seconds(j["reminder"].value("lead_seconds", int64_t{0}));
  }
  if (!IsTemplateName(p.template_name)) {
    return Fail(ErrorCode::kInvalidArgument, "email job names no known template");
  }
  return p;
}

// What one email needs from the store, read in one transaction.
struct Context {
  std::optional<core::Appointment> appointment;
  core::Doctor doctor;
  core::Patient patient;
  core::Service service;
  std::optional<core::Meeting> meeting;
  Template tmpl;
};

bool IsCancelledTopic(std::string_view t) { return t == "meeting.cancelled"; }

}  // namespace

std::vector<Recipient> RecipientsFor(std::string_view topic) {
  if (topic == "meeting.ready") {
    return {{"meeting.ready.patient", "patient"}, {"meeting.ready.doctor", "doctor"}};
  }
  if (topic == "meeting.updated") {
    return {{"meeting.rescheduled.patient", "patient"}, {"meeting.rescheduled.doctor", "doctor"}};
  }
  if (topic == "meeting.cancelled") {
    return {{"meeting.cancelled.patient", "patient"}, {"meeting.cancelled.doctor", "doctor"}};
  }
  if (topic == "doctor.needs_reconnect") {
    return {{"doctor.needs_reconnect.doctor", "doctor"}};
  }
  return {};
}

Notifier::Notifier(store::Store& store, Clock& clock, Mailer& mailer, NotifierOptions options)
    : store_(store), clock_(clock), mailer_(mailer), options_(std::move(options)) {
  // On /metrics from the start, before the first email (dashboards and their checks).
  if (options_.metrics != nullptr) {
    options_.metrics->DeclareCounter("telemeet_emails_total", kEmailsHelp);
  }
}

Notifier::~Notifier() { Stop(); }

void Notifier::Count(std::string_view outcome) {
  if (options_.metrics == nullptr) return;
  options_.metrics
      ->GetCounter("telemeet_emails_total", kEmailsHelp, {{"outcome", std::string(outcome)}})
      .Inc();
}

Result<int> Notifier::Scan() {
  // Most scans find nothing new: a read transaction says so without taking the write lock.
  auto fresh = store_.Read([&](store::Tx& tx) -> Result<bool> {
    auto stored = tx.GetSetting(kOutboxCursorKey);
    if (!stored && stored.error().code() != ErrorCode::kNotFound) {
      return std::unexpected(stored.error());
    }
    Cursor cursor = stored ? ParseCursor(*stored) : Cursor{};
    store::PageRequest page;
    page.limit = kScanPage;
    page.cursor = cursor.page;
    auto events = tx.ListOutbox(page);
    if (!events) return std::unexpected(events.error());
    return !events->next_cursor.empty() ||
           (!events->items.empty() && events->items.back().id > cursor.last_id);
  });
  if (!fresh) return std::unexpected(fresh.error());
  if (!*fresh) return 0;
  return store_.Transact([&](store::Tx& tx) -> Result<int> {
    const Instant now = tx.Now();
    // Writing the lock row first serializes scans across instances (PostgreSQL holds its row
    // lock to the commit; SQLite has one writer anyway). The cursor is read only after that,
    // so it is the one the previous scan committed (read committed: each statement sees the
    // latest commits). Rewriting the cursor row itself with the value read before the lock
    // would put a stale cursor back and send every email again.
    if (auto s = tx.PutSetting(kOutboxLockKey, options_.owner); !s) {
      return std::unexpected(s.error());
    }
    auto stored = tx.GetSetting(kOutboxCursorKey);
    if (!stored && stored.error().code() != ErrorCode::kNotFound) {
      return std::unexpected(stored.error());
    }
    if (!stored) stored = FormatCursor({});
    Cursor cursor = ParseCursor(*stored);

    int consumed = 0;
    bool blocked = false;
    while (!blocked && consumed < options_.scan_limit) {
      store::PageRequest page;
      page.limit = kScanPage;
      page.cursor = cursor.page;
      auto events = tx.ListOutbox(page);
      if (!events) return std::unexpected(events.error());
      for (const core::OutboxEvent& e : events->items) {
        if (e.id <= cursor.last_id) continue;
        if (consumed >= options_.scan_limit) {
          blocked = true;
          break;
        }
        if (e.id != cursor.last_id + 1 && now - e.created_at < options_.settle) {
          blocked = true;  // an earlier id may still commit: wait for it a little
          break;
        }
        if (now - e.created_at <= options_.max_event_age) {
          json data = json::parse(e.payload, nullptr, false);
          if (data.is_discarded()) data = json::object();
          for (const Recipient& r : RecipientsFor(e.topic)) {
            core::Job job;
            job.kind = std::string(kEmailJobKind);
            job.key = "email:" + std::to_string(e.id) + ":" + std::string(r.role);
            job.payload = json{
                {"event_id", e.id},
                {"topic", e.topic},
                {"template", r.template_name},
                {"role", r.role},
                {"appointment_id", e.appointment_id},
                {"doctor_id", e.doctor_id},
                {"data",
                 data}}.dump();
            job.run_at = now;
            if (auto j = tx.UpsertJob(job); !j) return std::unexpected(j.error());
          }
        }
        cursor.last_id = e.id;
        ++consumed;
      }
      if (blocked || events->next_cursor.empty()) break;
      // Every event of this full page is handled: the next scan starts at the next page.
      cursor.page = events->next_cursor;
    }
    std::string after = FormatCursor(cursor);
    if (after != *stored) {
      if (auto s = tx.PutSetting(kOutboxCursorKey, after); !s) return std::unexpected(s.error());
    }
    return consumed;
  });
}

Status Notifier::Run(const core::Job& job) {
  auto payload = ParsePayload(job.payload);
  auto finish = [&](std::string_view action, json detail, bool retry, Instant retry_at,
                    std::string_view error) -> Status {
    Count(action == "email.sent"      ? "sent"
          : action == "email.skipped" ? "skipped"
          : retry                     ? "retry"
                                      : "gave_up");
    return store_.Transact([&](store::Tx& tx) -> Status {
      if (payload && payload->appointment_id != 0) {
        core::AuditEntry entry;
        entry.appointment_id = payload->appointment_id;
        entry.actor = options_.actor;
        entry.action = std::string(action);
        entry.detail = detail.dump(-1, ' ', false, json::error_handler_t::replace);
        auto a = tx.AppendAudit(std::move(entry));
        // The appointment may be gone; the outcome still ends the job.
        if (!a && a.error().code() != ErrorCode::kNotFound &&
            a.error().code() != ErrorCode::kFailedPrecondition) {
          return std::unexpected(a.error());
        }
      }
      if (retry) return tx.RetryJob(job, retry_at, error);
      return tx.CompleteJob(job);
    });
  };
  if (!payload) {
    obs::Log().Warn("email job dropped", {{"job", job.key}, {"error", payload.error().message()}});
    return finish("email.skipped", json::object(), false, {}, "");
  }
  const EmailPayload& p = *payload;
  json detail{{"template", p.template_name},
              {"role", p.role},
              {"event_id", p.event_id},
              {"attempt", job.attempts + 1}};

  // 1. The current state of things.
  auto ctx = store_.Read([&](store::Tx& tx) -> Result<Context> {
    Context c;
    if (p.appointment_id != 0) {
      auto view = tx.LoadForReconcile(p.appointment_id);
      if (!view) return std::unexpected(view.error());
      c.appointment = view->appointment;
      c.doctor = view->doctor;
      c.patient = view->patient;
      c.service = view->service;
      c.meeting = view->meeting;
    } else {
      auto d = tx.GetDoctor(p.doctor_id);
      if (!d) return std::unexpected(d.error());
      c.doctor = *d;
    }
    auto t = LoadTemplate(tx, p.template_name);
    if (!t) return std::unexpected(t.error());
    c.tmpl = t->current;
    return c;
  });
  if (!ctx) {
    if (ctx.error().code() == ErrorCode::kNotFound) {
      detail["reason"] = ctx.error().message();
      return finish("email.skipped", detail, false, {}, "");
    }
    return std::unexpected(ctx.error());
  }

  const bool to_patient = p.role == "patient";
  Mailbox to = to_patient ? Mailbox{ctx->patient.name, ctx->patient.email}
                          : Mailbox{ctx->doctor.name, ctx->doctor.email};
  detail["to"] = to.address;
  if (!PlausibleAddress(to.address)) {
    detail["reason"] = to.address.empty() ? "the recipient has no email address"
                                          : "the recipient's email address is not valid";
    return finish("email.skipped", detail, false, {}, "");
  }
  if (ctx->appointment && !IsCancelledTopic(p.topic) &&
      ctx->appointment->status == core::AppointmentStatus::kCancelled) {
    detail["reason"] = "the appointment was cancelled meanwhile";
    return finish("email.skipped", detail, false, {}, "");
  }
  if (p.reminder_start) {
    detail["reminder_lead_seconds"] = p.reminder_lead.count();
    const char* reason = nullptr;
    if (!ctx->appointment) {
      reason = "a reminder names no appointment";
    } else if (ctx->appointment->status != core::AppointmentStatus::kBooked &&
               ctx->appointment->status != core::AppointmentStatus::kConfirmed) {
      reason = "the appointment is no longer booked or confirmed";
    } else if (ctx->appointment->start != *p.reminder_start) {
      reason = "the appointment moved to another time (the new time has reminders of its own)";
    } else if (clock_.Now() >= ctx->appointment->start) {
      reason = "the appointment has started";
    }
    if (reason != nullptr) {
      detail["reason"] = reason;
      return finish("email.skipped", detail, false, {}, "");
    }
  }

  // 2. The message.
  // The recipient's zone; a record left at the default "UTC" most likely means "never set",
  // and the appointment's own zone (the clinic's) is the better guess then.
  std::string zone = to_patient ? ctx->patient.time_zone : ctx->doctor.time_zone;
  if ((zone.empty() || zone == "UTC") && ctx->appointment) zone = ctx->appointment->time_zone;
  Variables vars{{"recipient_name", to.name},
                 {"doctor_name", ctx->doctor.name},
                 {"clinic_name", options_.clinic_name},
                 {"app_link", options_.public_url},
                 {"time_zone", zone}};
  if (p.data.contains("reason") && p.data["reason"].is_string()) {
    vars["reconnect_reason"] = p.data["reason"].get<std::string>();
  }
  if (ctx->appointment) {
    const core::Appointment& a = *ctx->appointment;
    vars["patient_name"] = ctx->patient.name;
    vars["service_name"] = ctx->service.name;
    vars["appointment_start"] = HumanTime(a.start, zone);
    vars["appointment_end"] = HumanTime(a.end, zone);
    // A reminder shows the link only while the meeting is ready (a reschedule's patch keeps
    // it); otherwise the patient page stands in and shows the link once there is one.
    const bool link_ready =
        !p.reminder_start ||
        (ctx->meeting && (ctx->meeting->state == core::MeetingState::kReady ||
                          ctx->meeting->state == core::MeetingState::kUpdating));
    if (p.reminder_start) vars["reminder_lead"] = HumanTimeLeft(a.start - clock_.Now());
    if (ctx->meeting && !IsCancelledTopic(p.topic) && link_ready) {
      vars["meet_link"] = ctx->meeting->join_url;
      vars["meet_event_link"] = ctx->meeting->event_url;
    }
    // A new access link only for a template that shows it (each one is a live credential).
    const bool uses_page_link = ctx->tmpl.subject.find("patient_page_link") != std::string::npos ||
                                ctx->tmpl.text.find("patient_page_link") != std::string::npos ||
                                ctx->tmpl.html.find("patient_page_link") != std::string::npos;
    if (to_patient && uses_page_link && !IsCancelledTopic(p.topic) && options_.patient_page_link) {
      auto link = store_.Transact(
          [&](store::Tx& tx) -> Result<std::string> { return options_.patient_page_link(tx, a); });
      if (link) vars["patient_page_link"] = *link;
    }
  }
  auto rendered = RenderTemplate(ctx->tmpl, vars);
  if (!rendered) {
    detail["outcome"] = "gave_up";
    detail["error"] = rendered.error().message();
    return finish("email.failed", detail, false, {}, "");
  }
  Email email;
  email.to = {to};
  email.subject = std::move(rendered->subject);
  email.text = std::move(rendered->text);
  email.html = std::move(rendered->html);
  if (ctx->appointment && to_patient && !p.reminder_start) {
    const core::Appointment& a = *ctx->appointment;
    core::IcsEvent ev;
    ev.uid = core::IcsUid(a.uid);
    ev.sequence = a.revision;
    ev.stamp = clock_.Now();
    ev.start = a.start;
    ev.end = a.end;
    ev.summary = ctx->service.name + " with " + ctx->doctor.name;
    ev.description = options_.clinic_name;
    if (auto it = vars.find("meet_link"); it != vars.end()) ev.meet_link = it->second;
    ev.organizer = {.name = ctx->doctor.name, .email = ctx->doctor.email};
    ev.attendee = {.name = ctx->patient.name, .email = ctx->patient.email};
    ev.method = IsCancelledTopic(p.topic) ? core::IcsMethod::kCancel : core::IcsMethod::kRequest;
    email.calendar = CalendarAttachment{.ics = core::BuildIcs(ev), .method = ev.method};
  }

  // 3. Send, then record.
  auto sent = mailer_.Send(email, clock_.Now());
  if (sent) {
    detail["outcome"] = "sent";
    detail["reply"] = sent->reply;
    detail["message_id"] = sent->message_id;
    return finish("email.sent", detail, false, {}, "");
  }
  const std::string error = sent.error().message();
  detail["error"] = error;
  const bool permanent = sent.error().code() == ErrorCode::kInvalidArgument;
  if (permanent || job.attempts + 1 >= options_.max_attempts) {
    detail["outcome"] = "gave_up";
    obs::Log().Warn("email given up", {{"job", job.key}, {"error", error}});
    return finish("email.failed", detail, false, {}, "");
  }
  Instant at = store::BackoffAfter(job, clock_.Now(), options_.retry_base, options_.retry_max);
  detail["outcome"] = "retry";
  detail["retry_at_unix"] = ToUnixSeconds(at);
  return finish("email.failed", detail, true, at, error);
}

Result<int> Notifier::RunDue() {
  const Instant now = clock_.Now();
  auto due = store_.Read([&](store::Tx& tx) { return tx.NextDueAt(kEmailJobKind); });
  if (!due) return std::unexpected(due.error());
  if (!due->has_value() || **due > now) return 0;  // nothing due: no write transaction
  store::LeaseRequest lease;
  lease.owner = options_.owner;
  lease.max = options_.batch;
  lease.lease_for = options_.lease_for;
  lease.now = now;
  lease.kind = std::string(kEmailJobKind);
  auto jobs = store_.Transact([&](store::Tx& tx) { return tx.LeaseJobs(lease); });
  if (!jobs) return std::unexpected(jobs.error());
  for (const core::Job& job : *jobs) {
    if (auto s = Run(job); !s) {
      obs::Log().Warn("email job failed", {{"job", job.key}, {"error", s.error().ToString()}});
    }
  }
  return static_cast<int>(jobs->size());
}

Result<int> Notifier::QueueReminders() {
  return QueueDueReminders(store_, clock_.Now(), options_.reminder_leads);
}

bool Notifier::Pass() {
  auto scanned = Scan();
  if (!scanned) {
    obs::Log().Warn("outbox scan for email failed", {{"error", scanned.error().ToString()}});
  }
  auto reminders = QueueReminders();
  if (!reminders) {
    obs::Log().Warn("queueing reminders failed", {{"error", reminders.error().ToString()}});
  }
  auto ran = RunDue();
  if (!ran) obs::Log().Warn("email lease failed", {{"error", ran.error().ToString()}});
  return (ran && *ran > 0) || (scanned && *scanned > 0) || (reminders && *reminders > 0);
}

}  // namespace telemeet::notify
