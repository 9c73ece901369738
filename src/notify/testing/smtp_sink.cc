#include "notify/testing/smtp_sink.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

extern char** environ;

namespace telemeet::notify::testing {

namespace {

bool Accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

SmtpSink::SmtpSink(SinkOptions options) : options_(std::move(options)) {
  char tmpl[] = "/tmp/notify_sink_XXXXXX";
  dir_ = ::mkdtemp(tmpl);
  port_ = FreePort();
  if (options_.starttls || options_.implicit_tls) {
    std::string cmd =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
        "-keyout " +
        dir_ + "/key.pem -out " + dir_ + "/cert.pem >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) options_.starttls = options_.implicit_tls = false;
  }
}

SmtpSink::~SmtpSink() {
  Stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

bool SmtpSink::Start() {
  if (pid_ > 0) return true;
  std::vector<std::string> args = {
      "/usr/bin/python3", NOTIFY_SMTP_SINK_PY, "--port", std::to_string(port_), "--out",
      dir_ + "/mail"};
  if (!options_.user.empty()) {
    args.insert(args.end(), {"--user", options_.user, "--password", options_.password});
  }
  if (options_.starttls || options_.implicit_tls) {
    args.insert(args.end(), {"--tls-cert", dir_ + "/cert.pem", "--tls-key", dir_ + "/key.pem"});
  }
  if (options_.implicit_tls) args.push_back("--implicit-tls");
  for (const std::string& r : options_.reject) args.insert(args.end(), {"--reject", r});
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, (dir_ + "/sink.log").c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0600);
  int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    return false;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    if (Accepts(port_)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Stop();
  return false;
}

void SmtpSink::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  // Until the port no longer answers, a "down" test could still reach it.
  for (int i = 0; i < 100 && Accepts(port_); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::vector<nlohmann::json> SmtpSink::Messages() const {
  std::vector<std::pair<int, nlohmann::json>> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_ + "/mail", ec)) {
    const auto& p = entry.path();
    if (p.extension() != ".json" || p.filename().string().starts_with(".")) continue;
    std::ifstream in(p);
    nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    if (!j.is_discarded()) found.emplace_back(std::stoi(p.stem().string()), std::move(j));
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<nlohmann::json> out;
  for (auto& [n, j] : found) out.push_back(std::move(j));
  return out;
}

std::vector<nlohmann::json> SmtpSink::WaitFor(size_t n, std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto m = Messages();
    if (m.size() >= n || std::chrono::steady_clock::now() >= deadline) return m;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
}

}  // namespace telemeet::notify::testing
