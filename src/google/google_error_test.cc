#include "google/google_error.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace telemeet::google {
namespace {

using nlohmann::json;

HttpResponse Api(int status, std::string reason, std::string message,
                 std::string domain = "global") {
  json body = {{"error",
                {{"errors", {{{"domain", domain}, {"reason", reason}, {"message", message}}}},
                 {"code", status},
                 {"message", message},
                 {"status", "SOME_STATUS"}}}};
  return HttpResponse{.status = status, .headers = {}, .body = body.dump()};
}

HttpResponse OAuth(int status, std::string error, std::string description) {
  json body = {{"error", error}, {"error_description", description}};
  return HttpResponse{.status = status, .headers = {}, .body = body.dump()};
}

const Instant kNow = FromUnixSeconds(1'767'225'600);  // 2026-01-01T00:00:00Z

ErrorKind KindOf(const HttpResponse& r) { return GoogleError::FromResponse(r, kNow).kind(); }

TEST(GoogleErrorTest, ParsesCalendarShape) {
  GoogleError e = GoogleError::FromResponse(
      Api(403, "rateLimitExceeded", "Rate Limit Exceeded", "usageLimits"), kNow);
  EXPECT_EQ(e.kind(), ErrorKind::kRateLimited);
  EXPECT_EQ(e.http_status(), 403);
  EXPECT_EQ(e.reason(), "rateLimitExceeded");
  EXPECT_EQ(e.domain(), "usageLimits");
  EXPECT_EQ(e.message(), "Rate Limit Exceeded");
  EXPECT_EQ(e.rpc_status(), "SOME_STATUS");
  EXPECT_TRUE(e.IsRetriable());
  EXPECT_FALSE(e.IsTransient());
  EXPECT_EQ(e.ToString(), "rate_limited (403 rateLimitExceeded): Rate Limit Exceeded");
}

TEST(GoogleErrorTest, ParsesOAuthShapeKeepingDescription) {
  GoogleError e = GoogleError::FromResponse(
      OAuth(400, "invalid_grant", "Token has been expired or revoked."), kNow);
  EXPECT_EQ(e.kind(), ErrorKind::kInvalidGrant);
  EXPECT_EQ(e.reason(), "invalid_grant");
  EXPECT_EQ(e.message(), "Token has been expired or revoked.");
  EXPECT_TRUE(e.NeedsReconnect());
  EXPECT_FALSE(e.IsRetriable());
  EXPECT_EQ(e.ToError().code(), ErrorCode::kFailedPrecondition);
}

TEST(GoogleErrorTest, ClassifiesEveryDocumentedAnswer) {
  EXPECT_EQ(KindOf(Api(403, "userRateLimitExceeded", "User Rate Limit Exceeded")),
            ErrorKind::kRateLimited);
  EXPECT_EQ(KindOf(Api(429, "rateLimitExceeded", "Rate Limit Exceeded")), ErrorKind::kRateLimited);
  EXPECT_EQ(KindOf(Api(403, "quotaExceeded", "Calendar usage limits exceeded.")),
            ErrorKind::kQuotaExceeded);
  EXPECT_EQ(KindOf(Api(403, "insufficientPermissions", "Insufficient Permission")),
            ErrorKind::kScopeNotGranted);
  EXPECT_EQ(KindOf(Api(403, "forbiddenForNonOrganizer", "Shared properties ...", "calendar")),
            ErrorKind::kForbidden);
  EXPECT_EQ(KindOf(Api(401, "authError", "Invalid Credentials")), ErrorKind::kUnauthorized);
  EXPECT_EQ(KindOf(Api(404, "notFound", "Not Found")), ErrorKind::kNotFound);
  EXPECT_EQ(KindOf(Api(409, "duplicate", "The requested identifier already exists.")),
            ErrorKind::kDuplicate);
  EXPECT_EQ(KindOf(Api(409, "conflict", "Conflict")), ErrorKind::kConflict);
  EXPECT_EQ(KindOf(Api(410, "deleted", "Resource has been deleted")), ErrorKind::kGone);
  EXPECT_EQ(KindOf(Api(410, "fullSyncRequired",
                       "Sync token is no longer valid, a full sync is required.", "calendar")),
            ErrorKind::kFullSyncRequired);
  EXPECT_EQ(KindOf(Api(410, "updatedMinTooLongAgo", "x", "calendar")),
            ErrorKind::kFullSyncRequired);
  EXPECT_EQ(KindOf(Api(412, "conditionNotMet", "Precondition Failed")),
            ErrorKind::kPreconditionFailed);
  EXPECT_EQ(KindOf(Api(400, "invalid", "Invalid conference type value.")),
            ErrorKind::kConferenceRefused);
  EXPECT_EQ(KindOf(Api(400, "invalid", "Invalid resource id value.")), ErrorKind::kInvalidRequest);
  EXPECT_EQ(KindOf(Api(400, "timeRangeEmpty", "The specified time range is empty.")),
            ErrorKind::kInvalidRequest);
  EXPECT_EQ(KindOf(Api(500, "backendError", "Backend Error")), ErrorKind::kServer);
  EXPECT_EQ(KindOf(Api(503, "backendError", "Backend Error")), ErrorKind::kServer);
  EXPECT_EQ(KindOf(OAuth(401, "invalid_client", "The OAuth client was not found.")),
            ErrorKind::kInvalidClient);
  EXPECT_EQ(KindOf(OAuth(401, "unauthorized_client", "Unauthorized")), ErrorKind::kInvalidClient);
  EXPECT_EQ(KindOf(OAuth(400, "invalid_request", "Missing required parameter: code")),
            ErrorKind::kInvalidRequest);
  EXPECT_EQ(KindOf(OAuth(503, "temporarily_unavailable", "x")), ErrorKind::kServer);
}

TEST(GoogleErrorTest, NonJsonBodiesAreClassifiedByStatus) {
  EXPECT_EQ(KindOf(HttpResponse{.status = 502, .headers = {}, .body = "<html>bad gateway"}),
            ErrorKind::kServer);
  EXPECT_EQ(KindOf(HttpResponse{.status = 429, .headers = {}, .body = ""}),
            ErrorKind::kRateLimited);
  GoogleError e =
      GoogleError::FromResponse(HttpResponse{.status = 404, .headers = {}, .body = ""}, kNow);
  EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  EXPECT_EQ(e.message(), "Not Found");
}

TEST(GoogleErrorTest, HostileBodiesAreClassifiedByStatus) {
  std::string deep(100'000, '[');
  EXPECT_EQ(KindOf(HttpResponse{.status = 503, .headers = {}, .body = deep}), ErrorKind::kServer);
  EXPECT_EQ(KindOf(HttpResponse{.status = 400, .headers = {}, .body = R"({"error":42})"}),
            ErrorKind::kInvalidRequest);
  EXPECT_EQ(KindOf(HttpResponse{
                .status = 403, .headers = {}, .body = R"({"error":{"errors":"x","message":7}})"}),
            ErrorKind::kForbidden);
}

TEST(GoogleErrorTest, TransportFailuresAreTransient) {
  GoogleError reset = GoogleError::FromTransport(Error(ErrorCode::kUnavailable, "reset"));
  EXPECT_EQ(reset.kind(), ErrorKind::kTransport);
  EXPECT_TRUE(reset.IsTransient());
  GoogleError timeout = GoogleError::FromTransport(Error(ErrorCode::kDeadlineExceeded, "slow"));
  EXPECT_EQ(timeout.kind(), ErrorKind::kTimeout);
  EXPECT_TRUE(timeout.IsRetriable());
  EXPECT_EQ(timeout.ToError().code(), ErrorCode::kDeadlineExceeded);
}

TEST(GoogleErrorTest, ReadsRetryAfterSecondsAndDate) {
  HttpResponse r = Api(429, "rateLimitExceeded", "Rate Limit Exceeded");
  r.headers.Set("Retry-After", "7");
  EXPECT_EQ(GoogleError::FromResponse(r, kNow).retry_after(), std::chrono::seconds(7));
  r.headers.Set("Retry-After", "Thu, 01 Jan 2026 00:00:30 GMT");
  EXPECT_EQ(GoogleError::FromResponse(r, kNow).retry_after(), std::chrono::seconds(30));
  EXPECT_EQ(ParseRetryAfter("Wed, 31 Dec 2025 23:00:00 GMT", kNow), std::chrono::seconds(0));
  EXPECT_EQ(ParseRetryAfter("soon", kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-3", kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("Thu, 01 Foo 2026 00:00:30 GMT", kNow), std::nullopt);
}

TEST(GoogleErrorTest, MapsKindsToCanonicalCodes) {
  EXPECT_EQ(GoogleError(ErrorKind::kServer, "x", 500).ToError().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(GoogleError(ErrorKind::kRateLimited, "x", 429).ToError().code(),
            ErrorCode::kResourceExhausted);
  EXPECT_EQ(GoogleError(ErrorKind::kDuplicate, "x", 409).ToError().code(),
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(GoogleError(ErrorKind::kGone, "x", 410).ToError().code(), ErrorCode::kNotFound);
  EXPECT_EQ(GoogleError(ErrorKind::kInvalidRequest, "x", 400).ToError().code(),
            ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace telemeet::google
