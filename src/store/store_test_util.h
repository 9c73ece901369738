// Shared fixture pieces of the store tests: a fresh migrated store per test on the backend the
// test is parameterized with, and seed helpers.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "base/clock.h"
#include "core/time.h"
#include "store/store.h"
#include "store/testing/test_database.h"

namespace telemeet::store {

template <typename R>
ErrorCode CodeOf(const R& r) {
  return r ? static_cast<ErrorCode>(-1) : r.error().code();
}

inline Instant T(std::string_view rfc3339) { return *core::ParseRfc3339(rfc3339); }

class StoreFixture : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto db = testing::TestDatabase::Create(GetParam());
    ASSERT_TRUE(db) << db.error().ToString();
    db_ = std::move(*db);
    auto s = OpenStore(db_->url(), clock_);
    ASSERT_TRUE(s) << s.error().ToString();
    store_ = std::move(*s);
    auto v = store_->Migrate();
    ASSERT_TRUE(v) << v.error().ToString();
  }

  // A doctor, a telemedicine service and a patient; ids in doctor_, service_, patient_.
  void Seed() {
    auto r = store_->Transact([&](Tx& tx) -> Status {
      core::Doctor d;
      d.name = "Dr. Anna Weber";
      d.email = "anna@clinic.example";
      d.time_zone = "Europe/Berlin";
      auto doc = tx.CreateDoctor(d);
      if (!doc) return std::unexpected(doc.error());
      doctor_ = doc->id;
      core::Service s;
      s.name = "Video consultation";
      s.telemedicine = true;
      auto svc = tx.CreateService(s);
      if (!svc) return std::unexpected(svc.error());
      service_ = svc->id;
      core::Patient p;
      p.name = "Bob Patient";
      p.email = "bob@example.org";
      auto pat = tx.CreatePatient(p);
      if (!pat) return std::unexpected(pat.error());
      patient_ = pat->id;
      return Ok();
    });
    ASSERT_TRUE(r) << r.error().ToString();
  }

  core::Appointment NewAppointment(std::string_view start, int minutes = 30) {
    core::Appointment a;
    a.doctor_id = doctor_;
    a.service_id = service_;
    a.patient_id = patient_;
    a.start = T(start);
    a.end = a.start + std::chrono::minutes(minutes);
    a.time_zone = "Europe/Berlin";
    return a;
  }

  Result<core::Appointment> Create(const core::Appointment& a) {
    return store_->Transact([&](Tx& tx) { return tx.CreateAppointment(a); });
  }

  FakeClock clock_{T("2026-03-01T08:00:00Z")};
  std::unique_ptr<testing::TestDatabase> db_;
  std::unique_ptr<Store> store_;
  int64_t doctor_ = 0, service_ = 0, patient_ = 0;
};

inline std::string BackendName(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

}  // namespace telemeet::store
