// The API routes over a fresh SQLite store in `dir`, served by the real HttpServer: seeds one
// doctor, service, patient and appointment plus a read/write API key, prints
//   port <n>\nkey <bearer>\nappointment <id>\ndoctor <id>\nservice <id>\npatient <id>
// and serves until SIGTERM; on SIGUSR1 it prints "writes <n> commits <m>" (the store's write
// transactions so far and the commits that held them).
//
//   bench_api_server <dir> [io_threads] [worker_threads] [full|normal]   (SQLite synchronous)
//   bench_api_server <store-url> [io_threads] [worker_threads]           (e.g. postgresql://...)
//   VIEW_CACHE_ENTRIES=0 bench_api_server ...   GET reads every answer (api::ApiOptions)
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>

#include "api/api.h"
#include "crypto/keyring.h"
#include "crypto/random.h"
#include "net/http_server.h"
#include "store/store.h"

using namespace telemeet;  // NOLINT(google-build-using-namespace): a small program

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: bench_api_server <dir> [io_threads] [worker_threads]\n";
    return 2;
  }
  // Blocked before any thread starts (they inherit the mask), so only sigwait below sees them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::string dir = argv[1];
  int io = argc > 2 ? std::stoi(argv[2]) : 2;
  int workers = argc > 3 ? std::stoi(argv[3]) : 8;
  std::string sync = argc > 4 ? argv[4] : "full";
  Clock& clock = SystemClock::Instance();
  const std::string url = dir.find("://") != std::string::npos
                              ? dir
                              : "sqlite://" + dir + "/bench.db?synchronous=" + sync;
  auto store = store::OpenStore(url, clock);
  if (!store || !(*store)->Migrate()) {
    std::cerr << "cannot open the store\n";
    return 1;
  }
  crypto::KeyRing keys;
  (void)keys.Add("bench", crypto::RandomBytes(32));
  api::ApiDeps deps{.store = **store, .clock = clock, .keys = &keys};
  // VIEW_CACHE_ENTRIES=0: every GET reads its answer (run.sh's uncached line).
  if (const char* entries = std::getenv("VIEW_CACHE_ENTRIES")) {
    deps.options.view_cache_entries = std::stoul(entries);
  }
  net::Router router;
  api::RegisterApiRoutes(router, deps);
  auto key = api::CreateApiKey(**store, "bench", "read write");
  auto ids = (*store)->Transact([&](store::Tx& tx) -> Result<std::array<int64_t, 4>> {
    auto d = tx.CreateDoctor({.name = "Dr Bench", .email = "bench@clinic.example"});
    if (!d) return std::unexpected(d.error());
    auto s = tx.CreateService({.name = "Video", .telemedicine = true});
    if (!s) return std::unexpected(s.error());
    auto p = tx.CreatePatient({.name = "Pat Bench"});
    if (!p) return std::unexpected(p.error());
    core::Appointment a{.doctor_id = d->id,
                        .service_id = s->id,
                        .patient_id = p->id,
                        .start = FromUnixSeconds(1'800'000'000),
                        .end = FromUnixSeconds(1'800'001'800)};
    auto created = tx.CreateAppointment(a);
    if (!created) return std::unexpected(created.error());
    return std::array<int64_t, 4>{created->id, d->id, s->id, p->id};
  });
  if (!key || !ids) {
    std::cerr << "cannot seed the store\n";
    return 1;
  }
  net::HttpServer server({.port = 0, .io_threads = io, .worker_threads = workers}, router);
  if (!server.Start()) {
    std::cerr << "cannot start\n";
    return 1;
  }
  std::cout << "port " << server.port() << "\nkey " << key->secret << "\nappointment " << (*ids)[0]
            << "\ndoctor " << (*ids)[1] << "\nservice " << (*ids)[2] << "\npatient " << (*ids)[3]
            << std::endl;
  int sig = 0;
  // SIGUSR1: the store's write transactions and the commits that held them so far (group commit).
  while (sigwait(&set, &sig) == 0 && sig == SIGUSR1) {
    store::WriteStats w = (*store)->write_stats();
    std::cout << "writes " << w.writes << " commits " << w.commits << std::endl;
  }
  server.Shutdown(std::chrono::seconds(2));
  return 0;
}
