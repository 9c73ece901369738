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

Status Check(bool ok) {
  if (!ok) return Fail(ErrorCode::kFailedPrecondition, "not ready");
  return Ok();
}

// Doubles a positive value; counts how far it got, to show that TM_TRY stops at the error.
Result<int> DoublePositive(int v, bool ready, int& steps) {
  int checked = TM_TRY(ParsePositive(v));
  ++steps;
  TM_TRY(Check(ready));
  ++steps;
  return checked * 2;
}

TEST(ErrorTest, TryYieldsTheValueOrReturnsTheFirstError) {
  int steps = 0;
  EXPECT_EQ(DoublePositive(4, true, steps), 8);
  EXPECT_EQ(steps, 2);

  steps = 0;
  auto bad = DoublePositive(-4, true, steps);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().field(), "count");
  EXPECT_EQ(steps, 0);

  steps = 0;
  auto unready = DoublePositive(4, false, steps);
  ASSERT_FALSE(unready.has_value());
  EXPECT_EQ(unready.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(steps, 1);
}

TEST(ErrorTest, TryWorksInLambdasAndLeavesNamedResultsIntact) {
  Result<std::string> named = std::string("kept");
  auto fn = [&]() -> Status {
    std::string copy = TM_TRY(named);
    EXPECT_EQ(copy, "kept");
    TM_TRY(Check(false));
    ADD_FAILURE() << "TM_TRY did not return";
    return Ok();
  };
  Status s = fn();
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().message(), "not ready");
  EXPECT_EQ(*named, "kept");
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
