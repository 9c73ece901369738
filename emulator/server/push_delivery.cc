#include "emulator/server/push_delivery.h"

namespace telemeet::emulator {

namespace {
constexpr size_t kLogSize = 1000;
}

PushDelivery::PushDelivery(std::chrono::milliseconds timeout)
    : timeout_(timeout),
      client_(std::make_unique<net::HttpClient>(net::HttpClientOptions{
          .connect_timeout = std::chrono::seconds(5),
          .max_connections_per_host = 8,
          .http2 = false,
          // Google's push User-Agent (google-protocol.md §9).
          .user_agent = "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)",
          .max_response_bytes = 1 << 20})) {}

PushDelivery::~PushDelivery() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  client_.reset();  // completes what is in flight with kUnavailable; Done() sends nothing more
}

void PushDelivery::Send(PushMessage message) {
  std::lock_guard lock(mu_);
  if (stopping_) return;
  std::string channel = message.headers.Get("X-Goog-Channel-ID").value_or(message.address);
  auto& queue = queues_[channel];
  queue.push_back(std::move(message));
  ++pending_;
  if (queue.size() == 1) StartLocked(channel);
}

void PushDelivery::StartLocked(const std::string& channel) {
  const PushMessage& m = queues_[channel].front();
  net::ClientRequest req{
      .method = "POST", .url = m.address, .headers = m.headers, .body = "", .timeout = timeout_};
  req.headers.Set("Content-Length", "0");
  PushMessage copy = m;
  client_->SendAsync(std::move(req), [this, channel, copy](Result<net::ClientResponse> r) {
    Done(channel, copy, r);
  });
}

void PushDelivery::Done(const std::string& channel, const PushMessage& message,
                        const Result<net::ClientResponse>& result) {
  std::lock_guard lock(mu_);
  nlohmann::json entry = {
      {"channelId", channel},
      {"address", message.address},
      {"state", message.headers.Get("X-Goog-Resource-State").value_or("")},
      {"messageNumber", message.headers.Get("X-Goog-Message-Number").value_or("")}};
  if (result) {
    entry["status"] = result->status;
  } else {
    entry["error"] = result.error().ToString();
  }
  log_.push_back(std::move(entry));
  while (log_.size() > kLogSize) log_.pop_front();
  auto it = queues_.find(channel);
  if (it != queues_.end() && !it->second.empty()) {
    it->second.pop_front();
    --pending_;
    if (it->second.empty()) {
      queues_.erase(it);
    } else if (!stopping_) {
      StartLocked(channel);
    }
  }
  if (pending_ == 0) idle_.notify_all();
}

bool PushDelivery::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return idle_.wait_for(lock, timeout, [&] { return pending_ == 0; });
}

nlohmann::json PushDelivery::Log() const {
  std::lock_guard lock(mu_);
  return nlohmann::json(std::vector<nlohmann::json>(log_.begin(), log_.end()));
}

void PushDelivery::ClearLog() {
  std::lock_guard lock(mu_);
  log_.clear();
}

}  // namespace telemeet::emulator
