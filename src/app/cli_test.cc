#include "app/cli.h"

#include <gtest/gtest.h>

#include <sstream>

namespace telemeet::app {
namespace {

TEST(ProgressTest, ABarOnATerminalWithRateAndTimeLeft) {
  EXPECT_EQ(FormatProgress("backfill doctor 3", 30, 120, 10.0, true),
            "backfill doctor 3 [#######.......................] 30/120 10.0/s, ETA 9s");
  EXPECT_EQ(FormatProgress("resync", 0, 5000, 2.0, true),
            "resync [..............................] 0/5000 2.0/s, ETA 41m40s");
  EXPECT_EQ(FormatProgress("resync", 10, 100000, 2.0, true),
            "resync [..............................] 10/100000 2.0/s, ETA 13h53m15s");
  // Done: a full bar, no time left.
  EXPECT_EQ(FormatProgress("x", 4, 4, 1.5, true), "x [##############################] 4/4 1.5/s");
  // Nothing measured yet: the counts alone.
  EXPECT_EQ(FormatProgress("x", 0, 4, 0, true), "x [..............................] 0/4");
}

TEST(ProgressTest, PlainLinesForLogs) {
  EXPECT_EQ(FormatProgress("backfill doctor 3", 30, 120, 10.0, false),
            "backfill doctor 3 30/120 10.0/s, ETA 9s");
  EXPECT_EQ(FormatProgress("x", 0, 0, 0, false), "x 0/0");
  std::ostringstream out;
  Progress p(out, false);
  p.Report("step", 0, 2);
  p.Report("step", 0, 2);  // nothing new: not repeated
  p.Report("step", 2, 2);
  const std::string text = out.str();
  EXPECT_EQ(text.rfind("step 0/2\n", 0), 0u) << text;
  EXPECT_EQ(text.find("step 0/2\n", 1), std::string::npos) << text;
  EXPECT_NE(text.find("step 2/2 "), std::string::npos) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos);
}

TEST(ProgressTest, OnATerminalTheLineIsRewrittenInPlace) {
  std::ostringstream out;
  Progress p(out, true);
  p.Report("step", 1, 2);
  p.Report("step", 2, 2);
  const std::string text = out.str();
  EXPECT_EQ(text.rfind("\rstep [###############...............] 1/2", 0), 0u) << text;
  EXPECT_NE(text.find("\rstep [##############################] 2/2"), std::string::npos);
  EXPECT_EQ(text.back(), '\n');  // the finished line is closed
}

}  // namespace
}  // namespace telemeet::app
