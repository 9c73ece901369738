#include "base/error.h"

#include <gtest/gtest.h>

namespace telemeet {
namespace {

Result<int> ParsePositive(int v) {
  if (v <= 0) return Fail(ErrorCode::kInvalidArgument, "must be positive", "count");
  return v;
}

TEST(ErrorTest, ResultCarriesValueOrTypedError) {
  EXPECT_EQ(*ParsePositive(3), 3);
  auto bad = ParsePositive(-1);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().field(), "count");
  EXPECT_EQ(bad.error().ToString(), "invalid_argument: count: must be positive");
}

TEST(ErrorTest, EveryCodeHasANameAndAnHttpStatus) {
  EXPECT_EQ(ErrorCodeName(ErrorCode::kNotFound), "not_found");
  EXPECT_EQ(HttpStatusFor(ErrorCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kFailedPrecondition), 409);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kInternal), 500);
}

}  // namespace
}  // namespace telemeet
