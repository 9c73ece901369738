// Many instances, proven (issue 17, M19): three `telemeet serve` processes on one PostgreSQL,
// fake-google as Google with faults on, appointments booked, confirmed, moved and cancelled through
// all three, one instance SIGKILLed at random several times and started again at once. Checked
// from outside only (the REST API and the emulator's control API): exactly one live event per
// active appointment at its time, none for cancelled ones, every Meet link unchanged once
// published, nothing parked; the time from the last change to convergence is printed.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "core/time.h"
#include "net/http_client.h"
#include "store/testing/test_database.h"
#include "tests/support/process.h"
#include "tests/support/sandbox_server.h"

namespace telemeet {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::ChildProcess;

constexpr int kInstances = 3;
constexpr std::string_view kMasterKey =
    "TELEMEET_MASTER_KEY=k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
constexpr std::string_view kClientId = "multi-client.apps.googleusercontent.com";

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

class MultiServePostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::testing::TestDatabase::Create("postgres");
    ASSERT_TRUE(db.has_value()) << db.error().ToString();
    db_ = std::move(*db);
    dir_ = std::filesystem::temp_directory_path() /
           ("telemeet-multi-serve-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);

    auto google = ChildProcess::Start({FAKE_GOOGLE_BINARY, "--port", "0"});
    ASSERT_TRUE(google.has_value());
    google_ = std::move(*google);
    auto line = google_->WaitForLine("fake-google listening on", 20s);
    ASSERT_TRUE(line.has_value()) << google_->errors();
    google_url_ = "http://127.0.0.1:" + std::to_string(testing::PortFromUrlLine(*line));

    json redirects = json::array();
    for (int i = 0; i < kInstances; ++i) {
      ports_[i] = FreePort();
      redirects.push_back("http://127.0.0.1:" + std::to_string(ports_[i]) +
                          "/oauth/google/callback");
    }
    ASSERT_EQ(Emulator("POST", "/_emulator/clients",
                       {{"clientId", kClientId},
                        {"clientSecret", "multi-secret"},
                        {"redirectUris", redirects}}),
              201);
    ASSERT_EQ(Emulator("PATCH", "/_emulator/settings", {{"autoApprove", true}}), 200);
  }

  void TearDown() override {
    for (auto& s : servers_) {
      if (s) {
        s->Signal(SIGTERM);
        s->Wait(20s);
      }
    }
    if (google_) {
      google_->Signal(SIGTERM);
      google_->Wait(20s);
    }
    std::filesystem::remove_all(dir_);
  }

  std::vector<std::string> CommonFlags() const {
    return {"--set", "storage.url=" + db_->url(),
            "--set", "log.level=warn",
            "--set", "google.client_id=" + std::string(kClientId),
            "--set", "google.client_secret=multi-secret",
            "--set", "google.api_base_url=" + google_url_,
            "--set", "google.oauth_base_url=" + google_url_,
            "--set", "google.accounts_base_url=" + google_url_};
  }

  // The CLI on the shared store, standard input piped in.
  std::optional<int> Cli(const std::string& args, const std::string& stdin_text) {
    std::string script = "printf '%s\\n' \"$INPUT\" | \"$TM\" " + args;
    std::vector<std::string> env = {std::string("TM=") + TELEMEET_BINARY, "INPUT=" + stdin_text,
                                    std::string(kMasterKey)};
    for (size_t i = 0; i < CommonFlags().size(); ++i) {
      script += " \"$F" + std::to_string(i) + "\"";
      env.push_back("F" + std::to_string(i) + "=" + CommonFlags()[i]);
    }
    script += " --data-dir \"$DATA\"";
    env.push_back("DATA=" + (dir_ / "cli").string());
    auto child = ChildProcess::Start({"/bin/sh", "-c", script}, env);
    if (!child) return std::nullopt;
    auto code = (*child)->Wait(60s);
    if (code != 0) ADD_FAILURE() << args << ": " << (*child)->errors();
    return code;
  }

  // Starts instance `i` on its own port and data dir; false when it does not come up.
  bool StartInstance(int i) {
    const std::string port = std::to_string(ports_[i]);
    std::vector<std::string> argv = {
        TELEMEET_BINARY, "serve",
        "--port",        port,
        "--data-dir",    (dir_ / ("data" + std::to_string(i))).string(),
        "--set",         "server.public_url=http://127.0.0.1:" + port};
    for (const auto& f : CommonFlags()) argv.push_back(f);
    auto child = ChildProcess::Start(argv, {std::string(kMasterKey)});
    if (!child) return false;
    servers_[i] = std::move(*child);
    if (!servers_[i]->WaitForLine("Press Ctrl-C", 30s)) {
      ADD_FAILURE() << "instance " << i << " did not start: " << servers_[i]->errors();
      return false;
    }
    return true;
  }

  std::string Base(int i) const { return "http://127.0.0.1:" + std::to_string(ports_[i]); }

  int Emulator(const std::string& method, const std::string& path, const json& body) {
    net::ClientRequest r{.method = method, .url = google_url_ + path};
    r.headers.Add("Content-Type", "application/json");
    r.body = body.dump();
    auto res = http_.Send(std::move(r));
    return res ? res->status : 0;
  }

  struct Answer {
    int status = 0;  // 0: no answer (the instance is down or died mid-request)
    json body;
    std::string set_cookie;
  };
  Answer Send(int instance, const std::string& method, const std::string& path,
              const json& body = nullptr, const std::string& idempotency_key = "",
              const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    net::ClientRequest r{.method = method, .url = Base(instance) + path};
    if (!api_key_.empty()) r.headers.Add("Authorization", "Bearer " + api_key_);
    for (const auto& [k, v] : headers) r.headers.Add(k, v);
    if (!idempotency_key.empty()) r.headers.Add("Idempotency-Key", idempotency_key);
    if (!body.is_null()) {
      r.headers.Add("Content-Type", "application/json");
      r.body = body.dump();
    }
    auto res = http_.Send(std::move(r));
    if (!res) return {};
    return {res->status, json::parse(res->body, nullptr, false),
            testing::SandboxServer::SetCookie(res->headers, "tm_oauth")};
  }

  // A request an integrator would make against a load balancer: a dead instance (no answer or a
  // 5xx) sends it to the next one. Creates carry an Idempotency-Key, so a retried create whose
  // first try committed before its instance died answers the same appointment.
  Answer Robust(int first, const std::string& method, const std::string& path,
                const json& body = nullptr, const std::string& idempotency_key = "") {
    Answer a;
    for (int attempt = 0; attempt < 30; ++attempt) {
      a = Send((first + attempt) % kInstances, method, path, body, idempotency_key);
      if (a.status != 0 && a.status < 500) return a;
      std::this_thread::sleep_for(100ms);
    }
    return a;
  }

  std::unique_ptr<store::testing::TestDatabase> db_;
  std::filesystem::path dir_;
  std::unique_ptr<ChildProcess> google_;
  std::array<std::unique_ptr<ChildProcess>, kInstances> servers_;
  std::array<int, kInstances> ports_{};
  std::string google_url_;
  std::string api_key_;
  net::HttpClient http_;
};

TEST_F(MultiServePostgresTest, ThreeInstancesSurviveKillsWithOneEventPerAppointment) {
  ASSERT_EQ(Cli("migrate", ""), 0);
  ASSERT_EQ(Cli("users create --role admin --email boss@clinic.example", "a long admin password"),
            0);
  for (int i = 0; i < kInstances; ++i) ASSERT_TRUE(StartInstance(i));

  // The admin signs in on instance 0 (a browser: its cookie and CSRF token, which the connect
  // flow binds the consent to) and makes an API key for the "booking system".
  net::ClientRequest probe{.method = "POST", .url = Base(0) + "/api/v1/session"};
  probe.headers.Add("Content-Type", "application/json");
  probe.body = json{{"email", "boss@clinic.example"}, {"password", "a long admin password"}}.dump();
  auto signed_in = http_.Send(std::move(probe));
  ASSERT_TRUE(signed_in.has_value());
  const std::string cookie = testing::SandboxServer::SetCookie(signed_in->headers, "tm_session");
  ASSERT_FALSE(cookie.empty()) << signed_in->headers.Get("Set-Cookie").value_or("");
  const std::string csrf = json::parse(signed_in->body).value("csrf_token", "");
  const std::vector<std::pair<std::string, std::string>> browser = {{"Cookie", cookie},
                                                                    {"X-CSRF-Token", csrf}};
  Answer key = Send(0, "POST", "/api/v1/api_keys",
                    {{"name", "booking system"}, {"scopes", {"read", "write"}}}, "", browser);
  ASSERT_EQ(key.status, 201) << key.body.dump();

  // Two doctors, each connecting an (emulated) Google account through instance 0's browser flow.
  std::vector<std::string> emails = {"dr.one@clinic.example", "dr.two@clinic.example"};
  std::vector<int64_t> doctors;
  for (const auto& email : emails) {
    ASSERT_EQ(Emulator("POST", "/_emulator/accounts", {{"email", email}}), 201);
    Answer d =
        Send(0, "POST", "/api/v1/doctors",
             {{"name", email}, {"email", email}, {"time_zone", "Europe/Berlin"}}, "", browser);
    ASSERT_EQ(d.status, 201) << d.body.dump();
    const int64_t id = d.body["id"];
    doctors.push_back(id);
    Answer start = Send(0, "POST", "/api/v1/doctors/" + std::to_string(id) + "/google/connect",
                        nullptr, "", browser);
    ASSERT_EQ(start.status, 201) << start.body.dump();
    auto consent = http_.Send(
        {.url = start.body["authorization_url"].get<std::string>() + "&login_hint=" + email});
    ASSERT_TRUE(consent.has_value());
    ASSERT_EQ(consent->status, 302) << consent->body;
    net::ClientRequest back{.url = *consent->headers.Get("Location")};
    back.headers.Add("Cookie", start.set_cookie);
    auto callback = http_.Send(std::move(back));
    ASSERT_TRUE(callback.has_value());
    Answer g =
        Send(0, "GET", "/api/v1/doctors/" + std::to_string(id) + "/google", nullptr, "", browser);
    ASSERT_EQ(g.body.value("connected", false), true) << g.body.dump();
  }
  api_key_ = key.body["secret"];
  Answer service =
      Send(0, "POST", "/api/v1/services", {{"name", "Video consultation"}, {"telemedicine", true}});
  ASSERT_EQ(service.status, 201) << service.body.dump();
  Answer patient = Send(1, "POST", "/api/v1/patients",
                        {{"name", "Mary Seacole"}, {"email", "mary@patients.example"}});
  ASSERT_EQ(patient.status, 201) << patient.body.dump();

  // Google fails one call in ten: half as errors, half after the write happened.
  ASSERT_EQ(Emulator("POST", "/_emulator/faults",
                     {{"kind", "backendError"}, {"pathPrefix", "/calendar/"}, {"fraction", 0.05}}),
            201);
  ASSERT_EQ(Emulator("POST", "/_emulator/faults",
                     {{"kind", "unavailable"},
                      {"pathPrefix", "/calendar/"},
                      {"fraction", 0.05},
                      {"after", true}}),
            201);

  const int n = EnvInt("MULTI_SERVE_APPOINTMENTS", 60);
  const int kills = EnvInt("MULTI_SERVE_KILLS", 3);
  std::mt19937 rng(20261206);
  int killed = 0;
  std::map<int64_t, bool> active;           // appointment → confirmed and not cancelled
  std::map<int64_t, std::string> start_of;  // appointment → its (last) start, UTC
  std::map<int64_t, int64_t> doctor_of;
  std::map<int64_t, std::string> first_link;  // the link first seen published

  auto watch_links = [&](int instance) {
    for (const auto& [id, is_active] : active) {
      if (!is_active || first_link.count(id) != 0) continue;
      Answer m = Send(instance, "GET", "/api/v1/appointments/" + std::to_string(id) + "/meeting");
      if (m.status == 200 && m.body.value("state", "") == "ready" && m.body["join_url"].is_string())
        first_link[id] = m.body["join_url"];
    }
  };

  for (int step = 0; step < n; ++step) {
    if (killed < kills && step >= (killed + 1) * n / (kills + 1)) {
      const int victim = static_cast<int>(rng() % kInstances);
      servers_[victim]->Signal(SIGKILL);
      servers_[victim]->Wait(10s);
      ASSERT_TRUE(StartInstance(victim)) << "restart after kill " << killed + 1;
      ++killed;
    }
    const int via = step % kInstances;
    const int64_t doctor = doctors[step % doctors.size()];
    // Appointments an hour apart, each doctor on their own days.
    char start[32], end[32];
    std::snprintf(start, sizeof start, "2031-03-%02dT%02d:00:00Z", 3 + step / 10, 8 + step % 10);
    std::snprintf(end, sizeof end, "2031-03-%02dT%02d:30:00Z", 3 + step / 10, 8 + step % 10);
    Answer a = Robust(via, "POST", "/api/v1/appointments",
                      {{"doctor_id", doctor},
                       {"service_id", service.body["id"]},
                       {"patient_id", patient.body["id"]},
                       {"start", start},
                       {"end", end}},
                      "multi-" + std::to_string(step));
    ASSERT_TRUE(a.status == 201 || a.status == 200) << a.status << " " << a.body.dump();
    const int64_t id = a.body["id"];
    doctor_of[id] = doctor;
    start_of[id] = start;
    const std::string path = "/api/v1/appointments/" + std::to_string(id);
    // A retried confirm may find its first try done: 409 then says "already confirmed".
    Answer c = Robust(via + 1, "POST", path + "/confirm");
    ASSERT_TRUE(c.status == 200 || c.status == 409) << c.status << " " << c.body.dump();
    active[id] = true;
    if (step % 5 == 2) {
      std::snprintf(start, sizeof start, "2031-04-%02dT%02d:00:00Z", 3 + step / 10, 8 + step % 10);
      std::snprintf(end, sizeof end, "2031-04-%02dT%02d:30:00Z", 3 + step / 10, 8 + step % 10);
      Answer r = Robust(via + 2, "POST", path + "/reschedule", {{"start", start}, {"end", end}});
      ASSERT_EQ(r.status, 200) << r.body.dump();
      start_of[id] = start;
    }
    if (step % 7 == 3) {
      Answer x = Robust(via, "POST", path + "/cancel");
      ASSERT_TRUE(x.status == 200 || x.status == 409) << x.status << " " << x.body.dump();
      active[id] = false;
    }
    if (step % 10 == 9) watch_links(via);
  }
  EXPECT_EQ(killed, kills);
  const auto last_change = std::chrono::steady_clock::now();

  // Converged: every active meeting ready with its link, every cancelled one cancelled (or not
  // needed: cancelled before its event was made), nothing parked, as any instance answers.
  // Converged, as any instance answers and as Google holds it: every active meeting ready with
  // its link and no work left for it, every cancelled one cancelled (or not needed: cancelled
  // before its event was made), nothing parked; one live event per active appointment at its
  // time with the link first published; no live event for a cancelled one, no other live event.
  int active_count = 0;
  auto mismatch = [&]() -> std::string {
    std::map<std::string, json> live;  // event id → event, over both calendars
    for (const auto& email : emails) {
      auto state = http_.Send({.url = google_url_ + "/_emulator/calendars/" + email});
      if (!state || state->status != 200) return "the emulator's state of " + email;
      const json calendar = json::parse(state->body);
      for (const json& e : calendar["events"]) {
        if (e.value("status", "") != "cancelled") live[e["id"]] = e;
      }
    }
    active_count = 0;
    for (const auto& [id, is_active] : active) {
      const std::string what = "appointment " + std::to_string(id) + ": ";
      Answer m = Send(static_cast<int>(id % kInstances), "GET",
                      "/api/v1/appointments/" + std::to_string(id) + "/meeting");
      if (m.status != 200 || !m.body.is_object()) return what + "no meeting view";
      const std::string state = m.body.value("state", "");
      if (m.body.value("parked", true)) return what + "parked " + m.body.dump();
      if (m.body.value("syncing", true)) return what + "work left " + m.body.dump();
      const std::string event_id = m.body["event_id"].is_string() ? m.body["event_id"] : "";
      if (!is_active) {
        if (state != "cancelled" && state != "not_needed") return what + m.body.dump();
        if (live.count(event_id) != 0) return what + "a live event though cancelled";
        continue;
      }
      ++active_count;
      if (state != "ready" || !m.body["join_url"].is_string()) return what + m.body.dump();
      if (first_link.count(id) == 0) first_link[id] = m.body["join_url"];
      if (m.body["join_url"] != first_link[id]) return what + "its link changed";
      auto it = live.find(event_id);
      if (it == live.end()) return what + "no live event " + m.body.dump();
      if (it->second["hangoutLink"] != m.body["join_url"]) return what + "another link at Google";
      auto at_google = core::ParseRfc3339(it->second["start"]["dateTime"].get<std::string>());
      if (!at_google || core::FormatRfc3339(*at_google) != start_of[id])
        return what + "its event at " + it->second["start"].dump() + ", not " + start_of[id];
    }
    if (static_cast<int>(live.size()) != active_count)
      return std::to_string(live.size()) + " live events at Google for " +
             std::to_string(active_count) + " active appointments";
    return "";
  };
  const auto deadline = last_change + 90s;
  std::string problem;
  while (!(problem = mismatch()).empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(200ms);
  ASSERT_EQ(problem, "") << "not converged 90 s after the last change";
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - last_change).count();
  std::printf(
      "multi-serve: converged %.1f s after the last change (%d appointments, %d "
      "instances on PostgreSQL, %d kills)\n",
      seconds, n, kInstances, killed);
  // The faults did happen (the run proved something): Google's log holds failed calls.
  auto log = http_.Send({.url = google_url_ + "/_emulator/requests"});
  ASSERT_TRUE(log.has_value());
  const json requests = json::parse(log->body);
  int faulted = 0;
  for (const json& r : requests.is_array() ? requests : requests.value("requests", json::array()))
    if (r.contains("fault")) ++faulted;
  EXPECT_GT(faulted, 0) << log->body.substr(0, 500);
  std::printf("multi-serve: %d of Google's calls faulted\n", faulted);
  EXPECT_GT(active_count, n / 2);
}

}  // namespace
}  // namespace telemeet
