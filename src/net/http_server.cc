#include "net/http_server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/redact.h"
#include "obs/log.h"
#include "obs/metrics.h"

namespace telemeet::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using SteadyClock = std::chrono::steady_clock;

namespace {

// Accepts a client-supplied X-Request-Id only when it is short and plain, so it is safe to log.
bool SaneRequestId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

std::string_view ToStd(beast::string_view s) { return {s.data(), s.size()}; }

std::string NewRequestId() {
  // Request ids only need to be unique enough to correlate log lines, not unguessable.
  thread_local std::mt19937_64 rng(std::random_device{}());
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint64_t v = rng();
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) out[i] = kHex[v & 15];
  return out;
}

}  // namespace

constexpr std::int64_t kNoDeadline = std::numeric_limits<std::int64_t>::max();

// How many metric series one connection remembers (see Session::series).
constexpr size_t kSeriesPerSession = 8;

class HttpServer::Impl {
 public:
  Impl(ServerOptions options, const Router& router)
      : opts_(std::move(options)),
        router_(router),
        ioc_(std::max(1, opts_.io_threads)),
        acceptor_(asio::make_strand(ioc_)) {
    if (opts_.metrics != nullptr) {
      active_ =
          &opts_.metrics->GetGauge("telemeet_http_connections_active", "Open HTTP connections.");
      rejected_ = &opts_.metrics->GetCounter("telemeet_http_connections_rejected_total",
                                             "Connections refused because max_connections "
                                             "was reached.");
    }
  }

  ~Impl() { Shutdown(std::chrono::milliseconds(0)); }

  Status Listen() {
    if (listening_) return Ok();
    if (started_.load()) return Fail(ErrorCode::kFailedPrecondition, "already started");
    error_code ec;
    auto address = asio::ip::make_address(opts_.address, ec);
    if (ec) return Fail(ErrorCode::kInvalidArgument, "not an IP address: " + opts_.address);
    tcp::endpoint endpoint(address, opts_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      error_code ignored;
      acceptor_.close(ignored);
      return Fail(ErrorCode::kUnavailable, "cannot listen on " + opts_.address + ":" +
                                               std::to_string(opts_.port) + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    listening_ = true;
    return Ok();
  }

  Status Start() {
    if (auto s = Listen(); !s) return s;
    if (started_.exchange(true)) return Fail(ErrorCode::kFailedPrecondition, "already started");
    workers_ = std::make_unique<asio::thread_pool>(std::max(1, opts_.worker_threads));
    work_.emplace(ioc_.get_executor());
    asio::co_spawn(acceptor_.get_executor(), AcceptLoop(), asio::detached);
    asio::co_spawn(asio::make_strand(ioc_), Sweep(), asio::detached);
    for (int i = 0; i < std::max(1, opts_.io_threads); ++i) {
      threads_.emplace_back([this] { ioc_.run(); });
    }
    return Ok();
  }

  uint16_t port() const { return port_; }
  bool draining() const { return draining_.load(); }

  void Shutdown(std::chrono::milliseconds grace) {
    if (!started_.load() || stopped_.exchange(true)) return;
    draining_.store(true);
    asio::post(acceptor_.get_executor(), [this] {
      error_code ec;
      acceptor_.close(ec);
    });
    // Idle connections close now; busy ones answer their request with Connection: close.
    ForEachSession([](const std::shared_ptr<Session>& s) {
      if (s->idle) {
        error_code ec;
        s->socket.cancel(ec);
      }
    });
    {
      std::unique_lock lock(mu_);
      drained_.wait_for(lock, grace, [this] { return sessions_.empty(); });
    }
    ForEachSession([](const std::shared_ptr<Session>& s) {
      error_code ec;
      s->timer.cancel();
      s->socket.close(ec);
    });
    {
      std::unique_lock lock(mu_);
      drained_.wait_for(lock, std::chrono::seconds(2), [this] { return sessions_.empty(); });
    }
    work_.reset();
    ioc_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    if (workers_) workers_->join();
  }

 private:
  struct Session {
    explicit Session(tcp::socket socket)
        : socket(std::move(socket)), timer(this->socket.get_executor()) {}
    tcp::socket socket;
    asio::steady_timer timer;  // waits out Response::delay
    // When the socket operation under way must have finished (steady clock, nanoseconds since
    // its epoch); kNoDeadline while no socket I/O is awaited. The sweeper closes the socket of
    // a session past its deadline: one timer for the server instead of one armed and cancelled
    // per read and write.
    std::atomic<std::int64_t> deadline{kNoDeadline};
    bool idle = true;  // only touched on the session's strand
    std::uint64_t id = 0;
    std::string remote;
    // The metric series this connection answered into. A keep-alive client repeats a few
    // routes, so finding them here spares a registry lookup (a lock and label rendering).
    struct Series {
      std::string method;
      std::string route;
      int status;
      obs::Counter* requests;
      obs::Histogram* latency;
    };
    std::vector<Series> series;  // only touched on the session's strand
    std::string head;  // the answer's status line and fields, reused (Write; the strand's)
  };

  // Runs `f` on the strand of each live session that `select` picks.
  template <typename F, typename Select = bool (*)(const Session&)>
  void ForEachSession(
      F f, Select select = [](const Session&) { return true; }) {
    std::vector<std::shared_ptr<Session>> live;
    {
      std::lock_guard lock(mu_);
      for (auto& [id, weak] : sessions_) {
        if (auto s = weak.lock(); s && select(*s)) live.push_back(std::move(s));
      }
    }
    for (auto& s : live) asio::post(s->socket.get_executor(), [s, f] { f(s); });
  }

  asio::awaitable<void> AcceptLoop() {
    for (;;) {
      error_code ec;
      tcp::socket socket = co_await acceptor_.async_accept(
          asio::make_strand(ioc_), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (!acceptor_.is_open() || draining_.load()) co_return;
        // Out of file descriptors or a similar transient failure: pause instead of spinning.
        asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(50));
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      auto session = std::make_shared<Session>(std::move(socket));
      {
        std::lock_guard lock(mu_);
        if (sessions_.size() >= opts_.max_connections) {
          if (rejected_) rejected_->Inc();
          asio::co_spawn(session->socket.get_executor(), Reject(session), asio::detached);
          continue;
        }
        session->id = ++next_session_id_;
        sessions_.emplace(session->id, session);
      }
      if (active_) active_->Add(1);
      asio::co_spawn(session->socket.get_executor(), Serve(session), asio::detached);
    }
  }

  asio::awaitable<void> Reject(std::shared_ptr<Session> s) {
    Response r = router_.RenderError(503, "unavailable", "too many connections");
    co_await Write(*s, r, "", /*head=*/false, /*keep_alive=*/false);
    error_code ec;
    s->socket.close(ec);
  }

  asio::awaitable<void> Serve(std::shared_ptr<Session> s) {
    error_code ec;
    auto remote = s->socket.remote_endpoint(ec);
    if (!ec) s->remote = remote.address().to_string();
    beast::flat_buffer buffer;
    for (;;) {
      if (buffer.size() == 0) {
        // Idle: wait for the first byte of the next request.
        s->idle = true;
        if (draining_.load()) break;
        SetDeadline(*s, opts_.idle_timeout);
        size_t n = co_await s->socket.async_read_some(
            buffer.prepare(4096), asio::redirect_error(asio::use_awaitable, ec));
        ClearDeadline(*s);
        if (ec) break;  // idle timeout, peer closed, or shutdown
        buffer.commit(n);
      }
      s->idle = false;
      auto started = SteadyClock::now();

      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(opts_.max_header_bytes));
      parser.body_limit(opts_.max_body_bytes);
      // Most requests arrive whole in the idle read: parse them in place, and go back to the
      // socket (with the read timeout) only for the rest of a partial one.
      if (!ParseBuffered(parser, buffer, ec) && !ec) {
        SetDeadline(*s, opts_.read_timeout);
        co_await http::async_read(s->socket, buffer, parser,
                                  asio::redirect_error(asio::use_awaitable, ec));
        ClearDeadline(*s);
      }
      if (ec) {
        if (ec == http::error::end_of_stream || ec == asio::error::eof ||
            ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
            ec == asio::error::bad_descriptor) {
          // The peer went away, stalled past read_timeout (the sweeper has closed the socket
          // already, so no 408 can be sent), or we are shutting down.
          break;
        }
        Response r = ReadErrorResponse(ec);
        co_await Write(*s, r, "", false, false);
        Record(*s, "-", "unmatched", r.status, started);
        co_await LingerBeforeClose(*s);
        break;
      }

      bool client_keep_alive = parser.get().keep_alive();
      Request req = ToRequest(parser.release(), *s);
      bool head = req.method == "HEAD";
      Router::Match match = router_.Find(req);
      Response res;
      if (!(match.handler != nullptr && match.options.any_host) && !HostAllowed(req)) {
        res = router_.RenderError(421, "misdirected_request",
                                  "this server does not answer to the host named in the request");
      } else if (match.handler == nullptr) {
        res = std::move(match.error);
      } else if (match.options.offload) {
        res = co_await RunOnWorkers(*match.handler, req);
      } else {
        res = InvokeHandler(router_, *match.handler, req);
      }

      if (res.delay.count() > 0) {
        s->timer.expires_after(res.delay);
        co_await s->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (!s->socket.is_open()) break;
      }
      if (res.reset_connection) {
        s->socket.set_option(asio::socket_base::linger(true, 0), ec);
        s->socket.close(ec);
        Record(*s, req.method, match.pattern, 0, started, &req, match.options.quiet);
        break;
      }
      bool keep_alive = client_keep_alive && !res.close_connection && !draining_.load();
      bool ok = co_await Write(*s, res, req.request_id, head, keep_alive);
      Record(*s, req.method, match.pattern, res.status, started, &req, match.options.quiet);
      if (!ok || !keep_alive) break;
    }
    s->socket.shutdown(tcp::socket::shutdown_send, ec);
    s->socket.close(ec);
    Unregister(*s);
  }

  // Feeds what `buffer` holds to `parser`; true when a whole request was parsed.
  static bool ParseBuffered(http::request_parser<http::string_body>& parser,
                            beast::flat_buffer& buffer, error_code& ec) {
    parser.eager(true);
    while (!parser.is_done() && buffer.size() > 0) {
      size_t used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      if (ec == http::error::need_more) {
        ec = {};
        return false;
      }
      if (ec || used == 0) return false;
    }
    return parser.is_done();
  }

  static std::int64_t SteadyNanos() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               SteadyClock::now().time_since_epoch())
        .count();
  }
  // After refusing a request whose body is still coming (413, 431, 400): the client may still
  // be sending. Closing with its bytes unread makes the kernel reset the connection, and a reset
  // can destroy our answer in the client's buffers before it reads it. So stop sending, then
  // read and drop what comes until the client closes, for at most kLinger (the sweeper closes
  // the socket at the deadline).
  asio::awaitable<void> LingerBeforeClose(Session& s) {
    constexpr std::chrono::milliseconds kLinger{2'000};
    error_code ec;
    s.socket.shutdown(tcp::socket::shutdown_send, ec);
    if (ec) co_return;
    SetDeadline(s, std::min(opts_.read_timeout, kLinger));
    std::array<char, 16 * 1024> sink;
    while (!ec) {
      co_await s.socket.async_read_some(asio::buffer(sink),
                                        asio::redirect_error(asio::use_awaitable, ec));
    }
    ClearDeadline(s);
  }

  static void SetDeadline(Session& s, std::chrono::milliseconds timeout) {
    s.deadline.store(SteadyNanos() + std::chrono::nanoseconds(timeout).count(),
                     std::memory_order_relaxed);
  }
  static void ClearDeadline(Session& s) {
    s.deadline.store(kNoDeadline, std::memory_order_relaxed);
  }

  // Closes the sockets of sessions whose read or write outlived its deadline. It wakes a few
  // times per (shortest) timeout, so a deadline is enforced within a quarter of it.
  asio::awaitable<void> Sweep() {
    auto shortest = std::min(opts_.idle_timeout, opts_.read_timeout);
    auto period = std::clamp<std::chrono::milliseconds>(shortest / 4, std::chrono::milliseconds(5),
                                                        std::chrono::milliseconds(1000));
    asio::steady_timer timer(co_await asio::this_coro::executor);
    error_code ec;
    while (!stopped_.load()) {
      timer.expires_after(period);
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (stopped_.load()) break;
      std::int64_t now = SteadyNanos();
      ForEachSession(
          [now](const std::shared_ptr<Session>& s) {
            if (s->deadline.load(std::memory_order_relaxed) < now) {
              error_code ignored;
              s->socket.close(ignored);
            }
          },
          [now](const Session& s) { return s.deadline.load(std::memory_order_relaxed) < now; });
    }
  }

  void Unregister(const Session& s) {
    if (active_) active_->Add(-1);
    std::lock_guard lock(mu_);
    sessions_.erase(s.id);
    if (sessions_.empty()) drained_.notify_all();
  }

  asio::awaitable<Response> RunOnWorkers(const Handler& handler, Request& req) {
    // The request outlives the worker's run: this coroutine stays suspended until it ends.
    auto run = [this, &handler, &req]() -> asio::awaitable<Response> {
      co_return InvokeHandler(router_, handler, req);
    };
    co_return co_await asio::co_spawn(workers_->get_executor(), run, asio::use_awaitable);
  }

  Response ReadErrorResponse(const error_code& ec) {
    if (ec == http::error::header_limit) {
      return router_.RenderError(
          431, "headers_too_large",
          "request headers exceed " + std::to_string(opts_.max_header_bytes) + " bytes");
    }
    if (ec == http::error::body_limit) {
      return router_.RenderError(
          413, "payload_too_large",
          "request body exceeds " + std::to_string(opts_.max_body_bytes) + " bytes");
    }
    return router_.RenderError(400, "bad_request", "malformed HTTP request: " + ec.message());
  }

  Request ToRequest(http::request<http::string_body>&& in, const Session& s) {
    Request r;
    r.method = std::string(ToStd(in.method_string()));
    r.target = std::string(ToStd(in.target()));
    size_t q = r.target.find('?');
    r.path = r.target.substr(0, q);
    if (q != std::string::npos) r.query = r.target.substr(q + 1);
    for (const auto& field : in) r.headers.Add(ToStd(field.name_string()), ToStd(field.value()));
    r.body = std::move(in.body());
    r.remote_address = s.remote;
    auto id = r.headers.Get("X-Request-Id");
    r.request_id = id && SaneRequestId(*id) ? *id : NewRequestId();
    return r;
  }

  // Writes a response; false when the connection failed. A response with a header that cannot
  // be written safely (FirstUnsafeHeader) is replaced by a 500 and logged: nothing of it is
  // sent, so a value with CR LF that reached a header cannot add fields of its own.
  asio::awaitable<bool> Write(Session& s, Response& res, const std::string& request_id, bool head,
                              bool keep_alive) {
    if (const auto* bad = FirstUnsafeHeader(res.headers)) {
      if (opts_.logger != nullptr) {
        // The name only, shortened: the value may hold what a caller wanted to inject.
        opts_.logger->Error("response refused: a header holds control characters",
                            {{"header", bad->first.substr(0, 64)},
                             {"status", res.status},
                             {"request_id", request_id}});
      }
      res = router_.RenderError(500, "internal", "the response could not be sent");
    }
    // 1xx, 204 and 304 answers have no body (RFC 9110 6.4.1).
    const bool bodiless = res.status < 200 || res.status == 204 || res.status == 304;
    const size_t length = bodiless ? 0 : res.body.size();
    s.head.clear();
    AppendHead(res, request_id, keep_alive, length, s.head);
    // Head and body in one gathered write (one sendmsg), the body not copied.
    std::array<asio::const_buffer, 2> buffers = {asio::buffer(s.head),
                                                 asio::buffer(res.body.data(), head ? 0 : length)};
    error_code ec;
    SetDeadline(s, opts_.read_timeout);
    co_await asio::async_write(s.socket, buffers, asio::redirect_error(asio::use_awaitable, ec));
    ClearDeadline(s);
    co_return !ec;
  }

  // The status line and header fields of `res`, as Boost.Beast's serializer wrote them before
  // (the http tests pin the bytes): the handler's fields in order, values trimmed, then the
  // fields the server owns, which replace any of the same name the handler set: Server,
  // Strict-Transport-Security (when configured), X-Request-Id, Connection (close when the
  // connection ends after this answer; nothing for keep-alive, HTTP/1.1's default) and
  // Content-Length (`length`: the body's, also for a HEAD answer, which sends no body).
  // Transfer-Encoding is dropped: answers are framed by Content-Length.
  void AppendHead(const Response& res, const std::string& request_id, bool keep_alive,
                  size_t length, std::string& out) const {
    const bool sts = !opts_.strict_transport_security.empty();
    auto owned = [&](std::string_view name) {
      return EqualsIgnoreCase(name, "Server") || EqualsIgnoreCase(name, "Content-Length") ||
             EqualsIgnoreCase(name, "Connection") || EqualsIgnoreCase(name, "Transfer-Encoding") ||
             (sts && EqualsIgnoreCase(name, "Strict-Transport-Security")) ||
             (!request_id.empty() && EqualsIgnoreCase(name, "X-Request-Id"));
    };
    auto field = [&out](std::string_view name, std::string_view value) {
      out += name;
      out += ": ";
      out += value;
      out += "\r\n";
    };
    char digits[24];
    out += "HTTP/1.1 ";
    out.append(digits, std::to_chars(digits, digits + sizeof digits, res.status).ptr);
    out += ' ';
    out += ToStd(http::obsolete_reason(static_cast<http::status>(res.status)));
    out += "\r\n";
    for (const auto& [name, value] : res.headers) {
      if (!owned(name)) field(name, Trim(value));
    }
    field("Server", opts_.server_header);
    if (sts) field("Strict-Transport-Security", opts_.strict_transport_security);
    if (!request_id.empty()) field("X-Request-Id", request_id);
    if (!keep_alive) field("Connection", "close");
    field("Content-Length",
          std::string_view(digits, std::to_chars(digits, digits + sizeof digits, length).ptr));
    out += "\r\n";
  }

  // True when the request's Host names this server (ServerOptions::allowed_hosts).
  bool HostAllowed(const Request& req) const {
    if (opts_.allowed_hosts.empty()) return true;
    auto host = req.Header("Host");
    if (!host) return false;
    std::string_view name = *host;
    if (name.starts_with('[')) {  // [v6]:port
      size_t close = name.find(']');
      if (close == std::string_view::npos) return false;
      name = name.substr(1, close - 1);
    } else if (size_t colon = name.rfind(':'); colon != std::string_view::npos) {
      name = name.substr(0, colon);
    }
    if (name.ends_with('.')) name.remove_suffix(1);  // "localhost." is "localhost"
    if (EqualsIgnoreCase(name, "localhost") || name == "::1" || IsIpv4Loopback(name)) return true;
    return std::any_of(opts_.allowed_hosts.begin(), opts_.allowed_hosts.end(),
                       [&](const std::string& h) { return EqualsIgnoreCase(h, name); });
  }

  static bool IsIpv4Loopback(std::string_view name) {
    error_code ec;
    auto a = asio::ip::make_address_v4(std::string(name), ec);
    return !ec && a.is_loopback();
  }

  // The method as a metrics label: the standard ones, and OTHER for any other token a client
  // sends, so clients cannot add series at will.
  static std::string_view MethodLabel(std::string_view method) {
    static constexpr std::string_view kKnown[] = {"GET",   "HEAD",   "POST",   "PUT",
                                                  "PATCH", "DELETE", "OPTIONS"};
    for (std::string_view m : kKnown) {
      if (m == method) return m;
    }
    return method == "-" ? method : "OTHER";
  }

  void Record(Session& s, std::string_view raw_method, const std::string& route, int status,
              SteadyClock::time_point started, const Request* req = nullptr, bool quiet = false) {
    std::string_view method = MethodLabel(raw_method);
    double seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
    if (opts_.metrics != nullptr) {
      Session::Series* series = nullptr;
      for (auto& known : s.series) {
        if (known.status == status && known.method == method && known.route == route) {
          series = &known;
          break;
        }
      }
      if (series == nullptr) {
        if (s.series.size() >= kSeriesPerSession) s.series.clear();
        obs::Labels labels = {
            {"method", std::string(method)}, {"route", route}, {"status", std::to_string(status)}};
        series = &s.series.emplace_back(Session::Series{
            std::string(method), route, status,
            &opts_.metrics->GetCounter("telemeet_http_requests_total", "HTTP requests answered.",
                                       labels),
            &opts_.metrics->GetHistogram("telemeet_http_request_duration_seconds",
                                         "Time from the first byte of a request to its answer.",
                                         labels)});
      }
      series->requests->Inc();
      series->latency->Observe(seconds);
    }
    if (opts_.logger != nullptr && !quiet) {
      nlohmann::json fields = {{"method", method},
                               {"route", route},
                               {"status", status},
                               {"ms", std::round(seconds * 1e4) / 10}};
      if (req != nullptr) {
        fields["target"] = RedactTarget(req->target);
        fields["request_id"] = req->request_id;
        fields["remote"] = req->remote_address;
      }
      opts_.logger->Info("http request", fields);
    }
  }

  ServerOptions opts_;
  const Router& router_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::unique_ptr<asio::thread_pool> workers_;
  std::vector<std::thread> threads_;
  bool listening_ = false;  // Listen() and Start() come from one controlling thread
  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<bool> draining_{false};
  uint16_t port_ = 0;
  obs::Gauge* active_ = nullptr;
  obs::Counter* rejected_ = nullptr;

  std::mutex mu_;
  std::condition_variable drained_;
  std::unordered_map<std::uint64_t, std::weak_ptr<Session>> sessions_;  // guarded by mu_
  std::uint64_t next_session_id_ = 0;                                   // guarded by mu_
};

HttpServer::HttpServer(ServerOptions options, const Router& router)
    : impl_(std::make_unique<Impl>(std::move(options), router)) {}
HttpServer::~HttpServer() = default;
Status HttpServer::Listen() { return impl_->Listen(); }
Status HttpServer::Start() { return impl_->Start(); }
uint16_t HttpServer::port() const { return impl_->port(); }
std::string HttpServer::BaseUrl() const { return "http://127.0.0.1:" + std::to_string(port()); }
bool HttpServer::draining() const { return impl_->draining(); }
void HttpServer::Shutdown(std::chrono::milliseconds grace) { impl_->Shutdown(grace); }

}  // namespace telemeet::net
