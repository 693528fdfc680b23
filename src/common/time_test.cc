#include "common/time.h"

#include <gtest/gtest.h>

namespace tally {
namespace {

int64_t ParseMicros(std::string_view s) {
  auto t = ParseUtcTime(s);
  EXPECT_TRUE(t.ok()) << s << ": " << t.status().ToString();
  return t.ok() ? t->micros : -1;
}

constexpr int64_t k2024May1 = 1714521600LL * kMicrosPerSecond;

TEST(ParseUtcTime, AcceptsEveryFormRealClientsSend) {
  for (std::string_view s :
       {"2024-05-01T00:00:00Z", "2024-05-01T00:00:00.000Z", "2024-05-01T00:00:00.0000000Z",
        "2024-05-01T00:00:00+00:00", "2024-05-01T00:00:00", "2024-05-01 00:00:00Z",
        "2024-05-01T00:00:00.00Z", "2024-05-01", "2024-05-01T02:00:00+02:00",
        "2024-05-01T02:00:00 02:00", "2024-04-30T20:00:00-0400", "2024-05-01T00:00:00+00:00Z",
        "2024-05-01T00:00Z"}) {
    EXPECT_EQ(ParseMicros(s), k2024May1) << s;
  }
}

TEST(ParseUtcTime, KeepsMicroseconds) {
  EXPECT_EQ(ParseMicros("2024-05-01T00:00:00.123456Z"), k2024May1 + 123456);
  EXPECT_EQ(ParseMicros("2024-05-01T00:00:00.1234560Z"), k2024May1 + 123456);
}

TEST(ParseUtcTime, RejectsMalformedText) {
  for (std::string_view s :
       {"", "2024", "2024-13-01", "2024-02-30", "2024-05-01T25:00:00Z", "2024-05-01T00:00:00Q",
        "2024-05-01T00:00:00.Z", "9/1/2016", "2024-05-01T00:00:00.1234567Z",
        "2024-05-01T00:00:00+25:00", "2024-05-01X00:00:00Z", "2024-05-01T00:00:00+01:00Z"}) {
    EXPECT_FALSE(ParseUtcTime(s).ok()) << s;
  }
}

// Found by fuzz_time_parse: an offset moved the instant into year 10000, which then formatted
// as five digits that did not parse back.
TEST(ParseUtcTime, RejectsOffsetsThatLeaveFourDigitYears) {
  EXPECT_FALSE(ParseUtcTime("9999-12-31T23:50-1123").ok());
  EXPECT_FALSE(ParseUtcTime("0000-01-01T00:00+00:01").ok());
  EXPECT_TRUE(ParseUtcTime("9999-12-31T23:59:59.999999Z").ok());
  EXPECT_TRUE(ParseUtcTime("9999-12-31T12:00-11:59").ok());
  EXPECT_TRUE(ParseUtcTime("0000-01-01T00:00Z").ok());
}

TEST(FormatUtcTime, WritesRfc3339WithAnOffset) {
  UtcTime t{k2024May1 + 13 * kMicrosPerHour};
  EXPECT_EQ(FormatUtcTime(t), "2024-05-01T13:00:00Z");
  EXPECT_EQ(FormatUtcTime(t, ZoneStyle::kPlusZero), "2024-05-01T13:00:00+00:00");
  EXPECT_EQ(FormatUtcTime(UtcTime{k2024May1 + 500000}), "2024-05-01T00:00:00.5Z");
  EXPECT_EQ(FormatUtcTime(UtcTime{-kMicrosPerHour}), "1969-12-31T23:00:00Z");
  EXPECT_EQ(FormatUtcTime(UtcTime{k2024May1 + 1}), "2024-05-01T00:00:00.000001Z");
  EXPECT_EQ(FormatUtcTime(UtcTime{k2024May1 + 123450}), "2024-05-01T00:00:00.12345Z");
  EXPECT_EQ(FormatUtcTime(UtcTime{ParseMicros("0000-01-01T00:00:00Z")}), "0000-01-01T00:00:00Z");
  EXPECT_EQ(FormatUtcTime(UtcTime{ParseMicros("9999-12-31T23:59:59.999999Z")}),
            "9999-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatUtcTime(UtcTime{ParseMicros("0987-06-05T04:03:02Z")}), "0987-06-05T04:03:02Z");
}

TEST(UsageHour, RequiresAnAlignedHourAndKnowsItsDay) {
  EXPECT_FALSE(UsageHour::FromUtc(UtcTime{k2024May1 + 1}).ok());
  auto h = UsageHour::FromUtc(UtcTime{k2024May1 + 5 * kMicrosPerHour});
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->DayStart().utc().micros, k2024May1);
  EXPECT_EQ(h->Next().utc().micros, k2024May1 + 6 * kMicrosPerHour);
}

}  // namespace
}  // namespace tally
