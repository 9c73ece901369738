// Test support for CalendarService: a token→principal Authenticator, and a fixture that sends
// requests through a Router the service registered on, collecting push messages.
//
//   auto r = Call("POST", "/calendar/v3/calendars/primary/events", {{"summary", "x"}, ...});
//   EXPECT_EQ(r.status, 200);
//   EXPECT_EQ(r.body["kind"], "calendar#event");
#pragma once

#include <gtest/gtest.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "emulator/calendar/calendar_service.h"
#include "emulator/fake_authenticator.h"
#include "net/router.h"

namespace telemeet::emulator::testing {

inline constexpr const char* kDoc = "doc@example.com";
inline constexpr const char* kEvents = "/calendar/v3/calendars/primary/events";

struct Reply {
  int status = 0;
  nlohmann::json body;  // null when the body is not JSON
  net::Headers headers;
  std::string raw;

  // errors[0].reason / .message of a Google error body.
  std::string reason() const { return body["error"]["errors"][0].value("reason", ""); }
  std::string message() const { return body["error"]["errors"][0].value("message", ""); }
};

class CalendarFixture : public ::testing::Test {
 protected:
  CalendarFixture() : service_(auth_, clock_) {
    AddToken("tok-full", kDoc, "client-1", {kScopeCalendar});
    AddToken("tok-events", kDoc, "client-1", {kScopeCalendarEvents});
    AddToken("tok-ro", kDoc, "client-1", {kScopeCalendarReadonly});
    AddToken("tok-fb", kDoc, "client-1", {kScopeCalendarFreebusy});
    AddToken("tok-other", "other@example.com", "client-1", {kScopeCalendar});
    AddToken("tok-client2", kDoc, "client-2", {kScopeCalendar});
    service_.Register(router_);
    service_.SetPushSender([this](PushMessage m) {
      std::lock_guard lock(push_mu_);
      pushes_.push_back(std::move(m));
    });
  }

  void AddToken(const std::string& token, const std::string& email, const std::string& client,
                std::vector<std::string_view> scopes) {
    Principal p{.email = email, .sub = "sub-" + email, .client_id = client, .scopes = {}};
    for (auto s : scopes) p.scopes.emplace_back(s);
    auth_.Add(token, std::move(p));
  }

  Reply CallRaw(const std::string& method, const std::string& target, std::string body,
                const std::string& token = "tok-full", const net::Headers& extra = {}) {
    net::Request req;
    req.method = method;
    req.target = target;
    auto q = target.find('?');
    req.path = target.substr(0, q);
    req.query = q == std::string::npos ? "" : target.substr(q + 1);
    if (!token.empty()) req.headers.Set("Authorization", "Bearer " + token);
    if (!body.empty()) req.headers.Set("Content-Type", "application/json");
    for (const auto& [k, v] : extra) req.headers.Set(k, v);
    req.body = std::move(body);
    net::Response r = router_.Dispatch(req);
    Reply out{r.status, nullptr, r.headers, r.body};
    if (!r.body.empty()) {
      out.body = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
      if (out.body.is_discarded()) out.body = nullptr;
    }
    return out;
  }

  Reply Call(const std::string& method, const std::string& target,
             const nlohmann::json& body = nullptr, const std::string& token = "tok-full",
             const net::Headers& extra = {}) {
    return CallRaw(method, target, body.is_null() ? "" : body.dump(), token, extra);
  }

  static nlohmann::json Timed(const std::string& start, const std::string& end) {
    return {{"start", {{"dateTime", start}}}, {"end", {{"dateTime", end}}}};
  }

  // Inserts an event (start/end default to 2026-01-05 10:00-11:00 UTC) and returns it.
  nlohmann::json Insert(nlohmann::json event, const std::string& query = "") {
    if (!event.contains("start")) event["start"] = {{"dateTime", "2026-01-05T10:00:00Z"}};
    if (!event.contains("end")) event["end"] = {{"dateTime", "2026-01-05T11:00:00Z"}};
    Reply r = Call("POST", std::string(kEvents) + query, event);
    EXPECT_EQ(r.status, 200) << r.raw;
    return r.body;
  }

  std::vector<PushMessage> TakePushes() {
    std::lock_guard lock(push_mu_);
    return std::exchange(pushes_, {});
  }

  FakeAuthenticator auth_;
  FakeClock clock_;
  CalendarService service_;
  net::Router router_;
  std::mutex push_mu_;
  std::vector<PushMessage> pushes_;
};

}  // namespace telemeet::emulator::testing
