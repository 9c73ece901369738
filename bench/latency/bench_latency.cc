// bench/latency: how long a clinic waits for the Meet link. Against a running `telemeet serve`
// in sandbox mode (its in-process Google emulator), this program confirms appointments through
// the REST API one at a time and times each, from sending the confirm to the arrival of that
// appointment's meeting.ready webhook at a receiver of its own on 127.0.0.1. The emulator
// answers every call `latency_ms` late (default 50) and keeps each new conference pending for 0,
// 1 and 3 reads of the event; each case prints p50 and p99.
//
//   bench_latency TELEMEET_URL GOOGLE_URL API_KEY ADMIN_EMAIL ADMIN_PASSWORD [samples] [latency_ms]
//
// Prints "pending_reads <n> samples <k> p50_ms <x> p99_ms <y> max_ms <z>" lines.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/strings.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "net/json.h"
#include "net/router.h"

namespace {

using namespace telemeet;  // NOLINT(google-build-using-namespace): a benchmark program
using json = nlohmann::json;
using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The webhook receiver's record: when each appointment's meeting.ready arrived. Thread-safe.
class Arrivals {
 public:
  void Record(int64_t appointment_id) {
    std::lock_guard lock(mu_);
    arrived_.emplace(appointment_id, Steady::now());
    cv_.notify_all();
  }
  // When `appointment_id`'s meeting.ready arrived, or nullopt after `timeout`.
  std::optional<Steady::time_point> Await(int64_t appointment_id, Steady::duration timeout) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return arrived_.contains(appointment_id); })) {
      return std::nullopt;
    }
    return arrived_[appointment_id];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int64_t, Steady::time_point> arrived_;
};

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "bench_latency: %s\n", what.c_str());
  std::exit(1);
}

// A JSON call; dies unless it answers `want`.
json Call(net::HttpClient& http, const std::string& method, const std::string& url,
          const json& body, const net::Headers& auth, int want) {
  net::ClientRequest r{.method = method, .url = url, .headers = auth};
  if (!body.is_null()) {
    r.headers.Add("Content-Type", "application/json");
    r.body = body.dump();
  }
  auto res = http.Send(std::move(r));
  if (!res) Die(method + " " + url + ": " + res.error().ToString());
  if (res->status != want) {
    Die(fmt::format("{} {}: {} {}", method, url, res->status, res->body));
  }
  return res->body.empty() ? json() : json::parse(res->body, nullptr, false);
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  // Nearest rank: with fewer than 100 samples p99 is the slowest one.
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr,
                 "usage: %s TELEMEET_URL GOOGLE_URL API_KEY ADMIN_EMAIL ADMIN_PASSWORD [samples] "
                 "[latency_ms]\n",
                 argv[0]);
    return 2;
  }
  const std::string base = argv[1], google = argv[2];
  const std::string admin_email = argv[4], admin_password = argv[5];
  const int samples = argc > 6 ? std::atoi(argv[6]) : 20;
  const int latency_ms = argc > 7 ? std::atoi(argv[7]) : 50;
  net::Headers key;
  key.Add("Authorization", std::string("Bearer ") + argv[3]);
  net::HttpClient http;

  // The receiver: 200 for every delivery, the time of each meeting.ready kept.
  Arrivals arrivals;
  net::Router router;
  router.Post("/hook", [&](net::Request& req) {
    json event = json::parse(req.body, nullptr, false);
    if (event.is_object() && event.value("type", "") == "meeting.ready" &&
        event["appointment_id"].is_number_integer()) {
      arrivals.Record(event["appointment_id"].get<int64_t>());
    }
    return net::JsonResponse(200, json::object());
  });
  net::HttpServer receiver({.port = 0, .io_threads = 1, .worker_threads = 1}, router);
  if (!receiver.Start()) Die("the receiver cannot listen");

  // The admin subscribes the receiver to meeting.ready (webhook endpoints are the admin's).
  net::ClientRequest sign_in{.method = "POST", .url = base + "/api/v1/session"};
  sign_in.headers.Add("Content-Type", "application/json");
  sign_in.body = json{{"email", admin_email}, {"password", admin_password}}.dump();
  auto session = http.Send(std::move(sign_in));
  if (!session || session->status != 201) Die("the admin cannot sign in");
  net::Headers admin;
  for (const auto& [name, value] : session->headers) {
    std::string pair = value.substr(0, value.find(';'));
    if (EqualsIgnoreCase(name, "Set-Cookie") && pair.starts_with("tm_session="))
      admin.Add("Cookie", pair);
  }
  admin.Add("X-CSRF-Token", json::parse(session->body).value("csrf_token", ""));
  Call(http, "POST", base + "/api/v1/webhook_endpoints",
       {{"url", fmt::format("http://127.0.0.1:{}/hook", receiver.port())},
        {"topics", json::array({"meeting.ready"})}},
       admin, 201);

  // The first demo doctor connects Google (the emulator approves without a browser).
  Call(http, "PATCH", google + "/_emulator/settings", {{"autoApprove", true}}, {}, 200);
  json doctor = Call(http, "GET", base + "/api/v1/doctors", nullptr, key, 200)["data"][0];
  const int64_t doctor_id = doctor["id"];
  const std::string email = doctor["email"];
  const int64_t service_id =
      Call(http, "GET", base + "/api/v1/services", nullptr, key, 200)["data"][0]["id"];
  json connect =
      Call(http, "POST", fmt::format("{}/api/v1/doctors/{}/google/connect", base, doctor_id),
           nullptr, key, 201);
  auto consent =
      http.Send({.url = connect["authorization_url"].get<std::string>() + "&login_hint=" + email});
  if (!consent || consent->status != 302) Die("the emulator did not approve the connect");
  auto landed = http.Send({.url = std::string(consent->headers.Get("Location").value_or(""))});
  if (!landed || landed->status != 200) Die("the connect callback failed");
  const int64_t patient_id =
      Call(http, "POST", base + "/api/v1/patients", {{"name", "Pat Latency"}}, key, 201)["id"];
  // Only now slow: the setup's own calls are not measured.
  Call(http, "PATCH", google + "/_emulator/settings", {{"latencyMs", latency_ms}}, {}, 200);

  int slot = 0;
  for (int pending : {0, 1, 3}) {
    Call(http, "POST", fmt::format("{}/_emulator/calendars/{}/conference", google, email),
         {{"mode", "pending"}, {"pendingReads", pending}}, {}, 200);
    std::vector<double> ms;
    for (int i = 0; i < samples; ++i, ++slot) {
      // Booked first (no meeting until confirmation, the default policy), and its reconcile run
      // (nothing to do) given time to finish, so the confirm alone is timed.
      json booked =
          Call(http, "POST", base + "/api/v1/appointments",
               {{"doctor_id", doctor_id},
                {"service_id", service_id},
                {"patient_id", patient_id},
                {"start", fmt::format("2031-01-{:02}T{:02}:00:00Z", 1 + slot / 12, 8 + slot % 12)},
                {"time_zone", "UTC"}},
               key, 201);
      const int64_t id = booked["id"];
      std::this_thread::sleep_for(milliseconds(100));
      const auto t0 = Steady::now();
      Call(http, "POST", fmt::format("{}/api/v1/appointments/{}/confirm", base, id), nullptr, key,
           200);
      auto at = arrivals.Await(id, std::chrono::seconds(60));
      if (!at) Die(fmt::format("no meeting.ready for appointment {} within 60 s", id));
      ms.push_back(std::chrono::duration<double, std::milli>(*at - t0).count());
    }
    std::printf("pending_reads %d samples %d p50_ms %.0f p99_ms %.0f max_ms %.0f\n", pending,
                samples, Percentile(ms, 50), Percentile(ms, 99),
                *std::max_element(ms.begin(), ms.end()));
    std::fflush(stdout);
  }
  receiver.Shutdown(std::chrono::seconds(1));
  return 0;
}
