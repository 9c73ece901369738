// Test support for the API tests: a real SQLite store in a fresh temporary directory, a fake
// clock, a key ring, the routes, and helpers that call them with credentials.
//
//   ApiEnv env;                                   // store migrated, admin + keys created
//   auto r = env.Call("POST", "/api/v1/doctors", {{"name", "Dr A"}}, env.write_key);
//   EXPECT_EQ(r.status, 201);
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "api/api.h"
#include "api/auth.h"
#include "base/clock.h"
#include "crypto/keyring.h"
#include "crypto/random.h"
#include "net/json.h"
#include "net/router.h"
#include "store/store.h"

namespace telemeet::api::testing {

struct Credentials {
  std::string bearer;  // "tm_..." or empty
  std::string cookie;  // session token or empty
  std::string csrf;
};

class ApiEnv {
 public:
  ApiEnv() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tm-api-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    auto store = store::OpenStore("sqlite://" + dir_ + "/db.sqlite", clock);
    EXPECT_TRUE(store.has_value());
    store_ = std::move(*store);
    EXPECT_TRUE(store_->Migrate().has_value());
    EXPECT_TRUE(keys.Add("k1", crypto::RandomBytes(32)).has_value());
    deps = std::make_unique<ApiDeps>(
        ApiDeps{.store = *store_,
                .clock = clock,
                .keys = &keys,
                .on_work_enqueued = [this] { ++work_nudges; },
                .options = {.public_url = "https://tm.example",
                            .password_limits = crypto::PasswordLimits::Minimum()}});
    RegisterApiRoutes(router, *deps);
    auto admin_user = CreateAdmin(*store_, "admin@clinic.example", "correct horse battery",
                                  crypto::PasswordLimits::Minimum());
    EXPECT_TRUE(admin_user.has_value());
    admin = Login("admin@clinic.example", "correct horse battery");
    write_key = {.bearer = CreateApiKey(*store_, "booking", "read write")->secret};
    read_key = {.bearer = CreateApiKey(*store_, "reports", "read")->secret};
  }
  ~ApiEnv() {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  store::Store& store() { return *store_; }
  // The database the routes use, for a second connection to it (as a CLI command opens one).
  std::string store_url() const { return "sqlite://" + dir_ + "/db.sqlite"; }

  net::Response Call(std::string method, std::string target, const nlohmann::json& body,
                     const Credentials& who, net::Headers extra = {}) {
    return CallRaw(std::move(method), std::move(target), body.is_null() ? "" : body.dump(), who,
                   std::move(extra));
  }
  net::Response CallRaw(std::string method, std::string target, std::string body,
                        const Credentials& who, net::Headers extra = {}) {
    net::Request req;
    req.method = std::move(method);
    req.target = target;
    size_t q = target.find('?');
    req.path = target.substr(0, q);
    req.query = q == std::string::npos ? "" : target.substr(q + 1);
    req.headers = std::move(extra);
    if (!body.empty() && !req.headers.Has("Content-Type")) {
      req.headers.Set("Content-Type", "application/json");
    }
    req.body = std::move(body);
    if (!who.bearer.empty()) req.headers.Set("Authorization", "Bearer " + who.bearer);
    if (!who.cookie.empty()) {
      req.headers.Set("Cookie", std::string(kSessionCookie) + "=" + who.cookie);
    }
    if (!who.csrf.empty()) req.headers.Set("X-CSRF-Token", who.csrf);
    return router.Dispatch(req);
  }

  // Signs in; empty credentials when refused.
  Credentials Login(std::string email, std::string password) {
    auto r = Call("POST", "/api/v1/session", {{"email", email}, {"password", password}}, {});
    if (r.status != 201) return {};
    auto cookie = r.headers.Get("Set-Cookie").value_or("");
    std::string token = cookie.substr(cookie.find('=') + 1);
    token = token.substr(0, token.find(';'));
    return {.cookie = token, .csrf = nlohmann::json::parse(r.body)["csrf_token"]};
  }

  static nlohmann::json J(const net::Response& r) {
    return nlohmann::json::parse(r.body, nullptr, false);
  }

  FakeClock clock{FromUnixSeconds(1'780'000'000)};  // 2026-05-28
  crypto::KeyRing keys;
  std::unique_ptr<ApiDeps> deps;
  net::Router router;
  int work_nudges = 0;
  Credentials admin, write_key, read_key;

 private:
  std::string dir_;
  std::unique_ptr<store::Store> store_;
};

}  // namespace telemeet::api::testing
