#include "net/http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/http_server.h"
#include "net/router.h"
#include "obs/metrics.h"

namespace telemeet::net {
namespace {

using namespace std::chrono_literals;

// Waits until `n` callbacks have run.
class Latch {
 public:
  explicit Latch(int n) : left_(n) {}
  void CountDown() {
    std::lock_guard lock(mu_);
    if (--left_ == 0) cv_.notify_all();
  }
  bool Wait(std::chrono::milliseconds limit) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [this] { return left_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int left_;
};

class HttpClientTest : public ::testing::Test {
 protected:
  HttpClientTest() {
    router_.Get("/hello", [this](Request& r) {
      ++hellos_;
      return Response::Text(200, "hello " + r.Query("name").value_or("world"));
    });
    router_.Post("/echo", [](Request& r) {
      Response res = Response::Text(200, r.body);
      res.headers.Set("X-Echo-Test", r.Header("X-Test").value_or("-"));
      res.headers.Set("X-Echo-Method", r.method);
      res.headers.Set("X-Echo-Content-Type", r.Header("Content-Type").value_or("-"));
      res.headers.Set("X-Echo-User-Agent", r.Header("User-Agent").value_or("-"));
      return res;
    });
    router_.Put("/echo", [](Request& r) { return Response::Text(200, r.method + ":" + r.body); });
    router_.Delete("/echo", [](Request& r) { return Response::Text(200, r.method); });
    router_.Get("/cookies", [](Request&) {
      Response res = Response::Text(200, "");
      res.headers.Add("Set-Cookie", "a=1; Path=/");
      res.headers.Add("Set-Cookie", "b=2; HttpOnly");
      return res;
    });
    router_.Get("/fail", [](Request&) {
      return Response::Text(500, "{\"error\":\"boom\"}", "application/json");
    });
    router_.Get("/reset", [](Request&) {
      Response res;
      res.reset_connection = true;
      return res;
    });
    router_.Get("/late", [](Request&) {
      Response res = Response::Text(200, "late");
      res.delay = 400ms;
      return res;
    });
  }

  void SetUp() override {
    ServerOptions options;
    options.metrics = &metrics_;
    server_ = std::make_unique<HttpServer>(options, router_);
    ASSERT_TRUE(server_->Start().has_value());
    base_ = server_->BaseUrl();
  }

  void TearDown() override { server_->Shutdown(200ms); }

  ClientRequest Get(const std::string& path) {
    ClientRequest r;
    r.url = base_ + path;
    r.timeout = 5s;
    return r;
  }

  std::atomic<int> hellos_{0};  // requests /hello got
  Router router_;
  obs::Registry metrics_;
  std::unique_ptr<HttpServer> server_;
  std::string base_;
};

TEST_F(HttpClientTest, GetReturnsBodyAndStatus) {
  HttpClient client;
  auto res = client.Send(Get("/hello?name=ada"));
  ASSERT_TRUE(res.has_value()) << res.error().ToString();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "hello ada");
  EXPECT_EQ(res->headers.Get("content-type").value_or(""), "text/plain; charset=utf-8");
  EXPECT_EQ(res->headers.Get("Content-Length").value_or(""), "9");
}

TEST_F(HttpClientTest, HostNamesAreResolved) {
  HttpClient client;
  auto res = client.Send(
      {.url = "http://localhost:" + std::to_string(server_->port()) + "/hello?name=local"});
  ASSERT_TRUE(res.has_value()) << res.error().ToString();
  EXPECT_EQ(res->body, "hello local");
}

TEST_F(HttpClientTest, PostSendsBodyAndHeadersBothWays) {
  HttpClient client({.user_agent = "telemeet-test/1"});
  std::string big(300 * 1024, 'x');  // large enough that curl would add Expect: 100-continue
  big[1234] = 'y';
  ClientRequest req{.method = "POST", .url = base_ + "/echo", .body = big};
  req.headers.Set("X-Test", "value with spaces");
  req.headers.Set("Content-Type", "application/octet-stream");
  auto res = client.Send(std::move(req));
  ASSERT_TRUE(res.has_value()) << res.error().ToString();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, big);
  EXPECT_EQ(res->headers.Get("X-Echo-Test").value_or(""), "value with spaces");
  EXPECT_EQ(res->headers.Get("X-Echo-Content-Type").value_or(""), "application/octet-stream");
  EXPECT_EQ(res->headers.Get("X-Echo-User-Agent").value_or(""), "telemeet-test/1");

  // An empty POST still is a POST, and curl adds no Content-Type of its own.
  auto empty = client.Send({.method = "POST", .url = base_ + "/echo"});
  ASSERT_TRUE(empty.has_value()) << empty.error().ToString();
  EXPECT_EQ(empty->body, "");
  EXPECT_EQ(empty->headers.Get("X-Echo-Method").value_or(""), "POST");
  EXPECT_EQ(empty->headers.Get("X-Echo-Content-Type").value_or(""), "-");
}

TEST_F(HttpClientTest, OtherMethods) {
  HttpClient client;
  auto put = client.Send({.method = "PUT", .url = base_ + "/echo", .body = "b"});
  ASSERT_TRUE(put.has_value());
  EXPECT_EQ(put->body, "PUT:b");
  auto del = client.Send({.method = "DELETE", .url = base_ + "/echo"});
  ASSERT_TRUE(del.has_value());
  EXPECT_EQ(del->body, "DELETE");
  auto head = client.Send({.method = "HEAD", .url = base_ + "/hello"});
  ASSERT_TRUE(head.has_value()) << head.error().ToString();
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->body, "");
}

TEST_F(HttpClientTest, RepeatedResponseHeadersAreKept) {
  HttpClient client;
  auto res = client.Send(Get("/cookies"));
  ASSERT_TRUE(res.has_value());
  std::vector<std::string> cookies;
  for (const auto& [name, value] : res->headers) {
    if (EqualsIgnoreCase(name, "Set-Cookie")) cookies.push_back(value);
  }
  EXPECT_EQ(cookies, (std::vector<std::string>{"a=1; Path=/", "b=2; HttpOnly"}));
}

TEST_F(HttpClientTest, ServerErrorIsAResponse) {
  HttpClient client;
  auto res = client.Send(Get("/fail"));
  ASSERT_TRUE(res.has_value()) << res.error().ToString();
  EXPECT_EQ(res->status, 500);
  EXPECT_EQ(res->body, "{\"error\":\"boom\"}");
  auto missing = client.Send(Get("/nope"));
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->status, 404);
}

TEST_F(HttpClientTest, ConnectionRefusedIsUnavailable) {
  // A bound socket that does not listen: connecting to it is refused, and no one else can
  // take the port meanwhile.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  int port = ntohs(addr.sin_port);

  HttpClient client;
  auto res = client.Send({.url = "http://127.0.0.1:" + std::to_string(port) + "/x?code=secret"});
  ::close(fd);
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code(), ErrorCode::kUnavailable) << res.error().ToString();
  EXPECT_EQ(FailureClass(res.error()), "refused") << res.error().ToString();
  EXPECT_EQ(res.error().message().find("secret"), std::string::npos) << res.error().message();
}

TEST_F(HttpClientTest, ResetConnectionIsUnavailable) {
  HttpClient client;
  auto res = client.Send(Get("/reset"));
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code(), ErrorCode::kUnavailable) << res.error().ToString();
  EXPECT_EQ(FailureClass(res.error()), "connection") << res.error().ToString();
  EXPECT_TRUE(client.Send(Get("/hello")).has_value());  // the client is still usable
}

TEST_F(HttpClientTest, SlowServerExceedsDeadline) {
  HttpClient client;
  ClientRequest req = Get("/late");
  req.timeout = 100ms;
  auto started = std::chrono::steady_clock::now();
  auto res = client.Send(std::move(req));
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code(), ErrorCode::kDeadlineExceeded) << res.error().ToString();
  EXPECT_EQ(FailureClass(res.error()), "timeout");
  EXPECT_GE(took, 90ms);
  EXPECT_LT(took, 390ms);
}

TEST_F(HttpClientTest, BadUrlsAreInvalidArgument) {
  HttpClient client;
  for (std::string url :
       {"not a url", "ftp://127.0.0.1/x", "/relative/path", "", "file:///etc/passwd"}) {
    auto res = client.Send({.url = url});
    ASSERT_FALSE(res.has_value()) << url;
    EXPECT_EQ(res.error().code(), ErrorCode::kInvalidArgument) << url;
  }
  ClientRequest injected = Get("/hello");
  injected.headers.Set("X-Bad", "a\r\nX-Injected: 1");
  EXPECT_EQ(client.Send(std::move(injected)).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(client.Send({.method = "GE T", .url = base_ + "/hello"}).error().code(),
            ErrorCode::kInvalidArgument);
}

TEST_F(HttpClientTest, ResponseBodyLimit) {
  HttpClient client({.max_response_bytes = 8});
  auto res = client.Send(Get("/hello?name=a-long-name"));
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_TRUE(client.Send(Get("/hello?name=x")).has_value());  // "hello x" fits
}

TEST_F(HttpClientTest, ConnectionsAreReused) {
  HttpClient client;
  for (int i = 0; i < 20; ++i) {
    auto res = client.Send(Get("/hello?name=" + std::to_string(i)));
    ASSERT_TRUE(res.has_value());
    EXPECT_EQ(res->body, "hello " + std::to_string(i));
  }
  EXPECT_EQ(client.stats().connections_opened, 1u);
  EXPECT_EQ(client.stats().completed, 20u);
  // The server agrees: a single connection is open.
  EXPECT_EQ(metrics_.GetGauge("telemeet_http_connections_active", "").Value(), 1);
}

TEST_F(HttpClientTest, ManyConcurrentRequestsFromManyThreads) {
  HttpClient client;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  Latch latch(kThreads * kPerThread);
  std::atomic<int> right{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string name = std::to_string(t) + "-" + std::to_string(i);
        ClientRequest req{.method = "POST", .url = base_ + "/echo", .body = name};
        req.timeout = 5s;
        client.SendAsync(std::move(req), [&, name](Result<ClientResponse> r) {
          if (r && r->status == 200 && r->body == name) right.fetch_add(1);
          latch.CountDown();
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(latch.Wait(5s));
  EXPECT_EQ(right.load(), kThreads * kPerThread);
  HttpClient::Stats stats = client.stats();
  EXPECT_EQ(stats.completed, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_LE(stats.connections_opened, 64u);  // max_connections_per_host
  EXPECT_GE(stats.connections_opened, 1u);
}

TEST_F(HttpClientTest, ConnectionsPerHostAreLimited) {
  HttpClient client({.max_connections_per_host = 2});
  constexpr int kRequests = 30;
  Latch latch(kRequests);
  std::atomic<int> ok{0};
  for (int i = 0; i < kRequests; ++i) {
    client.SendAsync(Get("/hello?name=" + std::to_string(i)), [&, i](Result<ClientResponse> r) {
      if (r && r->body == "hello " + std::to_string(i)) ok.fetch_add(1);
      latch.CountDown();
    });
  }
  ASSERT_TRUE(latch.Wait(5s));
  EXPECT_EQ(ok.load(), kRequests);
  EXPECT_LE(client.stats().connections_opened, 2u);
  EXPECT_GE(metrics_.GetGauge("telemeet_http_connections_active", "").Value(), 1);
  EXPECT_LE(metrics_.GetGauge("telemeet_http_connections_active", "").Value(), 2);
}

TEST_F(HttpClientTest, RequestsWaitingForASlotKeepTheirDeadline) {
  HttpClient client({.max_in_flight_per_host = 1});
  Latch latch(3);
  Result<ClientResponse> slow = Fail(ErrorCode::kInternal, "not run");
  Result<ClientResponse> hurried = Fail(ErrorCode::kInternal, "not run");
  Result<ClientResponse> patient = Fail(ErrorCode::kInternal, "not run");
  std::chrono::steady_clock::duration hurried_after{};
  auto started = std::chrono::steady_clock::now();
  client.SendAsync(Get("/late"), [&](Result<ClientResponse> r) {
    slow = std::move(r);
    latch.CountDown();
  });
  ClientRequest hurry = Get("/hello?name=hurried");
  hurry.timeout = 100ms;
  client.SendAsync(std::move(hurry), [&](Result<ClientResponse> r) {
    hurried_after = std::chrono::steady_clock::now() - started;
    hurried = std::move(r);
    latch.CountDown();
  });
  client.SendAsync(Get("/hello?name=patient"), [&](Result<ClientResponse> r) {
    patient = std::move(r);
    latch.CountDown();
  });
  ASSERT_TRUE(latch.Wait(3s));
  ASSERT_TRUE(slow.has_value());
  EXPECT_EQ(slow->body, "late");
  ASSERT_FALSE(hurried.has_value());
  EXPECT_EQ(hurried.error().code(), ErrorCode::kDeadlineExceeded);
  EXPECT_LT(hurried_after, 350ms);  // failed while /late still held the only slot
  ASSERT_TRUE(patient.has_value());
  EXPECT_EQ(patient->body, "hello patient");
  EXPECT_EQ(client.stats().connections_opened, 1u);
}

TEST_F(HttpClientTest, EmptyCallbackIsFireAndForget) {
  HttpClient client;
  client.SendAsync(Get("/hello"), nullptr);
  EXPECT_TRUE(client.Send(Get("/hello")).has_value());
}

TEST_F(HttpClientTest, CallbackMaySendAgainButNotBlock) {
  HttpClient client;
  Latch latch(1);
  Result<ClientResponse> second = Fail(ErrorCode::kInternal, "not run");
  Status blocking = Ok();
  client.SendAsync(Get("/hello?name=1"), [&](Result<ClientResponse>) {
    auto r = client.Send(Get("/hello"));  // refused: it would wait on its own thread
    blocking = r ? Ok() : Status(std::unexpected(r.error()));
    client.SendAsync(Get("/hello?name=2"), [&](Result<ClientResponse> r2) {
      second = std::move(r2);
      latch.CountDown();
    });
  });
  ASSERT_TRUE(latch.Wait(2s));
  ASSERT_FALSE(blocking.has_value());
  EXPECT_EQ(blocking.error().code(), ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->body, "hello 2");
}

TEST_F(HttpClientTest, DestructorCancelsRequestsInFlight) {
  constexpr int kRequests = 20;
  std::atomic<int> unavailable{0};
  std::atomic<int> calls{0};
  auto started = std::chrono::steady_clock::now();
  {
    HttpClient client;
    for (int i = 0; i < kRequests; ++i) {
      client.SendAsync(Get("/late"), [&](Result<ClientResponse> r) {
        calls.fetch_add(1);
        if (!r && r.error().code() == ErrorCode::kUnavailable) unavailable.fetch_add(1);
      });
    }
    std::this_thread::sleep_for(50ms);  // let some of them reach the server
  }
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(calls.load(), kRequests);
  EXPECT_EQ(unavailable.load(), kRequests);
  EXPECT_LT(took, 350ms);  // did not wait for the 400 ms answers
}

TEST_F(HttpClientTest, TlsFailureHasItsClass) {
  HttpClient client;
  // https to a plain HTTP server: the handshake fails.
  auto res = client.Send(
      {.url = "https://127.0.0.1:" + std::to_string(server_->port()) + "/x", .timeout = 5s});
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code(), ErrorCode::kUnavailable) << res.error().ToString();
  EXPECT_EQ(FailureClass(res.error()), "tls") << res.error().ToString();
}

// The destination policy holds at connect time: a server on loopback is out of reach by its IP
// and by a name resolving to it, and no connection is even opened.
TEST_F(HttpClientTest, DestinationPolicyRefusesInternalAddressesByIpAndByName) {
  HttpClient client({.destinations = DestinationPolicy{.allow_http = true}});
  std::string port = std::to_string(server_->port());
  for (std::string url :
       {"http://127.0.0.1:" + port + "/hello", "http://localhost:" + port + "/hello",
        "http://LocalHost:" + port + "/hello"}) {
    auto res = client.Send({.url = url, .timeout = 5s});
    ASSERT_FALSE(res.has_value()) << url;
    EXPECT_EQ(res.error().code(), ErrorCode::kPermissionDenied) << res.error().ToString();
    EXPECT_EQ(FailureClass(res.error()), "blocked") << res.error().ToString();
  }
  EXPECT_EQ(hellos_.load(), 0);
  EXPECT_EQ(client.stats().connections_opened, 0u);

  // The same server through a client without a policy (Google's) is reachable.
  HttpClient open_client;
  EXPECT_TRUE(open_client.Send(Get("/hello")).has_value());
  EXPECT_EQ(hellos_.load(), 1);
}

TEST_F(HttpClientTest, DestinationPolicyLetsListedHostsThrough) {
  std::string port = std::to_string(server_->port());
  HttpClient by_ip(
      {.destinations = DestinationPolicy{.allow_http = true, .allowed_hosts = {"127.0.0.1"}}});
  auto direct = by_ip.Send({.url = "http://127.0.0.1:" + port + "/hello", .timeout = 5s});
  ASSERT_TRUE(direct.has_value()) << direct.error().ToString();
  EXPECT_EQ(direct->body, "hello world");
  // localhost resolves to the listed address.
  auto named = by_ip.Send({.url = "http://localhost:" + port + "/hello", .timeout = 5s});
  ASSERT_TRUE(named.has_value()) << named.error().ToString();

  HttpClient by_name(
      {.destinations = DestinationPolicy{.allow_http = true, .allowed_hosts = {"LOCALHOST"}}});
  EXPECT_TRUE(by_name.Send({.url = "http://localhost:" + port + "/hello", .timeout = 5s}));
  auto other = by_name.Send({.url = "http://127.0.0.1:" + port + "/hello", .timeout = 5s});
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(FailureClass(other.error()), "blocked");
  EXPECT_EQ(hellos_.load(), 3);
}

TEST_F(HttpClientTest, DestinationPolicyRequiresHttpsUnlessHttpIsAllowed) {
  HttpClient client({.destinations = DestinationPolicy{.allowed_hosts = {"127.0.0.1"}}});
  auto res = client.Send(Get("/hello"));
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code(), ErrorCode::kPermissionDenied) << res.error().ToString();
  EXPECT_EQ(FailureClass(res.error()), "blocked");
  EXPECT_EQ(hellos_.load(), 0);
  EXPECT_EQ(client.stats().connections_opened, 0u);
}

TEST_F(HttpClientTest, EnvironmentProxiesAreIgnored) {
  // Set before the client exists so no thread reads the environment meanwhile.
  for (const char* var : {"http_proxy", "HTTP_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"}) {
    ::setenv(var, "http://127.0.0.1:9", 1);
  }
  ::unsetenv("no_proxy");
  ::unsetenv("NO_PROXY");
  Result<ClientResponse> res = Fail(ErrorCode::kInternal, "not run");
  {
    HttpClient client;
    res = client.Send(Get("/hello?name=direct"));
  }
  for (const char* var : {"http_proxy", "HTTP_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"}) {
    ::unsetenv(var);
  }
  ASSERT_TRUE(res.has_value()) << res.error().ToString();
  EXPECT_EQ(res->body, "hello direct");
}

}  // namespace
}  // namespace telemeet::net
