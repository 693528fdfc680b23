// The worked example of docs/pricing.md, computed: the rate card, subscription and usage
// blocks are read from the document, the invoice is computed, written out with the arithmetic
// behind each amount, and compared character for character with the document's invoice block.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "common/strings.h"
#include "pricing/invoice.h"
#include "pricing/rate_card_json.h"

namespace tally::pricing {
namespace {

std::string ReadDoc() {
  std::ifstream in(TALLY_PRICING_DOC);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The fenced block that follows the line "<!-- example:NAME -->".
std::string Block(const std::string& doc, std::string_view name) {
  const std::string marker = "<!-- example:" + std::string(name) + " -->\n";
  const size_t at = doc.find(marker);
  if (at == std::string::npos) return "";
  const size_t open = doc.find('\n', at + marker.size());  // end of the ``` line
  const size_t close = doc.find("\n```", open);
  if (open == std::string::npos || close == std::string::npos) return "";
  return doc.substr(open + 1, close - open);
}

std::vector<std::string> Words(std::string_view line) {
  std::vector<std::string> words;
  std::istringstream in{std::string(line)};
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

// JSON text without the whitespace outside strings.
std::string Compact(std::string_view json) {
  std::string out;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < json.size()) {
        out.push_back(json[++i]);
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
      out.push_back(c);
    } else if (c != ' ' && c != '\n' && c != '\t' && c != '\r') {
      out.push_back(c);
    }
  }
  return out;
}

Decimal D(std::string_view s) { return *Decimal::Parse(s); }

// percent / 100, exactly (the example's percentages have few digits).
Decimal Hundredth(Decimal percent) { return Decimal::FromRaw(percent.raw() / 100); }

std::string Pad(std::string s, size_t width, bool right) {
  if (s.size() >= width) return s;
  return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

// "(-6.30 - 0.33 - 0.20)"
std::string SumOf(const std::vector<Money>& parts) {
  std::string s;
  for (const Money& m : parts) {
    if (s.empty()) {
      s = m.FormatAmount();
    } else {
      s += m.amount().is_negative() ? " - " + m.Negated().FormatAmount() : " + " + m.FormatAmount();
    }
  }
  return s;
}

std::string Render(const Invoice& inv, const PriceList& prices, const SubscriptionPricing& sp) {
  std::string out = "Invoice of " + inv.subscription_id + " for " + inv.period.ToString() + " (" +
                    inv.period.zone().name() + "), offer " + inv.offer_durable_id + ", " +
                    std::string(inv.currency.code()) + "\n\n";
  const auto* credit = prices.FindTermInForce<MonetaryCredit>(inv.period.start());
  std::vector<Money> adjustment_shares;
  std::vector<Money> commitment_shares;
  Decimal adjustment_percent = sp.adjustment_percent;
  Decimal commitment_percent;
  Money credit_base = Money::Zero(inv.currency);
  for (const InvoiceLine& l : inv.lines) {
    if (l.kind == LineKind::kCommitmentDiscount) commitment_percent = l.percent;
  }
  for (const InvoiceLine& l : inv.lines) {
    if (l.kind != LineKind::kUsage && l.kind != LineKind::kAdjustment) continue;
    const MeterRating& r = l.rating;
    out += l.kind == LineKind::kUsage ? "usage: "
                                      : "adjustment for " + l.adjusted_period->ToString() + ": ";
    out += l.meter_name + " (" + l.meter_id + "), " + l.unit + "\n";
    out += "  quantity " + r.quantity.ToString();
    if (l.kind == LineKind::kAdjustment) out += " after " + r.start_position.ToString() + " billed";
    out += " = included " + r.included_quantity.ToString() + " + billable " +
           r.billable_quantity.ToString();
    if (!r.unpriced_quantity.is_zero()) out += " + unpriced " + r.unpriced_quantity.ToString();
    out += "\n";
    for (const TierCharge& t : r.tiers) {
      out += "  positions " + t.from.ToString() + " to " + t.to.ToString() + ", tier \"" +
             t.threshold.ToString() + "\" of " + FormatUtcTime(t.effective_date).substr(0, 10) +
             ": " + t.quantity.ToString() + " × " + t.unit_price.ToString() + " = " +
             t.amount.ToString() + "\n";
    }
    out +=
        "  amount " + l.unrounded_amount.ToString() + ", rounded " + l.amount.FormatAmount() + "\n";
    if (!adjustment_percent.is_zero()) {
      const ExactAmount exact =
          ExactAmount::Product(l.amount.amount(), Hundredth(adjustment_percent));
      const bool agrees = exact.RoundHalfEven(inv.currency.minor_unit()) == l.adjustment.amount();
      out += std::string(adjustment_percent.is_negative() ? "  discount: " : "  markup: ") +
             adjustment_percent.ToString() + "% of " + l.amount.FormatAmount() + " = " +
             exact.ToString() + ", rounded " + l.adjustment.FormatAmount() +
             (agrees ? "" : " (DISAGREES)") + "\n";
      adjustment_shares.push_back(l.adjustment);
    }
    if (!commitment_percent.is_zero()) {
      if (l.commitment_eligible) {
        const Money base = *Money::Add(l.amount, l.adjustment);
        const ExactAmount exact =
            ExactAmount::Product(base.amount(), Hundredth(commitment_percent));
        const bool agrees = exact.RoundHalfEven(inv.currency.minor_unit()) ==
                            l.commitment_discount.Negated().amount();
        out += "  commitment discount: " + commitment_percent.ToString() + "% of " +
               base.FormatAmount() + " = " + exact.ToString() + ", rounded " +
               l.commitment_discount.FormatAmount() + (agrees ? "" : " (DISAGREES)") + "\n";
        commitment_shares.push_back(l.commitment_discount);
      } else {
        out += "  commitment discount: excluded\n";
      }
    }
    out += "  net " + l.net.FormatAmount();
    if (credit != nullptr) {
      out += l.credit_eligible ? ", paid by the credit" : ", excluded from the credit";
      if (l.credit_eligible) credit_base = *Money::Add(credit_base, l.net);
    }
    out += "\n\n";
  }
  for (const InvoiceLine& l : inv.lines) {
    std::string label(LineKindName(l.kind));
    std::string note;
    switch (l.kind) {
      case LineKind::kDiscount:
      case LineKind::kMarkup:
        label += " " + l.percent.ToString() + "%";
        note = SumOf(adjustment_shares);
        break;
      case LineKind::kCommitmentDiscount: {
        label += " " + l.percent.ToString() + "%";
        Decimal level;
        for (const DiscountTier& t :
             prices.FindTermInForce<MonetaryCommitment>(inv.period.start())->tiered_discount) {
          if (t.commitment <= *sp.commitment) level = t.commitment;
        }
        note = SumOf(commitment_shares) + "; commitment " + sp.commitment->ToString() +
               " is at level " + level.ToString();
        break;
      }
      case LineKind::kCredit:
        note = inv.credit_available.FormatAmount() + " available; the eligible net is " +
               credit_base.FormatAmount();
        break;
      case LineKind::kUsage:
      case LineKind::kAdjustment:
        label += " " + l.meter_id.substr(0, 8);
        break;
      default:
        break;
    }
    out += Pad(label, 24, false) + Pad(l.amount.FormatAmount(), 10, true);
    if (!note.empty()) out += "   (" + note + ")";
    out += "\n";
  }
  out += Pad("total", 24, false) + Pad(inv.total.FormatAmount(), 10, true) + "\n";
  return out;
}

TEST(PricingExample, DocumentedExampleIsWhatTallyComputes) {
  const std::string doc = ReadDoc();
  ASSERT_FALSE(doc.empty()) << "cannot read " << TALLY_PRICING_DOC;

  // The subscription block: "key  value" lines.
  std::map<std::string, std::string> sub;
  std::istringstream sub_lines(Block(doc, "subscription"));
  for (std::string line; std::getline(sub_lines, line);) {
    auto w = Words(line);
    if (w.size() == 2) sub[w[0]] = w[1];
  }
  ASSERT_EQ(sub.size(), 5u) << "the subscription block has changed shape";
  auto zone = TimeZone::Load(sub["timezone"]);
  ASSERT_TRUE(zone.ok());
  auto period = BillingPeriod::Make(*BillingMonth::Parse(sub["period"]), *zone);
  ASSERT_TRUE(period.ok());

  const std::string card_json = Block(doc, "ratecard");
  auto card = ParseRateCardJson(card_json, "MS-AZR-0003P", "US");
  ASSERT_TRUE(card.ok()) << card.status().ToString();
  // The document shows the card in the serializer's own shape and order.
  EXPECT_EQ(FormatRateCardJson(*card), Compact(card_json));
  auto prices = PriceList::Make(*card);
  ASSERT_TRUE(prices.ok());

  InvoiceRequest req;
  req.subscription_id = sub["subscription"];
  req.period = *period;
  req.pricing.adjustment_percent = D(sub["adjustment_percent"]);
  req.pricing.commitment = D(sub["commitment"]);
  std::istringstream usage_lines(Block(doc, "usage"));
  int rows = 0;
  for (std::string line; std::getline(usage_lines, line);) {
    auto w = Words(line);
    if (w.empty() || w[0].starts_with("#")) continue;
    ++rows;
    const UsageHour hour = *UsageHour::FromUtc(*ParseUtcTime(w[1]));
    const HourlyQuantity q{hour, D(w[2])};
    if (w.size() > 3 && w[3] == "late,") {
      const BillingPeriod late_period = *BillingPeriod::Containing(hour.utc(), *zone);
      req.late_usage.push_back(LateUsage{late_period, w[0], D(w[4]), {q}});
      continue;
    }
    auto it = std::find_if(req.usage.begin(), req.usage.end(),
                           [&](const MeterUsage& u) { return u.meter_id == w[0]; });
    if (it == req.usage.end()) {
      req.usage.push_back(MeterUsage{w[0], {q}});
    } else {
      it->hours.push_back(q);
    }
  }
  EXPECT_EQ(rows, 5);

  auto inv = MakeInvoice(*prices, req);
  ASSERT_TRUE(inv.ok()) << inv.status().ToString();
  EXPECT_EQ(Render(*inv, *prices, req.pricing), Block(doc, "invoice"));
}

}  // namespace
}  // namespace tally::pricing
