#include "google/event_ids.h"

#include <gtest/gtest.h>

#include <set>

#include "google/event.h"

namespace telemeet::google {
namespace {

TEST(EventIdsTest, EventIdsAreValidStableAndDistinct) {
  std::string a = EventIdForAppointment("appt-42");
  EXPECT_EQ(a.size(), 34u);
  EXPECT_TRUE(ValidEventId(a)) << a;
  EXPECT_EQ(a, EventIdForAppointment("appt-42"));
  EXPECT_NE(a, EventIdForAppointment("appt-43"));
  EXPECT_NE(a, EventIdForAppointment("appt-42", "clinic-b"));
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = EventIdForAppointment(std::to_string(i));
    EXPECT_TRUE(ValidEventId(id));
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(EventIdsTest, RequestIdChangesOnlyWithTheAttempt) {
  EXPECT_EQ(ConferenceRequestId("appt-42", 1), "appt-42-1");
  EXPECT_EQ(ConferenceRequestId("appt-42", 1), ConferenceRequestId("appt-42", 1));
  EXPECT_NE(ConferenceRequestId("appt-42", 1), ConferenceRequestId("appt-42", 2));
}

}  // namespace
}  // namespace telemeet::google
