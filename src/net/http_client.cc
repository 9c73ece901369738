#include "net/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

namespace telemeet::net {
namespace {

using Callback = std::function<void(Result<ClientResponse>)>;

// One request and everything curl needs while it runs. Owned by the client thread once queued.
struct Transfer {
  ClientRequest request;
  Callback done;
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

Error MapCurlError(CURLcode code, const Transfer& t) {
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
      return Error(ErrorCode::kUnavailable, std::move(message));
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
      t->done(Fail(ErrorCode::kUnavailable, Describe(t->request) + ": HTTP client shut down"));
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
  void Run() {
    for (;;) {
      std::deque<std::unique_ptr<Transfer>> fresh;
      {
        std::lock_guard lock(mu_);
        if (stopping_) break;
        fresh.swap(queue_);
      }
      for (auto& t : fresh) Start(std::move(t));
      int running = 0;
      curl_multi_perform(multi_, &running);
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
        if (msg->msg == CURLMSG_DONE) Finish(msg->easy_handle, msg->data.result);
      }
      // Returns on socket activity, curl's next timer, or curl_multi_wakeup from SendAsync.
      curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
    }
    Cancel();
  }

  // Configures the easy handle and hands it to the multi handle, or completes `t` with an
  // error when the request is malformed.
  void Start(std::unique_ptr<Transfer> t) {
    if (Status s = Configure(*t); !s) {
      failed_.fetch_add(1, std::memory_order_relaxed);
      t->done(std::unexpected(s.error()));
      return;
    }
    CURL* easy = t->easy;
    if (curl_multi_add_handle(multi_, easy) != CURLM_OK) {
      failed_.fetch_add(1, std::memory_order_relaxed);
      t->done(Fail(ErrorCode::kInternal, Describe(t->request) + ": curl_multi_add_handle failed"));
      return;
    }
    active_.emplace(easy, std::move(t));
  }

  Status Configure(Transfer& t) {
    const ClientRequest& r = t.request;
    if (!IsToken(r.method)) {
      return Fail(ErrorCode::kInvalidArgument, "invalid HTTP method", "method");
    }
    CURLU* url = curl_url();
    CURLUcode parsed = curl_url_set(url, CURLUPART_URL, r.url.c_str(), 0);
    char* scheme = nullptr;
    if (parsed == CURLUE_OK) curl_url_get(url, CURLUPART_SCHEME, &scheme, 0);
    bool http = scheme != nullptr &&
                (std::string_view(scheme) == "http" || std::string_view(scheme) == "https");
    curl_free(scheme);
    curl_url_cleanup(url);
    if (!http) {
      return Fail(ErrorCode::kInvalidArgument, Describe(r) + ": not an absolute http or https URL",
                  "url");
    }
    bool has_expect = false;
    bool has_content_type = false;
    for (const auto& [name, value] : r.headers) {
      if (!IsToken(name) || !IsFieldValue(value)) {
        return Fail(ErrorCode::kInvalidArgument, "invalid header field '" + name + "'", "headers");
      }
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
    curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
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
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(std::max<int64_t>(r.timeout.count(), 1)));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::max<int64_t>(options_.connect_timeout.count(), 1)));
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
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
    if (code != CURLE_OK) {
      failed_.fetch_add(1, std::memory_order_relaxed);
      t->done(std::unexpected(MapCurlError(code, *t)));
      return;
    }
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    t->response.status = static_cast<int>(status);
    completed_.fetch_add(1, std::memory_order_relaxed);
    t->done(std::move(t->response));
  }

  // Completes everything in flight or queued with kUnavailable. Runs on the client thread after
  // stopping_ is set, so SendAsync no longer queues.
  void Cancel() {
    auto active = std::move(active_);
    active_.clear();
    for (auto& [easy, t] : active) {
      curl_multi_remove_handle(multi_, easy);
      failed_.fetch_add(1, std::memory_order_relaxed);
      t->done(Fail(ErrorCode::kUnavailable, Describe(t->request) + ": HTTP client shut down"));
    }
    std::deque<std::unique_ptr<Transfer>> queued;
    {
      std::lock_guard lock(mu_);
      queued.swap(queue_);
    }
    for (auto& t : queued) {
      failed_.fetch_add(1, std::memory_order_relaxed);
      t->done(Fail(ErrorCode::kUnavailable, Describe(t->request) + ": HTTP client shut down"));
    }
  }

  const Options options_;
  CURLM* multi_ = nullptr;

  std::mutex mu_;
  std::deque<std::unique_ptr<Transfer>> queue_;  // guarded by mu_
  bool stopping_ = false;                        // guarded by mu_

  std::unordered_map<CURL*, std::unique_ptr<Transfer>> active_;  // client thread only

  std::atomic<uint64_t> completed_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> connections_{0};

  std::thread thread_;  // last: starts after every other member exists
};

HttpClient::HttpClient(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpClient::~HttpClient() = default;

void HttpClient::SendAsync(ClientRequest request, Callback done) {
  impl_->Enqueue(std::make_unique<Transfer>(std::move(request), std::move(done)));
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
