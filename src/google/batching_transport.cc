#include "google/batching_transport.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "crypto/random.h"
#include "google/calendar_client.h"

namespace telemeet::google {

namespace {

constexpr std::string_view kCalendarPath = "/calendar/v3/";

}  // namespace

BatchingTransport::BatchingTransport(Transport& inner, std::string base_url,
                                     BatchingOptions options)
    : inner_(inner), base_url_(std::move(base_url)), options_(options) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

void BatchingTransport::Join() {
  std::lock_guard lock(mu_);
  ++participants_;
}

void BatchingTransport::Leave() {
  std::lock_guard lock(mu_);
  --participants_;
  // One fewer to wait for: the others may be complete now.
  cv_.notify_all();
}

bool BatchingTransport::ShouldFlush() const {
  if (queue_.empty()) return false;
  if (queue_.size() >= options_.max_parts) return true;
  if (participants_ > 0 && queue_.size() >= static_cast<size_t>(participants_)) return true;
  return std::chrono::steady_clock::now() - queue_.front()->since >= options_.linger;
}

Result<HttpResponse> BatchingTransport::Send(const HttpRequest& request) {
  const bool calendar =
      request.url.starts_with(base_url_) &&
      std::string_view(request.url).substr(base_url_.size()).starts_with(kCalendarPath);
  if (!calendar || request.headers.Get("If-Match").has_value()) return inner_.Send(request);

  auto me = std::make_shared<Waiter>();
  me->request = &request;
  me->auth = request.headers.Get("Authorization").value_or("");
  me->since = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_);
  queue_.push_back(me);
  cv_.notify_all();
  while (!me->answer) {
    if (ShouldFlush()) {
      FlushOne(lock);
      continue;
    }
    const bool queued = std::find(queue_.begin(), queue_.end(), me) != queue_.end();
    if (queued) {
      // The oldest call has waited `linger`: send what there is.
      cv_.wait_until(lock, queue_.front()->since + options_.linger);
    } else {
      cv_.wait(lock);  // in a batch another thread is sending
    }
  }
  return std::move(*me->answer);
}

void BatchingTransport::FlushOne(std::unique_lock<std::mutex>& lock) {
  std::vector<std::shared_ptr<Waiter>> group;
  const std::string auth = queue_.front()->auth;
  for (auto it = queue_.begin(); it != queue_.end() && group.size() < options_.max_parts;) {
    if ((*it)->auth == auth) {
      group.push_back(*it);
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
  lock.unlock();

  std::vector<std::optional<Result<HttpResponse>>> answers(group.size());
  if (group.size() == 1) {
    answers[0] = inner_.Send(*group[0]->request);  // a batch of one is just the call
  } else {
    std::vector<BatchPart> parts;
    std::chrono::milliseconds timeout{0};
    for (const auto& w : group) {
      parts.push_back(
          {w->request->method, w->request->url.substr(base_url_.size()), w->request->body});
      timeout = std::max(timeout, w->request->timeout);
    }
    const std::string boundary = "batch_" + crypto::RandomToken(12);
    HttpRequest outer{.method = "POST",
                      .url = base_url_ + "/batch/calendar/v3",
                      .headers = {},
                      .body = EncodeBatch(parts, boundary),
                      .timeout = timeout};
    if (!auth.empty()) outer.headers.Set("Authorization", auth);
    outer.headers.Set("Accept", "application/json");
    outer.headers.Set("Content-Type", "multipart/mixed; boundary=" + boundary);
    Result<HttpResponse> res = inner_.Send(outer);
    calls_ += static_cast<int64_t>(group.size());
    if (!res || res->status < 200 || res->status >= 300) {
      // The batch failed as a whole: each call hears it and retries by its own policy.
      for (auto& a : answers) a = res;
    } else {
      auto decoded = DecodeBatch(res->headers.Get("Content-Type").value_or(""), res->body);
      if (decoded && decoded->size() == group.size()) {
        for (size_t i = 0; i < group.size(); ++i) answers[i] = std::move((*decoded)[i]);
      } else {
        const std::string why = decoded ? "batch answer has " + std::to_string(decoded->size()) +
                                              " parts for " + std::to_string(group.size())
                                        : decoded.error().message();
        for (auto& a : answers) a = Fail(ErrorCode::kUnavailable, why);
      }
    }
  }
  ++batches_;

  lock.lock();
  for (size_t i = 0; i < group.size(); ++i) group[i]->answer = std::move(answers[i]);
  cv_.notify_all();
}

}  // namespace telemeet::google
