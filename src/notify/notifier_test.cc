// The notifier with a real SQLite store (temp dir) and a real SMTP server (aiosmtpd): outbox
// events appended the way the reconciler and the grant store append them.
#include "notify/notifier.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/ics.h"
#include "core/meeting.h"
#include "core/time.h"
#include "notify/testing/smtp_sink.h"

namespace telemeet::notify {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using testing::SinkOptions;
using testing::SmtpSink;

const std::string kLink = "https://meet.google.com/abc-defg-hij";
const std::string kEventLink = "https://calendar.google.com/calendar/event?eid=xyz&ctz=UTC";

class NotifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/notify_store_XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    auto s = store::OpenStore("sqlite://" + dir_ + "/db.sqlite", clock_);
    ASSERT_TRUE(s) << s.error().ToString();
    store_ = std::move(*s);
    ASSERT_TRUE(store_->Migrate());
    auto made = store_->Transact([&](store::Tx& tx) -> Status {
      core::Doctor d;
      d.name = "Dr. Ada Lovelace";
      d.email = "ada@clinic.example";
      d.time_zone = "Europe/Berlin";
      auto doctor = tx.CreateDoctor(d);
      if (!doctor) return std::unexpected(doctor.error());
      doctor_ = *doctor;
      core::Service sv;
      sv.name = "Video consultation";
      sv.telemedicine = true;
      auto service = tx.CreateService(sv);
      if (!service) return std::unexpected(service.error());
      service_ = *service;
      core::Patient p;
      p.name = "Grace <Hopper> & Co";
      p.email = "grace@mail.example";
      p.time_zone = "America/New_York";
      auto patient = tx.CreatePatient(p);
      if (!patient) return std::unexpected(patient.error());
      patient_ = *patient;
      return Ok();
    });
    ASSERT_TRUE(made) << made.error().ToString();
  }

  void TearDown() override {
    notifier_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void MakeNotifier(const SmtpSink& sink, NotifierOptions options = {}) {
    SmtpConfig c;
    c.enabled = true;
    c.host = "127.0.0.1";
    c.port = sink.port();
    c.tls = SmtpTls::kNone;
    c.from = "Example Clinic <noreply@clinic.example>";
    c.connect_timeout = std::chrono::seconds(3);
    c.timeout = std::chrono::seconds(15);
    mailer_ = std::make_unique<SmtpMailer>(c);
    options.clinic_name = "Example Clinic";
    options.public_url = "https://telemeet.example";
    options.retry_base = milliseconds(100);
    options.retry_max = milliseconds(400);
    options.poll_interval = milliseconds(30);
    notifier_ = std::make_unique<Notifier>(*store_, clock_, *mailer_, options);
  }

  core::Appointment Book(Instant start) {
    core::Appointment a;
    a.doctor_id = doctor_.id;
    a.service_id = service_.id;
    a.patient_id = patient_.id;
    a.start = start;
    a.end = start + std::chrono::minutes(30);
    a.time_zone = "Europe/Berlin";
    a.status = core::AppointmentStatus::kConfirmed;
    auto made = store_->Transact([&](store::Tx& tx) -> Result<core::Appointment> {
      auto appt = tx.CreateAppointment(a);
      if (!appt) return appt;
      core::Meeting m;
      m.appointment_id = appt->id;
      m.doctor_id = doctor_.id;
      m.state = core::MeetingState::kCreating;
      m.event_id = core::EventIdFor(appt->uid);
      if (auto s = tx.PutMeeting(m); !s) return std::unexpected(s.error());
      m.state = core::MeetingState::kReady;
      m.join_url = kLink;
      m.event_url = kEventLink;
      m.synced_revision = appt->revision;
      if (auto s = tx.PutMeeting(m); !s) return std::unexpected(s.error());
      return appt;
    });
    EXPECT_TRUE(made) << made.error().ToString();
    return *made;
  }

  // An outbox event as the reconciler writes it.
  int64_t Event(std::string_view topic, const core::Appointment& a) {
    auto e = store_->Transact([&](store::Tx& tx) {
      core::OutboxEvent ev;
      ev.topic = std::string(topic);
      ev.appointment_id = a.id;
      ev.doctor_id = a.doctor_id;
      ev.payload = json{
          {"appointment_id", a.id},
          {"appointment_uid", a.uid},
          {"start", core::FormatRfc3339(a.start)},
          {"join_url",
           kLink}}.dump();
      return tx.AppendOutbox(ev);
    });
    EXPECT_TRUE(e) << e.error().ToString();
    return e->id;
  }

  // Scans and sends until nothing is left to do now.
  void Drain() {
    ASSERT_TRUE(notifier_->Scan());
    while (true) {
      auto ran = notifier_->RunDue();
      ASSERT_TRUE(ran) << ran.error().ToString();
      if (*ran == 0) break;
    }
  }

  std::vector<core::AuditEntry> Audit(int64_t appointment_id, std::string_view prefix = "email.") {
    std::vector<core::AuditEntry> out;
    auto page = store_->Read([&](store::Tx& tx) {
      store::PageRequest p;
      p.limit = 1000;
      return tx.ListAudit(appointment_id, p);
    });
    EXPECT_TRUE(page);
    for (auto& e : page->items) {
      if (e.action.starts_with(prefix)) out.push_back(e);
    }
    return out;
  }

  int64_t EmailJobs() {
    auto page = store_->Read([&](store::Tx& tx) {
      store::PageRequest p;
      p.limit = 1000;
      return tx.ListJobs(kEmailJobKind, std::nullopt, p);
    });
    EXPECT_TRUE(page);
    return static_cast<int64_t>(page->items.size());
  }

  static const json* MailTo(const std::vector<json>& mail, std::string_view rcpt) {
    for (const json& m : mail) {
      if (m["rcpt_tos"].size() == 1 && m["rcpt_tos"][0] == rcpt) return &m;
    }
    return nullptr;
  }

  static std::string IcsProperty(const std::string& ics, std::string_view name) {
    for (const std::string& line : core::IcsUnfold(ics)) {
      if (line.starts_with(std::string(name) + ":")) return line.substr(name.size() + 1);
    }
    return "";
  }

  SystemClock clock_;
  std::string dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Mailer> mailer_;
  std::unique_ptr<Notifier> notifier_;
  core::Doctor doctor_;
  core::Service service_;
  core::Patient patient_;
};

TEST_F(NotifierTest, ReadyMailsGoToPatientAndDoctorWithLinkAndCalendar) {
  SmtpSink sink;
  ASSERT_TRUE(sink.Start());
  obs::Registry metrics;
  MakeNotifier(sink, NotifierOptions{.metrics = &metrics});
  core::Appointment a = Book(*core::ParseRfc3339("2026-03-30T08:00:00Z"));
  Event("meeting.ready", a);
  Drain();
  auto mail = sink.WaitFor(2);
  ASSERT_EQ(mail.size(), 2u);

  const json* patient = MailTo(mail, "grace@mail.example");
  ASSERT_NE(patient, nullptr);
  EXPECT_EQ((*patient)["mail_from"], "noreply@clinic.example");
  // The patient's zone, with its name.
  std::string when = "Monday 30 March 2026, 04:00 EDT (America/New_York)";
  EXPECT_NE((*patient)["subject"].get<std::string>().find(when), std::string::npos)
      << (*patient)["subject"];
  std::string text = (*patient)["text"];
  std::string html = (*patient)["html"];
  EXPECT_NE(text.find("Join Google Meet: " + kLink), std::string::npos) << text;
  EXPECT_NE(text.find("Hello Grace <Hopper> & Co,"), std::string::npos) << text;
  EXPECT_NE(html.find("href=\"" + kLink + "\""), std::string::npos) << html;
  EXPECT_NE(html.find("Hello Grace &lt;Hopper&gt; &amp; Co,"), std::string::npos) << html;
  EXPECT_EQ(html.find("<Hopper>"), std::string::npos);
  ASSERT_EQ((*patient)["attachments"].size(), 1u);
  const json& cal = (*patient)["attachments"][0];
  EXPECT_EQ(cal["content_type"], "text/calendar");
  EXPECT_EQ(cal["method"], "REQUEST");
  std::string ics = cal["content"];
  EXPECT_EQ(IcsProperty(ics, "UID"), core::IcsUid(a.uid));
  EXPECT_EQ(IcsProperty(ics, "METHOD"), "REQUEST");
  EXPECT_EQ(IcsProperty(ics, "STATUS"), "CONFIRMED");
  EXPECT_EQ(IcsProperty(ics, "DTSTART"), "20260330T080000Z");
  EXPECT_EQ(IcsProperty(ics, "URL"), kLink);
  EXPECT_EQ(IcsProperty(ics, "SEQUENCE"), std::to_string(a.revision));

  const json* doctor = MailTo(mail, "ada@clinic.example");
  ASSERT_NE(doctor, nullptr);
  EXPECT_NE((*doctor)["subject"].get<std::string>().find("10:00 CEST (Europe/Berlin)"),
            std::string::npos)
      << (*doctor)["subject"];
  std::string doctor_html = (*doctor)["html"];
  // The event link's '&' is escaped inside the attribute.
  EXPECT_NE(doctor_html.find("https://calendar.google.com/calendar/event?eid=xyz&amp;ctz=UTC"),
            std::string::npos)
      << doctor_html;
  EXPECT_EQ((*doctor)["attachments"].size(), 0u);

  // Each send is in the appointment's audit trail with the server's reply; the jobs are done.
  auto audit = Audit(a.id);
  ASSERT_EQ(audit.size(), 2u);
  for (const auto& e : audit) {
    EXPECT_EQ(e.action, "email.sent");
    json d = json::parse(e.detail);
    EXPECT_TRUE(d["reply"].get<std::string>().starts_with("250 ")) << e.detail;
    EXPECT_EQ(d["outcome"], "sent");
  }
  EXPECT_EQ(EmailJobs(), 0);
  EXPECT_EQ(metrics.GetCounter("telemeet_emails_total", "", {{"outcome", "sent"}}).Value(), 2u);
  // Nothing is sent twice.
  Drain();
  EXPECT_EQ(sink.WaitFor(3, milliseconds(300)).size(), 2u);
}

TEST_F(NotifierTest, ARescheduleMailSaysTheCurrentTime) {
  SmtpSink sink;
  ASSERT_TRUE(sink.Start());
  MakeNotifier(sink);
  core::Appointment a = Book(*core::ParseRfc3339("2026-03-30T08:00:00Z"));
  Event("meeting.updated", a);
  // Moved again before the mail went out: the mail says the newest time.
  ASSERT_TRUE(store_->Transact([&](store::Tx& tx) {
    return tx.Reschedule(a.id, *core::ParseRfc3339("2026-04-02T13:15:00Z"),
                         *core::ParseRfc3339("2026-04-02T13:45:00Z"));
  }));
  Drain();
  auto mail = sink.WaitFor(2);
  const json* patient = MailTo(mail, "grace@mail.example");
  ASSERT_NE(patient, nullptr);
  EXPECT_TRUE((*patient)["subject"].get<std::string>().starts_with("Moved:"));
  EXPECT_NE((*patient)["text"].get<std::string>().find(
                "Thursday 2 April 2026, 09:15 EDT (America/New_York)"),
            std::string::npos)
      << (*patient)["text"];
  std::string ics = (*patient)["attachments"][0]["content"];
  EXPECT_EQ(IcsProperty(ics, "DTSTART"), "20260402T131500Z");
  EXPECT_EQ(IcsProperty(ics, "SEQUENCE"), std::to_string(a.revision + 1));
}

TEST_F(NotifierTest, ACancelMailCarriesAMethodCancelCalendar) {
  SmtpSink sink;
  ASSERT_TRUE(sink.Start());
  MakeNotifier(sink);
  core::Appointment a = Book(*core::ParseRfc3339("2026-03-30T08:00:00Z"));
  ASSERT_TRUE(store_->Transact(
      [&](store::Tx& tx) { return tx.SetStatus(a.id, core::AppointmentStatus::kCancelled); }));
  Event("meeting.cancelled", a);
  Drain();
  auto mail = sink.WaitFor(2);
  ASSERT_EQ(mail.size(), 2u);
  const json* patient = MailTo(mail, "grace@mail.example");
  ASSERT_NE(patient, nullptr);
  EXPECT_TRUE((*patient)["subject"].get<std::string>().starts_with("Cancelled:"));
  EXPECT_EQ((*patient)["text"].get<std::string>().find(kLink), std::string::npos);
  const json& cal = (*patient)["attachments"][0];
  EXPECT_EQ(cal["method"], "CANCEL");
  EXPECT_EQ(IcsProperty(cal["content"], "STATUS"), "CANCELLED");
  EXPECT_EQ(IcsProperty(cal["content"], "UID"), core::IcsUid(a.uid));
}

TEST_F(NotifierTest, RetriesWhileTheServerIsDownAndDeliversOnceItIsUp) {
  SmtpSink sink;  // down
  MakeNotifier(sink);
  core::Appointment a = Book(*core::ParseRfc3339("2026-03-30T08:00:00Z"));
  Event("meeting.ready", a);
  notifier_->Start();
  // Both mails fail and are scheduled for a retry.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (Audit(a.id).size() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  auto failed = Audit(a.id);
  ASSERT_GE(failed.size(), 2u);
  json d = json::parse(failed[0].detail);
  EXPECT_EQ(failed[0].action, "email.failed");
  EXPECT_EQ(d["outcome"], "retry");
  EXPECT_FALSE(d["error"].get<std::string>().empty());
  EXPECT_EQ(EmailJobs(), 2);

  ASSERT_TRUE(sink.Start());
  auto mail = sink.WaitFor(2);
  notifier_->Stop();
  ASSERT_EQ(mail.size(), 2u);
  EXPECT_NE(MailTo(mail, "grace@mail.example"), nullptr);
  EXPECT_NE(MailTo(mail, "ada@clinic.example"), nullptr);
  int sent = 0;
  for (const auto& e : Audit(a.id)) sent += e.action == "email.sent" ? 1 : 0;
  EXPECT_EQ(sent, 2);
  EXPECT_EQ(EmailJobs(), 0);
}

TEST_F(NotifierTest, GivesUpAfterMaxAttemptsOrAtOnceWhenRefused) {
  SmtpSink sink(SinkOptions{.reject = {"grace@mail.example"}});
  ASSERT_TRUE(sink.Start());
  MakeNotifier(sink);
  core::Appointment a = Book(*core::ParseRfc3339("2026-03-30T08:00:00Z"));
  Event("meeting.ready", a);
  Drain();
  auto mail = sink.WaitFor(1);
  ASSERT_EQ(mail.size(), 1u);
  EXPECT_EQ(mail[0]["rcpt_tos"][0], "ada@clinic.example");
  auto audit = Audit(a.id, "email.failed");
  ASSERT_EQ(audit.size(), 1u);
  json d = json::parse(audit[0].detail);
  EXPECT_EQ(d["outcome"], "gave_up");
  EXPECT_NE(d["error"].get<std::string>().find("550"), std::string::npos) << audit[0].detail;
  EXPECT_EQ(EmailJobs(), 0);

  // A server that stays down: max_attempts tries, then given up.
  SmtpSink down;
  NotifierOptions o;
  o.max_attempts = 3;
  MakeNotifier(down, o);
  core::Appointment b = Book(*core::ParseRfc3339("2026-03-31T08:00:00Z"));
  Event("meeting.cancelled", b);
  Drain();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (EmailJobs() > 0 && std::chrono::steady_clock::now() < deadline) {
    Drain();
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_EQ(EmailJobs(), 0);
  auto tries = Audit(b.id, "email.failed");
  ASSERT_EQ(tries.size(), 6u);  // 3 per recipient
  int gave_up = 0;
  for (const auto& e : tries) gave_up += json::parse(e.detail)["outcome"] == "gave_up" ? 1 : 0;
  EXPECT_EQ(gave_up, 2);
}

TEST_F(NotifierTest, SkipsMailsThatNoLongerMakeSense) {
  SmtpSink sink;
  ASSERT_TRUE(sink.Start());
  MakeNotifier(sink);
  // A patient without an address gets nothing; the doctor still does.
  ASSERT_TRUE(store_->Transact([&](store::Tx& tx) -> Status {
    core::Patient p = patient_;
    p.email = "";
    auto u = tx.UpdatePatient(p);
    if (!u) return std::unexpected(u.error());
    return Ok();
  }));
  core::Appointment a = Book(*core::ParseRfc3339("2026-03-30T08:00:00Z"));
  Event("meeting.ready", a);
  Drain();
  auto mail = sink.WaitFor(1);
  ASSERT_EQ(mail.size(), 1u);
  EXPECT_EQ(mail[0]["rcpt_tos"][0], "ada@clinic.example");
  auto skipped = Audit(a.id, "email.skipped");
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(json::parse(skipped[0].detail)["role"], "patient");

  // A "ready" mail for an appointment cancelled before it went out is not sent.
  core::Appointment b = Book(*core::ParseRfc3339("2026-03-31T08:00:00Z"));
  Event("meeting.ready", b);
  ASSERT_TRUE(store_->Transact(
      [&](store::Tx& tx) { return tx.SetStatus(b.id, core::AppointmentStatus::kCancelled); }));
  Drain();
  EXPECT_EQ(sink.WaitFor(2, milliseconds(300)).size(), 1u);
  EXPECT_EQ(Audit(b.id, "email.skipped").size(), 2u);
}

TEST_F(NotifierTest, NeedsReconnectMailsTheDoctor) {
  SmtpSink sink;
  ASSERT_TRUE(sink.Start());
  MakeNotifier(sink);
  ASSERT_TRUE(store_->Transact([&](store::Tx& tx) -> Status {
    core::OutboxEvent ev;
    ev.topic = "doctor.needs_reconnect";
    ev.doctor_id = doctor_.id;
    ev.payload = json{{"doctor_id", doctor_.id}, {"reason", "invalid_grant: Token revoked"}}.dump();
    auto e = tx.AppendOutbox(ev);
    if (!e) return std::unexpected(e.error());
    return Ok();
  }));
  Drain();
  auto mail = sink.WaitFor(1);
  ASSERT_EQ(mail.size(), 1u);
  EXPECT_EQ(mail[0]["rcpt_tos"][0], "ada@clinic.example");
  EXPECT_NE(mail[0]["text"].get<std::string>().find("invalid_grant: Token revoked"),
            std::string::npos);
  EXPECT_NE(mail[0]["html"].get<std::string>().find("href=\"https://telemeet.example\""),
            std::string::npos);
}

TEST_F(NotifierTest, UsesTheStoredTemplateAndThePatientPageHook) {
  SmtpSink sink;
  ASSERT_TRUE(sink.Start());
  NotifierOptions o;
  int hook_calls = 0;
  o.patient_page_link = [&](store::Tx&, const core::Appointment& a) -> Result<std::string> {
    ++hook_calls;
    return "https://telemeet.example/p?token=t" + std::to_string(a.id);
  };
  MakeNotifier(sink, o);
  ASSERT_TRUE(store_->Transact([&](store::Tx& tx) {
    return SaveTemplatePart(tx, "meeting.ready.patient", Part::kSubject,
                            "Link for {{patient_name}}: {{meet_link}}");
  }));
  ASSERT_TRUE(store_->Transact([&](store::Tx& tx) {
    return SaveTemplatePart(tx, "meeting.ready.patient", Part::kText,
                            "Page: {{patient_page_link}}");
  }));
  core::Appointment a = Book(*core::ParseRfc3339("2026-03-30T08:00:00Z"));
  Event("meeting.ready", a);
  Drain();
  auto mail = sink.WaitFor(2);
  const json* patient = MailTo(mail, "grace@mail.example");
  ASSERT_NE(patient, nullptr);
  EXPECT_EQ((*patient)["subject"], "Link for Grace <Hopper> & Co: " + kLink);
  EXPECT_EQ((*patient)["text"], "Page: https://telemeet.example/p?token=t" + std::to_string(a.id));
  EXPECT_EQ(hook_calls, 1);  // only for the patient

  // A template without {{patient_page_link}} makes no access link.
  ASSERT_TRUE(store_->Transact([&](store::Tx& tx) -> Status {
    if (auto s = SaveTemplatePart(tx, "meeting.ready.patient", Part::kText, "Join: {{meet_link}}");
        !s) {
      return s;
    }
    return SaveTemplatePart(tx, "meeting.ready.patient", Part::kHtml, "<a>{{meet_link}}</a>");
  }));
  core::Appointment b = Book(*core::ParseRfc3339("2026-03-31T08:00:00Z"));
  Event("meeting.ready", b);
  Drain();
  EXPECT_EQ(sink.WaitFor(4).size(), 4u);
  EXPECT_EQ(hook_calls, 1);
}

TEST_F(NotifierTest, TheCursorTurnsEachEventIntoJobsOnce) {
  SmtpSink sink;  // never started: jobs stay
  MakeNotifier(sink);
  core::Appointment a = Book(*core::ParseRfc3339("2026-03-30T08:00:00Z"));
  // More than one ListOutbox page (100), and topics that send nothing.
  for (int i = 0; i < 130; ++i) Event(i % 2 == 0 ? "meeting.ready" : "meeting.failed", a);
  auto n = notifier_->Scan();
  ASSERT_TRUE(n) << n.error().ToString();
  EXPECT_EQ(*n, 130);
  EXPECT_EQ(EmailJobs(), 130);  // 65 ready events x 2 recipients
  n = notifier_->Scan();
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0);
  EXPECT_EQ(EmailJobs(), 130);
  Event("meeting.updated", a);
  n = notifier_->Scan();
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(EmailJobs(), 132);
  // A second notifier on the same store (another instance) finds nothing new either.
  Notifier other(*store_, clock_, *mailer_, NotifierOptions{.owner = "other"});
  n = other.Scan();
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0);
}

TEST_F(NotifierTest, OldEventsAreNotMailed) {
  SmtpSink sink;
  MakeNotifier(sink, NotifierOptions{.max_event_age = milliseconds(1)});
  core::Appointment a = Book(*core::ParseRfc3339("2026-03-30T08:00:00Z"));
  Event("meeting.ready", a);
  std::this_thread::sleep_for(milliseconds(20));
  auto n = notifier_->Scan();
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1);           // consumed ...
  EXPECT_EQ(EmailJobs(), 0);  // ... without mail
}

TEST(NotifierRecipientsTest, TopicsMapToTemplates) {
  EXPECT_EQ(RecipientsFor("meeting.ready").size(), 2u);
  EXPECT_EQ(RecipientsFor("meeting.updated")[0].template_name, "meeting.rescheduled.patient");
  EXPECT_EQ(RecipientsFor("meeting.cancelled")[1].role, "doctor");
  ASSERT_EQ(RecipientsFor("doctor.needs_reconnect").size(), 1u);
  EXPECT_TRUE(RecipientsFor("meeting.failed").empty());
  for (std::string_view t :
       {"meeting.ready", "meeting.updated", "meeting.cancelled", "doctor.needs_reconnect"}) {
    for (const Recipient& r : RecipientsFor(t)) EXPECT_TRUE(IsTemplateName(r.template_name));
  }
}

}  // namespace
}  // namespace telemeet::notify
