#include "google/http_transport.h"

#include <utility>

namespace telemeet::google {

Result<HttpResponse> HttpTransport::Send(const HttpRequest& request) {
  Result<net::ClientResponse> res = client_.Send(net::ClientRequest{.method = request.method,
                                                                    .url = request.url,
                                                                    .headers = request.headers,
                                                                    .body = request.body,
                                                                    .timeout = request.timeout});
  if (!res) return std::unexpected(res.error());
  return HttpResponse{
      .status = res->status, .headers = std::move(res->headers), .body = std::move(res->body)};
}

}  // namespace telemeet::google
