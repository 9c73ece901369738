// Patient reminder emails (reminders.h) with a fake clock, a store on either backend (SQLite
// always; PostgreSQL with the sync tests' server, "/postgres") and a mailer that records what it
// is asked to send.
#include "notify/reminders.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <latch>
#include <map>
#include <mutex>
#include <thread>

#include "core/meeting.h"
#include "core/time.h"
#include "notify/notifier.h"
#include "sync/testing_util.h"

namespace telemeet::notify {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

const std::string kLink = "https://meet.google.com/abc-defg-hij";
const std::string kPage = "https://telemeet.example/p?token=tok";

class RecordingMailer final : public Mailer {
 public:
  Result<SendReceipt> Send(const Email& email, Instant) override {
    std::lock_guard lock(mu_);
    sent_.push_back(email);
    return SendReceipt{.message_id = "<x@test>", .reply = "250 ok"};
  }
  std::string Describe() const override { return "recording"; }
  std::vector<Email> sent() {
    std::lock_guard lock(mu_);
    return sent_;
  }

 private:
  std::mutex mu_;
  std::vector<Email> sent_;
};

class ReminderTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_NE(store_.operator->(), nullptr);
    clinic_ = sync::testing::MakeClinic(*store_, "who@clinic.example");
    notifier_ = MakeNotifier("instance-a");
  }

  std::unique_ptr<Notifier> MakeNotifier(std::string owner) {
    NotifierOptions o;
    o.owner = std::move(owner);
    o.clinic_name = "Example Clinic";
    o.patient_page_link = [](store::Tx&, const core::Appointment&) -> Result<std::string> {
      return kPage;
    };
    return std::make_unique<Notifier>(*store_, clock_, mailer_, o);
  }

  // Booked now (the fake clock's time), with a ready meeting unless `ready` is false.
  core::Appointment Book(Instant start, bool ready = true) {
    auto made = store_->Transact([&](store::Tx& tx) -> Result<core::Appointment> {
      core::Appointment a;
      a.doctor_id = clinic_.doctor.id;
      a.service_id = clinic_.service.id;
      a.patient_id = clinic_.patient.id;
      a.start = start;
      a.end = start + minutes(30);
      a.time_zone = "Europe/Berlin";
      a.status = core::AppointmentStatus::kConfirmed;
      auto appt = tx.CreateAppointment(a);
      if (!appt) return appt;
      core::Meeting m;
      m.appointment_id = appt->id;
      m.doctor_id = clinic_.doctor.id;
      m.state = core::MeetingState::kCreating;
      m.event_id = core::EventIdFor(appt->uid);
      if (auto s = tx.PutMeeting(m); !s) return std::unexpected(s.error());
      if (ready) {
        m.state = core::MeetingState::kReady;
        m.join_url = kLink;
        m.synced_revision = appt->revision;
        if (auto s = tx.PutMeeting(m); !s) return std::unexpected(s.error());
      }
      return appt;
    });
    EXPECT_TRUE(made) << made.error().ToString();
    return made ? *made : core::Appointment{};
  }

  // What the background loop does in one pass, minus the outbox: queue, then send.
  void Pass(Notifier& n) {
    auto queued = n.QueueReminders();
    ASSERT_TRUE(queued) << queued.error().ToString();
    while (true) {
      auto ran = n.RunDue();
      ASSERT_TRUE(ran) << ran.error().ToString();
      if (*ran == 0) break;
    }
  }
  void Pass() { Pass(*notifier_); }

  std::vector<Email> Reminders() {
    std::vector<Email> out;
    for (Email& e : mailer_.sent()) {
      if (e.subject.starts_with("Reminder:")) out.push_back(std::move(e));
    }
    return out;
  }

  FakeClock clock_{*core::ParseRfc3339("2026-03-02T08:00:00Z")};
  sync::testing::TempStore store_{clock_, GetParam()};
  sync::testing::Clinic clinic_;
  RecordingMailer mailer_;
  std::unique_ptr<Notifier> notifier_;
};

TEST_P(ReminderTest, SentAtEachLeadTimeWithTheJoinLinkAndThePatientPage) {
  const Instant start = clock_.Now() + hours(48);
  Book(start);
  Pass();
  EXPECT_TRUE(Reminders().empty());
  clock_.Set(start - hours(24) - seconds(1));
  Pass();
  EXPECT_TRUE(Reminders().empty()) << "a second early";
  clock_.Set(start - hours(24));
  Pass();
  auto sent = Reminders();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].to.at(0).address, clinic_.patient.email);
  EXPECT_NE(sent[0].text.find("in 24 hours"), std::string::npos) << sent[0].text;
  EXPECT_NE(sent[0].text.find(kLink), std::string::npos) << sent[0].text;
  EXPECT_NE(sent[0].text.find(kPage), std::string::npos) << sent[0].text;
  EXPECT_NE(sent[0].html.find("Example Clinic"), std::string::npos);
  EXPECT_FALSE(sent[0].calendar.has_value()) << "the patient has the .ics already";

  clock_.Advance(hours(2));
  Pass();
  EXPECT_EQ(Reminders().size(), 1u) << "the 24 h reminder goes once";
  clock_.Set(start - hours(1));
  Pass();
  sent = Reminders();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_NE(sent[1].text.find("in 1 hour."), std::string::npos) << sent[1].text;
  clock_.Set(start + minutes(5));
  Pass();
  EXPECT_EQ(Reminders().size(), 2u);
}

TEST_P(ReminderTest, WithoutAReadyMeetingThePatientPageStandsInForTheLink) {
  const Instant start = clock_.Now() + hours(5);
  Book(start, /*ready=*/false);
  clock_.Set(start - hours(1));
  Pass();
  auto sent = Reminders();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].text.find("meet.google.com"), std::string::npos) << sent[0].text;
  EXPECT_EQ(sent[0].html.find("Join Google Meet"), std::string::npos);
  EXPECT_NE(sent[0].text.find(kPage), std::string::npos) << sent[0].text;
}

TEST_P(ReminderTest, NeverForACancelledAppointment) {
  const Instant start = clock_.Now() + hours(48);
  core::Appointment a = Book(start);
  core::Appointment b = Book(start + hours(1));
  ASSERT_TRUE(store_->Transact(
      [&](store::Tx& tx) { return tx.SetStatus(a.id, core::AppointmentStatus::kCancelled); }));
  clock_.Set(start + hours(1) - hours(24));
  // b's reminder queued, then b cancelled before it is sent.
  ASSERT_TRUE(notifier_->QueueReminders());
  ASSERT_TRUE(store_->Transact(
      [&](store::Tx& tx) { return tx.SetStatus(b.id, core::AppointmentStatus::kCancelled); }));
  Pass();
  clock_.Set(start - minutes(30));
  Pass();
  EXPECT_TRUE(Reminders().empty());
}

TEST_P(ReminderTest, NotForATimeTheAppointmentMovedAwayFromButForTheNewOne) {
  const Instant old_start = clock_.Now() + hours(48);
  const Instant new_start = old_start + hours(3);
  core::Appointment a = Book(old_start);
  clock_.Advance(hours(1));
  ASSERT_TRUE(store_->Transact(
      [&](store::Tx& tx) { return tx.Reschedule(a.id, new_start, new_start + minutes(30)); }));
  clock_.Set(old_start - hours(24));
  Pass();
  EXPECT_TRUE(Reminders().empty()) << "the old time's 24 h reminder";
  clock_.Set(new_start - hours(24));
  Pass();
  ASSERT_EQ(Reminders().size(), 1u);
  EXPECT_NE(Reminders()[0].subject.find(HumanTime(new_start, "America/New_York").substr(0, 10)),
            std::string::npos);

  // Queued for the new time's 1 h, then moved again before it was sent: not sent for the time
  // it no longer has; the third time is set less than an hour ahead, so it gets none.
  clock_.Set(new_start - hours(1));
  ASSERT_TRUE(notifier_->QueueReminders());
  const Instant third = clock_.Now() + minutes(50);
  ASSERT_TRUE(store_->Transact(
      [&](store::Tx& tx) { return tx.Reschedule(a.id, third, third + minutes(30)); }));
  Pass();
  clock_.Set(third - minutes(10));
  Pass();
  EXPECT_EQ(Reminders().size(), 1u);
}

TEST_P(ReminderTest, NotForLeadTimesAlreadyPastWhenBooked) {
  const Instant soon = clock_.Now() + minutes(30);
  Book(soon);
  const Instant later = clock_.Now() + hours(3);
  Book(later);
  Pass();
  EXPECT_TRUE(Reminders().empty()) << "neither 24 h nor 1 h before was still ahead";
  clock_.Set(soon - minutes(1));
  Pass();
  EXPECT_TRUE(Reminders().empty());
  clock_.Set(later - hours(1));
  Pass();
  auto sent = Reminders();
  ASSERT_EQ(sent.size(), 1u) << "the 3 h booking gets its 1 h reminder only";
  EXPECT_NE(sent[0].text.find("in 1 hour."), std::string::npos);
}

TEST_P(ReminderTest, SeveralDueAtOnceSendOnlyTheNearest) {
  const Instant start = clock_.Now() + hours(48);
  Book(start);
  clock_.Set(start - minutes(30));  // telemeet was down through both moments
  Pass();
  auto sent = Reminders();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_NE(sent[0].text.find("in 30 minutes."), std::string::npos) << "what is left, not 1 hour";
  clock_.Advance(minutes(1));
  Pass();
  EXPECT_EQ(Reminders().size(), 1u);
}

TEST_P(ReminderTest, OnlyForPatientsWithAnEmail) {
  ASSERT_TRUE(store_->Transact([&](store::Tx& tx) -> Status {
    clinic_.patient.email = "";
    auto p = tx.UpdatePatient(clinic_.patient);
    if (!p) return std::unexpected(p.error());
    return Ok();
  }));
  const Instant start = clock_.Now() + hours(5);
  Book(start);
  clock_.Set(start - hours(1));
  Pass();
  EXPECT_TRUE(mailer_.sent().empty());
  auto jobs = store_->Read(
      [&](store::Tx& tx) { return tx.ListJobs(kEmailJobKind, std::nullopt, {.limit = 10}); });
  ASSERT_TRUE(jobs);
  EXPECT_TRUE(jobs->items.empty());
}

TEST_P(ReminderTest, TheAdminsLeadTimesReplaceTheConfiguration) {
  ASSERT_TRUE(
      store_->Transact([&](store::Tx& tx) { return SaveLeadTimes(tx, LeadTimes{hours(2)}); }));
  const Instant start = clock_.Now() + hours(48);
  Book(start);
  clock_.Set(start - hours(24));
  Pass();
  EXPECT_TRUE(Reminders().empty());
  clock_.Set(start - hours(2));
  Pass();
  ASSERT_EQ(Reminders().size(), 1u);
  EXPECT_NE(Reminders()[0].text.find("in 2 hours"), std::string::npos);
  clock_.Set(start - hours(1));
  Pass();
  EXPECT_EQ(Reminders().size(), 1u);

  ASSERT_TRUE(store_->Transact([&](store::Tx& tx) { return SaveLeadTimes(tx, std::nullopt); }));
  auto leads = store_->Read([&](store::Tx& tx) {
    return LoadLeadTimes(tx, LeadTimes{hours(24), hours(1)});
  });
  ASSERT_TRUE(leads);
  EXPECT_FALSE(leads->customized);
  EXPECT_EQ(leads->current, (LeadTimes{hours(24), hours(1)}));
}

TEST_P(ReminderTest, AnEditedTemplateIsWhatGoes) {
  ASSERT_TRUE(store_->Transact([&](store::Tx& tx) {
    return SaveTemplatePart(tx, kReminderTemplate, Part::kSubject,
                            "Reminder: {{clinic_name}} sees you in {{reminder_lead}}");
  }));
  const Instant start = clock_.Now() + hours(5);
  Book(start);
  clock_.Set(start - hours(1));
  Pass();
  auto sent = Reminders();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].subject, "Reminder: Example Clinic sees you in 1 hour");
}

// Two instances see the same reminders due at the same moment: each goes once.
TEST_P(ReminderTest, TwoNotifiersRacingSendEachReminderOnce) {
  std::unique_ptr<Notifier> second = MakeNotifier("instance-b");
  constexpr int kAppointments = 12;
  const Instant base = clock_.Now() + hours(30);
  for (int i = 0; i < kAppointments; ++i) Book(base + minutes(40 * i));
  // Every 24 h and 1 h moment of the twelve, both instances starting at once at each.
  std::vector<Instant> moments;
  for (int i = 0; i < kAppointments; ++i) {
    moments.push_back(base + minutes(40 * i) - hours(24));
    moments.push_back(base + minutes(40 * i) - hours(1));
  }
  std::sort(moments.begin(), moments.end());
  for (Instant t : moments) {
    clock_.Set(t);
    std::latch go(2);
    auto run = [&](Notifier& n) {
      go.arrive_and_wait();
      for (int k = 0; k < 3; ++k) Pass(n);
    };
    std::thread a([&] { run(*notifier_); });
    std::thread b([&] { run(*second); });
    a.join();
    b.join();
  }
  std::map<std::string, int> count;
  for (const Email& e : Reminders()) {
    ++count[e.subject + (e.text.find("in 24 hours") != std::string::npos ? " 24h" : " 1h")];
  }
  EXPECT_EQ(count.size(), 2u * kAppointments);
  EXPECT_EQ(Reminders().size(), 2u * kAppointments);
  for (const auto& [key, n] : count) EXPECT_EQ(n, 1) << key;
}

INSTANTIATE_TEST_SUITE_P(Backends, ReminderTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace telemeet::notify
