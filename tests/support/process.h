// Runs a program as a child process for integration tests: its stdout is captured so a test
// can wait for a line (such as the URL a server prints), and it can be signalled and reaped.
//
//   auto p = ChildProcess::Start({binary, "serve", "--port", "0"});
//   auto line = p->WaitForLine("is running at", 10s);
//   p->Signal(SIGTERM);
//   EXPECT_EQ(p->Wait(10s), 0);
//
// Not thread-safe. The destructor kills (SIGKILL) and reaps a child still running.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"

namespace telemeet::testing {

class ChildProcess {
 public:
  // Starts `argv[0]` with `argv`, extra environment entries "K=V" added to ours.
  static Result<std::unique_ptr<ChildProcess>> Start(std::vector<std::string> argv,
                                                      std::vector<std::string> extra_env = {});
  ~ChildProcess();

  // The first stdout line containing `needle`, or nullopt on timeout or exit.
  std::optional<std::string> WaitForLine(const std::string& needle,
                                         std::chrono::milliseconds timeout);
  // Everything read from stdout and stderr so far.
  const std::string& output() const { return output_; }
  const std::string& errors();

  void Signal(int signal);
  // The exit code (128 + signal when killed by one), or nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  pid_t pid() const { return pid_; }

 private:
  ChildProcess() = default;
  void Drain(int fd, std::string& into, std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string output_;
  std::string errors_;
  std::optional<int> exit_code_;
};

// The port in "http://127.0.0.1:PORT/" within `line`, or 0.
int PortFromUrlLine(const std::string& line);

}  // namespace telemeet::testing
