#include "pricing/billing_period.h"

#include <gtest/gtest.h>

namespace tally::pricing {
namespace {

UtcTime T(std::string_view s) { return *ParseUtcTime(s); }
UsageHour H(std::string_view s) { return *UsageHour::FromUtc(T(s)); }
BillingMonth M(std::string_view s) { return *BillingMonth::Parse(s); }

TEST(BillingMonth, ParsesAndFormatsYearDashMonth) {
  EXPECT_EQ(M("2026-10").year, 2026);
  EXPECT_EQ(M("2026-10").month, 10);
  EXPECT_EQ(M("2026-01").ToString(), "2026-01");
  for (const char* bad : {"2026-13", "2026-00", "26-10", "2026/10", "2026-1", "", "1969-12",
                          "2026-10-01", "abcd-ef"}) {
    EXPECT_FALSE(BillingMonth::Parse(bad).ok()) << bad;
  }
}

TEST(BillingMonth, NextAndPreviousCrossYears) {
  EXPECT_EQ(M("2026-12").Next().ToString(), "2027-01");
  EXPECT_EQ(M("2027-01").Previous().ToString(), "2026-12");
  EXPECT_EQ(M("2026-05").Next().ToString(), "2026-06");
}

TEST(BillingPeriod, UtcMonthIsMidnightToMidnight) {
  auto p = BillingPeriod::Make(M("2026-10"), TimeZone::Utc());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->start(), T("2026-10-01T00:00:00Z"));
  EXPECT_EQ(p->end(), T("2026-11-01T00:00:00Z"));
  EXPECT_TRUE(p->Contains(H("2026-10-01T00:00:00Z")));
  EXPECT_TRUE(p->Contains(H("2026-10-31T23:00:00Z")));
  EXPECT_FALSE(p->Contains(H("2026-11-01T00:00:00Z")));
  EXPECT_FALSE(p->Contains(H("2026-09-30T23:00:00Z")));
  EXPECT_EQ(p->ToString(), "2026-10");
  EXPECT_EQ(p->Next()->start(), p->end());
  EXPECT_EQ(p->Previous()->end(), p->start());
}

TEST(BillingPeriod, FebruaryOfALeapYear) {
  auto p = BillingPeriod::Make(M("2028-02"), TimeZone::Utc());
  EXPECT_EQ(p->end().micros - p->start().micros, 29 * kMicrosPerDay);
}

TEST(BillingPeriod, BerlinMonthFollowsDaylightSavingTime) {
  auto zone = TimeZone::Load("Europe/Berlin");
  ASSERT_TRUE(zone.ok()) << zone.status().ToString();
  EXPECT_EQ(zone->name(), "Europe/Berlin");
  auto p = BillingPeriod::Make(M("2026-10"), *zone);
  // Summer time (+02:00) when October begins, winter time (+01:00) when it ends.
  EXPECT_EQ(p->start(), T("2026-09-30T22:00:00Z"));
  EXPECT_EQ(p->end(), T("2026-10-31T23:00:00Z"));
  EXPECT_EQ(p->end().micros - p->start().micros, (31 * 24 + 1) * kMicrosPerHour);
  EXPECT_TRUE(p->Contains(H("2026-09-30T22:00:00Z")));
  EXPECT_FALSE(p->Contains(H("2026-10-31T23:00:00Z")));
  EXPECT_EQ(BillingPeriod::Containing(T("2026-09-30T22:30:00Z"), *zone)->ToString(), "2026-10");
  EXPECT_EQ(BillingPeriod::Containing(T("2026-09-30T21:59:59Z"), *zone)->ToString(), "2026-09");
}

TEST(BillingPeriod, HalfHourZoneAssignsAnHourByItsStart) {
  auto zone = TimeZone::Load("Asia/Kolkata");
  ASSERT_TRUE(zone.ok());
  auto p = BillingPeriod::Make(M("2026-10"), *zone);
  EXPECT_EQ(p->start(), T("2026-09-30T18:30:00Z"));
  // The hour 18:00Z-19:00Z starts in September (local 23:30) and belongs to September.
  EXPECT_FALSE(p->Contains(H("2026-09-30T18:00:00Z")));
  EXPECT_TRUE(p->Contains(H("2026-09-30T19:00:00Z")));
}

TEST(TimeZone, DayThatSkipsMidnightStartsWhenTheClocksJump) {
  // Brazil moved its clocks from 00:00 to 01:00 on 2018-11-04 (UTC-3 to UTC-2).
  auto zone = TimeZone::Load("America/Sao_Paulo");
  ASSERT_TRUE(zone.ok());
  EXPECT_EQ(zone->StartOfLocalDay(2018, 11, 4), T("2018-11-04T03:00:00Z"));
  EXPECT_EQ(zone->StartOfLocalDay(2018, 11, 5), T("2018-11-05T02:00:00Z"));
}

TEST(TimeZone, UtcNeedsNoDatabaseAndUnknownZonesAreRefused) {
  EXPECT_TRUE(TimeZone::Load("utc")->is_utc());
  EXPECT_EQ(TimeZone::Load("UTC")->name(), "UTC");
  auto bad = TimeZone::Load("Mars/Olympus_Mons");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("Mars/Olympus_Mons"), std::string::npos);
}

TEST(BillingPeriod, YearsOutsideTheRangeAreRefused) {
  EXPECT_FALSE(BillingPeriod::Make(BillingMonth{10000, 1}, TimeZone::Utc()).ok());
  EXPECT_FALSE(BillingPeriod::Make(BillingMonth{1969, 12}, TimeZone::Utc()).ok());
  EXPECT_FALSE(BillingPeriod::Make(BillingMonth{2026, 13}, TimeZone::Utc()).ok());
}

}  // namespace
}  // namespace tally::pricing
