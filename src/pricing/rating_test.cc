#include "pricing/rating.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace tally::pricing {
namespace {

Decimal D(std::string_view s) { return *Decimal::Parse(s); }
UtcTime T(std::string_view s) { return *ParseUtcTime(s); }
UsageHour H(std::string_view s) { return *UsageHour::FromUtc(T(s)); }

RateCardMeter Entry(std::string id, std::string_view effective,
                    std::vector<std::pair<const char*, const char*>> rates,
                    std::string_view included = "0") {
  RateCardMeter m;
  m.meter_id = std::move(id);
  m.effective_date = T(effective);
  for (auto [k, v] : rates) m.meter_rates.push_back({D(k), D(v)});
  m.included_quantity = D(included);
  return m;
}

PriceList Prices(std::vector<RateCardMeter> meters) {
  RateCard card;
  card.offer_durable_id = "MS-AZR-0003P";
  card.meters = std::move(meters);
  auto list = PriceList::Make(std::move(card));
  EXPECT_TRUE(list.ok()) << list.status().ToString();
  return std::move(list).value();
}

MeterRating Rate(const PriceList& prices, std::vector<HourlyQuantity> hours,
                 std::string_view start = "0", std::string_view meter = "m") {
  auto r = RateMeterUsage(prices, meter, hours, D(start));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : MeterRating();
}

// One tier charge as "from-to@price=amount [effective date]".
std::string Describe(const MeterRating& r) {
  std::string s;
  for (const TierCharge& c : r.tiers) {
    if (!s.empty()) s += " ";
    s += c.from.ToString() + "-" + c.to.ToString() + "@" + c.unit_price.ToString() + "=" +
         c.amount.ToString() + "[" + FormatUtcTime(c.effective_date).substr(0, 10) + "]";
  }
  return s;
}

const PriceList& Graduated() {
  static const PriceList* p = new PriceList(
      Prices({Entry("m", "2026-01-01", {{"0", "2"}, {"100", "1"}, {"1000", "0.5"}})}));
  return *p;
}

TEST(Rating, GraduatedTiersPriceEachPartAtItsThreshold) {
  MeterRating r = Rate(Graduated(), {{H("2026-10-01T00:00:00Z"), D("1500")}});
  EXPECT_EQ(Describe(r),
            "0-100@2=200[2026-01-01] 100-1000@1=900[2026-01-01] 1000-1500@0.5=250[2026-01-01]");
  EXPECT_EQ(r.amount.ToString(), "1350");
  EXPECT_EQ(r.quantity, D("1500"));
  EXPECT_EQ(r.billable_quantity, D("1500"));
  EXPECT_EQ(r.tiers[0].threshold, D("0"));
  EXPECT_EQ(r.tiers[0].next_threshold, D("100"));
  EXPECT_EQ(r.tiers[2].next_threshold, std::nullopt);
}

TEST(Rating, QuantityEndingOnAThresholdStaysInTheLowerTier) {
  EXPECT_EQ(Describe(Rate(Graduated(), {{H("2026-10-01T00:00:00Z"), D("100")}})),
            "0-100@2=200[2026-01-01]");
  EXPECT_EQ(Describe(Rate(Graduated(), {{H("2026-10-01T00:00:00Z"), D("100.5")}})),
            "0-100@2=200[2026-01-01] 100-100.5@1=0.5[2026-01-01]");
}

TEST(Rating, TiersAccumulateOverTheHoursOfThePeriod) {
  std::vector<HourlyQuantity> hours;
  for (int i = 0; i < 30; ++i) hours.push_back({UsageHour::FromHours(493'000 + i), D("40")});
  MeterRating r = Rate(Graduated(), hours);
  // 1200 in all: the tier boundaries fall inside the 3rd and the 25th hour.
  EXPECT_EQ(r.tiers.size(), 3u);
  EXPECT_EQ(r.amount.ToString(), "1200");  // 100×2 + 900×1 + 200×0.5
  EXPECT_EQ(r.end_position, D("1200"));
}

TEST(Rating, HourOrderAndRepeatedHoursDoNotMatter) {
  std::vector<HourlyQuantity> hours;
  for (int i = 0; i < 50; ++i) {
    hours.push_back({UsageHour::FromHours(493'000 + i % 20), D("7.25")});
  }
  MeterRating a = Rate(Graduated(), hours);
  std::shuffle(hours.begin(), hours.end(), std::mt19937(7));
  MeterRating b = Rate(Graduated(), hours);
  EXPECT_EQ(Describe(a), Describe(b));
  EXPECT_EQ(a.amount, b.amount);
  EXPECT_EQ(a.quantity, D("362.5"));
}

// Hours already in ascending order (as the store gives them) are rated in place; any other
// input is sorted and merged first. Both must give the same rating.
TEST(Rating, AscendingHoursRateLikeTheSameUsageShuffledAndSplit) {
  const PriceList prices =
      Prices({Entry("m", "2026-01-01", {{"0", "2"}, {"100", "1"}, {"1000", "0.5"}}, "30"),
              Entry("m", "2026-10-01T05:00:00Z", {{"0", "3"}, {"200", "0.25"}}, "10")});
  std::vector<HourlyQuantity> ascending, split;
  for (int i = 0; i < 40; ++i) {
    const UsageHour h = UsageHour::FromHours(H("2026-10-01T00:00:00Z").hours() + i);
    ascending.push_back({h, D("12.5")});
    split.push_back({h, D("5")});
    split.push_back({h, D("7.5")});
  }
  std::shuffle(split.begin(), split.end(), std::mt19937(11));
  MeterRating a = Rate(prices, ascending);
  MeterRating b = Rate(prices, split);
  EXPECT_EQ(Describe(a), Describe(b));
  EXPECT_EQ(a.amount, b.amount);
  EXPECT_EQ(a.included_quantity, b.included_quantity);
  EXPECT_EQ(a.quantity, D("500"));
  EXPECT_EQ(b.quantity, D("500"));
  EXPECT_EQ(a.tiers.size(), 3u);  // 2 tiers of the first entry, then its price change
}

TEST(Rating, IncludedQuantityIsFreeAndTiersStartAfterIt) {
  PriceList p = Prices({Entry("m", "2026-01-01", {{"0", "2"}, {"100", "1"}}, "50")});
  MeterRating r =
      Rate(p, {{H("2026-10-01T00:00:00Z"), D("120")}, {H("2026-10-02T00:00:00Z"), D("60")}});
  EXPECT_EQ(r.included_quantity, D("50"));
  EXPECT_EQ(r.billable_quantity, D("130"));
  // billable = 180 - 50 = 130: 100 at 2, 30 at 1.
  EXPECT_EQ(Describe(r), "0-100@2=200[2026-01-01] 100-130@1=30[2026-01-01]");
  EXPECT_EQ(r.amount.ToString(), "230");
}

TEST(Rating, UsageWithinTheIncludedQuantityCostsNothing) {
  PriceList p = Prices({Entry("m", "2026-01-01", {{"0", "2"}}, "50")});
  MeterRating r =
      Rate(p, {{H("2026-10-01T00:00:00Z"), D("20")}, {H("2026-10-01T01:00:00Z"), D("30")}});
  EXPECT_EQ(r.included_quantity, D("50"));
  EXPECT_TRUE(r.billable_quantity.is_zero());
  EXPECT_TRUE(r.tiers.empty());
  EXPECT_TRUE(r.amount.is_zero());
}

TEST(Rating, PriceChangeMidPeriodKeepsTheCumulativeTierPosition) {
  PriceList p = Prices({Entry("m", "2026-01-01", {{"0", "1"}, {"100", "0.5"}}),
                        Entry("m", "2026-10-16", {{"0", "2"}, {"100", "1"}})});
  MeterRating r =
      Rate(p, {{H("2026-10-20T00:00:00Z"), D("50")}, {H("2026-10-01T00:00:00Z"), D("80")}});
  // 80 on Oct 1 at the old price; 50 on Oct 20 at the new price, continuing from 80.
  EXPECT_EQ(Describe(r), "0-80@1=80[2026-01-01] 80-100@2=40[2026-10-16] 100-130@1=30[2026-10-16]");
  EXPECT_EQ(r.amount.ToString(), "150");
}

TEST(Rating, NewEntryAppliesFromItsEffectiveInstant) {
  PriceList p = Prices(
      {Entry("m", "2026-01-01", {{"0", "1"}}), Entry("m", "2026-10-16T12:00:00Z", {{"0", "3"}})});
  MeterRating r =
      Rate(p, {{H("2026-10-16T11:00:00Z"), D("1")}, {H("2026-10-16T12:00:00Z"), D("1")}});
  EXPECT_EQ(r.amount.ToString(), "4");
}

TEST(Rating, IncludedQuantityChangeMidPeriodAppliesToTheSameAxis) {
  // 100 included until Oct 16, none after: position 80 -> 130 is billable from 80 on.
  PriceList p = Prices({Entry("m", "2026-01-01", {{"0", "1"}}, "100"),
                        Entry("m", "2026-10-16", {{"0", "1"}, {"100", "0.5"}}, "0")});
  MeterRating r =
      Rate(p, {{H("2026-10-01T00:00:00Z"), D("80")}, {H("2026-10-20T00:00:00Z"), D("50")}});
  EXPECT_EQ(r.included_quantity, D("80"));
  EXPECT_EQ(Describe(r), "80-100@1=20[2026-10-16] 100-130@0.5=15[2026-10-16]");
}

TEST(Rating, UsageBeforeTheFirstEntryIsUnpricedAndTakesNoPosition) {
  PriceList p = Prices({Entry("m", "2026-10-10", {{"0", "2"}, {"10", "1"}})});
  MeterRating r =
      Rate(p, {{H("2026-10-01T00:00:00Z"), D("100")}, {H("2026-10-11T00:00:00Z"), D("15")}});
  EXPECT_EQ(r.unpriced_quantity, D("100"));
  EXPECT_EQ(r.quantity, D("115"));
  EXPECT_EQ(Describe(r), "0-10@2=20[2026-10-10] 10-15@1=5[2026-10-10]");
}

TEST(Rating, MeterNotOnTheCardIsUnpriced) {
  MeterRating r = Rate(Graduated(), {{H("2026-10-01T00:00:00Z"), D("3")}}, "0", "other");
  EXPECT_EQ(r.unpriced_quantity, D("3"));
  EXPECT_TRUE(r.amount.is_zero());
  EXPECT_EQ(r.meter_id, "other");
}

TEST(Rating, MeterIdsMatchInAnyCase) {
  PriceList p = Prices({Entry("AbC-1", "2026-01-01", {{"0", "2"}})});
  EXPECT_EQ(Rate(p, {{H("2026-10-01T00:00:00Z"), D("3")}}, "0", "abc-1").amount.ToString(), "6");
}

TEST(Rating, StartPositionContinuesThePeriod) {
  PriceList p = Prices({Entry("m", "2026-01-01", {{"0", "2"}, {"100", "1"}}, "50")});
  // 120 already billed: the included 50 and 70 of tier 0 are used up.
  MeterRating r = Rate(p, {{H("2026-10-30T00:00:00Z"), D("40")}}, "120");
  EXPECT_TRUE(r.included_quantity.is_zero());
  EXPECT_EQ(Describe(r), "70-100@2=60[2026-01-01] 100-110@1=10[2026-01-01]");
  EXPECT_EQ(r.start_position, D("120"));
  EXPECT_EQ(r.end_position, D("160"));
  // From 30, the remaining 20 of the included quantity comes first.
  MeterRating s = Rate(p, {{H("2026-10-30T00:00:00Z"), D("40")}}, "30");
  EXPECT_EQ(s.included_quantity, D("20"));
  EXPECT_EQ(Describe(s), "0-20@2=40[2026-01-01]");
}

TEST(Rating, AmountsAreExactDecimals) {
  PriceList p = Prices({Entry("m", "2026-01-01", {{"0", "0.333333333333333"}})});
  std::vector<HourlyQuantity> hours;
  for (int i = 0; i < 10; ++i) hours.push_back({UsageHour::FromHours(493'000 + i), D("0.1")});
  MeterRating r = Rate(p, hours);
  EXPECT_EQ(r.amount.ToString(), "0.333333333333333");
  PriceList q = Prices({Entry("m", "2026-01-01", {{"0", "0.000000000000001"}})});
  EXPECT_EQ(Rate(q, {{H("2026-10-01T00:00:00Z"), D("0.000000000000001")}}).amount.ToString(),
            "0.000000000000000000000000000001");
}

TEST(Rating, NegativeQuantityOrStartIsRefused) {
  std::vector<HourlyQuantity> hours = {{H("2026-10-01T00:00:00Z"), D("-1")}};
  EXPECT_FALSE(RateMeterUsage(Graduated(), "m", hours).ok());
  // Ascending hours (rated in place) and repeated hours (merged first) are both checked.
  std::vector<HourlyQuantity> ascending = {{H("2026-10-01T00:00:00Z"), D("5")},
                                           {H("2026-10-01T01:00:00Z"), D("-1")}};
  EXPECT_FALSE(RateMeterUsage(Graduated(), "m", ascending).ok());
  std::vector<HourlyQuantity> repeated = {{H("2026-10-01T00:00:00Z"), D("5")},
                                          {H("2026-10-01T00:00:00Z"), D("-1")}};
  EXPECT_FALSE(RateMeterUsage(Graduated(), "m", repeated).ok());
  std::vector<HourlyQuantity> ok = {{H("2026-10-01T00:00:00Z"), D("1")}};
  EXPECT_FALSE(RateMeterUsage(Graduated(), "m", ok, D("-1")).ok());
}

}  // namespace
}  // namespace tally::pricing
