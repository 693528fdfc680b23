#include "pricing/invoice.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tally::pricing {
namespace {

using ::testing::HasSubstr;

Decimal D(std::string_view s) { return *Decimal::Parse(s); }
UtcTime T(std::string_view s) { return *ParseUtcTime(s); }
UsageHour H(std::string_view s) { return *UsageHour::FromUtc(T(s)); }

BillingPeriod Period(std::string_view month) {
  return *BillingPeriod::Make(*BillingMonth::Parse(month), TimeZone::Utc());
}

RateCardMeter Entry(std::string id, std::string_view price,
                    std::string_view effective = "2026-01-01", std::string_view included = "0") {
  RateCardMeter m;
  m.meter_id = std::move(id);
  m.meter_name = "name of " + m.meter_id;
  m.unit = "Hours";
  m.effective_date = T(effective);
  m.meter_rates.push_back({Decimal(), D(price)});
  m.included_quantity = D(included);
  return m;
}

PriceList Prices(std::vector<RateCardMeter> meters, std::vector<OfferTerm> terms = {},
                 std::string_view currency = "USD") {
  RateCard card;
  card.offer_durable_id = "MS-AZR-0003P";
  card.currency = *Currency::Find(currency);
  card.meters = std::move(meters);
  card.offer_terms = std::move(terms);
  auto list = PriceList::Make(std::move(card));
  EXPECT_TRUE(list.ok()) << list.status().ToString();
  return std::move(list).value();
}

// Usage of `quantity` in the first hour of October 2026.
MeterUsage Use(std::string meter, std::string_view quantity,
               std::string_view hour = "2026-10-01T00:00:00Z") {
  return MeterUsage{std::move(meter), {{H(hour), D(quantity)}}};
}

Invoice Make(const PriceList& prices, std::vector<MeterUsage> usage,
             SubscriptionPricing pricing = {}, std::string_view month = "2026-10",
             std::vector<LateUsage> late = {}) {
  InvoiceRequest req;
  req.subscription_id = "sub";
  req.period = Period(month);
  req.pricing = pricing;
  req.usage = std::move(usage);
  req.late_usage = std::move(late);
  auto inv = MakeInvoice(prices, req);
  EXPECT_TRUE(inv.ok()) << inv.status().ToString();
  return inv.ok() ? std::move(inv).value() : Invoice();
}

// Every line as "kind[:meter]=amount", then "total=...".
std::string Lines(const Invoice& inv) {
  std::string s;
  for (const InvoiceLine& l : inv.lines) {
    s += std::string(LineKindName(l.kind));
    if (!l.meter_id.empty()) s += ":" + l.meter_id;
    s += "=" + l.amount.FormatAmount() + " ";
  }
  return s + "total=" + inv.total.FormatAmount();
}

TEST(Invoice, EachLineIsRoundedHalfEvenAndTheTotalIsTheSumOfRoundedLines) {
  PriceList p = Prices({Entry("a", "0.125"), Entry("b", "0.135")});
  // 0.0125 -> 0.01 and 0.0135 -> 0.01, although their exact sum 0.026 would round to 0.03.
  Invoice inv = Make(p, {Use("a", "0.1"), Use("b", "0.1")});
  EXPECT_EQ(Lines(inv), "usage:a=0.01 usage:b=0.01 total=0.02");
  EXPECT_EQ(inv.lines[0].unrounded_amount.ToString(), "0.0125");
  // Ties go to the even cent: 0.125 -> 0.12, 0.135 -> 0.14.
  EXPECT_EQ(Lines(Make(p, {Use("a", "1"), Use("b", "1")})), "usage:a=0.12 usage:b=0.14 total=0.26");
  EXPECT_EQ(inv.currency.code(), "USD");
  EXPECT_EQ(inv.offer_durable_id, "MS-AZR-0003P");
  EXPECT_EQ(inv.period.ToString(), "2026-10");
}

TEST(Invoice, JapaneseYenRoundsToWholeYen) {
  PriceList p = Prices({Entry("a", "1.5"), Entry("b", "1.5")}, {}, "JPY");
  EXPECT_EQ(Lines(Make(p, {Use("a", "3"), Use("b", "5")})), "usage:a=4 usage:b=8 total=12");
}

TEST(Invoice, KuwaitiDinarRoundsToThreeDigits) {
  PriceList p = Prices({Entry("a", "0.0125"), Entry("b", "0.0135")}, {}, "KWD");
  EXPECT_EQ(Lines(Make(p, {Use("a", "1"), Use("b", "1")})),
            "usage:a=0.012 usage:b=0.014 total=0.026");
}

TEST(Invoice, DiscountIsANegativePercentageOfEachLineRounded) {
  PriceList p = Prices({Entry("a", "100"), Entry("b", "33.33")});
  Invoice inv = Make(p, {Use("a", "1"), Use("b", "1")}, {D("-10"), std::nullopt});
  // -10.00 and -3.333 -> -3.33.
  EXPECT_EQ(Lines(inv), "usage:a=100.00 usage:b=33.33 discount=-13.33 total=120.00");
  EXPECT_EQ(inv.lines[1].adjustment.FormatAmount(), "-3.33");
  EXPECT_EQ(inv.lines[1].net.FormatAmount(), "30.00");
  EXPECT_EQ(inv.lines[2].percent, D("-10"));
}

TEST(Invoice, MarkupIsAPositivePercentage) {
  PriceList p = Prices({Entry("a", "10.01")});
  // 10.01 × 15% = 1.5015 -> 1.50.
  EXPECT_EQ(Lines(Make(p, {Use("a", "1")}, {D("15"), std::nullopt})),
            "usage:a=10.01 markup=1.50 total=11.51");
}

TEST(Invoice, HundredPercentDiscountMakesItFree) {
  PriceList p = Prices({Entry("a", "10.01")});
  EXPECT_EQ(Lines(Make(p, {Use("a", "1")}, {D("-100"), std::nullopt})),
            "usage:a=10.01 discount=-10.01 total=0.00");
}

std::vector<OfferTerm> Commitment(std::vector<std::string> excluded = {}) {
  return {MonetaryCommitment{{{D("0"), D("0")}, {D("1000"), D("5")}, {D("5000"), D("10")}},
                             std::move(excluded),
                             T("2026-01-01T00:00:00Z")}};
}

TEST(Invoice, CommitmentDiscountFollowsTheCommitmentLevel) {
  PriceList p = Prices({Entry("a", "200")}, Commitment());
  EXPECT_EQ(Lines(Make(p, {Use("a", "1")}, {Decimal(), D("2500")})),
            "usage:a=200.00 commitmentDiscount=-10.00 total=190.00");
  EXPECT_EQ(Lines(Make(p, {Use("a", "1")}, {Decimal(), D("5000")})),
            "usage:a=200.00 commitmentDiscount=-20.00 total=180.00");
  // Below the first paying level, or without a commitment: no discount.
  EXPECT_EQ(Lines(Make(p, {Use("a", "1")}, {Decimal(), D("999.99")})),
            "usage:a=200.00 total=200.00");
  EXPECT_EQ(Lines(Make(p, {Use("a", "1")})), "usage:a=200.00 total=200.00");
}

TEST(Invoice, CommitmentSkipsExcludedAndThirdPartyMeters) {
  RateCardMeter third = Entry("c", "50");
  third.meter_tags = {"Third Party"};
  PriceList p = Prices({Entry("a", "200"), Entry("B", "100"), third}, Commitment({"b"}));
  Invoice inv = Make(p, {Use("a", "1"), Use("b", "1"), Use("c", "1")}, {Decimal(), D("2500")});
  EXPECT_EQ(Lines(inv),
            "usage:a=200.00 usage:b=100.00 usage:c=50.00 commitmentDiscount=-10.00 total=340.00");
  EXPECT_TRUE(inv.lines[0].commitment_eligible);
  EXPECT_FALSE(inv.lines[1].commitment_eligible);
  EXPECT_FALSE(inv.lines[2].commitment_eligible);
}

TEST(Invoice, CommitmentAppliesAfterTheSubscriptionDiscount) {
  PriceList p = Prices({Entry("a", "200")}, Commitment());
  // 200 - 10% = 180; 5% of 180 = 9.
  EXPECT_EQ(Lines(Make(p, {Use("a", "1")}, {D("-10"), D("1000")})),
            "usage:a=200.00 discount=-20.00 commitmentDiscount=-9.00 total=171.00");
}

std::vector<OfferTerm> Credit(std::string_view amount, std::vector<std::string> excluded = {},
                              std::string_view effective = "2026-01-01") {
  return {MonetaryCredit{D(amount), std::move(excluded), T(effective)}};
}

TEST(Invoice, CreditPaysUpToItsAmount) {
  PriceList p = Prices({Entry("a", "100")}, Credit("150"));
  Invoice inv = Make(p, {Use("a", "2")});
  EXPECT_EQ(Lines(inv), "usage:a=200.00 credit=-150.00 total=50.00");
  EXPECT_EQ(inv.credit_available.FormatAmount(), "150.00");
  EXPECT_EQ(inv.credit_used.FormatAmount(), "150.00");
}

TEST(Invoice, CreditNeverTakesTheTotalBelowZero) {
  PriceList p = Prices({Entry("a", "100")}, Credit("150"));
  Invoice inv = Make(p, {Use("a", "0.5")});
  EXPECT_EQ(Lines(inv), "usage:a=50.00 credit=-50.00 total=0.00");
  EXPECT_EQ(inv.credit_used.FormatAmount(), "50.00");
  // Without usage the credit line is there, with nothing used.
  EXPECT_EQ(Lines(Make(p, {})), "credit=0.00 total=0.00");
}

TEST(Invoice, CreditDoesNotPayExcludedMeters) {
  PriceList p = Prices({Entry("a", "100"), Entry("ip", "80")}, Credit("150", {"IP"}));
  Invoice inv = Make(p, {Use("a", "1"), Use("ip", "1")});
  EXPECT_EQ(Lines(inv), "usage:a=100.00 usage:ip=80.00 credit=-100.00 total=80.00");
  EXPECT_FALSE(inv.lines[1].credit_eligible);
}

TEST(Invoice, CreditPaysTheNetAfterDiscounts) {
  std::vector<OfferTerm> terms = Commitment();
  terms.push_back(Credit("1000")[0]);
  PriceList p = Prices({Entry("a", "200")}, terms);
  EXPECT_EQ(Lines(Make(p, {Use("a", "1")}, {D("-10"), D("1000")})),
            "usage:a=200.00 discount=-20.00 commitmentDiscount=-9.00 credit=-171.00 total=0.00");
}

TEST(Invoice, RecurringChargeIsAddedAfterTheCredit) {
  PriceList p = Prices({Entry("a", "100")},
                       {Credit("150")[0], RecurringCharge{D("25"), T("2026-01-01T00:00:00Z")}});
  EXPECT_EQ(Lines(Make(p, {Use("a", "1")})),
            "usage:a=100.00 credit=-100.00 recurringCharge=25.00 total=25.00");
  PriceList yen = Prices({}, {RecurringCharge{D("99.5"), T("2026-01-01T00:00:00Z")}}, "JPY");
  EXPECT_EQ(Lines(Make(yen, {})), "recurringCharge=100 total=100");
}

TEST(Invoice, OfferTermsInForceAtThePeriodStartApply) {
  std::vector<OfferTerm> terms = {MonetaryCredit{D("10"), {}, T("2026-01-01T00:00:00Z")},
                                  MonetaryCredit{D("20"), {}, T("2026-10-15T00:00:00Z")}};
  PriceList p = Prices({Entry("a", "100")}, terms);
  // The credit of 20 begins mid-October: October still has 10, November has 20.
  EXPECT_EQ(Lines(Make(p, {Use("a", "1")})), "usage:a=100.00 credit=-10.00 total=90.00");
  EXPECT_EQ(Lines(Make(p, {Use("a", "1", "2026-11-01T00:00:00Z")}, {}, "2026-11")),
            "usage:a=100.00 credit=-20.00 total=80.00");
  // A term that begins after the period has not applied yet.
  PriceList later = Prices({Entry("a", "100")}, Credit("10", {}, "2026-12-01"));
  EXPECT_EQ(Lines(Make(later, {Use("a", "1")})), "usage:a=100.00 total=100.00");
}

TEST(Invoice, LateUsageBecomesAnAdjustmentLineOfTheNextInvoice) {
  // September at 1.00 with 10 included, tiers {0: 1, 100: 0.5}; October at 2.00.
  RateCardMeter sep = Entry("a", "1", "2026-09-01", "10");
  sep.meter_rates.push_back({D("100"), D("0.5")});
  PriceList p = Prices({sep, Entry("a", "2", "2026-10-01")});
  // September's final invoice billed 105 (10 free, 95 billable); 20 more arrive in October.
  LateUsage late{Period("2026-09"), "a", D("105"), {{H("2026-09-30T23:00:00Z"), D("20")}}};
  Invoice inv = Make(p, {Use("a", "3")}, {}, "2026-10", {late});
  // Billable positions 95..115 at September's prices: 5 at 1.00 and 15 at 0.50.
  EXPECT_EQ(Lines(inv), "usage:a=6.00 adjustment:a=12.50 total=18.50");
  const InvoiceLine& adj = inv.lines[1];
  EXPECT_EQ(adj.kind, LineKind::kAdjustment);
  ASSERT_TRUE(adj.adjusted_period.has_value());
  EXPECT_EQ(adj.adjusted_period->ToString(), "2026-09");
  EXPECT_EQ(adj.rating.start_position, D("105"));
  EXPECT_EQ(adj.rating.quantity, D("20"));
  EXPECT_EQ(adj.meter_name, "name of a");
  EXPECT_EQ(inv.usage_amount.FormatAmount(), "18.50");
}

TEST(Invoice, UnpricedUsageIsListedAtZero) {
  PriceList p = Prices({Entry("a", "1")});
  Invoice inv = Make(p, {Use("zzz", "5"), Use("a", "1")});
  EXPECT_EQ(Lines(inv), "usage:a=1.00 usage:zzz=0.00 total=1.00");
  EXPECT_TRUE(inv.HasUnpricedUsage());
  EXPECT_EQ(inv.lines[1].rating.unpriced_quantity, D("5"));
  EXPECT_FALSE(Make(p, {Use("a", "1")}).HasUnpricedUsage());
}

TEST(Invoice, LinesCarryTheMeterNameOfTheCard) {
  PriceList p = Prices({Entry("a", "1")});
  Invoice inv = Make(p, {Use("A", "1")});
  EXPECT_EQ(inv.lines[0].meter_name, "name of a");
  EXPECT_EQ(inv.lines[0].unit, "Hours");
  EXPECT_EQ(inv.lines[0].meter_id, "A");  // as the usage spells it
}

TEST(Invoice, EveryProblemOfTheRequestIsReportedAtOnce) {
  PriceList p = Prices({Entry("a", "1")});
  InvoiceRequest req;
  req.subscription_id = "sub";
  req.period = Period("2026-10");
  req.pricing = {D("-101"), D("-1")};
  req.usage = {Use("a", "1", "2026-11-01T00:00:00Z"), Use("A", "-1"), Use("", "1")};
  req.late_usage = {
      LateUsage{Period("2026-10"), "a", D("0"), {}},
      LateUsage{Period("2026-09"), "b", D("-1"), {{H("2026-10-01T00:00:00Z"), D("1")}}}};
  auto inv = MakeInvoice(p, req);
  ASSERT_FALSE(inv.ok());
  const std::string m = inv.status().message();
  EXPECT_THAT(m, HasSubstr("pricing.adjustment_percent: a discount cannot exceed 100%"));
  EXPECT_THAT(m, HasSubstr("pricing.commitment: must not be negative"));
  EXPECT_THAT(
      m, HasSubstr("usage[0].hours[0]: the hour 2026-11-01T00:00:00Z is not in period 2026-10"));
  EXPECT_THAT(m, HasSubstr("usage[1].meter_id: meter A is listed twice"));
  EXPECT_THAT(m, HasSubstr("usage[1].hours[0]: the quantity must not be negative"));
  EXPECT_THAT(m, HasSubstr("usage[2].meter_id: must not be empty"));
  EXPECT_THAT(m, HasSubstr("late_usage[0].period: period 2026-10 does not end before"));
  EXPECT_THAT(m, HasSubstr("late_usage[1].invoiced_quantity: is negative"));
  EXPECT_THAT(
      m,
      HasSubstr("late_usage[1].hours[0]: the hour 2026-10-01T00:00:00Z is not in period 2026-09"));
}

TEST(Invoice, LinesComeInAFixedOrder) {
  std::vector<OfferTerm> terms = Commitment();
  terms.push_back(Credit("1")[0]);
  terms.push_back(RecurringCharge{D("2"), T("2026-01-01T00:00:00Z")});
  PriceList p = Prices({Entry("a", "1", "2026-08-01"), Entry("b", "1", "2026-08-01")}, terms);
  LateUsage late_b{Period("2026-09"), "b", D("0"), {{H("2026-09-02T00:00:00Z"), D("1")}}};
  LateUsage late_a{Period("2026-08"), "b", D("0"), {{H("2026-08-02T00:00:00Z"), D("1")}}};
  Invoice inv =
      Make(p, {Use("b", "1"), Use("a", "1")}, {D("10"), D("1000")}, "2026-10", {late_b, late_a});
  std::vector<std::string> kinds;
  for (const auto& l : inv.lines) {
    kinds.push_back(std::string(LineKindName(l.kind)) + ":" + l.meter_id +
                    (l.adjusted_period ? "@" + l.adjusted_period->ToString() : ""));
  }
  EXPECT_THAT(kinds, ::testing::ElementsAre(
                         "usage:a", "usage:b", "adjustment:b@2026-08", "adjustment:b@2026-09",
                         "markup:", "commitmentDiscount:", "credit:", "recurringCharge:"));
}

}  // namespace
}  // namespace tally::pricing
