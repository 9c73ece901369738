// A child process for the store's multi-process tests:
//
//   store_test_child lease URL OWNER NOW_UNIX_US BATCH OUT_FILE
//       leases batches (lease 1 h at the given "now") until none is left; writes the ids of the
//       jobs it got to OUT_FILE, one per line.
//   store_test_child crash URL
//       starts a transaction that creates a doctor, a service, a patient and an appointment
//       (with its job), prints "inside" and waits inside the transaction to be killed.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "store/store.h"

namespace {

using telemeet::ErrorCode;
using telemeet::Fail;
using telemeet::Instant;
using telemeet::Ok;
using telemeet::Status;
namespace store = telemeet::store;
namespace core = telemeet::core;

int Lease(const std::string& url, const std::string& owner, int64_t now_us, int batch,
          const std::string& out_file) {
  telemeet::FakeClock clock{Instant(std::chrono::microseconds(now_us))};
  auto s = store::OpenStore(url, clock, {.pool_size = 1});
  if (!s) {
    std::fprintf(stderr, "open: %s\n", s.error().ToString().c_str());
    return 1;
  }
  std::vector<int64_t> ids;
  for (;;) {
    auto jobs = (*s)->Transact([&](store::Tx& tx) {
      return tx.LeaseJobs(
          {.owner = owner, .max = batch, .lease_for = std::chrono::hours(1), .now = clock.Now()});
    });
    if (!jobs) {
      std::fprintf(stderr, "lease: %s\n", jobs.error().ToString().c_str());
      return 1;
    }
    if (jobs->empty()) break;
    for (const auto& j : *jobs) ids.push_back(j.id);
  }
  std::ofstream out(out_file);
  for (int64_t id : ids) out << id << '\n';
  return out.good() ? 0 : 1;
}

int Crash(const std::string& url) {
  telemeet::FakeClock clock;
  auto s = store::OpenStore(url, clock, {.pool_size = 1});
  if (!s) {
    std::fprintf(stderr, "open: %s\n", s.error().ToString().c_str());
    return 1;
  }
  Status st = (*s)->Run(store::TxMode::kWrite, [&](store::Tx& tx) -> Status {
    core::Doctor d;
    d.name = "Dr. Crash";
    d.email = "crash@clinic.example";
    auto doc = tx.CreateDoctor(d);
    if (!doc) return std::unexpected(doc.error());
    core::Service sv;
    sv.name = "Crash service";
    sv.telemedicine = true;
    auto svc = tx.CreateService(sv);
    if (!svc) return std::unexpected(svc.error());
    core::Patient p;
    p.name = "Crash patient";
    auto pat = tx.CreatePatient(p);
    if (!pat) return std::unexpected(pat.error());
    core::Appointment a;
    a.doctor_id = doc->id;
    a.service_id = svc->id;
    a.patient_id = pat->id;
    a.start = clock.Now() + std::chrono::hours(24);
    a.end = a.start + std::chrono::minutes(30);
    if (auto r = tx.CreateAppointment(a); !r) return std::unexpected(r.error());
    std::printf("inside\n");
    std::fflush(stdout);
    for (;;) pause();  // the parent kills us here, mid-transaction
  });
  std::fprintf(stderr, "crash transaction ended: %s\n",
               st ? "committed?!" : st.error().ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 6 && args[0] == "lease") {
    return Lease(args[1], args[2], std::atoll(args[3].c_str()), std::atoi(args[4].c_str()),
                 args[5]);
  }
  if (args.size() == 2 && args[0] == "crash") return Crash(args[1]);
  std::fprintf(stderr, "usage: store_test_child lease URL OWNER NOW_US BATCH OUT | crash URL\n");
  return 2;
}
