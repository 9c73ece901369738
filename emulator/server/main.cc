// fake-google: a local Google OAuth 2.0 + Calendar v3 + Meet REST v2 emulator. See
// emulator/README.md.
#include <pthread.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "emulator/server/config.h"
#include "emulator/server/fake_google.h"

namespace {

constexpr char kDescription[] =
    R"(fake-google: Google OAuth 2.0 + Calendar API v3 + Meet REST API v2 on one local port,
for testing Google Calendar and Meet code offline. Point your client's OAuth endpoints and
Calendar and Meet rootUrl at the printed URL:

  authorization   GET  /o/oauth2/v2/auth        token    POST /token
  revoke          POST /revoke                  userinfo GET  /v1/userinfo
  tokeninfo       GET  /tokeninfo               calendar      /calendar/v3/...
  batch           POST /batch/calendar/v3       meet          /v2/spaces, /v2/conferenceRecords
  control         /_emulator/... (see README; /_emulator/meet/... scripts Meet calls)

The first line on stdout is "fake-google listening on http://ADDRESS:PORT".
Flags override the --config file; --client, --account and --fault add to it.

Example:
  fake-google --port 8085 --auto-approve \
    --client 'app:secret:http://127.0.0.1:8080/oauth/callback' \
    --account 'doctor@example.com:Dr Who'
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace telemeet::emulator;
  CLI::App app(kDescription, "fake-google");
  app.get_formatter()->column_width(38);

  std::string config_file;
  std::string address;
  int port = -1;
  int threads = 0;
  std::vector<std::string> clients, accounts, faults;
  bool auto_approve = false;
  int64_t token_lifetime = 0;
  int quota_user = -1, quota_project = -1, quota_status = 0, retry_after = -1;
  int64_t latency_ms = -1;
  int64_t fault_seed = -1;
  int max_batch = 0;
  bool log_requests = false;

  app.add_option("--config", config_file, "TOML file with any of the settings below")
      ->check(CLI::ExistingFile);
  app.add_option("--address", address, "Address to listen on (default 127.0.0.1)");
  app.add_option("--port", port, "Port to listen on; 0 picks a free one (default 0)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--threads", threads, "I/O threads (default 2)")->check(CLI::Range(1, 64));
  app.add_option("--client,--seed-client", clients,
                 "Seed an OAuth client: ID:SECRET:REDIRECT_URI[,REDIRECT_URI...] (repeatable)");
  app.add_option("--account,--seed-account", accounts,
                 "Seed a test account: EMAIL[:DISPLAY NAME[:SUB]] (repeatable)");
  app.add_flag("--auto-approve", auto_approve,
               "Skip the consent page when login_hint names a seeded account");
  app.add_option("--token-lifetime", token_lifetime,
                 "Access token lifetime in seconds (default 3599)")
      ->check(CLI::Range(int64_t{1}, int64_t{86400 * 365}));
  app.add_option("--quota-user", quota_user,
                 "Requests per sliding minute per user, 0 = unlimited (default 600)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--quota-project", quota_project,
                 "Requests per sliding minute per project, 0 = unlimited (default 10000)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--quota-status", quota_status, "Status for an exceeded quota: 403 or 429")
      ->check(CLI::IsMember({403, 429}));
  app.add_option("--retry-after", retry_after,
                 "Retry-After seconds on quota errors, 0 = no header (default 0)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--latency-ms", latency_ms, "Added to every answer (default 0)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--fault", faults,
                 "Inject failures: kind=backendError|unavailable|timeout|reset,method=M,"
                 "path=/prefix,fraction=F|next=N[,delay_ms=MS][,after=true] (repeatable)");
  app.add_option("--fault-seed", fault_seed, "Seed of the fault generator (default 1)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--max-batch-parts", max_batch, "Largest batch accepted (default 50)")
      ->check(CLI::Range(1, 1000));
  app.add_flag("--log-requests", log_requests,
               "Print method, path, status and user of every request on stderr");
  CLI11_PARSE(app, argc, argv);

  FakeGoogleConfig config;
  if (!config_file.empty()) {
    auto loaded = LoadFakeGoogleConfigFile(config_file);
    if (!loaded) {
      std::cerr << "fake-google: " << loaded.error().message() << "\n";
      return 2;
    }
    config = std::move(*loaded);
  }
  FakeGoogleOptions& o = config.options;
  if (!address.empty()) config.address = address;
  if (port >= 0) config.port = static_cast<uint16_t>(port);
  if (threads > 0) config.threads = threads;
  auto fail = [](const telemeet::Error& e) {
    std::cerr << "fake-google: " << e.message() << "\n";
    return 2;
  };
  for (const auto& spec : clients) {
    auto c = ParseClientFlag(spec);
    if (!c) return fail(c.error());
    o.clients.push_back(std::move(*c));
  }
  for (const auto& spec : accounts) {
    auto a = ParseAccountFlag(spec);
    if (!a) return fail(a.error());
    o.accounts.push_back(std::move(*a));
  }
  for (const auto& spec : faults) {
    auto f = ParseFaultFlag(spec);
    if (!f) return fail(f.error());
    o.faults.push_back(std::move(*f));
  }
  if (auto_approve) o.oauth.auto_approve = true;
  if (token_lifetime > 0) o.oauth.access_token_lifetime = std::chrono::seconds(token_lifetime);
  if (quota_user >= 0) o.quota.per_user = quota_user;
  if (quota_project >= 0) o.quota.per_project = quota_project;
  if (quota_status > 0) o.quota.status = quota_status;
  if (retry_after >= 0) o.quota.retry_after_seconds = retry_after;
  if (latency_ms >= 0) o.latency = std::chrono::milliseconds(latency_ms);
  if (fault_seed >= 0) o.fault_seed = static_cast<uint64_t>(fault_seed);
  if (max_batch > 0) o.max_batch_parts = static_cast<size_t>(max_batch);
  if (log_requests) o.log_to_stderr = true;

  for (const auto& c : o.clients) {
    for (const auto& uri : c.redirect_uris) {
      if (auto problem = RedirectUriProblem(uri); !problem.empty()) {
        std::cerr << "fake-google: client " << c.client_id << ": redirect URI " << uri << ": "
                  << problem << "\n";
        return 2;
      }
    }
  }

  // Block the stop signals before any thread starts, so only sigwait below receives them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  FakeGoogle google(o);
  if (auto s = google.Start(config.address, config.port, config.threads); !s) {
    std::cerr << "fake-google: " << s.error().message() << "\n";
    return 1;
  }
  std::printf("fake-google listening on %s\n", google.base_url().c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  google.Stop();
  return 0;
}
