#include "app/serve.h"

#include <pthread.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <thread>

#include "api/ops.h"
#include "app/version.h"
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

int RunServe(const Config& config, const sigset_t& stop_signals) {
  obs::Logger& log = obs::Log();
  log.SetLevel(*obs::ParseLevel(config.log.level));

  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    std::cerr << "telemeet: cannot create data_dir " << config.data_dir << ": " << ec.message()
              << "\n";
    return 1;
  }

  obs::Registry metrics;
  net::Router router;
  net::HttpServer* server_ptr = nullptr;
  api::RegisterOpsRoutes(router, metrics,
                         {{"http", [&]() -> Status {
                             if (server_ptr != nullptr && server_ptr->draining()) {
                               return Fail(ErrorCode::kUnavailable, "shutting down");
                             }
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
  if (auto s = server.Start(); !s) {
    log.Error("start-up failed", {{"reason", s.error().message()}});
    std::cerr << "telemeet: " << s.error().message() << "\n";
    return 1;
  }

  std::string url = "http://" +
                    (config.server.address == "0.0.0.0" ? std::string("127.0.0.1")
                                                        : config.server.address) +
                    ":" + std::to_string(server.port()) + "/";
  log.Info("listening", {{"url", url}, {"version", kVersion}, {"data_dir", config.data_dir}});
  std::cout << "telemeet " << kVersion << " is running at " << url << "\n"
            << "  data directory: " << config.data_dir << "\n"
            << "Press Ctrl-C to stop." << std::endl;

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
  log.Info("stopped");
  return 0;
}

}  // namespace telemeet::app
