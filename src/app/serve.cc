#include "app/serve.h"

#include <pthread.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include "api/ops.h"
#include "app/sandbox.h"
#include "app/version.h"
#include "crypto/master_key.h"
#include "net/http_server.h"
#include "obs/log.h"
#include "obs/metrics.h"

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
  std::string env_value = env != nullptr ? env : "";
  std::filesystem::path file = config.MasterKeyFile();
  if (env_value.empty() && !std::filesystem::exists(file)) {
    if (!config.sandbox()) {
      return Fail(ErrorCode::kFailedPrecondition,
                  "no master key: set TELEMEET_MASTER_KEY, or create " + file.string() +
                      " (mode 0600) with a base64url 32-byte key",
                  "security.master_key_file");
    }
    if (auto s = crypto::GenerateKeyFile(file); !s) return std::unexpected(s.error());
  }
  return crypto::LoadMasterKey(env_value, file);
}

// Fails start-up: logged and printed with the same message; exit code 1.
int StartupFailed(obs::Logger& log, const Error& error) {
  log.Error("start-up failed", {{"reason", error.message()}});
  std::cerr << "telemeet: " << error.message() << "\n";
  return 1;
}

}  // namespace

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

int RunServe(const Config& configured, const sigset_t& stop_signals) {
  obs::Logger& log = obs::Log();
  log.SetLevel(*obs::ParseLevel(configured.log.level));
  Config config = configured;

  if (auto s = MakeDataDir(config); !s) return StartupFailed(log, s.error());
  auto keys = LoadKeys(config);
  if (!keys) return StartupFailed(log, keys.error());
  auto db = OpenConfiguredStore(config, config.storage.migrate_on_start);
  if (!db) return StartupFailed(log, db.error());
  store::Store& store = **db;

  std::unique_ptr<Sandbox> sandbox;
  if (config.sandbox()) {
    auto started = StartSandbox();
    if (!started) return StartupFailed(log, started.error());
    sandbox = std::move(*started);
    sandbox->UseIn(config);
  }

  obs::Registry metrics;
  net::Router router;
  net::HttpServer* server_ptr = nullptr;
  api::RegisterOpsRoutes(router, metrics,
                         {{"http",
                           [&]() -> Status {
                             if (server_ptr != nullptr && server_ptr->draining()) {
                               return Fail(ErrorCode::kUnavailable, "shutting down");
                             }
                             return Ok();
                           }},
                          {"store", [&]() -> Status {
                             auto v = store.SchemaVersion();
                             if (!v) return std::unexpected(v.error());
                             return Ok();
                           }}});

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
      .metrics = &metrics,
      .logger = config.log.requests ? &log : nullptr,
  };
  net::HttpServer server(options, router);
  server_ptr = &server;
  if (auto s = server.Start(); !s) return StartupFailed(log, s.error());
  config.server.port = server.port();  // the bound port when 0 was asked for
  if (sandbox) {
    if (auto s = sandbox->AllowRedirect(config.RedirectUri()); !s) {
      return StartupFailed(log, s.error());
    }
  }

  std::string url = config.PublicUrl() + "/";
  log.Info("listening", {{"url", url},
                         {"version", kVersion},
                         {"data_dir", config.data_dir},
                         {"store", store.backend()},
                         {"sandbox", sandbox != nullptr}});
  std::cout << "telemeet " << kVersion << " is running at " << url << "\n"
            << "  data directory: " << config.data_dir << " (" << store.backend() << ")\n";
  if (sandbox) {
    std::cout << "  Sandbox: Google is emulated at " << sandbox->base_url()
              << " (no Google credentials configured)\n";
    for (const auto& a : SandboxAccounts()) {
      std::cout << "    demo Google account: " << a.email << " (" << a.name << ")\n";
    }
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
  if (sandbox) sandbox->google().Stop();
  log.Info("stopped");
  return 0;
}

}  // namespace telemeet::app
