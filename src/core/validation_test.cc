#include "core/validation.h"

#include <gtest/gtest.h>

#include "core/time.h"

namespace telemeet::core {
namespace {

Appointment Valid() {
  Appointment a;
  a.doctor_id = 1;
  a.service_id = 2;
  a.patient_id = 3;
  a.start = *ParseRfc3339("2026-03-30T08:00:00Z");
  a.end = *ParseRfc3339("2026-03-30T08:30:00Z");
  a.time_zone = "Europe/Berlin";
  return a;
}

std::string FieldOf(const Status& s) { return s ? "" : s.error().field(); }

TEST(ValidationTest, Emails) {
  for (std::string_view ok : {"a@b.de", "dr.house+tm@clinic.example.com", "x@sub-domain.org"}) {
    EXPECT_TRUE(ValidateEmail(ok, "email")) << ok;
  }
  for (std::string_view bad : {"", "plain", "a@b", "a@@b.de", "@b.de", "a b@c.de", "a@-b.de",
                               "a@b..de", "a@b.de,", "a@b_c.de"}) {
    auto s = ValidateEmail(bad, "patient.email");
    ASSERT_FALSE(s) << bad;
    EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(s.error().field(), "patient.email");
  }
  EXPECT_TRUE(ValidateEmail("", "email", /*optional=*/true));
  EXPECT_FALSE(ValidateEmail(std::string(250, 'a') + "@b.de", "email"));
}

TEST(ValidationTest, Names) {
  EXPECT_TRUE(ValidateName("Dr. Anna Müller", "name"));
  EXPECT_EQ(FieldOf(ValidateName("   ", "doctor.name")), "doctor.name");
  EXPECT_EQ(FieldOf(ValidateName("a\nb", "name")), "name");
  EXPECT_EQ(FieldOf(ValidateName(std::string(201, 'x'), "name")), "name");
}

TEST(ValidationTest, AppointmentTimes) {
  EXPECT_TRUE(ValidateAppointment(Valid()));
  Appointment a = Valid();
  a.end = a.start;
  EXPECT_EQ(FieldOf(ValidateAppointment(a)), "end");
  a.end = a.start - std::chrono::minutes(30);
  EXPECT_EQ(FieldOf(ValidateAppointment(a)), "end");
  a.end = a.start + std::chrono::minutes(4);
  EXPECT_EQ(FieldOf(ValidateAppointment(a)), "end");
  a.end = a.start + std::chrono::hours(12) + std::chrono::minutes(1);
  EXPECT_EQ(FieldOf(ValidateAppointment(a)), "end");
  a = Valid();
  a.time_zone = "Europe/Atlantis";
  EXPECT_EQ(FieldOf(ValidateAppointment(a)), "time_zone");
  a = Valid();
  a.start = Instant{};
  EXPECT_EQ(FieldOf(ValidateAppointment(a)), "start");
  a = Valid();
  a.patient_id = 0;
  EXPECT_EQ(FieldOf(ValidateAppointment(a)), "patient_id");
}

TEST(ValidationTest, DoctorServicePatient) {
  Doctor d;
  d.name = "Dr. A";
  d.email = "a@clinic.de";
  d.time_zone = "Europe/Berlin";
  EXPECT_TRUE(ValidateDoctor(d));
  d.email = "nope";
  EXPECT_EQ(FieldOf(ValidateDoctor(d)), "email");
  Service s;
  s.name = "Video consult";
  s.telemedicine = true;
  EXPECT_TRUE(ValidateService(s));
  s.default_duration_minutes = 1;
  EXPECT_EQ(FieldOf(ValidateService(s)), "default_duration_minutes");
  Patient p;
  p.name = "Bob";
  p.phone = "+49 (30) 123-456";
  EXPECT_TRUE(ValidatePatient(p));
  p.phone = "call me";
  EXPECT_EQ(FieldOf(ValidatePatient(p)), "phone");
  p.phone = "";
  p.email = "bob@";
  EXPECT_EQ(FieldOf(ValidatePatient(p)), "email");
}

TEST(ValidationTest, OverlapsIsHalfOpenPerDoctorIgnoringCancelled) {
  Appointment a = Valid(), b = Valid();
  EXPECT_TRUE(Overlaps(a, b));
  b.start = a.end;  // back to back
  b.end = b.start + std::chrono::minutes(30);
  EXPECT_FALSE(Overlaps(a, b));
  b.start = a.end - std::chrono::minutes(1);
  EXPECT_TRUE(Overlaps(a, b));
  b.doctor_id = 9;
  EXPECT_FALSE(Overlaps(a, b));
  b.doctor_id = a.doctor_id;
  b.status = AppointmentStatus::kCancelled;
  EXPECT_FALSE(Overlaps(a, b));
}

}  // namespace
}  // namespace telemeet::core
