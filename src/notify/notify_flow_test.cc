// Email end to end: the reconciler and its worker against the real Google emulator (real HTTP,
// OAuth, token provider, SQLite store in a temp dir), the notifier beside them, and a real
// SMTP server (aiosmtpd). The meeting becomes ready while the SMTP server is down; the mails
// arrive once it is up; reschedule and cancel mail the current state.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/strings.h"
#include "core/ics.h"
#include "core/time.h"
#include "crypto/keyring.h"
#include "crypto/random.h"
#include "emulator/server/fake_google.h"
#include "google/calendar_client.h"
#include "google/http_transport.h"
#include "google/oauth_client.h"
#include "google/rate_limiter.h"
#include "google/token_provider.h"
#include "net/http_client.h"
#include "notify/notifier.h"
#include "notify/testing/smtp_sink.h"
#include "sync/grant_store_adapter.h"
#include "sync/reconciler.h"
#include "sync/testing/google_fixture.h"
#include "sync/testing_util.h"
#include "sync/worker.h"

namespace telemeet::notify {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kClientId = "telemeet-notify-test.apps.example";
const std::string kSecret = "notify-test-secret";
const std::string kDoctorEmail = "who@clinic.example";
const std::string kPatientEmail = "amy@patients.example";

std::string IcsProperty(const std::string& ics, std::string_view name) {
  for (const std::string& line : core::IcsUnfold(ics)) {
    if (line.starts_with(std::string(name) + ":")) return line.substr(name.size() + 1);
  }
  return "";
}

class NotifyFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    emulator::FakeGoogleOptions options =
        sync::testing::EmulatorFor(kClientId, kSecret, {{kDoctorEmail, "", "Dr Who"}});
    google_ = std::make_unique<emulator::FakeGoogle>(options, clock_);
    ASSERT_TRUE(google_->Start());
    const std::string base = google_->base_url();
    ASSERT_TRUE(keys_.Add("k1", crypto::RandomBytes(32)));
    const google::OAuthConfig oauth_config = sync::testing::OAuthAt(base, kClientId, kSecret);
    oauth_ = std::make_unique<google::OAuthClient>(
        oauth_config, google::OAuthDeps{transport_, clock_, retry_, &calls_});
    tokens_ = std::make_unique<google::TokenProvider>(*oauth_, grants_, keys_, clock_);
    google::CalendarOptions calendar_options;
    calendar_options.base_url = base;
    calendar_ = std::make_unique<google::CalendarClient>(
        calendar_options,
        google::CalendarDeps{transport_, *tokens_, retry_, clock_, google::RealSleeper::Instance(),
                             &limiter_, &calls_});
    clinic_ = sync::testing::MakeClinic(*store_, kDoctorEmail);
    sync::ReconcilerOptions r;
    r.poll_base = milliseconds(30);
    r.poll_max = milliseconds(200);
    r.retry_base = milliseconds(30);
    r.retry_max = milliseconds(200);
    reconciler_ = std::make_unique<sync::Reconciler>(*store_, *calendar_, calls_, clock_, r);
    sync::WorkerOptions w;
    w.threads = 2;
    w.poll_interval = milliseconds(20);
    worker_ = std::make_unique<sync::Worker>(*store_, *reconciler_, clock_, w);

    SmtpConfig smtp;
    smtp.enabled = true;
    smtp.host = "127.0.0.1";
    smtp.port = sink_.port();
    smtp.tls = SmtpTls::kNone;
    smtp.from = "Example Clinic <noreply@clinic.example>";
    smtp.connect_timeout = seconds(3);
    mailer_ = std::make_unique<SmtpMailer>(smtp);
    NotifierOptions n;
    n.retry_base = milliseconds(100);
    n.retry_max = milliseconds(300);
    n.poll_interval = milliseconds(20);
    n.clinic_name = "Example Clinic";
    notifier_ = std::make_unique<Notifier>(*store_, clock_, *mailer_, n);
  }

  void TearDown() override {
    if (notifier_) notifier_->Stop();
    if (worker_) worker_->Stop();
    if (google_) google_->Stop();
  }

  void Connect() {
    auto grant = sync::testing::GrantByConsent(*oauth_, transport_, kDoctorEmail);
    ASSERT_TRUE(grant.has_value());
    ASSERT_TRUE(tokens_->StoreNewGrant(std::to_string(clinic_.doctor.id), *grant, kDoctorEmail));
  }

  core::Meeting WaitForState(int64_t appointment_id, core::MeetingState state) {
    auto deadline = std::chrono::steady_clock::now() + seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      auto m = store_->Read([&](store::Tx& tx) { return tx.GetMeeting(appointment_id); });
      if (m && m->state == state) return *m;
      std::this_thread::sleep_for(milliseconds(10));
    }
    ADD_FAILURE() << "meeting never reached " << core::Name(state);
    return {};
  }

  std::vector<core::AuditEntry> EmailAudit(int64_t appointment_id) {
    auto page = store_->Read([&](store::Tx& tx) {
      store::PageRequest p;
      p.limit = 1000;
      return tx.ListAudit(appointment_id, p);
    });
    std::vector<core::AuditEntry> out;
    if (!page) return out;
    for (auto& e : page->items) {
      if (e.action.starts_with("email.")) out.push_back(e);
    }
    return out;
  }

  static std::vector<json> To(const std::vector<json>& mail, const std::string& rcpt) {
    std::vector<json> out;
    for (const json& m : mail) {
      if (m["rcpt_tos"].size() == 1 && m["rcpt_tos"][0] == rcpt) out.push_back(m);
    }
    return out;
  }

  SystemClock& clock_ = SystemClock::Instance();
  sync::testing::TempStore store_{clock_, "sqlite"};
  sync::StoreGrantStore grants_{*store_};
  google::RetryPolicy retry_{[] {
                               google::RetryOptions o;
                               o.max_attempts = 3;
                               o.initial_backoff = milliseconds(20);
                               o.max_backoff = milliseconds(100);
                               o.deadline = seconds(5);
                               return o;
                             }(),
                             clock_, google::RealSleeper::Instance(), 7};
  google::RateLimiter limiter_{google::RateLimitOptions{}, clock_, google::RealSleeper::Instance()};
  net::HttpClient http_;
  google::HttpTransport transport_{http_};
  crypto::KeyRing keys_;
  sync::CallCollector calls_;
  std::unique_ptr<emulator::FakeGoogle> google_;
  std::unique_ptr<google::OAuthClient> oauth_;
  std::unique_ptr<google::TokenProvider> tokens_;
  std::unique_ptr<google::CalendarClient> calendar_;
  sync::testing::Clinic clinic_;
  std::unique_ptr<sync::Reconciler> reconciler_;
  std::unique_ptr<sync::Worker> worker_;
  testing::SmtpSink sink_;
  std::unique_ptr<Mailer> mailer_;
  std::unique_ptr<Notifier> notifier_;
};

TEST_F(NotifyFlowTest, ReadyWhileSmtpIsDownThenMailsForReadyRescheduleCancel) {
  Connect();
  worker_->Start();
  notifier_->Start();

  core::Appointment a;
  a.doctor_id = clinic_.doctor.id;
  a.service_id = clinic_.service.id;
  a.patient_id = clinic_.patient.id;
  a.start = *core::ParseRfc3339("2026-03-02T08:00:00Z");
  a.end = a.start + std::chrono::minutes(30);
  a.time_zone = "Europe/Berlin";
  a.status = core::AppointmentStatus::kConfirmed;
  auto made = store_->Transact([&](store::Tx& tx) { return tx.CreateAppointment(a); });
  ASSERT_TRUE(made) << made.error().ToString();
  a = *made;
  worker_->Nudge();

  // The SMTP server is down: the meeting becomes ready all the same.
  core::Meeting m = WaitForState(a.id, core::MeetingState::kReady);
  ASSERT_TRUE(m.join_url.starts_with("https://meet.google.com/")) << m.join_url;
  auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (EmailAudit(a.id).empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  auto audit = EmailAudit(a.id);
  ASSERT_FALSE(audit.empty());
  EXPECT_EQ(audit[0].action, "email.failed");
  EXPECT_EQ(json::parse(audit[0].detail)["outcome"], "retry");

  // Up again: both ready mails arrive, with the emulator's link.
  ASSERT_TRUE(sink_.Start());
  auto mail = sink_.WaitFor(2);
  ASSERT_EQ(mail.size(), 2u);
  auto patient = To(mail, kPatientEmail);
  ASSERT_EQ(patient.size(), 1u);
  EXPECT_NE(patient[0]["text"].get<std::string>().find(m.join_url), std::string::npos);
  EXPECT_NE(patient[0]["html"].get<std::string>().find("href=\"" + m.join_url + "\""),
            std::string::npos);
  std::string ics = patient[0]["attachments"][0]["content"];
  EXPECT_EQ(IcsProperty(ics, "URL"), m.join_url);
  EXPECT_EQ(IcsProperty(ics, "DTSTART"), "20260302T080000Z");
  auto doctor = To(mail, kDoctorEmail);
  ASSERT_EQ(doctor.size(), 1u);
  EXPECT_NE(doctor[0]["text"].get<std::string>().find(m.event_url), std::string::npos);

  // Reschedule: the patch keeps the link; the mails say the new time.
  ASSERT_TRUE(store_->Transact([&](store::Tx& tx) {
    return tx.Reschedule(a.id, *core::ParseRfc3339("2026-03-03T10:00:00Z"),
                         *core::ParseRfc3339("2026-03-03T10:30:00Z"));
  }));
  worker_->Nudge();
  mail = sink_.WaitFor(4);
  ASSERT_EQ(mail.size(), 4u);
  patient = To(mail, kPatientEmail);
  ASSERT_EQ(patient.size(), 2u);
  EXPECT_TRUE(patient[1]["subject"].get<std::string>().starts_with("Moved:"));
  // The patient's record has no zone (the default UTC): the appointment's zone is used.
  EXPECT_NE(patient[1]["text"].get<std::string>().find(
                "Tuesday 3 March 2026, 11:00 CET (Europe/Berlin)"),
            std::string::npos)
      << patient[1]["text"];
  doctor = To(mail, kDoctorEmail);
  ASSERT_EQ(doctor.size(), 2u);
  EXPECT_NE(
      doctor[1]["text"].get<std::string>().find("Tuesday 3 March 2026, 11:00 CET (Europe/Berlin)"),
      std::string::npos)
      << doctor[1]["text"];
  EXPECT_NE(patient[1]["text"].get<std::string>().find(m.join_url), std::string::npos);
  ics = patient[1]["attachments"][0]["content"];
  EXPECT_EQ(IcsProperty(ics, "DTSTART"), "20260303T100000Z");
  EXPECT_EQ(IcsProperty(ics, "UID"), core::IcsUid(a.uid));

  // Cancel: the event is deleted; the patient's calendar gets METHOD:CANCEL.
  ASSERT_TRUE(store_->Transact(
      [&](store::Tx& tx) { return tx.SetStatus(a.id, core::AppointmentStatus::kCancelled); }));
  worker_->Nudge();
  mail = sink_.WaitFor(6);
  ASSERT_EQ(mail.size(), 6u);
  patient = To(mail, kPatientEmail);
  ASSERT_EQ(patient.size(), 3u);
  EXPECT_TRUE(patient[2]["subject"].get<std::string>().starts_with("Cancelled:"));
  EXPECT_EQ(patient[2]["attachments"][0]["method"], "CANCEL");
  EXPECT_EQ(IcsProperty(patient[2]["attachments"][0]["content"], "STATUS"), "CANCELLED");
  // The audit entry is written right after the server's answer.
  int sent = 0;
  deadline = std::chrono::steady_clock::now() + seconds(10);
  while (sent < 6 && std::chrono::steady_clock::now() < deadline) {
    sent = 0;
    for (const auto& e : EmailAudit(a.id)) sent += e.action == "email.sent" ? 1 : 0;
    if (sent < 6) std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_EQ(sent, 6);
}

}  // namespace
}  // namespace telemeet::notify
