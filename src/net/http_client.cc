#include "net/http_client.h"

#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace telemeet::net {
namespace {

using Callback = std::function<void(Result<ClientResponse>)>;
using SteadyClock = std::chrono::steady_clock;

// One request and everything curl needs while it runs. Owned by the client thread once queued.
struct Transfer {
  ClientRequest request;
  Callback done;
  SteadyClock::time_point deadline;           // SendAsync time + request.timeout
  std::string origin;                         // "scheme://host:port"
  std::string host;                           // the URL's host, as the destination policy sees it
  const DestinationPolicy* policy = nullptr;  // the client's, or null for any destination
  bool blocked = false;                       // the policy refused an address
  std::string blocked_reason;                 // why, for the error message
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  ClientResponse response;
  size_t max_response_bytes = 0;
  bool too_large = false;
  char error[CURL_ERROR_SIZE] = {};

  Transfer(ClientRequest r, Callback d) : request(std::move(r)), done(std::move(d)) {}
  ~Transfer() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    curl_slist_free_all(header_list);
  }
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;
};

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      std::abort();  // without libcurl no request can ever be made
    }
  });
}

// "GET http://host:1/path" without the query, which may carry codes or other secrets.
std::string Describe(const ClientRequest& r) {
  std::string_view url = r.url;
  url = url.substr(0, url.find_first_of("?#"));
  return r.method + " " + std::string(url);
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (c <= 32 || c >= 127 ||
        std::string_view("\"(),/:;<=>?@[\\]{}").find(c) != std::string_view::npos) {
      return false;
    }
  }
  return true;
}

bool IsFieldValue(std::string_view s) {
  for (unsigned char c : s) {
    if ((c < 32 && c != '\t') || c == 127) return false;
  }
  return true;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  if (t->response.body.size() + n > t->max_response_bytes) {
    t->too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  t->response.body.append(data, n);
  return n;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  std::string_view line(data, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    // A new status line: an interim 1xx response came first; keep only the final headers.
    t->response.headers = Headers();
  } else if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
    // An obsolete folded continuation line belongs to the previous field.
    const KeyValues& fields = t->response.headers.fields();
    if (!fields.empty()) {
      Headers rebuilt;
      for (size_t i = 0; i + 1 < fields.size(); ++i) rebuilt.Add(fields[i].first, fields[i].second);
      rebuilt.Add(fields.back().first, fields.back().second + " " + std::string(Trim(line)));
      t->response.headers = std::move(rebuilt);
    }
  } else if (size_t colon = line.find(':'); colon != std::string_view::npos && colon > 0) {
    t->response.headers.Add(Trim(line.substr(0, colon)), Trim(line.substr(colon + 1)));
  }
  return n;
}

// The classes FailureClass reads back from a kUnavailable error's message, which starts with
// one of them and ": ". The other codes name their class themselves.
constexpr std::array<std::string_view, 5> kUnavailableClasses = {"refused", "dns", "tls",
                                                                 "connection", "cancelled"};

Error Unavailable(std::string_view failure_class, std::string message) {
  return Error(ErrorCode::kUnavailable, std::string(failure_class) + ": " + message);
}

std::string_view UnavailableClass(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
      return "refused";
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return "dns";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
      return "tls";
    default:
      return "connection";
  }
}

// Opens the socket for one connection attempt once the destination policy accepts its address.
// This callback (CURLOPT_OPENSOCKETFUNCTION) rather than CURLOPT_PREREQFUNCTION: it runs before
// the socket exists, for every address curl tries (each address of a name with several, both
// families under happy eyeballs) and for every new connection, so a name that resolves to an
// internal address, or re-resolves to one later (DNS rebinding), never gets a TCP handshake.
// PREREQFUNCTION runs once the connection (and TLS) is up: the internal service would already
// have been reached. A reused connection was checked when it was opened, and curl reuses one
// only for the same host, whose verdict cannot differ.
curl_socket_t OpenSocket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* t = static_cast<Transfer*>(user);
  // curl hands over the whole address (sockaddr_in6 included) starting at `addr`.
  sockaddr_storage storage{};
  std::memcpy(&storage, &address->addr, std::min<size_t>(address->addrlen, sizeof storage));
  Status allowed = purpose == CURLSOCKTYPE_IPCXN
                       ? t->policy->CheckAddress(t->host, reinterpret_cast<sockaddr&>(storage))
                       : Fail(ErrorCode::kPermissionDenied, "not an outgoing connection");
  if (!allowed) {
    t->blocked = true;
    t->blocked_reason = allowed.error().message();
    return CURL_SOCKET_BAD;
  }
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

Error MapCurlError(CURLcode code, const Transfer& t) {
  if (t.blocked && code == CURLE_COULDNT_CONNECT) {
    return Error(ErrorCode::kPermissionDenied, Describe(t.request) + ": " + t.blocked_reason,
                 "url");
  }
  std::string message = Describe(t.request) + ": " + curl_easy_strerror(code);
  if (t.error[0] != '\0') message += std::string(" (") + t.error + ")";
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return Error(ErrorCode::kDeadlineExceeded, std::move(message));
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_BAD_FUNCTION_ARGUMENT:
      return Error(ErrorCode::kInvalidArgument, std::move(message), "url");
    case CURLE_WRITE_ERROR:
      if (t.too_large) {
        return Error(ErrorCode::kResourceExhausted,
                     Describe(t.request) + ": response body larger than " +
                         std::to_string(t.max_response_bytes) + " bytes");
      }
      return Error(ErrorCode::kInternal, std::move(message));
    case CURLE_OUT_OF_MEMORY:
      return Error(ErrorCode::kResourceExhausted, std::move(message));
    default:
      // Refused, reset, DNS, TLS, HTTP/2 stream errors: the peer could not be reached or
      // dropped us; retrying later may work.
      return Unavailable(UnavailableClass(code), std::move(message));
  }
}

}  // namespace

class HttpClient::Impl {
 public:
  explicit Impl(Options options) : options_(std::move(options)) {
    GlobalInit();
    multi_ = curl_multi_init();
    if (multi_ == nullptr) std::abort();
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, options_.max_connections_per_host);
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING, static_cast<long>(CURLPIPE_MULTIPLEX));
    // Keep enough idle connections for the bursts max_connections_per_host allows.
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS,
                      std::max(16L, options_.max_connections_per_host * 2));
    thread_ = std::thread([this] { Run(); });
  }

  ~Impl() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    curl_multi_wakeup(multi_);
    thread_.join();
    curl_multi_cleanup(multi_);
  }

  void Enqueue(std::unique_ptr<Transfer> t) {
    {
      std::lock_guard lock(mu_);
      if (!stopping_) {
        queue_.push_back(std::move(t));
        t = nullptr;
      }
    }
    if (t != nullptr) {
      // Only reachable from a callback during shutdown (or a use after destruction began).
      std::string what = Describe(t->request) + ": HTTP client shut down";
      Complete(std::move(t), std::unexpected(Unavailable("cancelled", std::move(what))));
      return;
    }
    curl_multi_wakeup(multi_);
  }

  bool OnClientThread() const { return std::this_thread::get_id() == thread_.get_id(); }

  Stats stats() const {
    return {completed_.load(std::memory_order_relaxed), failed_.load(std::memory_order_relaxed),
            connections_.load(std::memory_order_relaxed)};
  }

 private:
  // Requests to one scheme://host:port. At most max_in_flight_per_host of them are handed to
  // curl; the rest wait here, because curl rescans every transfer it holds on each event and
  // slows down quadratically with tens of thousands of them.
  struct Origin {
    std::deque<std::unique_ptr<Transfer>> waiting;
    size_t active = 0;
  };

  void Run() {
    for (;;) {
      std::deque<std::unique_ptr<Transfer>> fresh;
      {
        std::lock_guard lock(mu_);
        if (stopping_) break;
        fresh.swap(queue_);
      }
      for (auto& t : fresh) Admit(std::move(t));
      int running = 0;
      curl_multi_perform(multi_, &running);
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
        if (msg->msg == CURLMSG_DONE) Finish(msg->easy_handle, msg->data.result);
      }
      if (waiting_ > 0) ExpireWaiting();
      // Returns on socket activity, curl's next timer, curl_multi_wakeup from SendAsync, or in
      // time to expire requests still waiting for a slot.
      curl_multi_poll(multi_, nullptr, 0, waiting_ > 0 ? 50 : 1000, nullptr);
    }
    Cancel();
  }

  // Completes `t` with `result`; the Transfer (and its easy handle) dies after the callback.
  void Complete(std::unique_ptr<Transfer> t, Result<ClientResponse> result) {
    if (result) {
      completed_.fetch_add(1, std::memory_order_relaxed);
    } else {
      failed_.fetch_add(1, std::memory_order_relaxed);
    }
    t->done(std::move(result));
  }

  void Admit(std::unique_ptr<Transfer> t) {
    if (Status s = Validate(*t); !s) {
      Complete(std::move(t), std::unexpected(s.error()));
      return;
    }
    Origin& origin = origins_[t->origin];
    if (origin.active < options_.max_in_flight_per_host) {
      Launch(std::move(t), origin);
    } else {
      origin.waiting.push_back(std::move(t));
      ++waiting_;
    }
  }

  // Configures the easy handle with the time left until the deadline and hands it to curl.
  void Launch(std::unique_ptr<Transfer> t, Origin& origin) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(t->deadline - SteadyClock::now());
    if (left.count() <= 0) {
      std::string what = Describe(t->request) + ": timed out waiting for a connection";
      Complete(std::move(t), Fail(ErrorCode::kDeadlineExceeded, std::move(what)));
      return;
    }
    if (Status s = Configure(*t, left); !s) {
      Complete(std::move(t), std::unexpected(s.error()));
      return;
    }
    CURL* easy = t->easy;
    if (curl_multi_add_handle(multi_, easy) != CURLM_OK) {
      std::string what = Describe(t->request) + ": curl_multi_add_handle failed";
      Complete(std::move(t), Fail(ErrorCode::kInternal, std::move(what)));
      return;
    }
    ++origin.active;
    active_.emplace(easy, std::move(t));
  }

  // Checks what curl would reject late or not at all, and finds the request's origin.
  Status Validate(Transfer& t) {
    const ClientRequest& r = t.request;
    if (!IsToken(r.method)) {
      return Fail(ErrorCode::kInvalidArgument, "invalid HTTP method", "method");
    }
    CURLU* url = curl_url();
    char* scheme = nullptr;
    char* host = nullptr;
    char* port = nullptr;
    if (curl_url_set(url, CURLUPART_URL, r.url.c_str(), 0) == CURLUE_OK) {
      curl_url_get(url, CURLUPART_SCHEME, &scheme, 0);
      curl_url_get(url, CURLUPART_HOST, &host, 0);
      curl_url_get(url, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
    }
    bool http = scheme != nullptr && host != nullptr && port != nullptr &&
                (std::string_view(scheme) == "http" || std::string_view(scheme) == "https");
    bool plain = http && std::string_view(scheme) == "http";
    if (http) {
      t.origin = std::string(scheme) + "://" + host + ":" + port;
      t.host = host;
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(url);
    if (!http) {
      return Fail(ErrorCode::kInvalidArgument, Describe(r) + ": not an absolute http or https URL",
                  "url");
    }
    if (options_.destinations) {
      if (plain && !options_.destinations->allow_http) {
        return Fail(ErrorCode::kPermissionDenied, Describe(r) + ": only https is allowed", "url");
      }
      t.policy = &*options_.destinations;
    }
    for (const auto& [name, value] : r.headers) {
      if (!IsToken(name) || !IsFieldValue(value)) {
        return Fail(ErrorCode::kInvalidArgument, "invalid header field '" + name + "'", "headers");
      }
    }
    return Ok();
  }

  Status Configure(Transfer& t, std::chrono::milliseconds timeout) {
    const ClientRequest& r = t.request;
    bool has_expect = false;
    bool has_content_type = false;
    for (const auto& [name, value] : r.headers) {
      has_expect |= EqualsIgnoreCase(name, "Expect");
      has_content_type |= EqualsIgnoreCase(name, "Content-Type");
      std::string line = value.empty() ? name + ";" : name + ": " + value;
      t.header_list = curl_slist_append(t.header_list, line.c_str());
    }
    // curl would add "Expect: 100-continue" to large bodies (a wasted round trip) and a form
    // Content-Type to every body; send only what the caller asked for.
    if (!has_expect) t.header_list = curl_slist_append(t.header_list, "Expect:");
    if (!has_content_type) t.header_list = curl_slist_append(t.header_list, "Content-Type:");

    t.easy = curl_easy_init();
    if (t.easy == nullptr) return Fail(ErrorCode::kResourceExhausted, "curl_easy_init failed");
    t.max_response_bytes = options_.max_response_bytes;
    CURL* e = t.easy;
    curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    // Environment proxies (http_proxy, ALL_PROXY, ...) must never apply.
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.error);
    curl_easy_setopt(e, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.header_list);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::max<int64_t>(options_.connect_timeout.count(), 1)));
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    if (t.policy != nullptr) {
      curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &OpenSocket);
      curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, &t);
    }
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                     options_.http2 ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_1_1);
    if (options_.http2 && r.url.starts_with("https:")) {
      // Wait for an HTTP/2 connection being set up rather than opening another one.
      curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    }

    bool sends_body =
        !r.body.empty() || r.method == "POST" || r.method == "PUT" || r.method == "PATCH";
    if (sends_body) {
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, r.body.data());
      if (r.method != "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    } else if (r.method == "GET") {
      curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (r.method == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    }
    return Ok();
  }

  void Finish(CURL* easy, CURLcode code) {
    auto it = active_.find(easy);
    if (it == active_.end()) return;
    std::unique_ptr<Transfer> t = std::move(it->second);
    active_.erase(it);
    curl_multi_remove_handle(multi_, easy);
    long connects = 0;
    curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
    connections_.fetch_add(static_cast<uint64_t>(connects), std::memory_order_relaxed);
    Result<ClientResponse> result = Fail(ErrorCode::kInternal, "unset");
    if (code == CURLE_OK) {
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      t->response.status = static_cast<int>(status);
      result = std::move(t->response);
    } else {
      result = std::unexpected(MapCurlError(code, *t));
    }
    ReleaseSlot(t->origin);
    Complete(std::move(t), std::move(result));
  }

  // A transfer of `key` ended: start the next ones waiting for that origin.
  void ReleaseSlot(const std::string& key) {
    auto it = origins_.find(key);
    if (it == origins_.end()) return;
    Origin& origin = it->second;
    --origin.active;
    while (origin.active < options_.max_in_flight_per_host && !origin.waiting.empty()) {
      std::unique_ptr<Transfer> next = std::move(origin.waiting.front());
      origin.waiting.pop_front();
      --waiting_;
      Launch(std::move(next), origin);
    }
    if (origin.active == 0 && origin.waiting.empty()) origins_.erase(it);
  }

  // Fails requests whose deadline passed while they waited for a slot (at most every 50 ms).
  void ExpireWaiting() {
    auto now = SteadyClock::now();
    if (now < next_expiry_scan_) return;
    next_expiry_scan_ = now + std::chrono::milliseconds(50);
    std::vector<std::unique_ptr<Transfer>> expired;
    for (auto& [key, origin] : origins_) {
      std::deque<std::unique_ptr<Transfer>> kept;
      for (auto& t : origin.waiting) {
        if (t->deadline <= now) {
          expired.push_back(std::move(t));
        } else {
          kept.push_back(std::move(t));
        }
      }
      origin.waiting.swap(kept);
    }
    waiting_ -= expired.size();
    for (auto& t : expired) {
      std::string what = Describe(t->request) + ": timed out waiting for a connection";
      Complete(std::move(t), Fail(ErrorCode::kDeadlineExceeded, std::move(what)));
    }
  }

  // Completes everything in flight or waiting with kUnavailable. Runs on the client thread after
  // stopping_ is set, so SendAsync no longer queues.
  void Cancel() {
    std::vector<std::unique_ptr<Transfer>> all;
    for (auto& [easy, t] : active_) {
      curl_multi_remove_handle(multi_, easy);
      all.push_back(std::move(t));
    }
    active_.clear();
    for (auto& [key, origin] : origins_) {
      for (auto& t : origin.waiting) all.push_back(std::move(t));
    }
    origins_.clear();
    waiting_ = 0;
    {
      std::lock_guard lock(mu_);
      for (auto& t : queue_) all.push_back(std::move(t));
      queue_.clear();
    }
    for (auto& t : all) {
      std::string what = Describe(t->request) + ": HTTP client shut down";
      Complete(std::move(t), std::unexpected(Unavailable("cancelled", std::move(what))));
    }
  }

  const Options options_;
  CURLM* multi_ = nullptr;

  std::mutex mu_;
  std::deque<std::unique_ptr<Transfer>> queue_;  // guarded by mu_
  bool stopping_ = false;                        // guarded by mu_

  // Client thread only.
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> active_;
  std::unordered_map<std::string, Origin> origins_;
  size_t waiting_ = 0;  // sum of origins_[*].waiting sizes
  SteadyClock::time_point next_expiry_scan_;

  std::atomic<uint64_t> completed_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> connections_{0};

  std::thread thread_;  // last: starts after every other member exists
};

std::string_view FailureClass(const Error& error) {
  switch (error.code()) {
    case ErrorCode::kDeadlineExceeded:
      return "timeout";
    case ErrorCode::kPermissionDenied:
      return "blocked";
    case ErrorCode::kResourceExhausted:
      return "too_large";
    case ErrorCode::kInvalidArgument:
      return "invalid_request";
    case ErrorCode::kUnavailable: {
      std::string_view message = error.message();
      for (std::string_view c : kUnavailableClasses) {
        if (message.starts_with(c) && message.substr(c.size()).starts_with(": ")) return c;
      }
      return "connection";
    }
    default:
      return "internal";
  }
}

HttpClient::HttpClient(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpClient::~HttpClient() = default;

void HttpClient::SendAsync(ClientRequest request, Callback done) {
  if (!done) done = [](Result<ClientResponse>) {};
  auto t = std::make_unique<Transfer>(std::move(request), std::move(done));
  t->deadline = SteadyClock::now() + std::max(t->request.timeout, std::chrono::milliseconds(1));
  impl_->Enqueue(std::move(t));
}

Result<ClientResponse> HttpClient::Send(ClientRequest request) {
  if (impl_->OnClientThread()) {
    return Fail(ErrorCode::kFailedPrecondition,
                "HttpClient::Send called from a SendAsync callback; it would deadlock");
  }
  // The promise is shared with the callback so it outlives set_value on the client thread.
  auto promise = std::make_shared<std::promise<Result<ClientResponse>>>();
  auto future = promise->get_future();
  SendAsync(std::move(request),
            [promise](Result<ClientResponse> r) { promise->set_value(std::move(r)); });
  return future.get();
}

HttpClient::Stats HttpClient::stats() const { return impl_->stats(); }

}  // namespace telemeet::net
