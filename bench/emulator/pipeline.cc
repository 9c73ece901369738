// In-process cost of one events.get in fake-google, without sockets: the Calendar service's own
// handler alone, then the whole FakeGoogle pipeline (routing, token lookup, quota, faults, log).
// Prints CPU microseconds per request for each; run.sh measures the networked figures.
//
//   build/release/bench/emulator/bench_emulator_pipeline [iterations]
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "emulator/server/fake_google.h"
#include "net/router.h"

namespace {

using telemeet::net::Request;
using telemeet::net::Response;

Request Make(std::string method, std::string target, std::string body = {}) {
  Request r;
  r.method = std::move(method);
  r.target = target;
  size_t q = target.find('?');
  r.path = target.substr(0, q);
  r.query = q == std::string::npos ? "" : target.substr(q + 1);
  r.body = std::move(body);
  if (!r.body.empty()) r.headers.Set("Content-Type", "application/json");
  return r;
}

double ThreadCpuMicros() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

// CPU time of this thread per call: robust on a machine shared with other work.
template <typename F>
double MicrosPerCall(int n, F f) {
  double start = ThreadCpuMicros();
  for (int i = 0; i < n; ++i) f();
  return (ThreadCpuMicros() - start) / n;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace telemeet::emulator;
  int n = argc > 1 ? std::atoi(argv[1]) : 200'000;
  FakeGoogleOptions o;
  o.clients.push_back(
      {.client_id = "bench", .client_secret = "s", .redirect_uris = {"http://127.0.0.1:1/cb"}});
  o.accounts.push_back({.email = "bench@example.com", .sub = "", .name = "Bench"});
  o.oauth.auto_approve = true;
  o.quota.per_user = 0;
  o.quota.per_project = 0;
  FakeGoogle google(o);

  Request auth =
      Make("GET", "/o/oauth2/v2/auth?" +
                      telemeet::FormEncode({{"client_id", "bench"},
                                            {"redirect_uri", "http://127.0.0.1:1/cb"},
                                            {"response_type", "code"},
                                            {"scope", "https://www.googleapis.com/auth/calendar"},
                                            {"login_hint", "bench@example.com"}}));
  Response redirect = google.Handle(auth);
  std::string loc = redirect.headers.Get("Location").value_or("");
  auto params = telemeet::ParseQuery(loc.substr(loc.find('?') + 1)).value_or(telemeet::KeyValues{});
  Request token = Make("POST", "/token",
                       telemeet::FormEncode({{"grant_type", "authorization_code"},
                                             {"code", *telemeet::FindValue(params, "code")},
                                             {"client_id", "bench"},
                                             {"client_secret", "s"},
                                             {"redirect_uri", "http://127.0.0.1:1/cb"}}));
  token.headers.Set("Content-Type", "application/x-www-form-urlencoded");
  std::string access = nlohmann::json::parse(google.Handle(token).body)["access_token"];
  Request insert = Make("POST", "/calendar/v3/calendars/primary/events?conferenceDataVersion=1",
                        R"({"summary":"Consultation","start":{"dateTime":"2026-03-02T10:00:00Z"},
                            "end":{"dateTime":"2026-03-02T10:30:00Z"},"conferenceData":{
                            "createRequest":{"requestId":"r","conferenceSolutionKey":{
                            "type":"hangoutsMeet"}}}})");
  insert.headers.Set("Authorization", "Bearer " + access);
  Response created = google.Handle(insert);
  std::string id = nlohmann::json::parse(created.body)["id"];

  telemeet::net::Router calendar_only;
  google.calendar().Register(calendar_only);
  Request get = Make("GET", "/calendar/v3/calendars/primary/events/" + id);
  get.headers.Set("Authorization", "Bearer " + access);
  size_t bytes = 0;
  double handler = 1e9, pipeline = 1e9;
  for (int round = 0; round < 3; ++round) {  // alternate; keep the best of each
    handler = std::min(handler, MicrosPerCall(n, [&] {
                         Request r = get;
                         bytes += calendar_only.Dispatch(r).body.size();
                       }));
    pipeline = std::min(pipeline, MicrosPerCall(n, [&] {
                          Request r = get;
                          bytes += google.Handle(r).body.size();
                        }));
  }
  std::printf("events.get, Calendar handler only : %6.2f us/request\n", handler);
  std::printf("events.get, whole FakeGoogle      : %6.2f us/request (pipeline adds %.2f us)\n",
              pipeline, pipeline - handler);
  std::printf("(thread CPU time, best of 3 rounds of %d; %zu body bytes in total)\n", n, bytes);
  return 0;
}
