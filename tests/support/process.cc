#include "tests/support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <thread>

extern char** environ;

namespace telemeet::testing {

Result<std::unique_ptr<ChildProcess>> ChildProcess::Start(std::vector<std::string> argv,
                                                          std::vector<std::string> extra_env) {
  int out[2];
  int err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    return Fail(ErrorCode::kInternal, "pipe failed");
  }
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  for (auto& e : extra_env) env.push_back(std::move(e));
  pid_t pid = ::fork();
  if (pid < 0) return Fail(ErrorCode::kInternal, "fork failed");
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  auto child = std::unique_ptr<ChildProcess>(new ChildProcess());
  child->pid_ = pid;
  child->out_fd_ = out[0];
  child->err_fd_ = err[0];
  return child;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !exit_code_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  if (err_fd_ >= 0) ::close(err_fd_);
}

void ChildProcess::Drain(int fd, std::string& into, std::chrono::milliseconds timeout) {
  if (fd < 0) return;
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return;
  char buf[8192];
  ssize_t n = ::read(fd, buf, sizeof buf);
  if (n > 0) into.append(buf, static_cast<size_t>(n));
}

std::optional<std::string> ChildProcess::WaitForLine(const std::string& needle,
                                                     std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    size_t pos = output_.find(needle);
    if (pos != std::string::npos) {
      size_t start = output_.rfind('\n', pos);
      start = start == std::string::npos ? 0 : start + 1;
      size_t end = output_.find('\n', pos);
      if (end != std::string::npos) return output_.substr(start, end - start);
    }
    Drain(out_fd_, output_, std::chrono::milliseconds(50));
    Drain(err_fd_, errors_, std::chrono::milliseconds(0));
    int status = 0;
    if (!exit_code_ && ::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (exit_code_) {
      Drain(out_fd_, output_, std::chrono::milliseconds(10));
      if (output_.find(needle) == std::string::npos) return std::nullopt;
    }
  }
  return std::nullopt;
}

const std::string& ChildProcess::errors() {
  for (int i = 0; i < 100; ++i) {
    size_t before = errors_.size();
    Drain(err_fd_, errors_, std::chrono::milliseconds(i == 0 ? 50 : 0));
    if (errors_.size() == before) break;
  }
  return errors_;
}

void ChildProcess::Signal(int signal) {
  if (pid_ > 0 && !exit_code_) ::kill(pid_, signal);
}

std::optional<int> ChildProcess::Wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!exit_code_) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    Drain(out_fd_, output_, std::chrono::milliseconds(0));
    Drain(err_fd_, errors_, std::chrono::milliseconds(0));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // All that is left in the pipe, not one read's worth: a command's output may be long.
  for (size_t before = output_.size() + 1; output_.size() != before;) {
    before = output_.size();
    Drain(out_fd_, output_, std::chrono::milliseconds(0));
  }
  return exit_code_;
}

int PortFromUrlLine(const std::string& line) {
  size_t pos = line.find("127.0.0.1:");
  if (pos == std::string::npos) return 0;
  return std::atoi(line.c_str() + pos + 10);
}

}  // namespace telemeet::testing
