// One `telemeet serve` per SQLite database (issue 17, M27): serve takes an exclusive lock on a
// file beside the database before it opens it, and holds it until it exits (the kernel lets go
// when the process dies, SIGKILL included). A second serve on the same data dir refuses to
// start, naming the process that holds it. Knowing it is alone, a restarted serve takes back at
// once the job leases its dead predecessor held (Tx::ReclaimLeases), instead of waiting them
// out. The admin commands (`telemeet users …`) take no such lock: they are short transactions
// that SQLite's own locking serves.
//
//   auto lock = ServeLock::Take("/var/lib/telemeet/telemeet.db");
//   if (!lock) return StartupFailed(log, lock.error());   // kFailedPrecondition: in use
#pragma once

#include <string>

#include "base/error.h"

namespace telemeet::app {

class ServeLock {
 public:
  // Locks "<database>.serve-lock" (created 0600) and writes this process's id into it.
  // kFailedPrecondition (field "data_dir") naming the holder's pid when another process holds
  // it; kUnavailable when the file cannot be opened.
  static Result<ServeLock> Take(const std::string& database);

  ServeLock(ServeLock&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) {
    other.fd_ = -1;
  }
  ServeLock& operator=(ServeLock&&) = delete;
  ServeLock(const ServeLock&) = delete;
  ServeLock& operator=(const ServeLock&) = delete;
  ~ServeLock();  // unlocks (the file stays: removing it would race a starting process)

  const std::string& path() const { return path_; }

 private:
  ServeLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
};

}  // namespace telemeet::app
