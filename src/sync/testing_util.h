// Test helpers for the sync layer: a migrated SQLite store in a fresh temporary directory, and
// a doctor / service / patient to hang appointments on.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "store/store.h"

namespace telemeet::sync::testing {

class TempStore {
 public:
  explicit TempStore(Clock& clock) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "telemeet-sync-XXXXXX").string();
    dir_ = mkdtemp(pattern.data()) ? pattern : std::string();
    url_ = "sqlite://" + dir_ + "/db.sqlite";
    auto s = store::OpenStore(url_, clock);
    EXPECT_TRUE(s.has_value()) << s.error().ToString();
    if (s) store_ = std::move(*s);
    if (store_) {
      auto v = store_->Migrate();
      EXPECT_TRUE(v.has_value()) << v.error().ToString();
    }
  }
  ~TempStore() {
    store_.reset();
    std::error_code ec;
    if (!dir_.empty() && std::getenv("SYNC_KEEP_DB") == nullptr) {
      std::filesystem::remove_all(dir_, ec);
    }
  }
  store::Store& operator*() { return *store_; }
  store::Store* operator->() { return store_.get(); }
  const std::string& url() const { return url_; }

 private:
  std::string dir_;
  std::string url_;
  std::unique_ptr<store::Store> store_;
};

struct Clinic {
  core::Doctor doctor;
  core::Service service;
  core::Patient patient;
};

inline Clinic MakeClinic(store::Store& store, const std::string& doctor_email) {
  Clinic c;
  auto made = store.Transact([&](store::Tx& tx) -> Status {
    core::Doctor d;
    d.name = "Dr Who";
    d.email = doctor_email;
    d.time_zone = "Europe/Berlin";
    auto doctor = tx.CreateDoctor(d);
    if (!doctor) return std::unexpected(doctor.error());
    c.doctor = *doctor;
    core::Service s;
    s.name = "Video consultation";
    s.telemedicine = true;
    s.event_title_template = "{service} with {doctor}";
    auto service = tx.CreateService(s);
    if (!service) return std::unexpected(service.error());
    c.service = *service;
    core::Patient p;
    p.name = "Amy Pond";
    p.email = "amy@patients.example";
    auto patient = tx.CreatePatient(p);
    if (!patient) return std::unexpected(patient.error());
    c.patient = *patient;
    return Ok();
  });
  EXPECT_TRUE(made.has_value()) << made.error().ToString();
  return c;
}

}  // namespace telemeet::sync::testing
