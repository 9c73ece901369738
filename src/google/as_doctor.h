// One call to a Google API on a doctor's behalf, made the same way by every client here
// (CalendarClient, MeetClient): the doctor's access token; under `retry`, each attempt takes the
// rate limiter's permits and sends; a 401 refreshes the token once and sends again at once (a
// second 401 is final); a rate-limit answer (403/429) slows the doctor, or every doctor when
// Google says the project's own limit (Calendar's rateLimitExceeded) was hit.
//
//   auto r = CallAsDoctor(tokens, retry, limiter, doctor, /*idempotent=*/true, /*permits=*/1,
//                         [&](const std::string& token, int attempt) { return Send(token); });
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "google/google_error.h"
#include "google/rate_limiter.h"
#include "google/retry.h"
#include "google/token_source.h"
#include "google/transport.h"

namespace telemeet::google {

template <typename Send>
GoogleResult<HttpResponse> CallAsDoctor(AccessTokenSource& tokens, RetryPolicy& retry,
                                        RateLimiter* limiter, std::string_view doctor,
                                        bool idempotent, int permits, Send&& send) {
  GoogleResult<std::string> first = tokens.AccessTokenFor(doctor);
  if (!first) return std::unexpected(first.error());
  std::string token = std::move(*first);
  bool refreshed = false;
  return retry.Run(idempotent, [&](int attempt) -> GoogleResult<HttpResponse> {
    for (;;) {
      if (limiter != nullptr) {
        for (int i = 0; i < std::max(1, permits); ++i) limiter->Acquire(doctor);
      }
      GoogleResult<HttpResponse> r = send(token, attempt);
      if (r) {
        if (limiter != nullptr) limiter->OnSuccess(doctor);
        return r;
      }
      const GoogleError& e = r.error();
      if (e.kind() == ErrorKind::kUnauthorized && !refreshed) {
        GoogleResult<std::string> fresh = tokens.RefreshAfterRejection(doctor, token);
        if (!fresh) return std::unexpected(fresh.error());
        refreshed = true;
        token = std::move(*fresh);
        continue;
      }
      if (limiter != nullptr &&
          (e.kind() == ErrorKind::kRateLimited || e.kind() == ErrorKind::kQuotaExceeded)) {
        // quotaExceeded (anti-abuse, per user) slows the doctor like userRateLimitExceeded.
        limiter->OnRateLimited(doctor, /*user_limit=*/e.reason() != "rateLimitExceeded");
      }
      return r;
    }
  });
}

}  // namespace telemeet::google
