// Calendar batch requests (google-protocol.md §10): a multipart/mixed body whose parts are
// application/http requests with path-only URLs, answered with one multipart/mixed part per
// request, in order, each carrying Content-ID "<response-ID>".
//
//   auto parts = ParseBatch(req, /*max_parts=*/50);
//   if (!parts) return BadRequest(parts.error());
//   std::vector<BatchAnswer> answers;
//   for (auto& p : *parts) answers.push_back({p.content_id, Dispatch(p.request)});
//   return BatchResponse(answers);
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "net/http.h"

namespace telemeet::emulator {

struct BatchPart {
  std::string content_id;  // as sent, without angle brackets; may be empty
  net::Request request;    // outer headers (but Content-*) merged under the part's own
};

struct BatchAnswer {
  std::string content_id;
  net::Response response;
};

// kInvalidArgument naming the problem: not multipart/mixed, no boundary, a part that is not an
// application/http request, no parts, or more than `max_parts` (field "parts").
Result<std::vector<BatchPart>> ParseBatch(const net::Request& outer, size_t max_parts);

// The multipart/mixed answer, with a fresh boundary in its Content-Type.
net::Response BatchResponse(const std::vector<BatchAnswer>& answers);

}  // namespace telemeet::emulator
