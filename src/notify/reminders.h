// Patient reminder emails (M23): the lead times ("24h", "1h"), where they are configured, and the
// step that turns reminders falling due into "email" jobs the Notifier sends.
//
//   Result<std::chrono::seconds> lead = ParseLeadTime("90m", "notify.reminders");  // 5400 s
//   std::string text = FormatLeadTime(std::chrono::hours(24));                      // "24h"
//   Result<StoredLeadTimes> leads = LoadLeadTimes(tx, config_leads);  // the admin's, else config
//   Result<int> queued = QueueDueReminders(store, clock.Now(), config_leads);
//
// The rule. The reminder `lead` before an appointment's start is due once start - lead has come
// and the start has not; it is only for a booked or confirmed appointment that was last written
// (booked, moved, edited) no later than start - lead, so a booking or move made 30 minutes ahead
// gets neither the 1 h nor the 24 h reminder. A reminder belongs to one start: a moved
// appointment's old start is never looked at again, and its new start has reminders of its own.
// When several of an appointment's reminders are due at once (telemeet was down, or an admin
// added a lead time) only the nearest goes; the others are passed over.
//
// Once: QueueDueReminders claims each reminder (Tx::ClaimReminder, a row keyed by appointment,
// start and lead) in the transaction that queues its email job, so of two instances seeing it
// due one queues it; the passed-over ones are claimed too, so they are never looked at again.
// The Notifier checks again when it sends (status, start unchanged, not started yet).
//
// All functions are thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "store/store.h"

namespace telemeet::notify {

// Largest first, no duplicates.
using LeadTimes = std::vector<std::chrono::seconds>;

inline constexpr std::string_view kReminderLeadTimesKey = "notify.reminders";  // settings table
inline constexpr std::string_view kReminderTemplate = "appointment.reminder.patient";
inline constexpr std::string_view kReminderTopic = "appointment.reminder";
inline constexpr std::chrono::seconds kMinLeadTime = std::chrono::minutes(5);
inline constexpr std::chrono::seconds kMaxLeadTime = std::chrono::days(30);
inline constexpr size_t kMaxLeadTimes = 10;

// "<number><unit>" with unit m (minutes), h (hours) or d (days), from 5m to 30d.
// kInvalidArgument naming `field` and the value.
Result<std::chrono::seconds> ParseLeadTime(std::string_view text, std::string_view field);
// Days from 2 days on, else hours when whole, else minutes: "24h", "90m", "3d".
std::string FormatLeadTime(std::chrono::seconds lead);
// How long until the start, rounded for a reader: "24 hours", "1 hour", "90 minutes", "3 days"
// ({{reminder_lead}}). The time left when the email is made, not the lead time: a reminder sent
// late (telemeet was down, or an admin added a lead time) never says more than is left.
std::string HumanTimeLeft(std::chrono::microseconds left);
// Each item parsed, at most kMaxLeadTimes, sorted largest first, duplicates dropped. An empty
// list is allowed: no reminders.
Result<LeadTimes> ParseLeadTimes(std::span<const std::string> items, std::string_view field);
std::vector<std::string> FormatLeadTimes(const LeadTimes& leads);

// The admin's lead times (setting kReminderLeadTimesKey, a JSON array of strings) or, when none
// are saved, `defaults` (the configuration's notify.reminders).
struct StoredLeadTimes {
  LeadTimes current;
  bool customized = false;
};
Result<StoredLeadTimes> LoadLeadTimes(store::Tx& tx, const LeadTimes& defaults);
// Saves `leads` as the admin's choice; nullopt goes back to the configuration's.
Status SaveLeadTimes(store::Tx& tx, const std::optional<LeadTimes>& leads);

// Claims the reminders due at `now` for the lead times in force (LoadLeadTimes with
// `config_leads`) and queues an email job (kind "email", key
// "email:reminder:<appointment>:<start unix>:<lead s>", due now) for each one that goes.
// At most `limit` appointments per lead time per call. Returns how many emails it queued.
// A read transaction when nothing is due.
Result<int> QueueDueReminders(store::Store& store, Instant now, const LeadTimes& config_leads,
                              int32_t limit = 100);

}  // namespace telemeet::notify
