// Two notifiers (two instances) sharing one store while events keep arriving: every email is
// sent exactly once. Runs on SQLite and, with the PostgreSQL fixture, on PostgreSQL ("/postgres").
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/meeting.h"
#include "core/time.h"
#include "notify/notifier.h"
#include "sync/testing_util.h"

namespace telemeet::notify {
namespace {

using std::chrono::milliseconds;

// Counts what it is asked to send; never fails.
class CountingMailer final : public Mailer {
 public:
  Result<SendReceipt> Send(const Email& email, Instant) override {
    std::lock_guard lock(mu_);
    ++sent_[email.to.at(0).address + " | " + email.subject];
    return SendReceipt{.message_id = "<x@test>", .reply = "250 counted"};
  }
  std::string Describe() const override { return "counting"; }
  std::map<std::string, int> sent() {
    std::lock_guard lock(mu_);
    return sent_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, int> sent_;
};

class NotifierConcurrencyTest : public ::testing::TestWithParam<std::string> {
 protected:
  SystemClock& clock_ = SystemClock::Instance();
  sync::testing::TempStore store_{clock_, GetParam()};
};

TEST_P(NotifierConcurrencyTest, TwoInstancesSendEachEmailOnce) {
  ASSERT_NE(store_.operator->(), nullptr);
  sync::testing::Clinic clinic = sync::testing::MakeClinic(*store_, "who@clinic.example");
  CountingMailer mailer;
  NotifierOptions a;
  a.owner = "instance-a";
  a.poll_interval = milliseconds(5);
  NotifierOptions b = a;
  b.owner = "instance-b";
  Notifier first(*store_, clock_, mailer, a);
  Notifier second(*store_, clock_, mailer, b);
  first.Start();
  second.Start();

  constexpr int kAppointments = 40;
  Instant base = *core::ParseRfc3339("2026-05-04T06:00:00Z");
  for (int i = 0; i < kAppointments; ++i) {
    auto made = store_->Transact([&](store::Tx& tx) -> Status {
      core::Appointment appt;
      appt.doctor_id = clinic.doctor.id;
      appt.service_id = clinic.service.id;
      appt.patient_id = clinic.patient.id;
      appt.start = base + std::chrono::hours(i);  // a distinct time: a distinct subject
      appt.end = appt.start + std::chrono::minutes(30);
      appt.time_zone = "Europe/Berlin";
      appt.status = core::AppointmentStatus::kConfirmed;
      auto created = tx.CreateAppointment(appt);
      if (!created) return std::unexpected(created.error());
      core::OutboxEvent e;
      e.topic = "meeting.ready";
      e.appointment_id = created->id;
      e.doctor_id = clinic.doctor.id;
      e.payload = "{}";
      if (auto ev = tx.AppendOutbox(e); !ev) return std::unexpected(ev.error());
      return Ok();
    });
    ASSERT_TRUE(made) << made.error().ToString();
    if (i % 4 == 0) {
      first.Nudge();
      second.Nudge();
    }
  }

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  size_t total = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    total = 0;
    for (const auto& [key, n] : mailer.sent()) total += static_cast<size_t>(n);
    if (total >= 2 * kAppointments) break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  // A little longer: a duplicate would show up now.
  std::this_thread::sleep_for(milliseconds(300));
  first.Stop();
  second.Stop();
  auto sent = mailer.sent();
  EXPECT_EQ(sent.size(), 2u * kAppointments);
  for (const auto& [key, n] : sent) EXPECT_EQ(n, 1) << key;
  auto cursor = store_->Read([&](store::Tx& tx) { return tx.GetSetting(kOutboxCursorKey); });
  ASSERT_TRUE(cursor);
  auto left = store_->Read([&](store::Tx& tx) {
    store::PageRequest p;
    p.limit = 1000;
    return tx.ListJobs(kEmailJobKind, std::nullopt, p);
  });
  ASSERT_TRUE(left);
  EXPECT_TRUE(left->items.empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, NotifierConcurrencyTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace telemeet::notify
