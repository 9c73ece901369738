#include "app/serve_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

namespace telemeet::app {

namespace {

// The pid the holder wrote, for the message ("" when unreadable).
std::string HolderPid(int fd) {
  char buf[32] = {};
  ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return "";
  std::string_view text(buf, static_cast<size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  for (char c : text) {
    if (c < '0' || c > '9') return "";
  }
  return std::string(text);
}

}  // namespace

Result<ServeLock> ServeLock::Take(const std::string& database) {
  std::string path = database + ".serve-lock";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return Fail(ErrorCode::kUnavailable,
                "cannot open the lock file " + path + ": " + std::strerror(errno), "data_dir");
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    std::string pid = HolderPid(fd);
    close(fd);
    if (err == EWOULDBLOCK) {
      return Fail(ErrorCode::kFailedPrecondition,
                  "another telemeet serve" + (pid.empty() ? "" : " (pid " + pid + ")") +
                      " is using the database " + database +
                      ": stop it first, or give this one its own data dir (--data-dir) or "
                      "storage.url. With PostgreSQL, any number of instances may share one "
                      "database.",
                  "data_dir");
    }
    return Fail(ErrorCode::kUnavailable, "cannot lock " + path + ": " + std::strerror(err),
                "data_dir");
  }
  std::string pid = std::to_string(getpid()) + "\n";
  const bool wrote = ftruncate(fd, 0) == 0 && pwrite(fd, pid.data(), pid.size(), 0) > 0;
  (void)wrote;  // the lock holds without the pid; only a second serve's message is poorer
  return ServeLock(fd, std::move(path));
}

ServeLock::~ServeLock() {
  if (fd_ >= 0) close(fd_);  // closing the last descriptor releases the flock
}

}  // namespace telemeet::app
