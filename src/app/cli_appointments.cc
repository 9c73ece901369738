// `telemeet doctors list`, `telemeet appointments list|show`: what an operator needs at 3 a.m.
// without a browser. Read-only; JSON in the API's shapes (api/views.h) for scripts.
#include <iostream>
#include <map>

#include "api/views.h"
#include "app/cli.h"
#include "core/time.h"

namespace telemeet::app {

namespace {

using nlohmann::json;

std::string Text(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// Each doctor's Google connection, by doctor id ("-" when never connected).
Result<std::string> GrantState(store::Tx& tx, int64_t doctor_id) {
  auto grant = tx.GetGrant(doctor_id);
  if (!grant && grant.error().code() == ErrorCode::kNotFound) return std::string("-");
  if (!grant) return std::unexpected(grant.error());
  std::string out(core::Name(grant->status));
  if (!grant->account_email.empty()) out += " (" + grant->account_email + ")";
  return out;
}

int ListDoctors(const Config& config, bool as_json) {
  auto db = OpenStoreForCli(config);
  if (!db) return CliFailed(db.error());
  auto doctors = ListAll<core::Doctor>(
      **db, [](store::Tx& tx, const store::PageRequest& p) { return tx.ListDoctors(p); });
  if (!doctors) return CliFailed(doctors.error());
  std::map<int64_t, std::string> google;
  auto read = (*db)->Read([&](store::Tx& tx) -> Status {
    for (const auto& d : *doctors) google[d.id] = TM_TRY(GrantState(tx, d.id));
    return Ok();
  });
  if (!read) return CliFailed(read.error());
  if (as_json) {
    json out = json::array();
    for (const auto& d : *doctors) {
      json j = api::DoctorJson(d);
      j["google"] = google[d.id];
      out.push_back(std::move(j));
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  Table t({"ID", "NAME", "EMAIL", "TIME ZONE", "ACTIVE", "GOOGLE"});
  for (const auto& d : *doctors) {
    t.Row({std::to_string(d.id), d.name, d.email, d.time_zone, d.active ? "yes" : "no",
           google[d.id]});
  }
  t.Print(std::cout);
  return 0;
}

struct ListArgs {
  int64_t doctor = 0;
  std::string from, to, status;
  int64_t limit = 100;
  bool json = false;
};

int ListAppointments(const Config& config, const ListArgs& a) {
  store::AppointmentFilter filter;
  filter.doctor_id = a.doctor;
  if (!a.from.empty()) {
    auto t = core::ParseRfc3339(a.from, "--from");
    if (!t) return CliFailed(t.error().message() + " (e.g. 2030-03-04T00:00:00Z)");
    filter.from = *t;
  }
  if (!a.to.empty()) {
    auto t = core::ParseRfc3339(a.to, "--to");
    if (!t) return CliFailed(t.error().message() + " (e.g. 2030-03-05T00:00:00Z)");
    filter.to = *t;
  }
  if (!a.status.empty()) {
    auto s = core::ParseAppointmentStatus(a.status, "--status");
    if (!s) return CliFailed(s.error());
    filter.status = *s;
  }
  auto db = OpenStoreForCli(config);
  if (!db) return CliFailed(db.error());
  store::PageRequest page{.limit = static_cast<int32_t>(a.limit)};
  auto rows = (*db)->Read([&](store::Tx& tx) -> Result<std::pair<json, bool>> {
    auto p = TM_TRY(tx.ListAppointments(filter, page));
    json out = json::array();
    for (const auto& appt : p.items) out.push_back(TM_TRY(api::AppointmentJson(tx, appt)));
    return std::pair{std::move(out), !p.next_cursor.empty()};
  });
  if (!rows) return CliFailed(rows.error());
  const auto& [items, more] = *rows;
  if (a.json) {
    std::cout << items.dump(2) << "\n";
    return 0;
  }
  Table t({"ID", "START", "END", "DOCTOR", "PATIENT", "STATUS", "MEETING", "LAST ERROR"});
  for (const json& j : items) {
    t.Row({Text(j["id"]), Text(j["start"]), Text(j["end"]), Text(j["doctor_id"]),
           Text(j["patient_id"]), Text(j["status"]), Text(j["meeting"]["state"]),
           Text(j["meeting"]["last_error"])});
  }
  t.Print(std::cout);
  if (more) {
    std::cout << "(more than " << a.limit << "; narrow with --from/--to/--doctor or raise "
              << "--limit)\n";
  }
  return 0;
}

int ShowAppointment(const Config& config, int64_t id, bool as_json) {
  auto db = OpenStoreForCli(config);
  if (!db) return CliFailed(db.error());
  auto shown = (*db)->Read([&](store::Tx& tx) -> Result<json> {
    auto appt = tx.GetAppointment(id);
    if (!appt && appt.error().code() == ErrorCode::kNotFound) {
      return Fail(ErrorCode::kNotFound, "no appointment has the id " + std::to_string(id) +
                                            " (`telemeet appointments list` shows them)");
    }
    if (!appt) return std::unexpected(appt.error());
    json out = TM_TRY(api::AppointmentJson(tx, *appt));
    auto doctor = TM_TRY(tx.GetDoctor(appt->doctor_id));
    auto patient = TM_TRY(tx.GetPatient(appt->patient_id));
    auto service = TM_TRY(tx.GetService(appt->service_id));
    out["doctor"] = api::DoctorJson(doctor);
    out["doctor"]["google"] = TM_TRY(GrantState(tx, doctor.id));
    out["patient_name"] = patient.name;
    out["service_name"] = service.name;
    json audit = json::array();
    store::PageRequest page{.limit = 1000};
    do {
      auto p = TM_TRY(tx.ListAudit(id, page));
      for (const auto& e : p.items) audit.push_back(api::AuditJson(e));
      page.cursor = p.next_cursor;
    } while (!page.cursor.empty());
    out["audit"] = std::move(audit);
    return out;
  });
  if (!shown) return CliFailed(shown.error());
  const json& j = *shown;
  if (as_json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  const json& m = j["meeting"];
  std::cout << "appointment " << Text(j["id"]) << " (uid " << Text(j["uid"]) << ", revision "
            << Text(j["revision"]) << ")\n"
            << "  status:    " << Text(j["status"]) << "\n"
            << "  when:      " << Text(j["start"]) << " to " << Text(j["end"]) << " ("
            << Text(j["time_zone"]) << ")\n"
            << "  doctor:    " << Text(j["doctor"]["name"]) << " (doctor " << Text(j["doctor_id"])
            << ", Google: " << Text(j["doctor"]["google"]) << ")\n"
            << "  patient:   " << Text(j["patient_name"]) << " (patient " << Text(j["patient_id"])
            << ")\n"
            << "  service:   " << Text(j["service_name"]) << "\n"
            << "meeting\n"
            << "  state:     " << Text(m["state"]) << "\n"
            << "  join link: " << Text(m["join_url"]) << "\n"
            << "  event:     " << Text(m["event_id"]) << " " << Text(m["event_url"]) << "\n"
            << "  last error:"
            << " " << Text(m["last_error"]) << " (attempts " << Text(m["attempts"]) << ")\n"
            << "  next run:  " << Text(m["next_run_at"])
            << (m.value("parked", false) ? " (parked: waiting for the doctor to reconnect)" : "")
            << "\n";
  if (!m["changed_in_google"].is_null()) {
    std::cout << "  changed in Google Calendar: " << Text(m["changed_in_google"]) << "\n";
  }
  std::cout << "audit (" << j["audit"].size() << ")\n";
  Table t({"  AT", "ACTOR", "ACTION", "DETAIL"});
  for (const json& e : j["audit"]) {
    t.Row({"  " + Text(e["at"]), Text(e["actor"]), Text(e["action"]), Text(e["detail"])});
  }
  t.Print(std::cout);
  return 0;
}

}  // namespace

void AddAppointmentCommands(CLI::App& cli, CliCommands& commands) {
  CLI::App* doctors = cli.add_subcommand("doctors", "Doctors and their Google connection");
  doctors->require_subcommand(1);
  auto doctors_json = std::make_shared<bool>(false);
  commands
      .Add(*doctors, "list", "List doctors",
           [doctors_json](const Config& c) { return ListDoctors(c, *doctors_json); })
      ->add_flag("--json", *doctors_json, "JSON for scripts");

  CLI::App* appts = cli.add_subcommand("appointments", "Appointments and their meetings");
  appts->require_subcommand(1);
  auto a = std::make_shared<ListArgs>();
  CLI::App* list = commands.Add(*appts, "list", "List appointments by start time",
                                [a](const Config& c) { return ListAppointments(c, *a); });
  list->add_option("--doctor", a->doctor, "Only this doctor's (id)");
  list->add_option("--from", a->from, "Starting at or after (RFC 3339, e.g. 2030-03-04T00:00:00Z)");
  list->add_option("--to", a->to, "Starting before (RFC 3339)");
  list->add_option("--status", a->status, "booked, confirmed, completed or cancelled");
  list->add_option("--limit", a->limit, "At most this many")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  list->add_flag("--json", a->json, "JSON for scripts (the API's appointment objects)");

  struct ShowArgs {
    int64_t id = 0;
    bool json = false;
  };
  auto s = std::make_shared<ShowArgs>();
  CLI::App* show =
      commands.Add(*appts, "show", "One appointment: meeting state, link, last error, audit",
                   [s](const Config& c) { return ShowAppointment(c, s->id, s->json); });
  show->add_option("ID", s->id, "The appointment's id")->required();
  show->add_flag("--json", s->json, "JSON for scripts");
}

}  // namespace telemeet::app
