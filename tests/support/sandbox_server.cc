#include "tests/support/sandbox_server.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>

namespace telemeet::testing {

namespace {

using namespace std::chrono_literals;
using nlohmann::json;

std::pair<int, json> Parsed(const Result<net::ClientResponse>& res, const std::string& what) {
  if (!res) {
    ADD_FAILURE() << what << ": " << res.error().ToString();
    return {0, nullptr};
  }
  return {res->status, res->body.empty() ? json(nullptr) : json::parse(res->body, nullptr, false)};
}

net::ClientRequest JsonRequest(const std::string& method, const std::string& url,
                               const json& body) {
  net::ClientRequest r{.method = method, .url = url};
  if (!body.is_null()) {
    r.headers.Add("Content-Type", "application/json");
    r.body = body.dump();
  }
  return r;
}

}  // namespace

SandboxServer::SandboxServer() {
  static std::atomic<int> serial{0};
  dir_ = std::filesystem::temp_directory_path() /
         ("telemeet-sandbox-" + std::to_string(::getpid()) + "-" + std::to_string(serial++));
  std::filesystem::remove_all(dir_);
  data_dir_ = dir_ / "data";
}

SandboxServer::~SandboxServer() {
  if (server_) Stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

bool SandboxServer::Start(std::vector<std::string> extra, std::vector<std::string> env) {
  std::vector<std::string> argv = {TELEMEET_BINARY, "serve",           "--port", "0",
                                   "--data-dir",    data_dir_.string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto child = ChildProcess::Start(argv, env);
  if (!child) {
    ADD_FAILURE() << "cannot start telemeet: " << child.error().ToString();
    return false;
  }
  server_ = std::move(*child);
  auto line = server_->WaitForLine("is running at", 30s);
  if (!line) {
    ADD_FAILURE() << "telemeet did not start: " << server_->errors();
    return false;
  }
  port_ = PortFromUrlLine(*line);
  if (port_ == 0) {  // a public URL of its own: the bound address is printed apart
    if (auto bound = server_->WaitForLine("listening on", 5s)) port_ = PortFromUrlLine(*bound);
  }
  base_ = "http://127.0.0.1:" + std::to_string(port_);
  if (auto google = server_->WaitForLine("Sandbox: Google is emulated at", 5s)) {
    google_ = "http://127.0.0.1:" + std::to_string(PortFromUrlLine(*google));
  }
  if (!server_->WaitForLine("Press Ctrl-C", 10s)) {
    ADD_FAILURE() << "telemeet did not finish starting: " << server_->errors();
    return false;
  }
  // "    demo sign-in (admin): admin@sandbox.telemeet.test / <password>"
  logins_.clear();
  std::istringstream out(server_->output());
  for (std::string l; std::getline(out, l);) {
    constexpr std::string_view kMark = "demo sign-in (";
    size_t at = l.find(kMark);
    if (at == std::string::npos) continue;
    size_t role_end = l.find("): ", at);
    size_t slash = l.find(" / ", role_end);
    if (role_end == std::string::npos || slash == std::string::npos) continue;
    std::string role = l.substr(at + kMark.size(), role_end - at - kMark.size());
    logins_.push_back({role, {l.substr(role_end + 3, slash - role_end - 3), l.substr(slash + 3)}});
  }
  std::ifstream key_file(data_dir_ / "sandbox-api-key");
  std::getline(key_file, key_);
  return true;
}

std::optional<int> SandboxServer::Stop() {
  if (!server_) return std::nullopt;
  server_->Signal(SIGTERM);
  auto code = server_->Wait(20s);
  server_.reset();
  return code;
}

SandboxServer::Login SandboxServer::DemoLogin(const std::string& role, int index) const {
  for (const auto& [r, login] : logins_) {
    if (r == role && index-- == 0) return login;
  }
  ADD_FAILURE() << "no demo sign-in for " << role << " was printed";
  return {};
}

std::optional<SandboxServer::Session> SandboxServer::SignIn(const Login& login,
                                                            const std::string& device_cookie,
                                                            bool expect_refusal) {
  net::ClientRequest r = JsonRequest("POST", base_ + "/api/v1/session",
                                     {{"email", login.email}, {"password", login.password}});
  if (!device_cookie.empty()) r.headers.Add("Cookie", device_cookie);
  auto res = Send(std::move(r));
  if (!res || res->status != 201) {
    if (!expect_refusal) {
      ADD_FAILURE() << "sign-in as " << login.email << " refused: "
                    << (res ? std::to_string(res->status) + " " + res->body
                            : res.error().ToString());
    }
    return std::nullopt;
  }
  Session s;
  for (const auto& [name, value] : res->headers) {
    if (!EqualsIgnoreCase(name, "Set-Cookie")) continue;
    std::string pair = value.substr(0, value.find(';'));
    if (pair.starts_with("tm_session=")) s.cookie = pair;
    if (pair.starts_with("tm_device=")) s.device_cookie = pair;
  }
  s.csrf_token = json::parse(res->body).value("csrf_token", "");
  return s;
}

std::pair<int, json> SandboxServer::Api(const std::string& method, const std::string& path,
                                        const json& body) {
  net::ClientRequest r = JsonRequest(method, base_ + path, body);
  if (!key_.empty()) r.headers.Add("Authorization", "Bearer " + key_);
  auto res = Send(std::move(r));
  last_headers_ = res ? res->headers : net::Headers{};
  return Parsed(res, method + " " + path);
}

std::pair<int, json> SandboxServer::Call(const Session& session, const std::string& method,
                                         const std::string& path, const json& body) {
  net::ClientRequest r = JsonRequest(method, base_ + path, body);
  r.headers.Add("Cookie", session.cookie);
  if (method != "GET") r.headers.Add("X-CSRF-Token", session.csrf_token);
  auto res = Send(std::move(r));
  last_headers_ = res ? res->headers : net::Headers{};
  return Parsed(res, method + " " + path);
}

std::string SandboxServer::SetCookie(const net::Headers& headers, const std::string& name) {
  for (const auto& [field, value] : headers) {
    if (!EqualsIgnoreCase(field, "Set-Cookie")) continue;
    std::string pair = value.substr(0, value.find(';'));
    if (pair.starts_with(name + "=")) return pair;
  }
  return {};
}

std::string SandboxServer::LastSetCookie(const std::string& name) const {
  return SetCookie(last_headers_, name);
}

Result<net::ClientResponse> SandboxServer::Send(net::ClientRequest request) {
  return http_.Send(std::move(request));
}

Result<net::ClientResponse> SandboxServer::FinishConnect(const std::string& authorization_url,
                                                         const std::string& google_email,
                                                         const std::string& cookie) {
  net::ClientRequest settings{.method = "PATCH", .url = google_ + "/_emulator/settings"};
  settings.headers.Add("Content-Type", "application/json");
  settings.body = R"({"autoApprove":true})";
  auto s = http_.Send(std::move(settings));
  if (!s) return std::unexpected(s.error());
  // The account the emulator approves for is the login_hint: ours replaces telemeet's.
  std::string url = authorization_url;
  if (size_t hint = url.find("&login_hint="); hint != std::string::npos) {
    size_t end = url.find('&', hint + 1);
    url.erase(hint, end == std::string::npos ? std::string::npos : end - hint);
  }
  auto consent = http_.Send({.url = url + "&login_hint=" + google_email});
  if (!consent) return std::unexpected(consent.error());
  auto location = consent->headers.Get("Location");
  if (consent->status != 302 || !location) {
    return Fail(
        ErrorCode::kFailedPrecondition,
        "the emulator did not redirect: " + std::to_string(consent->status) + " " + consent->body);
  }
  net::ClientRequest callback{.url = *location};
  if (!cookie.empty()) callback.headers.Add("Cookie", cookie);
  return http_.Send(std::move(callback));
}

}  // namespace telemeet::testing
