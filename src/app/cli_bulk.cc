// `telemeet resync` and `telemeet backfill` (issue 17, M20/M29): bulk work through Google batch
// requests, in the foreground (sync/bulk.h). Each doctor's run is a bulk job in the store,
// leased by this command; the same command again resumes an unfinished one from its cursor, and
// if this command dies, a running `telemeet serve` finishes it. Safe beside serve: every event
// change is made under the appointment's reconcile-job lease.
#include <unistd.h>

#include <iostream>
#include <random>

#include "api/google_settings.h"
#include "app/cli.h"
#include "app/sandbox.h"
#include "app/serve.h"
#include "core/attendance.h"
#include "core/time.h"
#include "google/http_transport.h"
#include "google/oauth_client.h"
#include "google/rate_limiter.h"
#include "google/token_provider.h"
#include "net/http_client.h"
#include "sync/bulk.h"
#include "sync/grant_store_adapter.h"
#include "sync/store_quota_budget.h"
#include "sync/worker.h"

namespace telemeet::app {

namespace {

using nlohmann::json;

struct BulkArgs {
  int64_t doctor = 0;
  bool all = false;
  std::string from;
  std::string to;
  std::string moved = "flag";
  bool dry_run = false;
};

// Google as serve reaches it: the configured (or saved) client, the grants in the store, the
// quota from the configuration (shared through the database on PostgreSQL).
class GoogleForCli {
 public:
  GoogleForCli(const Config& config, store::Store& store, crypto::KeyRing& keys)
      : transport_(http_),
        retry_(google::RetryOptions{}, SystemClock::Instance(), google::RealSleeper::Instance(),
               std::random_device{}()),
        grants_(store) {
    google::RateLimitOptions limits;
    const double margin = static_cast<double>(config.google.quota.safety_margin_percent) / 100.0;
    limits.doctor_per_minute =
        static_cast<double>(config.google.quota.per_user_per_minute) * margin;
    limits.project_per_minute =
        static_cast<double>(config.google.quota.per_project_per_minute) * margin;
    if (store.backend() == "postgres") shared_ = std::make_unique<sync::StoreQuotaBudget>(store);
    limiter_ = std::make_unique<google::RateLimiter>(
        limits, SystemClock::Instance(), google::RealSleeper::Instance(), shared_.get());
    google::OAuthConfig oauth_config;
    oauth_config.client_id = config.google.client_id;
    oauth_config.client_secret = config.google.client_secret;
    oauth_config.redirect_uri = config.RedirectUri();
    oauth_config.auth_url = config.google.accounts_base_url + "/o/oauth2/v2/auth";
    oauth_config.token_url = config.google.oauth_base_url + "/token";
    oauth_config.revoke_url = config.google.oauth_base_url + "/revoke";
    oauth_config.scope = config.google.scope;
    live_ = std::make_unique<api::LiveGoogleConfig>(
        store, keys, SystemClock::Instance(), oauth_config,
        api::LiveGoogleConfig::Options{.sandbox = config.sandbox()});
    (void)live_->Reload();  // saved settings win when usable, as in serve
    oauth_ = std::make_unique<google::OAuthClient>(
        *live_, google::OAuthDeps{transport_, SystemClock::Instance(), retry_, nullptr});
    tokens_ =
        std::make_unique<google::TokenProvider>(*oauth_, grants_, keys, SystemClock::Instance());
    google::CalendarOptions calendar;
    calendar.base_url = config.google.api_base_url;
    sync::ReconcilerOptions reconciler;
    reconciler.policy.invite_patient = config.meeting.invite_patient;
    reconciler.policy.reminders =
        core::ParseEventReminders(config.meeting.event_reminders, "meeting.event_reminders")
            .value_or(core::EventReminders{});
    reconciler.actor = "cli:bulk";
    // Meetings made ready here get their Meet work while the policy asks for it, as in serve
    // (whose meet worker runs it).
    reconciler.meet_work = core::MeetPolicyDefaults(config.attendance.mode,
                                                    static_cast<int>(config.attendance.min_minutes),
                                                    config.meeting.access_type);
    sync::BulkOptions options;
    options.actor = "cli:bulk";
    bulk_ = std::make_unique<sync::BulkStack>(store, transport_, *tokens_, retry_,
                                              SystemClock::Instance(), limiter_.get(), nullptr,
                                              calendar, reconciler, options);
  }

  sync::BulkRunner& runner() { return bulk_->runner; }

 private:
  net::HttpClient http_;
  google::HttpTransport transport_;
  google::RetryPolicy retry_;
  sync::StoreGrantStore grants_;
  std::unique_ptr<sync::StoreQuotaBudget> shared_;
  std::unique_ptr<google::RateLimiter> limiter_;
  std::unique_ptr<api::LiveGoogleConfig> live_;
  std::unique_ptr<google::OAuthClient> oauth_;
  std::unique_ptr<google::TokenProvider> tokens_;
  std::unique_ptr<sync::BulkStack> bulk_;
};

Result<sync::BulkParams> ParamsFrom(const BulkArgs& a, bool resync) {
  sync::BulkParams p;
  if (!a.from.empty()) p.from = TM_TRY(core::ParseRfc3339(a.from, "--from"));
  if (!a.to.empty()) p.to = TM_TRY(core::ParseRfc3339(a.to, "--to"));
  if (p.from && p.to && *p.to <= *p.from) {
    return Fail(ErrorCode::kInvalidArgument, "--to must be after --from", "--to");
  }
  if (resync) {
    if (a.moved != "flag" && a.moved != "restore") {
      return Fail(ErrorCode::kInvalidArgument, "--moved must be flag or restore", "--moved");
    }
    p.moved = a.moved == "restore" ? sync::MovedPolicy::kRestore : sync::MovedPolicy::kFlag;
  }
  return p;
}

// One doctor's run; the number of failed appointments, or an error that stopped it.
Result<int64_t> RunOne(store::Store& store, sync::BulkRunner& runner, std::string_view kind,
                       int64_t doctor, const sync::BulkParams& params, bool dry_run) {
  const std::string params_text = sync::FormatBulkParams(kind, params);
  if (dry_run) {
    store::BulkJob probe;
    probe.kind = std::string(kind);
    probe.doctor_id = doctor;
    probe.params = params_text;
    auto plan = TM_TRY(runner.Plan(probe));
    std::cout << "doctor " << doctor << ": " << plan.size() << " change(s) would be made\n";
    if (!plan.empty()) {
      Table t({"  CHANGE", "APPOINTMENT", "EVENT", "DETAIL"});
      for (const auto& c : plan) {
        t.Row({"  " + c.what, std::to_string(c.appointment_id), c.event_id, c.detail});
      }
      t.Print(std::cout);
    }
    return int64_t{0};
  }
  const std::string owner = "cli:" + sync::DefaultWorkerOwner();
  const Instant now = SystemClock::Instance().Now();
  struct Started {
    store::BulkJob job;
    std::optional<core::Job> lease;
    bool resumed = false;
  };
  auto started = TM_TRY(store.Transact([&](store::Tx& tx) -> Result<Started> {
    Started s;
    TM_TRY(tx.GetDoctor(doctor));
    auto open = TM_TRY(tx.FindOpenBulkJob(kind, doctor, params_text));
    if (open) {
      s.job = *open;
      s.resumed = true;
    } else {
      store::BulkJob j;
      j.kind = std::string(kind);
      j.doctor_id = doctor;
      j.params = params_text;
      j.created_by = "cli";
      s.job = TM_TRY(tx.CreateBulkJob(std::move(j)));
    }
    s.lease =
        TM_TRY(tx.LeaseJobByKey(store::BulkJobKey(s.job.id), owner, std::chrono::seconds(15), now));
    return s;
  }));
  if (!started.lease) {
    return Fail(ErrorCode::kFailedPrecondition,
                "doctor " + std::to_string(doctor) + ": " + std::string(kind) + " job " +
                    std::to_string(started.job.id) +
                    " is being run elsewhere (telemeet serve or another command); its progress: "
                    "GET /api/v1/jobs/" +
                    std::to_string(started.job.id));
  }
  if (started.resumed) {
    std::cout << "doctor " << doctor << ": resuming " << kind << " job " << started.job.id << " ("
              << started.job.done + started.job.failed << " done before)\n";
  }
  Progress progress(std::cout, ::isatty(STDOUT_FILENO) == 1);
  const std::string what = std::string(kind) + " doctor " + std::to_string(doctor);
  auto ended = runner.Execute(started.job, *started.lease, [&](const store::BulkJob& j) {
    progress.Report(what, j.done + j.failed, j.total);
  });
  if (!ended) {
    progress.Interrupt();
    return Fail(ended.error().code(), ended.error().message() +
                                          " (what was done stays done; run the same command "
                                          "again to go on)");
  }
  (void)store.Transact([&](store::Tx& tx) { return tx.CompleteJob(*started.lease); });
  std::cout << "doctor " << doctor << ": " << ended->done << " done, " << ended->failed
            << " failed (job " << ended->id << ")\n";
  json failures = json::parse(ended->failures, nullptr, false);
  if (failures.is_array()) {
    for (const json& f : failures) {
      std::cout << "  appointment " << f["appointment_id"].dump() << ": " << f.value("error", "")
                << "\n";
    }
  }
  AuditCli(std::string("bulk.") + std::string(kind), {{"doctor_id", doctor},
                                                      {"bulk_job_id", ended->id},
                                                      {"done", ended->done},
                                                      {"failed", ended->failed}});
  return ended->failed;
}

int RunBulk(Config config, const BulkArgs& a, std::string_view kind) {
  const bool resync = kind == sync::kBulkResync;
  if (!a.all && a.doctor <= 0) return CliFailed("name a doctor with --doctor ID (or --all)");
  if (a.all && a.doctor > 0) return CliFailed("--doctor and --all exclude each other");
  auto params = ParamsFrom(a, resync);
  if (!params) return CliFailed(params.error());
  if (config.sandbox()) {
    if (auto s = UseRunningSandbox(config); !s) return CliFailed(s.error());
  }
  auto keys = LoadKeyRing(config);
  if (!keys) return CliFailed(keys.error());
  auto db = OpenStoreForCli(config);
  if (!db) return CliFailed(db.error());
  store::Store& store = **db;
  std::vector<int64_t> doctors;
  if (a.all) {
    auto connected = store.Read([](store::Tx& tx) { return tx.ListConnectedDoctors(); });
    if (!connected) return CliFailed(connected.error());
    doctors = *connected;
  } else {
    doctors.push_back(a.doctor);
  }
  GoogleForCli google(config, store, *keys);
  int64_t failed = 0;
  for (int64_t doctor : doctors) {
    auto r = RunOne(store, google.runner(), kind, doctor, *params, a.dry_run);
    if (!r) return CliFailed(r.error());
    failed += *r;
  }
  if (a.dry_run) std::cout << "dry run: nothing was changed\n";
  if (failed > 0) {
    return CliFailed(std::to_string(failed) +
                     " appointment(s) failed (listed above); the service retries them, or run "
                     "the command again");
  }
  return 0;
}

void AddRangeOptions(CLI::App* cmd, BulkArgs& a) {
  cmd->add_option("--from", a.from,
                  "Appointments starting at or after (RFC 3339, e.g. 2030-03-04T00:00:00Z)");
  cmd->add_option("--to", a.to, "Appointments starting before (RFC 3339)");
  cmd->add_flag("--dry-run", a.dry_run, "Print what would change; change nothing");
}

}  // namespace

void AddBulkCommands(CLI::App& cli, CliCommands& commands) {
  auto r = std::make_shared<BulkArgs>();
  CLI::App* resync = commands.Add(
      cli, "resync",
      "Compare a doctor's appointments with their Google Calendar events and repair through "
      "batch requests: missing events made, stray events of ours deleted, moved ones flagged "
      "(or put back with --moved=restore); resumable, safe while telemeet serve runs",
      [r](const Config& c) { return RunBulk(c, *r, sync::kBulkResync); });
  resync->add_option("--doctor", r->doctor, "The doctor's id");
  resync->add_flag("--all", r->all, "Every doctor connected to Google");
  resync
      ->add_option("--moved", r->moved,
                   "Events moved in Google Calendar: flag (default: recorded as a change made "
                   "in Google and told to the clinic, left as the doctor made it) or restore "
                   "(put back at the appointment's time)")
      ->capture_default_str();
  AddRangeOptions(resync, *r);

  auto b = std::make_shared<BulkArgs>();
  CLI::App* backfill = commands.Add(
      cli, "backfill",
      "Make Google Meet meetings for a doctor's existing confirmed appointments that have none, "
      "through batch requests; resumable, safe while telemeet serve runs",
      [b](const Config& c) { return RunBulk(c, *b, sync::kBulkBackfill); });
  backfill->add_option("--doctor", b->doctor, "The doctor's id")->required();
  AddRangeOptions(backfill, *b);
}

}  // namespace telemeet::app
