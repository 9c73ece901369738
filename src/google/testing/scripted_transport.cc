#include "google/testing/scripted_transport.h"

namespace telemeet::google::testing {

Reply Json(int status, nlohmann::json body, net::Headers headers) {
  return [status, body = std::move(body), headers = std::move(headers)](const HttpRequest&) {
    HttpResponse r{.status = status, .headers = headers, .body = body.dump()};
    if (!r.headers.Has("Content-Type")) {
      r.headers.Set("Content-Type", "application/json; charset=UTF-8");
    }
    return Result<HttpResponse>(std::move(r));
  };
}

Reply Text(int status, std::string body, net::Headers headers) {
  return [status, body = std::move(body), headers = std::move(headers)](const HttpRequest&) {
    return Result<HttpResponse>(HttpResponse{.status = status, .headers = headers, .body = body});
  };
}

Reply TransportError(ErrorCode code, std::string message) {
  return [code, message = std::move(message)](const HttpRequest&) -> Result<HttpResponse> {
    return Fail(code, message);
  };
}

Reply ApiError(int status, std::string reason, std::string message, std::string domain,
               net::Headers headers) {
  nlohmann::json body = {
      {"error",
       {{"errors", {{{"domain", domain}, {"reason", reason}, {"message", message}}}},
        {"code", status},
        {"message", message}}}};
  return Json(status, std::move(body), std::move(headers));
}

Reply OAuthError(int status, std::string error, std::string description) {
  return Json(status, {{"error", error}, {"error_description", description}});
}

ScriptedTransport& ScriptedTransport::On(std::string method, std::string url, Reply reply) {
  std::lock_guard lock(mu_);
  routes_[{std::move(method), std::move(url)}].replies.push_back(std::move(reply));
  return *this;
}

ScriptedTransport& ScriptedTransport::Fallback(Reply reply) {
  std::lock_guard lock(mu_);
  fallback_ = std::move(reply);
  return *this;
}

Result<HttpResponse> ScriptedTransport::Send(const HttpRequest& request) {
  Reply reply;
  {
    std::lock_guard lock(mu_);
    requests_.push_back(request);
    auto it = routes_.find({request.method, UrlPath(request.url)});
    if (it != routes_.end() && !it->second.replies.empty()) {
      Route& route = it->second;
      reply = route.replies[std::min(route.next, route.replies.size() - 1)];
      ++route.next;
    } else if (fallback_) {
      reply = fallback_;
    } else {
      unexpected_.push_back(request);
      return Fail(ErrorCode::kInternal,
                  "no scripted answer for " + request.method + " " + UrlPath(request.url));
    }
  }
  return reply(request);
}

std::vector<HttpRequest> ScriptedTransport::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

std::vector<HttpRequest> ScriptedTransport::unexpected() const {
  std::lock_guard lock(mu_);
  return unexpected_;
}

int ScriptedTransport::Count(const std::string& method, const std::string& url) const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const HttpRequest& r : requests_) {
    if (r.method == method && UrlPath(r.url) == url) ++n;
  }
  return n;
}

std::string UrlPath(const std::string& url) { return url.substr(0, url.find('?')); }

KeyValues UrlQuery(const std::string& url) {
  size_t q = url.find('?');
  if (q == std::string::npos) return {};
  return ParseQuery(std::string_view(url).substr(q + 1)).value_or(KeyValues{});
}

}  // namespace telemeet::google::testing
