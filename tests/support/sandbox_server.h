// The real `telemeet serve` binary in sandbox mode, for tests that attack or drive it over HTTP:
// a temporary data dir, port 0, the in-process Google emulator, and helpers for the demo
// clinic's API key and sign-ins (read from what the server prints and writes, never assumed).
//
//   SandboxServer s;
//   ASSERT_TRUE(s.Start({"--set", "log.level=warn"}));
//   auto [status, body] = s.Api("GET", "/api/v1/doctors");          // with the demo API key
//   auto admin = s.SignIn(s.DemoPassword("admin"));                  // cookie + CSRF token
//   auto [st, me] = s.Call(admin, "GET", "/api/v1/session");
//
// Not thread-safe. The destructor stops the server (SIGTERM) and removes the data dir.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "net/http.h"
#include "net/http_client.h"
#include "tests/support/process.h"

namespace telemeet::testing {

class SandboxServer {
 public:
  // A browser-like session: the cookie to send and the CSRF token writes need.
  struct Session {
    std::string cookie;  // "tm_session=..."
    std::string csrf_token;
    std::string device_cookie;  // "tm_device=...", what the browser keeps after signing in
  };
  struct Login {
    std::string email;
    std::string password;
  };

  SandboxServer();
  ~SandboxServer();
  SandboxServer(const SandboxServer&) = delete;
  SandboxServer& operator=(const SandboxServer&) = delete;

  // Starts the server with `extra` arguments after `serve --port 0 --data-dir <tmp>` and waits
  // until it is ready. False (with a test failure) when it does not start.
  bool Start(std::vector<std::string> extra = {}, std::vector<std::string> env = {});
  // SIGTERM and wait; the exit code, or nullopt.
  std::optional<int> Stop();

  // The demo sign-in printed at start for `role` ("admin" or "doctor": the first doctor).
  Login DemoLogin(const std::string& role, int index = 0) const;
  // POST /api/v1/session (with `device_cookie` when given); nullopt (with a test failure
  // unless `expect_refusal`) when it is refused.
  std::optional<Session> SignIn(const Login& login, const std::string& device_cookie = "",
                                bool expect_refusal = false);

  // A request with the demo API key (or none when `bearer` is empty); status and parsed body
  // (null when empty or not JSON). Status 0 when the request could not be sent.
  std::pair<int, nlohmann::json> Api(const std::string& method, const std::string& path,
                                     const nlohmann::json& body = nullptr);
  std::pair<int, nlohmann::json> Call(const Session& session, const std::string& method,
                                      const std::string& path,
                                      const nlohmann::json& body = nullptr);
  // Any request; the raw answer (redirects are not followed).
  Result<net::ClientResponse> Send(net::ClientRequest request);

  // Completes a doctor's Google connect flow against the emulator (auto-approve for
  // `google_email`), given the authorization URL telemeet answered; the callback's answer. The
  // callback carries `cookie` ("tm_oauth=..."): a flow started from a browser completes only
  // with the cookie its start set there.
  Result<net::ClientResponse> FinishConnect(const std::string& authorization_url,
                                            const std::string& google_email,
                                            const std::string& cookie = "");

  // "name=value" of the cookie `name` the last Api() or Call() answer set, or empty.
  std::string LastSetCookie(const std::string& name) const;
  // The same from any answer's headers.
  static std::string SetCookie(const net::Headers& headers, const std::string& name);

  const std::string& base_url() const { return base_; }      // http://127.0.0.1:PORT
  const std::string& google_url() const { return google_; }  // the emulator
  const std::string& api_key() const { return key_; }
  int port() const { return port_; }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  ChildProcess& process() { return *server_; }

 private:
  std::filesystem::path dir_;
  std::filesystem::path data_dir_;
  std::unique_ptr<ChildProcess> server_;
  std::string base_, google_, key_;
  int port_ = 0;
  std::vector<std::pair<std::string, Login>> logins_;  // role → login, in printed order
  net::Headers last_headers_;                          // of the last Api() or Call() answer
  net::HttpClient http_;
};

}  // namespace telemeet::testing
