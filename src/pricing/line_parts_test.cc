#include "pricing/line_parts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

namespace tally::pricing {
namespace {

using ::testing::HasSubstr;

Decimal D(std::string_view s) { return *Decimal::Parse(s); }
UtcTime T(std::string_view s) { return *ParseUtcTime(s); }

// A card with one meter "m": tiers {threshold -> price}, an included quantity, and a monetary
// commitment giving 5 % from a commitment of 1000.
PriceList Card(std::vector<MeterRate> rates, std::string_view included) {
  RateCardMeter m;
  m.meter_id = "m";
  m.meter_name = "Meter";
  m.unit = "Hours";
  m.effective_date = T("2026-01-01T00:00:00Z");
  m.meter_rates = std::move(rates);
  m.included_quantity = D(included);
  RateCard card;
  card.offer_durable_id = "offer";
  card.currency = *Currency::Find("USD");
  card.meters.push_back(std::move(m));
  card.offer_terms.push_back(
      MonetaryCommitment{{{D("0"), D("0")}, {D("1000"), D("5")}}, {}, T("2026-01-01T00:00:00Z")});
  auto list = PriceList::Make(std::move(card));
  EXPECT_TRUE(list.ok()) << list.status().ToString();
  return std::move(list).value();
}

Invoice Make(const PriceList& prices, std::vector<std::string_view> hourly, Decimal percent,
             std::optional<Decimal> commitment) {
  InvoiceRequest req;
  req.subscription_id = "sub";
  req.period = *BillingPeriod::Make(*BillingMonth::Parse("2026-10"), TimeZone::Utc());
  req.pricing.adjustment_percent = percent;
  req.pricing.commitment = commitment;
  MeterUsage use{"m", {}};
  UsageHour hour = *UsageHour::FromUtc(T("2026-10-01T00:00:00Z"));
  for (std::string_view q : hourly) {
    use.hours.push_back({hour, D(q)});
    hour = hour.Next();
  }
  req.usage.push_back(std::move(use));
  auto inv = MakeInvoice(prices, req);
  EXPECT_TRUE(inv.ok()) << inv.status().ToString();
  return std::move(inv).value();
}

// The parts' shares add up to the line's rounded amounts, none is negative, and every priced
// part states quantity × unit price exactly.
void ExpectPartsAddUp(const InvoiceLine& line, const std::vector<LinePart>& parts) {
  const Money zero = Money::Zero(line.amount.currency());
  Money amount = zero, adjustment = zero, commitment = zero, net = zero;
  Decimal quantity;
  for (const LinePart& p : parts) {
    amount = *Money::Add(amount, p.amount);
    adjustment = *Money::Add(adjustment, p.adjustment);
    commitment = *Money::Add(commitment, p.commitment_discount);
    net = *Money::Add(net, p.net);
    quantity = quantity + p.quantity;
    EXPECT_FALSE(p.amount.amount().is_negative());
    EXPECT_FALSE(p.net.amount().is_negative());
    EXPECT_EQ(p.list_cost, ExactAmount::Product(p.quantity, p.list_unit_price));
  }
  EXPECT_EQ(amount, line.amount);
  EXPECT_EQ(adjustment, line.adjustment);
  EXPECT_EQ(commitment, line.commitment_discount);
  EXPECT_EQ(net, line.net);
  EXPECT_EQ(quantity, line.rating.quantity);
}

TEST(LineParts, IncludedQuantityThenOnePartPerTierWithExactListAndContractedFigures) {
  // 100 included; billable 250: 0-100 at 0.105, 100-200 at 0.0955, 200-250 at 0.08.
  PriceList prices =
      Card({{D("0"), D("0.105")}, {D("100"), D("0.0955")}, {D("200"), D("0.08")}}, "100");
  Invoice inv = Make(prices, {"200", "150"}, D("-10"), std::nullopt);
  const InvoiceLine& line = inv.lines[0];
  auto parts = SplitLine(line, TermPercentsOf(inv));
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 4u);

  EXPECT_EQ((*parts)[0].kind, LinePartKind::kIncluded);
  EXPECT_EQ((*parts)[0].quantity, D("100"));
  EXPECT_EQ((*parts)[0].contracted_unit_price, "0");
  EXPECT_EQ((*parts)[0].net.FormatAmount(), "0.00");

  EXPECT_EQ((*parts)[1].kind, LinePartKind::kTier);
  EXPECT_EQ((*parts)[1].tier->threshold, D("0"));
  EXPECT_EQ((*parts)[1].list_cost.ToString(), "10.5");
  EXPECT_EQ((*parts)[1].contracted_unit_price, "0.0945");  // 0.105 × 90 %
  EXPECT_EQ((*parts)[1].contracted_cost, "9.45");
  EXPECT_EQ((*parts)[2].list_cost.ToString(), "9.55");
  EXPECT_EQ((*parts)[2].contracted_unit_price, "0.08595");
  EXPECT_EQ((*parts)[3].list_cost.ToString(), "4");
  // 10.5 + 9.55 + 4 = 24.05; the line's 10 % discount share is split over the tiers.
  EXPECT_EQ(line.amount.FormatAmount(), "24.05");
  ExpectPartsAddUp(line, *parts);
}

TEST(LineParts, CommitmentDiscountIsSplitToo) {
  PriceList prices = Card({{D("0"), D("0.333")}, {D("10"), D("0.111")}}, "0");
  Invoice inv = Make(prices, {"7", "9.5"}, D("12.5"), D("1500"));
  const InvoiceLine& line = inv.lines[0];
  ASSERT_FALSE(line.commitment_discount.amount().is_zero());
  auto parts = SplitLine(line, TermPercentsOf(inv));
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 2u);
  ExpectPartsAddUp(line, *parts);
}

TEST(LineParts, ALineWithNoUsageHasOneFreePart) {
  PriceList prices = Card({{D("0"), D("1")}}, "0");
  Invoice inv = Make(prices, {"0"}, Decimal(), std::nullopt);
  auto parts = SplitLine(inv.lines[0], TermPercentsOf(inv));
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].quantity, Decimal());
  EXPECT_EQ((*parts)[0].net.FormatAmount(), "0.00");
}

TEST(LineParts, RefusesTermLinesAndLinesThatDoNotAddUp) {
  PriceList prices = Card({{D("0"), D("1.5")}}, "0");
  Invoice inv = Make(prices, {"3"}, D("-10"), std::nullopt);
  ASSERT_EQ(inv.lines[1].kind, LineKind::kDiscount);
  EXPECT_THAT(SplitLine(inv.lines[1], TermPercentsOf(inv)).status().message(),
              HasSubstr("only usage and adjustment lines"));
  InvoiceLine tampered = inv.lines[0];
  tampered.amount = Money(D("4.51"), tampered.amount.currency());
  EXPECT_THAT(SplitLine(tampered, TermPercentsOf(inv)).status().message(),
              HasSubstr("does not add up: amount"));
  EXPECT_THAT(SplitLine(inv.lines[0], TermPercents{D("-20"), Decimal()}).status().message(),
              HasSubstr("discount or markup"));
}

// For random tiers, quantities, discounts or markups and commitments, the parts always add up
// to the line exactly and no share is negative.
TEST(LineParts, PropertyPartsAlwaysAddUpToTheLine) {
  std::mt19937_64 rng(20261123);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int round = 0; round < 300; ++round) {
    std::vector<MeterRate> rates;
    int threshold = 0;
    const int tiers = pick(1, 4);
    for (int t = 0; t < tiers; ++t) {
      rates.push_back(
          {Decimal::FromInt(threshold), *Decimal::Parse("0." + std::to_string(pick(1, 99999)))});
      threshold += pick(1, 50);
    }
    PriceList prices = Card(std::move(rates), std::to_string(pick(0, 20)));
    std::vector<std::string> hours;
    for (int h = pick(1, 6); h > 0; --h) {
      hours.push_back(std::to_string(pick(0, 40)) + "." + std::to_string(pick(0, 999)));
    }
    std::vector<std::string_view> views(hours.begin(), hours.end());
    const Decimal percent =
        *Decimal::Parse(std::to_string(pick(-99, 50)) + "." + std::to_string(pick(0, 99)));
    std::optional<Decimal> commitment;
    if (pick(0, 1) == 1) commitment = Decimal::FromInt(pick(0, 2000));
    Invoice inv = Make(prices, views, percent, commitment);
    auto parts = SplitLine(inv.lines[0], TermPercentsOf(inv));
    ASSERT_TRUE(parts.ok()) << parts.status().ToString();
    ExpectPartsAddUp(inv.lines[0], *parts);
  }
}

}  // namespace
}  // namespace tally::pricing
