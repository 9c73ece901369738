#include "net/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "net/json.h"
#include "net/testing/raw_client.h"
#include "obs/metrics.h"

namespace telemeet::net {
namespace {

using testing::Fetch;
using testing::RawClient;
using namespace std::chrono_literals;

class HttpServerTest : public ::testing::Test {
 protected:
  HttpServerTest() {
    router_.Get("/hello", [](Request& r) {
      return Response::Text(200, "hello " + r.Query("name").value_or("world"));
    });
    router_.Post("/echo", [](Request& r) { return Response::Text(200, r.body); });
    router_.Get("/slow",
                [this](Request&) {
                  slow_started_.set_value();
                  std::this_thread::sleep_for(300ms);
                  return Response::Text(200, "slow done");
                },
                {.offload = true});
    router_.Get("/reset", [](Request&) {
      Response r;
      r.reset_connection = true;
      return r;
    });
    router_.Get("/header", [](Request& r) {
      // Echoes a query value into a header, as a careless handler would.
      Response res = Response::Text(200, "ok");
      res.headers.Set("X-Echo", r.Query("v").value_or(""));
      return res;
    });
    router_.Get("/probe", [](Request&) { return Response::Text(200, "alive"); },
                {.any_host = true});
    router_.Get("/own", [](Request&) {
      // Sets fields the server owns, in other spellings; they are replaced, not repeated.
      Response r = Response::Empty(201);
      r.headers.Add("server", "spoof");
      r.headers.Add("X-Padded", "  v  ");
      r.headers.Add("x-request-id", "spoof");
      r.headers.Add("Content-Length", "999");
      r.body = "abc";
      return r;
    });
    router_.Get("/empty", [](Request&) { return Response::Empty(204); });
    router_.Get("/late", [](Request&) {
      Response r = Response::Text(200, "late");
      r.delay = 100ms;
      return r;
    });
  }

  void StartServer(ServerOptions options = {}) {
    options.metrics = &metrics_;
    server_ = std::make_unique<HttpServer>(options, router_);
    ASSERT_TRUE(server_->Start().has_value());
    port_ = server_->port();
  }

  void TearDown() override {
    if (server_) server_->Shutdown(1s);
  }

  Router router_;
  obs::Registry metrics_;
  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
  std::promise<void> slow_started_;
};

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  StartServer();
  RawClient c;
  ASSERT_TRUE(c.Connect(port_));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.Send("GET /hello?name=ada HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.ReadResponse();
    ASSERT_TRUE(r.has_value()) << "request " << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "hello ada");
    EXPECT_EQ(r->headers.Get("Connection").value_or("keep-alive"), "keep-alive");
  }
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  StartServer();
  RawClient c;
  ASSERT_TRUE(c.Connect(port_));
  ASSERT_TRUE(
      c.Send("GET /hello?name=a HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /hello?name=b HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(c.ReadResponse()->body, "hello a");
  EXPECT_EQ(c.ReadResponse()->body, "hello b");
}

TEST_F(HttpServerTest, UnknownRouteAndWrongMethodGetJsonErrors) {
  StartServer();
  auto nf = Fetch(port_, "GET", "/nowhere");
  ASSERT_TRUE(nf.has_value());
  EXPECT_EQ(nf->status, 404);
  EXPECT_EQ(nlohmann::json::parse(nf->body)["error"]["code"], "not_found");
  auto na = Fetch(port_, "DELETE", "/hello");
  ASSERT_TRUE(na.has_value());
  EXPECT_EQ(na->status, 405);
  EXPECT_EQ(na->headers.Get("Allow"), "GET");
  EXPECT_EQ(nlohmann::json::parse(na->body)["error"]["code"], "method_not_allowed");
}

TEST_F(HttpServerTest, OversizedBodyGets413BeforeItIsRead) {
  StartServer({.max_body_bytes = 1024});
  RawClient c;
  ASSERT_TRUE(c.Connect(port_));
  // Announce 10 MB, send only the headers: the answer must not wait for the body.
  ASSERT_TRUE(
      c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
             "Content-Length: 10485760\r\n\r\n"));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  auto body = nlohmann::json::parse(r->body);
  EXPECT_EQ(body["error"]["code"], "payload_too_large");
  EXPECT_EQ(body["error"]["message"], "request body exceeds 1024 bytes");
  EXPECT_TRUE(c.WaitClosed(2s));
}

TEST_F(HttpServerTest, BodyWithinLimitIsEchoed) {
  StartServer({.max_body_bytes = 1024});
  auto r = Fetch(port_, "POST", "/echo", std::string(1024, 'x'), "text/plain");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.size(), 1024u);
}

TEST_F(HttpServerTest, OversizedHeadersGet431) {
  StartServer({.max_header_bytes = 1024});
  RawClient c;
  ASSERT_TRUE(c.Connect(port_));
  ASSERT_TRUE(
      c.Send("GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n"));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(nlohmann::json::parse(r->body)["error"]["code"], "headers_too_large");
}

TEST_F(HttpServerTest, MalformedRequestGets400AndClose) {
  StartServer();
  RawClient c;
  ASSERT_TRUE(c.Connect(port_));
  ASSERT_TRUE(c.Send("THIS IS NOT HTTP\r\n\r\n"));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(nlohmann::json::parse(r->body)["error"]["code"], "bad_request");
  EXPECT_TRUE(c.WaitClosed(2s));
}

TEST_F(HttpServerTest, StalledRequestIsCutOff) {
  StartServer({.read_timeout = 200ms, .idle_timeout = 60s});
  RawClient c;
  ASSERT_TRUE(c.Connect(port_));
  ASSERT_TRUE(c.Send("GET /hello HTTP/1.1\r\nHost: x\r\nX-Half"));  // and then nothing
  EXPECT_TRUE(c.WaitClosed(3s));
  // The server is unharmed.
  EXPECT_EQ(Fetch(port_, "GET", "/hello")->status, 200);
}

TEST_F(HttpServerTest, SilentConnectionIsClosedAfterIdleTimeout) {
  StartServer({.idle_timeout = 200ms});
  RawClient c;
  ASSERT_TRUE(c.Connect(port_));
  EXPECT_TRUE(c.WaitClosed(3s));
}

TEST_F(HttpServerTest, ShutdownFinishesTheRequestInFlightAndClosesIdleOnes) {
  StartServer();
  RawClient idle;
  ASSERT_TRUE(idle.Connect(port_));
  RawClient busy;
  ASSERT_TRUE(busy.Connect(port_));
  ASSERT_TRUE(busy.Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  slow_started_.get_future().wait();
  std::thread stopper([this] { server_->Shutdown(10s); });
  auto r = busy.ReadResponse(5s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "slow done");
  EXPECT_EQ(r->headers.Get("Connection"), "close");
  EXPECT_TRUE(idle.WaitClosed(5s));
  stopper.join();
  // New connections are refused once shut down.
  RawClient late;
  EXPECT_FALSE(late.Connect(port_) && late.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n") &&
               late.ReadResponse(1s).has_value());
}

// Counts the handlers of one route running at once and keeps the highest count seen.
struct OverlapProbe {
  std::atomic<int> running{0};
  std::atomic<int> most{0};

  Response Run() {
    int now = ++running;
    for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
    }
    std::this_thread::sleep_for(50ms);
    --running;
    return Response::Text(200, "ran");
  }
};

// Sends `n` requests for `target` at once, each on its own connection; true when all got 200.
bool FetchTogether(uint16_t port, std::string_view target, int n) {
  std::vector<std::future<bool>> answers;
  for (int i = 0; i < n; ++i) {
    answers.push_back(std::async(std::launch::async, [port, target] {
      auto r = Fetch(port, "POST", target);
      return r.has_value() && r->status == 200;
    }));
  }
  bool all = true;
  for (auto& a : answers) all = a.get() && all;
  return all;
}

TEST_F(HttpServerTest, OffloadedRoutesShareTheWorkers) {
  OverlapProbe parallel;
  router_.Post("/parallel", [&](Request&) { return parallel.Run(); }, {.offload = true});
  StartServer({.worker_threads = 4});

  ASSERT_TRUE(FetchTogether(port_, "/parallel", 6));
  EXPECT_GT(parallel.most.load(), 1) << "offloaded handlers run side by side on the pool";
}

TEST_F(HttpServerTest, ResetAndDelayDirectivesAreHonoured) {
  StartServer();
  RawClient c;
  ASSERT_TRUE(c.Connect(port_));
  ASSERT_TRUE(c.Send("GET /reset HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_FALSE(c.ReadResponse(2s).has_value());
  auto late = Fetch(port_, "GET", "/late");
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->body, "late");
}

TEST_F(HttpServerTest, HeadKeepsContentLengthWithoutBody) {
  StartServer();
  RawClient c;
  ASSERT_TRUE(c.Connect(port_));
  ASSERT_TRUE(
      c.Send("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto head = c.ReadResponse(5s, /*head=*/true);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->headers.Get("Content-Length"), "11");
  // Had a body followed the HEAD answer, this would not parse as the GET's answer.
  auto get = c.ReadResponse();
  ASSERT_TRUE(get.has_value());
  EXPECT_EQ(get->body, "hello world");
}

// The bytes of an answer, exactly: status line and reason, the handler's fields in their order,
// then the server's own (Server, Strict-Transport-Security, X-Request-Id, Connection,
// Content-Length) in place of any the handler set.
TEST_F(HttpServerTest, ResponsesAreWrittenByteForByte) {
  StartServer({.strict_transport_security = "max-age=60"});
  auto exchange = [&](std::string_view request) {
    RawClient c;
    EXPECT_TRUE(c.Connect(port_));
    EXPECT_TRUE(c.Send(request));
    return c.ReadAll().value_or("(open)");
  };
  EXPECT_EQ(exchange("GET /hello HTTP/1.1\r\nHost: x\r\nX-Request-Id: r1\r\n"
                     "Connection: close\r\n\r\n"),
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Server: telemeet\r\n"
            "Strict-Transport-Security: max-age=60\r\n"
            "X-Request-Id: r1\r\n"
            "Connection: close\r\n"
            "Content-Length: 11\r\n"
            "\r\n"
            "hello world");
  EXPECT_EQ(exchange("GET /own HTTP/1.1\r\nHost: x\r\nX-Request-Id: r2\r\n"
                     "Connection: close\r\n\r\n"),
            "HTTP/1.1 201 Created\r\n"
            "X-Padded: v\r\n"
            "Server: telemeet\r\n"
            "Strict-Transport-Security: max-age=60\r\n"
            "X-Request-Id: r2\r\n"
            "Connection: close\r\n"
            "Content-Length: 3\r\n"
            "\r\n"
            "abc");
  // Keep-alive (HTTP/1.1's default) sends no Connection field; the answer to HEAD keeps the
  // GET's Content-Length and has no body; a 204 says Content-Length: 0.
  RawClient c;
  ASSERT_TRUE(c.Connect(port_));
  ASSERT_TRUE(
      c.Send("GET /hello HTTP/1.1\r\nHost: x\r\nX-Request-Id: r3\r\n\r\n"
             "HEAD /hello HTTP/1.1\r\nHost: x\r\nX-Request-Id: r4\r\n\r\n"
             "GET /empty HTTP/1.1\r\nHost: x\r\nX-Request-Id: r5\r\n"
             "Connection: close\r\n\r\n"));
  auto tail = [](std::string_view id) {
    return "Server: telemeet\r\nStrict-Transport-Security: max-age=60\r\nX-Request-Id: " +
           std::string(id) + "\r\n";
  };
  EXPECT_EQ(c.ReadAll().value_or("(open)"),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n" + tail("r3") +
                "Content-Length: 11\r\n\r\nhello world"
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n" +
                tail("r4") +
                "Content-Length: 11\r\n\r\n"
                "HTTP/1.1 204 No Content\r\n" +
                tail("r5") + "Connection: close\r\nContent-Length: 0\r\n\r\n");
}

TEST_F(HttpServerTest, RequestIdIsEchoedOrGenerated) {
  StartServer();
  RawClient c;
  ASSERT_TRUE(c.Connect(port_));
  ASSERT_TRUE(c.Send("GET /hello HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc-123\r\n\r\n"));
  EXPECT_EQ(c.ReadResponse()->headers.Get("X-Request-Id"), "abc-123");
  ASSERT_TRUE(c.Send("GET /hello HTTP/1.1\r\nHost: x\r\nX-Request-Id: bad id\"\r\n\r\n"));
  auto id = c.ReadResponse()->headers.Get("X-Request-Id");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->size(), 16u);
}

TEST_F(HttpServerTest, ConnectionsBeyondTheLimitAreRefusedWith503) {
  StartServer({.max_connections = 2});
  RawClient a, b, c;
  ASSERT_TRUE(a.Connect(port_));
  ASSERT_TRUE(b.Connect(port_));
  // Make sure both are registered before the third arrives.
  ASSERT_TRUE(a.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(a.ReadResponse().has_value());
  ASSERT_TRUE(b.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(b.ReadResponse().has_value());
  ASSERT_TRUE(c.Connect(port_));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(metrics_.Render().find("telemeet_http_connections_rejected_total 1"),
            std::string::npos);
}

TEST_F(HttpServerTest, MetricsCountRequestsPerRouteAndStatus) {
  StartServer();
  ASSERT_TRUE(Fetch(port_, "GET", "/hello").has_value());
  ASSERT_TRUE(Fetch(port_, "GET", "/hello").has_value());
  ASSERT_TRUE(Fetch(port_, "GET", "/nowhere").has_value());
  server_->Shutdown(1s);  // every request is recorded before its connection closes
  std::string text = metrics_.Render();
  EXPECT_NE(text.find("telemeet_http_requests_total{method=\"GET\",route=\"/hello\","
                      "status=\"200\"} 2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("telemeet_http_requests_total{method=\"GET\",route=\"unmatched\","
                      "status=\"404\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("telemeet_http_request_duration_seconds_count{method=\"GET\","
                      "route=\"/hello\",status=\"200\"} 2"),
            std::string::npos);
}

TEST_F(HttpServerTest, AHeaderValueWithCrLfIsNeverSent) {
  StartServer();
  // The value decodes to "a\r\nSet-Cookie: injected=1": written as it is, it would be a
  // header field of the caller's choosing (response splitting).
  RawClient c;
  ASSERT_TRUE(c.Connect(port_));
  ASSERT_TRUE(c.Send("GET /header?v=a%0D%0ASet-Cookie:%20injected=1 HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 500);
  EXPECT_FALSE(r->headers.Has("Set-Cookie"));
  EXPECT_FALSE(r->headers.Has("X-Echo"));
  // The connection stays usable, and a clean value is written.
  ASSERT_TRUE(c.Send("GET /header?v=fine HTTP/1.1\r\nHost: x\r\n\r\n"));
  r = c.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->headers.Get("X-Echo"), "fine");
  // A lone LF or NUL is refused as well.
  for (std::string_view v : {"a%0Ab", "a%00b", "a%0Db"}) {
    auto res = Fetch(port_, "GET", "/header?v=" + std::string(v));
    ASSERT_TRUE(res.has_value());
    EXPECT_EQ(res->status, 500) << v;
  }
}

TEST(FirstUnsafeHeaderTest, NamesMustBeTokensAndValuesFreeOfControls) {
  Headers h;
  h.Add("Content-Type", "text/plain; charset=utf-8");
  h.Add("X-Tab", "a\tb");
  h.Add("X-Utf8", "Caf\xc3\xa9");
  EXPECT_EQ(FirstUnsafeHeader(h), nullptr);
  Headers bad_name;
  bad_name.Add("X Space", "v");
  ASSERT_NE(FirstUnsafeHeader(bad_name), nullptr);
  Headers bad_value;
  bad_value.Add("Location", "/doctor\r\nSet-Cookie: injected=1");
  ASSERT_NE(FirstUnsafeHeader(bad_value), nullptr);
  EXPECT_EQ(FirstUnsafeHeader(bad_value)->first, "Location");
  Headers del;
  del.Add("X", std::string("a\x7f"));
  EXPECT_NE(FirstUnsafeHeader(del), nullptr);
}

TEST_F(HttpServerTest, OnlyTheAllowedHostsAndLoopbackNamesAreServed) {
  StartServer({.allowed_hosts = {"telemeet.clinic.example"}});
  auto get = [&](std::string_view target, std::string_view host) -> int {
    RawClient c;
    if (!c.Connect(port_)) return 0;
    std::string req = "GET " + std::string(target) + " HTTP/1.1\r\n";
    if (!host.empty()) req += "Host: " + std::string(host) + "\r\n";
    c.Send(req + "\r\n");
    auto r = c.ReadResponse();
    return r ? r->status : 0;
  };
  EXPECT_EQ(get("/hello", "telemeet.clinic.example"), 200);
  EXPECT_EQ(get("/hello", "TELEMEET.clinic.example:443"), 200);
  EXPECT_EQ(get("/hello", "localhost:8080"), 200);
  EXPECT_EQ(get("/hello", "127.0.0.1:8080"), 200);
  EXPECT_EQ(get("/hello", "127.1.2.3"), 200);
  EXPECT_EQ(get("/hello", "[::1]:8080"), 200);
  // DNS rebinding: a page on attacker.example whose name now resolves to this server.
  EXPECT_EQ(get("/hello", "attacker.example"), 421);
  EXPECT_EQ(get("/hello", "attacker.example:8080"), 421);
  EXPECT_EQ(get("/hello", "telemeet.clinic.example.attacker.example"), 421);
  EXPECT_EQ(get("/hello", "[2001:db8::1]:80"), 421);
  EXPECT_EQ(get("/nowhere", "attacker.example"), 421);
  EXPECT_EQ(get("/hello", ""), 421);
  // Probes answer whatever the Host: load balancers send an address.
  EXPECT_EQ(get("/probe", "10.0.0.7:8080"), 200);
}

TEST_F(HttpServerTest, UnknownMethodsShareOneMetricsLabel) {
  StartServer();
  for (std::string_view m : {"FOO", "BAR", "PROPFIND"}) ASSERT_TRUE(Fetch(port_, m, "/hello"));
  server_->Shutdown(1s);
  std::string text = metrics_.Render();
  EXPECT_NE(text.find("telemeet_http_requests_total{method=\"OTHER\""), std::string::npos) << text;
  EXPECT_EQ(text.find("FOO"), std::string::npos) << text;
  EXPECT_EQ(text.find("PROPFIND"), std::string::npos) << text;
}

TEST_F(HttpServerTest, BindingATakenPortFailsWithUnavailable) {
  StartServer();
  HttpServer second({.port = port_}, router_);
  auto s = second.Start();
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), ErrorCode::kUnavailable);
}

TEST_F(HttpServerTest, ListenTellsThePortBeforeServingAndConnectionsWaitForStart) {
  HttpServer server({.port = 0}, router_);
  ASSERT_TRUE(server.Listen());
  ASSERT_GT(server.port(), 0);
  // A client that connects now waits in the backlog; it is answered once serving starts.
  RawClient early;
  ASSERT_TRUE(early.Connect(server.port()));
  ASSERT_TRUE(early.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(server.Start());
  auto answer = early.ReadResponse();
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 200);
  EXPECT_FALSE(server.Start().has_value());  // once only
  server.Shutdown(std::chrono::milliseconds(100));
}

}  // namespace
}  // namespace telemeet::net
