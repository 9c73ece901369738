#include "app/serve.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>
#include <random>
#include <thread>

#include "api/accounts.h"
#include "api/api.h"
#include "api/auth.h"
#include "api/google_settings.h"
#include "api/ops.h"
#include "api/webhooks.h"
#include "app/sandbox.h"
#include "app/serve_lock.h"
#include "app/version.h"
#include "crypto/master_key.h"
#include "crypto/random.h"
#include "google/calendar_client.h"
#include "google/http_transport.h"
#include "google/meet_client.h"
#include "google/oauth_client.h"
#include "google/rate_limiter.h"
#include "google/retry.h"
#include "google/token_provider.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "notify/notifier.h"
#include "notify/smtp.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "store/backup.h"
#include "store/retention.h"
#include "sync/attendance.h"
#include "sync/availability.h"
#include "sync/bulk.h"
#include "sync/calendar_sync.h"
#include "sync/call_collector.h"
#include "sync/google_metrics.h"
#include "sync/grant_store_adapter.h"
#include "sync/janitor.h"
#include "sync/meeting_refresh.h"
#include "sync/queue_metrics.h"
#include "sync/reconciler.h"
#include "sync/store_quota_budget.h"
#include "sync/worker.h"
#include "web/web.h"

namespace telemeet::app {

sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

namespace {

Status MakeDataDir(const Config& config) {
  std::error_code ec;
  // The data dir holds the database and the master key: its owner's alone when we create it.
  if (std::filesystem::create_directories(config.data_dir, ec)) {
    std::filesystem::permissions(config.data_dir, std::filesystem::perms::owner_all, ec);
  }
  if (ec) {
    return Fail(ErrorCode::kUnavailable,
                "cannot create data_dir " + config.data_dir + ": " + ec.message(), "data_dir");
  }
  return Ok();
}

// The key ring sealing secrets at rest. In sandbox mode a key file is created on first run;
// otherwise the operator provides TELEMEET_MASTER_KEY or the key file.
Result<crypto::KeyRing> LoadKeys(const Config& config) {
  const char* env = std::getenv("TELEMEET_MASTER_KEY");
  std::filesystem::path file = config.MasterKeyFile();
  if ((env == nullptr || *env == '\0') && !std::filesystem::exists(file) && config.sandbox()) {
    if (auto s = crypto::GenerateKeyFile(file); !s) return std::unexpected(s.error());
  }
  return LoadKeyRing(config);
}

// Fails start-up: logged and printed with the same message; exit code 1.
int StartupFailed(obs::Logger& log, const Error& error) {
  log.Error("start-up failed", {{"reason", error.message()}});
  std::cerr << "telemeet: " << error.message() << "\n";
  return 1;
}

}  // namespace

Result<crypto::KeyRing> LoadKeyRing(const Config& config) {
  const char* env = std::getenv("TELEMEET_MASTER_KEY");
  std::string env_value = env != nullptr ? env : "";
  std::filesystem::path file = config.MasterKeyFile();
  if (env_value.empty() && !std::filesystem::exists(file)) {
    return Fail(ErrorCode::kFailedPrecondition,
                "no master key: set TELEMEET_MASTER_KEY, or create " + file.string() +
                    " (mode 0600) with a base64url 32-byte key",
                "security.master_key_file");
  }
  return crypto::LoadMasterKey(env_value, file);
}

Result<std::unique_ptr<store::Store>> OpenConfiguredStore(const Config& config, bool migrate) {
  auto opened = store::OpenStore(config.StorageUrl(), SystemClock::Instance());
  if (!opened) return std::unexpected(opened.error());
  std::unique_ptr<store::Store> db = std::move(*opened);
  if (migrate) {
    if (auto v = db->Migrate(); !v) return std::unexpected(v.error());
    return db;
  }
  auto version = db->SchemaVersion();
  if (!version) return std::unexpected(version.error());
  if (*version < store::Store::LatestSchemaVersion()) {
    return Fail(ErrorCode::kFailedPrecondition,
                "the database schema is at version " + std::to_string(*version) +
                    ", this build needs " + std::to_string(store::Store::LatestSchemaVersion()) +
                    ": run `telemeet migrate` (or set storage.migrate_on_start = true)",
                "storage.migrate_on_start");
  }
  if (*version > store::Store::LatestSchemaVersion()) {
    return Fail(ErrorCode::kFailedPrecondition,
                "the database schema (version " + std::to_string(*version) +
                    ") is newer than this build knows: run a newer telemeet",
                "storage.url");
  }
  return db;
}

int RunMigrate(const Config& config) {
  if (auto s = MakeDataDir(config); !s) {
    std::cerr << "telemeet: " << s.error().message() << "\n";
    return 1;
  }
  auto db = OpenConfiguredStore(config, /*migrate=*/true);
  if (!db) {
    std::cerr << "telemeet: " << db.error().message() << "\n";
    return 1;
  }
  std::cout << "schema version " << *(*db)->SchemaVersion() << " (" << (*db)->backend()
            << ", latest " << store::Store::LatestSchemaVersion() << ")" << std::endl;
  return 0;
}

// The Meet work's defaults and schedule (checked when the configuration was loaded).
sync::MeetWorkOptions MeetWorkOptionsOf(const Config& config) {
  sync::MeetWorkOptions o;
  o.defaults = core::MeetPolicyDefaults(config.attendance.mode,
                                        static_cast<int>(config.attendance.min_minutes),
                                        config.meeting.access_type);
  o.schedule.grace = std::chrono::minutes(config.attendance.grace_minutes);
  o.schedule.polls = static_cast<int>(config.attendance.polls);
  o.schedule.interval = std::chrono::minutes(config.attendance.poll_interval_minutes);
  return o;
}

store::RetentionPolicy RetentionPolicyOf(const Config& config) {
  return store::RetentionPolicy{.days = std::chrono::days(config.retention.days),
                                .audit_days = std::chrono::days(config.retention.audit_days)};
}

int RunPurge(const Config& config, bool dry_run, std::ostream& out) {
  if (auto s = MakeDataDir(config); !s) {
    std::cerr << "telemeet: " << s.error().message() << "\n";
    return 1;
  }
  auto db = OpenConfiguredStore(config, config.storage.migrate_on_start);
  if (!db) {
    std::cerr << "telemeet: " << db.error().message() << "\n";
    return 1;
  }
  store::PurgeOptions options;
  options.dry_run = dry_run;
  auto counts =
      store::Purge(**db, RetentionPolicyOf(config), SystemClock::Instance().Now(), options);
  if (!counts) {
    std::cerr << "telemeet: purge failed: " << counts.error().message() << "\n";
    return 1;
  }
  out << (dry_run ? "dry run, nothing deleted: " : "")
      << "retention.days = " << config.retention.days
      << ", retention.audit_days = " << config.retention.audit_days << " (" << (*db)->backend()
      << ")\n";
  int64_t total = 0;
  for (const store::PurgeCount& c : *counts) {
    out << "  " << c.table << std::string(20 - std::min<size_t>(c.table.size(), 19), ' ') << c.rows
        << "\n";
    total += c.rows;
  }
  out << (dry_run ? "would delete " : "deleted ") << total << " rows" << std::endl;
  return 0;
}

std::string FirstAdminCommand(const Config& config, std::string_view config_file) {
  std::string cmd = "telemeet users create --role admin --email <you@clinic.example>";
  std::error_code ec;
  if (!config_file.empty()) {
    cmd += " --config " + std::filesystem::absolute(config_file, ec).string();
  }
  cmd +=
      " --data-dir " + std::filesystem::absolute(config.data_dir, ec).lexically_normal().string();
  return cmd;
}

std::vector<std::string> StartupWarnings(const Config& config) {
  std::vector<std::string> out;
  std::error_code ec;
  const char* env_key = std::getenv("TELEMEET_MASTER_KEY");
  if (env_key == nullptr || *env_key == '\0') {
    auto dir = std::filesystem::weakly_canonical(config.data_dir, ec);
    auto key = std::filesystem::weakly_canonical(config.MasterKeyFile(), ec);
    auto [d, k] = std::mismatch(dir.begin(), dir.end(), key.begin(), key.end());
    if (!ec && d == dir.end()) {
      out.push_back("the master key file " + key.string() +
                    " lies inside the data dir: a backup of the data dir would hold the key "
                    "beside the secrets it protects; move it out (security.master_key_file) or "
                    "use TELEMEET_MASTER_KEY");
    }
  }
  if (!config.smtp.enabled) {
    out.push_back("email is not sent (no [smtp] configured) but written as .eml files into " +
                  config.MailDir() +
                  "; they hold patient details and access-link tokens: configure smtp.*");
  }
  return out;
}

int RunServe(const Config& configured, const sigset_t& stop_signals, std::string_view config_file) {
  obs::Logger& log = obs::Log();
  log.SetLevel(*obs::ParseLevel(configured.log.level));
  Config config = configured;
  Clock& clock = SystemClock::Instance();

  if (auto s = MakeDataDir(config); !s) return StartupFailed(log, s.error());
  auto keys = LoadKeys(config);
  if (!keys) return StartupFailed(log, keys.error());
  // SQLite: this process alone serves the database file (serve_lock.h), taken before it is
  // opened or migrated; so every lease in it belongs to a process that is gone.
  std::optional<ServeLock> serve_lock;
  if (auto file = store::SqliteFileOf(config.StorageUrl()); file) {
    auto lock = ServeLock::Take(*file);
    if (!lock) return StartupFailed(log, lock.error());
    serve_lock.emplace(std::move(*lock));
  }
  auto db = OpenConfiguredStore(config, config.storage.migrate_on_start);
  if (!db) return StartupFailed(log, db.error());
  store::Store& store = **db;
  if (serve_lock) {
    auto reclaimed = store.Transact([](store::Tx& tx) { return tx.ReclaimLeases(); });
    if (!reclaimed) return StartupFailed(log, reclaimed.error());
    if (*reclaimed > 0) {
      log.Info("took back the jobs the previous telemeet serve held", {{"jobs", *reclaimed}});
    }
  }

  // Sandbox mode: no client id in the configuration and none saved through the settings API,
  // decided here once (google_settings.h). Credentials saved later take effect after a restart.
  auto sandboxed = api::SandboxDecision(store, config.google.client_id);
  if (!sandboxed) return StartupFailed(log, sandboxed.error());
  std::unique_ptr<Sandbox> sandbox;
  std::optional<DemoClinic> demo;
  if (*sandboxed && !IsLoopbackAddress(config.server.address)) {
    return StartupFailed(
        log, Error(ErrorCode::kFailedPrecondition,
                   "sandbox mode listens on loopback only, and server.address is " +
                       config.server.address +
                       ": the sandbox's demo sign-ins and API key are for this machine alone. "
                       "Use --address 127.0.0.1, or configure real Google credentials "
                       "(google.client_id and google.client_secret) to serve other machines",
                   "server.address"));
  }
  if (!*sandboxed) {
    // Leaving the sandbox: the demo clinic's sign-ins and key die when real credentials arrive.
    if (auto retired = RetireDemoClinic(store, config.data_dir); !retired) {
      return StartupFailed(log, retired.error());
    }
  }
  auto has_admin = store.Read([](store::Tx& tx) { return api::HasActiveAdmin(tx); });
  if (!has_admin) return StartupFailed(log, has_admin.error());
  if (*sandboxed) {
    auto started = StartSandbox();
    if (!started) return StartupFailed(log, started.error());
    sandbox = std::move(*started);
    sandbox->UseIn(config);
    if (auto s = WriteSandboxGoogle(config.data_dir, config); !s) {
      return StartupFailed(log, s.error());
    }
    auto seeded = SeedDemoClinic(store, config.data_dir);
    if (!seeded) return StartupFailed(log, seeded.error());
    demo = std::move(*seeded);
  }

  obs::Registry metrics;
  net::Router router;
  net::ServerOptions options{
      .address = config.server.address,
      .port = static_cast<uint16_t>(config.server.port),
      .io_threads = static_cast<int>(config.server.io_threads),
      .worker_threads = static_cast<int>(config.server.worker_threads),
      .max_header_bytes = static_cast<size_t>(config.server.max_header_bytes),
      .max_body_bytes = static_cast<size_t>(config.server.max_body_bytes),
      .read_timeout = std::chrono::milliseconds(config.server.read_timeout_ms),
      .idle_timeout = std::chrono::milliseconds(config.server.idle_timeout_ms),
      .max_connections = static_cast<size_t>(config.server.max_connections),
      .allowed_hosts = config.AllowedHosts(),
      .strict_transport_security =
          config.PublicUrl().starts_with("https://") ? "max-age=31536000" : "",
      .metrics = &metrics,
      .logger = config.log.requests ? &log : nullptr,
  };
  net::HttpServer server(options, router);
  // Bound first: with port 0 the public URL, and so the OAuth redirect URI, depend on it.
  if (auto s = server.Listen(); !s) return StartupFailed(log, s.error());
  config.server.port = server.port();
  if (sandbox) {
    if (auto s = sandbox->AllowRedirect(config.RedirectUri()); !s) {
      return StartupFailed(log, s.error());
    }
  }

  // Google: one HTTP client for every outbound call; the rate limiter and retry policy are
  // shared by the OAuth and Calendar clients; every call lands in the audit trail.
  net::HttpClient http;
  google::HttpTransport transport(http);
  google::RetryPolicy retry(google::RetryOptions{}, clock, google::RealSleeper::Instance(),
                            std::random_device{}());
  // Google's quotas less the safety margin. With PostgreSQL every instance takes its permits
  // from one budget in the database, so N instances together keep to them (issue 17); with
  // SQLite this process is the only one and its own buckets keep to them.
  google::RateLimitOptions limits;
  const double margin = static_cast<double>(config.google.quota.safety_margin_percent) / 100.0;
  limits.doctor_per_minute = static_cast<double>(config.google.quota.per_user_per_minute) * margin;
  limits.project_per_minute =
      static_cast<double>(config.google.quota.per_project_per_minute) * margin;
  std::unique_ptr<sync::StoreQuotaBudget> shared_quota;
  if (store.backend() == "postgres") shared_quota = std::make_unique<sync::StoreQuotaBudget>(store);
  log.Info("Google quota", {{"per_user_per_minute", limits.doctor_per_minute},
                            {"per_project_per_minute", limits.project_per_minute},
                            {"shared", shared_quota != nullptr}});
  google::RateLimiter limiter(limits, clock, google::RealSleeper::Instance(), shared_quota.get());
  sync::QuotaMetrics quota_metrics(limiter, metrics);
  // Free/busy answers per doctor (M17); every write the Calendar client makes to a doctor's
  // calendar drops that doctor's answers, through the observer chain.
  sync::FreeBusyCache freebusy_cache(
      sync::FreeBusyCacheOptions{
          .ttl = std::chrono::seconds(config.availability.cache_ttl_seconds),
          .max_entries = static_cast<size_t>(config.availability.cache_max_entries)},
      clock);
  // Every call also counts on /metrics (by operation and status, never a doctor or a path).
  sync::GoogleCallMetrics call_metrics(metrics, &freebusy_cache);
  sync::CallCollector calls(&call_metrics);
  sync::StoreGrantStore grants(store);
  google::OAuthConfig oauth_config;
  oauth_config.client_id = config.google.client_id;
  oauth_config.client_secret = config.google.client_secret;
  oauth_config.redirect_uri = config.RedirectUri();
  oauth_config.auth_url = config.google.accounts_base_url + "/o/oauth2/v2/auth";
  oauth_config.token_url = config.google.oauth_base_url + "/token";
  oauth_config.revoke_url = config.google.oauth_base_url + "/revoke";
  oauth_config.scope = config.google.scope;
  // The configuration's client is the default; settings saved through the API override it and
  // take effect for the next connect, callback, refresh or revoke (no restart).
  api::LiveGoogleConfig live_google(store, *keys, clock, oauth_config,
                                    api::LiveGoogleConfig::Options{.sandbox = sandbox != nullptr});
  if (auto s = live_google.Reload(); !s) {
    log.Warn("the saved Google settings cannot be used; the configured ones apply",
             {{"error", s.error().ToString()}});
  }
  google::OAuthClient oauth(live_google, google::OAuthDeps{transport, clock, retry, &calls});
  google::TokenProvider tokens(oauth, grants, *keys, clock);
  google::CalendarOptions calendar_options;
  calendar_options.base_url = config.google.api_base_url;
  google::CalendarClient calendar(
      calendar_options, google::CalendarDeps{transport, tokens, retry, clock,
                                             google::RealSleeper::Instance(), &limiter, &calls});

  // freeBusy runs inside a booking's request: a Google that does not answer is given up on in
  // seconds (the policy then warns or refuses), not after the reconciler's two minutes.
  google::RetryPolicy freebusy_retry(
      google::RetryOptions{.max_attempts = 2,
                           .initial_backoff = std::chrono::milliseconds(250),
                           .deadline = std::chrono::seconds(8)},
      clock, google::RealSleeper::Instance(), std::random_device{}());
  google::CalendarOptions freebusy_options = calendar_options;
  freebusy_options.timeout = std::chrono::seconds(5);
  google::CalendarClient freebusy_calendar(
      freebusy_options, google::CalendarDeps{transport, tokens, freebusy_retry, clock,
                                             google::RealSleeper::Instance(), &limiter, &calls});
  sync::GoogleAvailability availability(freebusy_calendar, freebusy_cache);
  sync::ReconcilerOptions reconciler_options;
  reconciler_options.policy.invite_patient = config.meeting.invite_patient;
  // Checked when the configuration was loaded.
  reconciler_options.policy.reminders =
      core::ParseEventReminders(config.meeting.event_reminders, "meeting.event_reminders")
          .value_or(core::EventReminders{});
  // A meeting.ready goes out at once, not at the webhook and email dispatchers' next poll: set
  // below once they exist, before any worker starts.
  std::function<void()> nudge_outbox;
  reconciler_options.on_outbox = [&nudge_outbox] { nudge_outbox(); };
  // Meet REST v2 (issue 18): the access type of each meeting's space and the attendance read
  // from its conference records, in jobs of their own that the reconciler makes due.
  google::MeetClient meet(google::MeetOptions{.base_url = config.google.meet_base_url},
                          google::MeetDeps{.transport = transport,
                                           .tokens = tokens,
                                           .retry = retry,
                                           .clock = clock,
                                           .limiter = &limiter,
                                           .observer = &calls});
  const sync::MeetWorkOptions meet_work_options = MeetWorkOptionsOf(config);
  sync::MeetWork meet_work(store, meet, calls, clock, meet_work_options);
  sync::WorkerOptions meet_worker_options;
  meet_worker_options.kind = std::string(sync::kMeetJobKind);
  meet_worker_options.threads = 2;
  meet_worker_options.poll_interval = std::chrono::seconds(2);
  sync::Worker meet_worker(store, meet_work, clock, meet_worker_options);
  reconciler_options.meet_work = meet_work_options.defaults;
  sync::Reconciler reconciler(store, calendar, calls, clock, reconciler_options);
  sync::MeetingRefresher refresher(store, calendar, clock);
  sync::Worker worker(store, reconciler, clock,
                      sync::WorkerOptions{.threads = static_cast<int>(config.worker.threads),
                                          .metrics = &metrics});
  // Bulk work (issue 17): the API's disconnect with meetings=cancel, and a resync or backfill
  // whose command died, run as "bulk" jobs through batch requests (sync/bulk.h).
  sync::BulkOptions bulk_options;
  bulk_options.actor = "bulk:" + worker.owner();
  bulk_options.revoke = [&](int64_t doctor_id) -> std::string {
    auto grant = store.Read([&](store::Tx& tx) { return tx.GetGrant(doctor_id); });
    if (!grant || grant->sealed_refresh_token.empty()) return "no refresh token to revoke";
    auto token =
        keys->Open(grant->sealed_refresh_token,
                   google::GrantAad(std::to_string(doctor_id), google::kRefreshTokenPurpose));
    if (!token) return "the stored token cannot be opened";
    auto revoked = oauth.Revoke(*token);
    return revoked ? std::string() : revoked.error().ToString();
  };
  bulk_options.after_disconnect = [&](int64_t doctor_id) {
    tokens.Forget(std::to_string(doctor_id));
  };
  bulk_options.on_changes = [&] { worker.Nudge(); };
  sync::BulkStack bulk(store, transport, tokens, retry, clock, &limiter, &call_metrics,
                       calendar_options, reconciler_options, bulk_options);
  sync::WorkerOptions bulk_worker_options;
  bulk_worker_options.kind = std::string(store::kBulkJobKind);
  bulk_worker_options.threads = 2;
  bulk_worker_options.poll_interval = std::chrono::seconds(1);
  sync::Worker bulk_worker(store, bulk.runner, clock, bulk_worker_options);
  // Changes made in Google Calendar by hand (appointment.changed_in_google): one sync job per
  // connected doctor, pushed by an events.watch channel when Google can reach us (an https
  // public URL; the sandbox's emulator also delivers to plain http), swept periodically.
  sync::CalendarSyncOptions sync_options;
  if (config.PublicUrl().starts_with("https://") || sandbox) {
    sync_options.push_address = config.PublicUrl() + std::string(sync::kPushPath);
  }
  sync::CalendarSync calendar_sync(store, calendar, clock, sync_options);
  sync::WorkerOptions sync_worker_options;
  sync_worker_options.kind = std::string(sync::kCalendarSyncJobKind);
  sync_worker_options.threads = 2;
  sync_worker_options.poll_interval = std::chrono::seconds(2);
  sync::Worker sync_worker(store, calendar_sync, clock, sync_worker_options);
  calendar_sync.SetOnDue([&] { sync_worker.Nudge(); });
  calendar_sync.SetOnCalendarChanged([&](int64_t doctor) { freebusy_cache.Invalidate(doctor); });
  router.Post(std::string(sync::kPushPath),
              [&](net::Request& r) { return calendar_sync.HandlePush(r); }, {.offload = true});
  if (auto n = calendar_sync.EnsureJobs(); !n) {
    log.Warn("scheduling the Google calendar syncs failed", {{"error", n.error().ToString()}});
  }
  // Webhooks go where integrators say, so never inside: internal addresses only when listed,
  // plain http only when allowed (always in sandbox mode, where receivers are local tools).
  const net::DestinationPolicy webhook_destinations{
      .allow_http = config.webhooks.allow_http || sandbox != nullptr,
      .allowed_hosts = config.webhooks.allowed_hosts};
  api::WebhookDispatcher webhooks(store, clock, *keys,
                                  api::WebhookOptions{.owner = worker.owner() + ":webhooks",
                                                      .destinations = webhook_destinations,
                                                      .metrics = &metrics});
  // The job queue (reconcile, deliver, email, gsync) on /metrics: one read per scrape at most
  // every two seconds, never on a request's path.
  sync::QueueMetrics queue_metrics(store, clock, metrics);

  // Email (M23): SMTP when [smtp] is enabled, else every email lands as an .eml file in
  // <data_dir>/mail (always so in sandbox mode unless SMTP is configured).
  notify::SmtpConfig smtp;
  smtp.enabled = config.smtp.enabled;
  smtp.host = config.smtp.host;
  smtp.port = static_cast<int>(config.smtp.port);
  smtp.tls = notify::ParseSmtpTls(config.smtp.tls).value_or(notify::SmtpTls::kStartTls);
  smtp.username = config.smtp.username;
  smtp.password = config.smtp.password;
  smtp.from = config.smtp.from;
  smtp.timeout = std::chrono::milliseconds(config.smtp.timeout_ms);
  auto mailer = notify::MakeMailer(smtp, config.MailDir());
  if (!mailer) return StartupFailed(log, mailer.error());
  notify::NotifierOptions notify_options;
  notify_options.owner = worker.owner() + ":notify";
  notify_options.public_url = config.PublicUrl();
  notify_options.metrics = &metrics;
  if (!config.notify.clinic_name.empty()) {
    notify_options.clinic_name = config.notify.clinic_name;
  } else if (auto from = notify::ParseMailbox(config.smtp.from); from && !from->name.empty()) {
    notify_options.clinic_name = from->name;
  }
  // Checked when the configuration was loaded.
  notify_options.reminder_leads =
      notify::ParseLeadTimes(config.notify.reminders, "notify.reminders")
          .value_or(notify::LeadTimes{});
  // {{patient_page_link}}: a new access link per patient email, made as the API makes them
  // (only the token's hash is stored; it expires a while after the appointment).
  const std::chrono::seconds link_after_end = api::ApiOptions{}.access_link_after_end;
  notify_options.patient_page_link =
      [&, link_after_end](store::Tx& tx, const core::Appointment& a) -> Result<std::string> {
    std::string token = crypto::RandomToken(32);
    core::AccessLink link;
    link.appointment_id = a.id;
    link.token_hash = api::TokenHash(token);
    link.expires_at = std::max(a.end, clock.Now()) + link_after_end;
    if (auto made = tx.CreateAccessLink(link); !made) return std::unexpected(made.error());
    return config.PublicUrl() + "/p?token=" + token;
  };
  notify::Notifier notifier(store, clock, **mailer, notify_options);
  nudge_outbox = [&] {
    webhooks.Nudge();
    notifier.Nudge();
  };
  // Retention: expired and old rows go every hour, in small batches (store/retention.h).
  sync::Janitor janitor(
      store, clock, sync::JanitorOptions{.policy = RetentionPolicyOf(config), .metrics = &metrics});

  net::HttpServer* server_ptr = &server;
  api::RegisterOpsRoutes(router, metrics, {.metrics_token = config.ops.metrics_token},
                         {{"http",
                           [&]() -> Status {
                             if (server_ptr->draining()) {
                               return Fail(ErrorCode::kUnavailable, "shutting down");
                             }
                             return Ok();
                           }},
                          {"store", [&]() -> Status {
                             auto v = store.SchemaVersion();
                             if (!v) return std::unexpected(v.error());
                             return Ok();
                           }}});
  const std::string first_admin = FirstAdminCommand(config, config_file);
  const web::WebOptions web_options{.sandbox = sandbox != nullptr,
                                    .first_admin_command = first_admin};
  api::ApiDeps api_deps{
      .store = store,
      .clock = clock,
      .oauth = &oauth,
      .google_config = &live_google,
      .tokens = &tokens,
      .calendar = &calendar,
      .availability = &availability,
      .keys = &*keys,
      .on_work_enqueued =
          [&] {
            worker.Nudge();
            webhooks.Nudge();
            notifier.Nudge();
            sync_worker.Nudge();
            bulk_worker.Nudge();
            meet_worker.Nudge();
          },
      .options = {.public_url = config.PublicUrl(),
                  .trusted_proxies = config.server.trusted_proxies,
                  .session_ttl = std::chrono::hours(config.session.max_age_hours),
                  .session_idle = std::chrono::minutes(config.session.idle_timeout_minutes),

                  .webhook_destinations = webhook_destinations,
                  .reminder_lead_times = notify_options.reminder_leads,
                  .google_busy_default = config.booking.google_busy,
                  .meeting_invite_patient = config.meeting.invite_patient,
                  .meeting_event_reminders =
                      core::FormatEventReminders(reconciler_options.policy.reminders),
                  .allowed_return_origins = config.integrations.allowed_return_origins,
                  .meeting_access_type = config.meeting.access_type,
                  .attendance_mode = config.attendance.mode,
                  .attendance_min_minutes = static_cast<int>(config.attendance.min_minutes)},
      .metrics = &metrics,
      // The connect flow's last page looks like the UI's, banner included.
      .render_page = web::BrowserPages(web_options),
      .refresh_meeting = [&](int64_t id, std::string_view actor,
                             std::chrono::seconds* retry_after) -> Status {
        TM_TRY(refresher.Refresh(id, actor, retry_after));
        return Ok();
      }};
  api::RegisterApiRoutes(router, api_deps);
  web::RegisterWebRoutes(router, api_deps, web_options);

  api_deps.usage->Start();
  worker.Start();
  sync_worker.Start();
  bulk_worker.Start();
  meet_worker.Start();
  webhooks.Start();
  notifier.Start();
  janitor.Start();
  if (auto s = server.Start(); !s) return StartupFailed(log, s.error());

  std::string url = config.PublicUrl() + "/";
  log.Info("listening", {{"url", url},
                         {"version", kVersion},
                         {"data_dir", config.data_dir},
                         {"store", store.backend()},
                         {"sandbox", sandbox != nullptr},
                         {"worker_threads", config.worker.threads}});
  std::cout << "telemeet " << kVersion << " is running at " << url << "\n"
            << "  web UI: " << config.PublicUrl() << "/signin\n"
            << "  data directory: " << config.data_dir << " (" << store.backend() << ")\n"
            << "  REST API: " << config.PublicUrl() << "/api/v1 (OpenAPI: /api/v1/openapi.json)\n";
  if (!config.server.public_url.empty()) {  // behind a proxy: where it really listens
    std::cout << "  listening on http://" << config.server.address << ":" << config.server.port
              << "/\n";
  }
  if (config.smtp.enabled) {
    std::cout << "  Email: sent through " << (*mailer)->Describe() << "\n";
  } else {
    std::cout << "  Email: not sent (no [smtp] configured); each email is written to "
              << config.MailDir() << "/ as an .eml file\n";
  }
  if (!sandbox) {
    for (const std::string& warning : StartupWarnings(config)) {
      log.Warn(warning);
      std::cout << "  Warning: " << warning << "\n";
    }
  }
  if (sandbox) {
    std::cout << "  Sandbox: Google is emulated at " << sandbox->base_url()
              << " (no Google credentials configured)\n";
    for (const auto& a : SandboxAccounts()) {
      std::cout << "    demo Google account: " << a.email << " (" << a.name << ")\n";
    }
    if (demo->retired) {
      std::cout << "    demo clinic: retired (real Google credentials were used with this data; "
                   "its sign-ins and API key stay disabled)\n";
    }
    for (const auto& who : demo->sign_ins) {
      std::cout << "    demo sign-in (" << who.role << "): " << who.email << " / " << who.password
                << "\n";
    }
    // The key itself stays in its 0600 file, out of terminals and captured output.
    if (!demo->retired) {
      std::cout << "    demo API key (read/write): in " << demo->api_key_file << "\n";
    }
  }
  if (!*has_admin && (!demo || demo->retired)) {
    log.Warn("no administrator yet", {{"create_with", first_admin}});
    std::cout << "  No administrator yet. Create the first one with:\n"
              << "    " << first_admin << "\n"
              << "  (with the same TELEMEET_* environment serve has; the password is read from "
                 "standard input)\n";
  }
  std::cout << "Press Ctrl-C to stop." << std::endl;

  int signal = 0;
  sigwait(&stop_signals, &signal);
  log.Info("shutting down", {{"signal", signal == SIGINT ? "SIGINT" : "SIGTERM"},
                             {"grace_ms", config.server.shutdown_grace_ms}});
  // A second signal while draining means "now".
  std::thread([stop_signals] {
    int again = 0;
    sigwait(&stop_signals, &again);
    _exit(130);
  }).detach();
  server.Shutdown(std::chrono::milliseconds(config.server.shutdown_grace_ms));
  worker.Stop();
  sync_worker.Stop();
  bulk_worker.Stop();
  meet_worker.Stop();
  webhooks.Stop();
  notifier.Stop();
  janitor.Stop();
  api_deps.usage->Stop();
  if (sandbox) {
    sandbox->google().Stop();
    RemoveSandboxGoogle(config.data_dir);
  }
  log.Info("stopped");
  return 0;
}

}  // namespace telemeet::app
