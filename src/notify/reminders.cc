#include "notify/reminders.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>

#include "base/strings.h"
#include "notify/notifier.h"

namespace telemeet::notify {

namespace {

using nlohmann::json;
using std::chrono::seconds;

constexpr int64_t kMinute = 60;
constexpr int64_t kHour = 3600;
constexpr int64_t kDay = 86400;

// What happens to one reminder found due; the name is what the claim row records.
enum class Outcome { kQueued, kSuperseded, kTooLate, kNoEmail };

std::string_view Name(Outcome o) {
  switch (o) {
    case Outcome::kQueued:
      return "queued";
    case Outcome::kSuperseded:
      return "superseded";
    case Outcome::kTooLate:
      return "too_late";
    case Outcome::kNoEmail:
      return "no_email";
  }
  return "queued";
}

struct Decision {
  core::Appointment appointment;
  seconds lead{};
  Outcome outcome = Outcome::kQueued;
};

std::string JobKey(const core::Appointment& a, seconds lead) {
  return "email:reminder:" + std::to_string(a.id) + ":" +
         std::to_string(a.start.time_since_epoch().count()) + ":" + std::to_string(lead.count());
}

}  // namespace

Result<seconds> ParseLeadTime(std::string_view text, std::string_view field) {
  auto invalid = [&](std::string_view why) {
    return Fail(
        ErrorCode::kInvalidArgument,
        std::string(field) + ": " + std::string(why) + ", got \"" + std::string(text) + "\"",
        std::string(field));
  };
  std::string_view t = Trim(text);
  if (t.size() < 2) return invalid("must be a number and a unit m, h or d, like 24h");
  int64_t unit = 0;
  switch (t.back()) {
    case 'm':
      unit = kMinute;
      break;
    case 'h':
      unit = kHour;
      break;
    case 'd':
      unit = kDay;
      break;
    default:
      return invalid("must be a number and a unit m, h or d, like 24h");
  }
  std::string_view digits = t.substr(0, t.size() - 1);
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) {
    return invalid("must be a number and a unit m, h or d, like 24h");
  }
  if (n < 0 || n > kMaxLeadTime.count() / unit || seconds(n * unit) < kMinLeadTime) {
    return invalid("must be between 5m and 30d");
  }
  return seconds(n * unit);
}

std::string FormatLeadTime(seconds lead) {
  const int64_t s = lead.count();
  if (s >= 2 * kDay && s % kDay == 0) return std::to_string(s / kDay) + "d";
  if (s % kHour == 0) return std::to_string(s / kHour) + "h";
  return std::to_string(s / kMinute) + "m";
}

std::string HumanTimeLeft(std::chrono::microseconds left) {
  auto words = [](int64_t n, std::string_view unit) {
    return std::to_string(n) + " " + std::string(unit) + (n == 1 ? "" : "s");
  };
  // To the nearest minute (a reminder goes a moment after its time: 23:59:58 reads "24 hours"),
  // then to the nearest hour from 2 hours on and the nearest day from 2 days on.
  const int64_t m = std::max<int64_t>(1, (left.count() + 30'000'000) / 60'000'000);
  if (m >= 2 * kDay / kMinute) return words((m + 720) / 1440, "day");
  if (m >= 120) return words((m + 30) / 60, "hour");
  if (m == 60) return words(1, "hour");
  return words(m, "minute");
}

Result<LeadTimes> ParseLeadTimes(std::span<const std::string> items, std::string_view field) {
  if (items.size() > kMaxLeadTimes) {
    return Fail(ErrorCode::kInvalidArgument,
                std::string(field) + ": at most " + std::to_string(kMaxLeadTimes) +
                    " lead times, got " + std::to_string(items.size()),
                std::string(field));
  }
  LeadTimes out;
  for (const std::string& item : items) {
    auto lead = ParseLeadTime(item, field);
    if (!lead) return std::unexpected(lead.error());
    out.push_back(*lead);
  }
  std::sort(out.begin(), out.end(), std::greater<>());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::string> FormatLeadTimes(const LeadTimes& leads) {
  std::vector<std::string> out;
  for (seconds lead : leads) out.push_back(FormatLeadTime(lead));
  return out;
}

Result<StoredLeadTimes> LoadLeadTimes(store::Tx& tx, const LeadTimes& defaults) {
  auto stored = tx.GetSetting(kReminderLeadTimesKey);
  if (!stored) {
    if (stored.error().code() != ErrorCode::kNotFound) return std::unexpected(stored.error());
    return StoredLeadTimes{.current = defaults, .customized = false};
  }
  json j = json::parse(*stored, nullptr, false);
  std::vector<std::string> items;
  if (j.is_array()) {
    for (const json& item : j) {
      if (item.is_string()) items.push_back(item.get<std::string>());
    }
  }
  auto leads = ParseLeadTimes(items, kReminderLeadTimesKey);
  // Only SaveLeadTimes writes it, validated; a row that still does not parse (edited by hand)
  // falls back to the configuration rather than stopping every reminder.
  if (!j.is_array() || !leads) return StoredLeadTimes{.current = defaults, .customized = false};
  return StoredLeadTimes{.current = std::move(*leads), .customized = true};
}

Status SaveLeadTimes(store::Tx& tx, const std::optional<LeadTimes>& leads) {
  if (!leads) {
    auto gone = tx.DeleteSetting(kReminderLeadTimesKey);
    if (!gone) return std::unexpected(gone.error());
    return Ok();
  }
  return tx.PutSetting(kReminderLeadTimesKey, json(FormatLeadTimes(*leads)).dump());
}

Result<int> QueueDueReminders(store::Store& store, Instant now, const LeadTimes& config_leads,
                              int32_t limit) {
  // 1. What is due, read without the write lock (most passes find nothing).
  auto decisions = store.Read([&](store::Tx& tx) -> Result<std::vector<Decision>> {
    auto leads = LoadLeadTimes(tx, config_leads);
    if (!leads) return std::unexpected(leads.error());
    // Per appointment (at its current start), the lead times found due and unclaimed.
    std::map<int64_t, std::vector<std::pair<seconds, store::ReminderCandidate>>> due;
    for (seconds lead : leads->current) {
      auto found = tx.ListUnclaimedReminders(now, lead, limit);
      if (!found) return std::unexpected(found.error());
      for (store::ReminderCandidate& c : *found) {
        due[c.appointment.id].emplace_back(lead, std::move(c));
      }
    }
    std::vector<Decision> out;
    for (auto& [id, reminders] : due) {
      // Nearest first: the one that goes when several are due at once.
      std::sort(reminders.begin(), reminders.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      bool queued = false;
      for (auto& [lead, c] : reminders) {
        Decision d{.appointment = c.appointment, .lead = lead};
        if (c.appointment.start - lead < c.appointment.updated_at) {
          d.outcome = Outcome::kTooLate;  // booked or moved after its moment
        } else if (queued) {
          d.outcome = Outcome::kSuperseded;
        } else {
          d.outcome = Trim(c.patient_email).empty() ? Outcome::kNoEmail : Outcome::kQueued;
          queued = true;
        }
        out.push_back(std::move(d));
      }
    }
    return out;
  });
  if (!decisions) return std::unexpected(decisions.error());
  if (decisions->empty()) return 0;

  // 2. Claim each and queue the ones that go, in one transaction: a claim without its job (or a
  // job without its claim) never commits.
  return store.Transact([&](store::Tx& tx) -> Result<int> {
    int queued = 0;
    for (const Decision& d : *decisions) {
      auto claimed =
          tx.ClaimReminder(d.appointment.id, d.appointment.start, d.lead, Name(d.outcome));
      if (!claimed) return std::unexpected(claimed.error());
      if (!*claimed || d.outcome != Outcome::kQueued) continue;  // another instance has it
      core::Job job;
      job.kind = std::string(kEmailJobKind);
      job.key = JobKey(d.appointment, d.lead);
      job.payload = json{{"event_id", 0},
                         {"topic", kReminderTopic},
                         {"template", kReminderTemplate},
                         {"role", "patient"},
                         {"appointment_id", d.appointment.id},
                         {"doctor_id", d.appointment.doctor_id},
                         {"data", json::object()},
                         {"reminder",
                          {{"start_us", d.appointment.start.time_since_epoch().count()},
                           {"lead_seconds", d.lead.count()}}}}
                        .dump();
      job.run_at = now;
      if (auto j = tx.UpsertJob(job); !j) return std::unexpected(j.error());
      ++queued;
    }
    return queued;
  });
}

}  // namespace telemeet::notify
