// Writes the fuzzers' seed corpora from real exchanges: the product's Google clients (OAuth and
// Calendar, src/google) talk to the emulator (fake-google, in process), and every exchange is
// kept as text (net/testing/http_text.h):
//   src/google/fuzz_corpus/answers/   the emulator's answers (events, lists, tokens, errors ...)
//   src/google/fuzz_corpus/batch/     its multipart batch answers
//   src/google/fuzz_corpus/push/      the push notifications it delivers
//   emulator/server/fuzz_corpus/requests/  what the product sent, with the live credentials
//                                     replaced by request_fuzz.h's placeholders
//
//   build/debug/tests/fuzz/fuzz_seed_capture .   # from the repository root; rewrites the seeds
//
// One scripted session on a fake clock; the answers differ between runs only in random ids.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "base/strings.h"
#include "emulator/server/fake_google.h"
#include "emulator/server/request_fuzz.h"
#include "google/calendar_client.h"
#include "google/json_util.h"
#include "google/oauth_client.h"
#include "google/rate_limiter.h"
#include "google/testing/fake_sleeper.h"
#include "net/testing/http_text.h"

namespace telemeet {
namespace {

namespace fs = std::filesystem;
using google::HttpRequest;
using google::HttpResponse;

struct Exchange {
  std::string name;
  std::string request;
  HttpResponse response;
};

// Sends to the emulator without a socket and keeps every exchange.
class RecordingTransport final : public google::Transport {
 public:
  explicit RecordingTransport(emulator::FakeGoogle& google) : google_(google) {}

  void Name(std::string name) { name_ = std::move(name); }

  Result<HttpResponse> Send(const HttpRequest& request) override {
    std::string_view url = request.url;
    size_t scheme = url.find("://");
    size_t slash = url.find('/', scheme == url.npos ? 0 : scheme + 3);
    std::string target(slash == url.npos ? "/" : url.substr(slash));
    std::string start = request.method + " " + target + " HTTP/1.1";
    net::Headers headers = request.headers;
    headers.Set("Host", "www.googleapis.com");
    const std::string text = net::JoinHttpText(start, headers, request.body);
    net::Request req = net::RequestOf(net::SplitHttpText(text));
    net::Response r = google_.Handle(req);
    HttpResponse out{.status = r.status, .headers = r.headers, .body = r.body};
    exchanges.push_back({name_, text, out});
    return out;
  }

  std::vector<Exchange> exchanges;

 private:
  emulator::FakeGoogle& google_;
  std::string name_ = "call";
};

class FixedToken final : public google::AccessTokenSource {
 public:
  std::string token;
  google::GoogleResult<std::string> AccessTokenFor(std::string_view) override { return token; }
  google::GoogleResult<std::string> RefreshAfterRejection(std::string_view,
                                                          std::string_view) override {
    return token;
  }
  void MarkNeedsReconnect(std::string_view, const google::GoogleError&) override {}
};

void Write(const fs::path& dir, const std::string& name, const std::string& text) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << text;
}

std::string ResponseText(const HttpResponse& r) {
  return net::JoinHttpText(
      "HTTP/1.1 " + std::to_string(r.status) + " " + std::string(net::StatusReason(r.status)),
      r.headers, r.body);
}

void ReplaceAll(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

int Capture(const fs::path& root) {
  FakeClock clock;
  emulator::FakeGoogleOptions options;
  options.clients.push_back({.client_id = std::string(emulator::kFuzzClientId),
                             .client_secret = std::string(emulator::kFuzzClientSecret),
                             .redirect_uris = {std::string(emulator::kFuzzRedirectUri)}});
  options.accounts.push_back(
      {.email = std::string(emulator::kFuzzAccount), .sub = "", .name = "Dr Fuzz"});
  options.oauth.auto_approve = true;
  options.quota.per_user = 0;
  options.quota.per_project = 0;
  emulator::FakeGoogle fake(options, clock);
  std::vector<std::string> pushes;
  fake.calendar().SetPushSender([&](emulator::PushMessage m) {
    pushes.push_back(net::JoinHttpText("POST /google/push HTTP/1.1", m.headers, ""));
  });

  RecordingTransport transport(fake);
  google::testing::FakeSleeper sleeper(clock);
  google::RetryPolicy retry(google::RetryOptions{.max_attempts = 1}, clock, sleeper, 1);
  const std::string base = "https://www.googleapis.com";
  google::OAuthClient oauth(
      google::OAuthConfig{.client_id = std::string(emulator::kFuzzClientId),
                          .client_secret = std::string(emulator::kFuzzClientSecret),
                          .redirect_uri = std::string(emulator::kFuzzRedirectUri),
                          .auth_url = base + "/o/oauth2/v2/auth",
                          .token_url = base + "/token",
                          .revoke_url = base + "/revoke"},
      {.transport = transport, .clock = clock, .retry = retry});
  FixedToken tokens;
  google::CalendarClient calendar({.base_url = base}, {.transport = transport,
                                                       .tokens = tokens,
                                                       .retry = retry,
                                                       .clock = clock,
                                                       .sleeper = sleeper});
  std::map<std::string, std::string> secrets;  // live value -> placeholder

  // OAuth: consent (auto-approved), code exchange, refresh, a refused code.
  transport.Name("consent");
  auto start = oauth.BuildAuthorizationUrl("state-1", emulator::kFuzzAccount);
  if (!start) return 1;
  auto consent = transport.Send({.method = "GET", .url = start->url});
  std::string location = consent->headers.Get("Location").value_or("");
  std::string code;
  if (auto q = ParseQuery(location.substr(location.find('?') + 1))) {
    code = FindValue(*q, "code").value_or("");
  }
  secrets[code] = emulator::kFuzzCode;
  secrets[start->code_verifier] = emulator::kFuzzCodeVerifier;
  transport.Name("token-exchange");
  auto grant = oauth.ExchangeCode(code, start->code_verifier);
  if (!grant) {
    std::cerr << grant.error().ToString() << "\n";
    return 1;
  }
  secrets[grant->access_token] = emulator::kFuzzAccessToken;
  secrets[grant->refresh_token] = emulator::kFuzzRefreshToken;
  transport.Name("token-refresh");
  auto fresh = oauth.Refresh(grant->refresh_token);
  if (fresh) secrets[fresh->access_token] = emulator::kFuzzAccessToken;
  tokens.token = fresh ? fresh->access_token : grant->access_token;
  transport.Name("token-bad-code");
  (void)oauth.ExchangeCode("4/not-a-code", start->code_verifier);

  // What a browser and other clients send: the consent page and its form, userinfo, tokeninfo,
  // the discovery document and the certificates.
  fake.oauth().SetAutoApprove(false);
  transport.Name("consent-page");
  auto page = transport.Send({.method = "GET", .url = start->url});
  const std::string marker = "name=\"pending\" value=\"";
  size_t at = page->body.find(marker);
  std::string pending =
      at == std::string::npos
          ? std::string()
          : page->body.substr(at + marker.size(),
                              page->body.find('"', at + marker.size()) - at - marker.size());
  secrets[pending] = emulator::kFuzzPendingId;
  HttpRequest allow{.method = "POST",
                    .url = base + "/o/oauth2/v2/auth",
                    .body = FormEncode({{"pending", pending},
                                        {"decision", "allow"},
                                        {"account", std::string(emulator::kFuzzAccount)}})};
  allow.headers.Set("Content-Type", "application/x-www-form-urlencoded");
  transport.Name("consent-allow");
  (void)transport.Send(allow);
  fake.oauth().SetAutoApprove(true);
  HttpRequest userinfo{.method = "GET", .url = base + "/v1/userinfo"};
  userinfo.headers.Set("Authorization", "Bearer " + grant->access_token);
  transport.Name("userinfo");
  (void)transport.Send(userinfo);
  transport.Name("tokeninfo");
  (void)transport.Send(
      {.method = "GET", .url = base + "/tokeninfo?access_token=" + grant->access_token});
  transport.Name("openid-configuration");
  (void)transport.Send({.method = "GET", .url = base + "/.well-known/openid-configuration"});
  transport.Name("certs");
  (void)transport.Send({.method = "GET", .url = base + "/oauth2/v3/certs"});

  // Calendar: the reconciler's calls, and their errors.
  const std::string doc = "doctor";
  transport.Name("calendar-get");
  (void)calendar.PrimaryCalendar(doc);
  fake.calendar().SetConferenceBehaviour(
      emulator::kFuzzAccount, {.mode = emulator::ConferenceMode::kPending, .pending_reads = 1});
  google::EventSpec spec{
      .id = "tm0123456789abcdef",
      .summary = "Consultation",
      .description = "Video consultation",
      .start = {.date_time = "2026-06-02T09:00:00+02:00", .time_zone = "Europe/Berlin"},
      .end = {.date_time = "2026-06-02T09:30:00+02:00", .time_zone = "Europe/Berlin"},
      .attendees = {{.email = "patient@example.org"}},
      .reminders = google::Reminders{.use_default = false, .overrides = {{"popup", 10}}},
      .private_properties = {{"telemeet_appointment", "42"}},
      .conference_request_id = "appt-42-1"};
  transport.Name("events-watch");
  (void)calendar.WatchEvents(doc, "primary",
                             {.channel_id = "tm-channel-1",
                              .address = "https://clinic.example/google/push",
                              .token = "channel-secret",
                              .ttl = std::chrono::seconds(3600)});
  transport.Name("events-insert");
  (void)calendar.InsertEvent(doc, "primary", spec, google::SendUpdates::kNone);
  transport.Name("events-get");
  (void)calendar.GetEvent(doc, "primary", spec.id);
  transport.Name("events-insert-duplicate");
  (void)calendar.InsertEvent(doc, "primary", spec, google::SendUpdates::kNone);
  transport.Name("events-patch");
  auto patched = calendar.PatchEventTimes(
      doc, "primary", spec.id,
      {.date_time = "2026-06-02T10:00:00+02:00", .time_zone = "Europe/Berlin"},
      {.date_time = "2026-06-02T10:30:00+02:00", .time_zone = "Europe/Berlin"},
      google::SendUpdates::kAll);
  transport.Name("events-patch-stale-etag");
  (void)calendar.PatchEventTimes(doc, "primary", spec.id, spec.start, spec.end,
                                 google::SendUpdates::kNone, "\"stale-etag\"");
  if (patched) {
    transport.Name("events-update");
    (void)calendar.UpdateEvent(doc, "primary", spec, *patched, google::SendUpdates::kNone);
  }
  transport.Name("events-list");
  auto listed = calendar.ListEvents(doc, "primary",
                                    {.time_min = "2026-06-01T00:00:00Z",
                                     .time_max = "2026-06-30T00:00:00Z",
                                     .private_properties = {{"telemeet_appointment", "42"}},
                                     .single_events = true,
                                     .max_results = 1});
  transport.Name("events-list-all");
  auto all = calendar.ListAllEvents(doc, "primary", {.show_deleted = true, .max_results = 250});
  transport.Name("freebusy");
  (void)calendar.FreeBusy(doc, {.time_min = "2026-06-01T00:00:00Z",
                                .time_max = "2026-06-03T00:00:00Z",
                                .calendar_ids = {"primary", "nobody@example.org"}});
  google::EventSpec all_day = spec;
  all_day.id = "tm0123456789abcdeg";
  all_day.start = {.date = "2026-06-05"};
  all_day.end = {.date = "2026-06-06"};
  all_day.conference_request_id.clear();
  transport.Name("events-insert-all-day");
  (void)calendar.InsertEvent(doc, "primary", all_day, google::SendUpdates::kNone);
  transport.Name("events-cancel");
  (void)calendar.CancelEvent(doc, "primary", all_day.id, google::SendUpdates::kNone);
  if (all) {
    transport.Name("events-list-sync");
    (void)calendar.ListEvents(doc, "primary", {.sync_token = all->next_sync_token});
    fake.calendar().InvalidateSyncTokens(emulator::kFuzzAccount);
    transport.Name("events-list-sync-expired");
    (void)calendar.ListEvents(doc, "primary", {.sync_token = all->next_sync_token});
  }
  transport.Name("batch");
  std::vector<google::BatchOperation> ops(4);
  ops[0].kind = google::BatchOperation::Kind::kInsert;
  ops[0].spec = spec;
  ops[0].spec.id = "tm0123456789abcdeh";
  ops[1].kind = google::BatchOperation::Kind::kGet;
  ops[1].event_id = spec.id;
  ops[2].kind = google::BatchOperation::Kind::kPatchTimes;
  ops[2].event_id = spec.id;
  ops[2].spec = spec;
  ops[3].kind = google::BatchOperation::Kind::kDelete;
  ops[3].event_id = "tm0000000000notthere";
  (void)calendar.ExecuteBatch(doc, ops);
  transport.Name("batch-errors");  // a duplicate, a missing event, a bad id
  ops[1].kind = google::BatchOperation::Kind::kDelete;
  ops[1].event_id = "tm0000000000notthere";
  ops[2].kind = google::BatchOperation::Kind::kPatchTimes;
  ops[2].event_id = "tm0000000000notthere";
  ops.resize(3);
  (void)calendar.ExecuteBatch(doc, ops);
  transport.Name("events-delete");
  (void)calendar.DeleteEvent(doc, "primary", spec.id, google::SendUpdates::kNone);
  transport.Name("events-get-deleted");
  (void)calendar.GetEvent(doc, "primary", spec.id);
  transport.Name("events-get-missing");
  (void)calendar.GetEvent(doc, "primary", "tm0000000000notthere");
  transport.Name("events-insert-bad-time");
  google::EventSpec bad = spec;
  bad.id = "tm0123456789abcdei";
  bad.end = spec.start;
  bad.start = spec.end;
  (void)calendar.InsertEvent(doc, "primary", bad, google::SendUpdates::kNone);
  transport.Name("channels-stop");
  (void)calendar.StopChannel(doc, "tm-channel-1", "unknown-resource");
  fake.faults().Add({.method = "GET",
                     .path_prefix = "/calendar/v3/",
                     .kind = emulator::FaultKind::kBackendError,
                     .next = 1});
  transport.Name("fault-backend-error");
  (void)calendar.GetEvent(doc, "primary", spec.id);
  fake.faults().Add({.method = "GET",
                     .path_prefix = "/calendar/v3/",
                     .kind = emulator::FaultKind::kUnavailable,
                     .next = 1});
  transport.Name("fault-unavailable");
  (void)calendar.GetEvent(doc, "primary", spec.id);
  fake.quota().SetOptions(
      {.per_user = 1, .per_project = 0, .status = 429, .retry_after_seconds = 30});
  transport.Name("quota");
  (void)calendar.GetEvent(doc, "primary", spec.id);
  (void)calendar.GetEvent(doc, "primary", spec.id);
  fake.quota().SetOptions({.per_user = 0, .per_project = 0});
  transport.Name("unauthenticated");
  tokens.token = "ya29.not-a-token";
  (void)calendar.GetEvent(doc, "primary", spec.id);
  tokens.token = grant->access_token;
  transport.Name("revoke");
  (void)oauth.Revoke(grant->refresh_token);
  transport.Name("token-refresh-revoked");
  (void)oauth.Refresh(grant->refresh_token);

  // What the product sent, with placeholders for the credentials of the session (raw and
  // form-encoded), and what it got back.
  const fs::path answers = root / "src/google/fuzz_corpus/answers";
  const fs::path batches = root / "src/google/fuzz_corpus/batch";
  const fs::path push = root / "src/google/fuzz_corpus/push";
  const fs::path requests = root / "emulator/server/fuzz_corpus/requests";
  for (const fs::path& dir : {answers, batches, push, requests}) fs::remove_all(dir);
  int n = 0;
  for (Exchange& x : transport.exchanges) {
    ++n;
    const std::string name = (n < 10 ? "0" : "") + std::to_string(n) + "-" + x.name + "-" +
                             std::to_string(x.response.status) + ".http";
    for (const auto& [live, placeholder] : secrets) {
      ReplaceAll(x.request, live, placeholder);
      ReplaceAll(x.request, UrlEncode(live), UrlEncode(placeholder));
    }
    Write(requests, name, x.request);
    const bool multipart =
        x.response.headers.Get("Content-Type").value_or("").starts_with("multipart/");
    Write(multipart ? batches : answers, name, ResponseText(x.response));
  }
  n = 0;
  for (const std::string& p : pushes) Write(push, "push-" + std::to_string(++n) + ".http", p);
  std::cout << "fuzz seeds: " << transport.exchanges.size() << " exchanges, " << pushes.size()
            << " push notifications\n";
  return 0;
}

}  // namespace
}  // namespace telemeet

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_seed_capture REPOSITORY_ROOT\n";
    return 2;
  }
  return telemeet::Capture(argv[1]);
}
