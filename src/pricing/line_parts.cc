#include "pricing/line_parts.h"

#include <optional>

#include "pricing/int256.h"

namespace tally::pricing {
namespace {

Status Inconsistent(const InvoiceLine& line, std::string_view what) {
  return InvalidArgument("the " + std::string(LineKindName(line.kind)) + " line of meter " +
                         line.meter_id + " does not add up: " + std::string(what));
}

Result<Money> Plus(const Money& a, const Money& b) { return Money::Add(a, b); }
Result<Money> Minus(const Money& a, const Money& b) { return Money::Add(a, b.Negated()); }

// The two exact contracted figures of a part: price × (100 + percent) / 100 and quantity ×
// that, as decimal text. Counts of 10^-15 multiply into counts of 10^-30 (10^-45 for three),
// and the division by 100 adds two digits.
Status SetContracted(LinePart& part, Decimal percent) {
  const Decimal factor = Decimal::FromInt(100) + percent;
  using internal::Int256;
  auto price = Int256::Mul(Int256::FromInt128(part.list_unit_price.raw()), factor.raw());
  if (!price) return InvalidArgument("contracted unit price overflows");
  auto cost = Int256::Mul(*price, part.quantity.raw());
  if (!cost) return InvalidArgument("contracted cost overflows");
  part.contracted_unit_price = internal::FormatScaled(*price, 2 * Decimal::kScale + 2);
  part.contracted_cost = internal::FormatScaled(*cost, 3 * Decimal::kScale + 2);
  return Status::Ok();
}

}  // namespace

TermPercents TermPercentsOf(const Invoice& invoice) {
  TermPercents p;
  for (const InvoiceLine& line : invoice.lines) {
    if (line.kind == LineKind::kDiscount || line.kind == LineKind::kMarkup) {
      p.adjustment = line.percent;
    } else if (line.kind == LineKind::kCommitmentDiscount) {
      p.commitment = line.percent;
    }
  }
  return p;
}

Result<std::vector<LinePart>> SplitLine(const InvoiceLine& line, const TermPercents& percents) {
  if (line.kind != LineKind::kUsage && line.kind != LineKind::kAdjustment) {
    return InvalidArgument("only usage and adjustment lines have parts, not a " +
                           std::string(LineKindName(line.kind)) + " line");
  }
  const Currency currency = line.amount.currency();
  const Money zero = Money::Zero(currency);
  const MeterRating& rating = line.rating;
  // A line's commitment discount is 0 when its meter is excluded (or there is no commitment).
  const bool commitment = !line.commitment_discount.amount().is_zero();

  std::vector<LinePart> parts;
  if (!rating.included_quantity.is_zero()) {
    LinePart& p = parts.emplace_back();
    p.kind = LinePartKind::kIncluded;
    p.quantity = rating.included_quantity;
  }
  for (const TierCharge& tier : rating.tiers) {
    LinePart& p = parts.emplace_back();
    p.kind = LinePartKind::kTier;
    p.tier = &tier;
    p.quantity = tier.quantity;
    p.list_unit_price = tier.unit_price;
    p.list_cost = tier.amount;
  }
  if (!rating.unpriced_quantity.is_zero()) {
    LinePart& p = parts.emplace_back();
    p.kind = LinePartKind::kUnpriced;
    p.quantity = rating.unpriced_quantity;
  }
  if (parts.empty()) parts.emplace_back();  // nothing used: one free part of quantity 0

  // The cumulative exact amount, and the cumulative rounded amount and terms before this part.
  ExactAmount exact;
  Money amount_before = zero;
  Money adjustment_before = zero;
  Money commitment_before = zero;
  for (LinePart& p : parts) {
    if (p.kind != LinePartKind::kUnpriced)
      TALLY_RETURN_IF_ERROR(SetContracted(p, percents.adjustment));
    auto sum = ExactAmount::Add(exact, p.list_cost);
    if (!sum) return Inconsistent(line, "its tier amounts overflow");
    exact = *sum;
    auto rounded = exact.RoundHalfEven(currency.minor_unit());
    if (!rounded) return Inconsistent(line, "its amount does not fit");
    const Money amount(*rounded, currency);
    TALLY_ASSIGN_OR_RETURN(Money adjustment, PercentOf(amount, percents.adjustment));
    Money commitment_discount = zero;
    if (commitment) {
      TALLY_ASSIGN_OR_RETURN(Money after_adjustment, Plus(amount, adjustment));
      TALLY_ASSIGN_OR_RETURN(Money d, PercentOf(after_adjustment, percents.commitment));
      commitment_discount = d.Negated();
    }
    TALLY_ASSIGN_OR_RETURN(p.amount, Minus(amount, amount_before));
    TALLY_ASSIGN_OR_RETURN(p.adjustment, Minus(adjustment, adjustment_before));
    TALLY_ASSIGN_OR_RETURN(p.commitment_discount, Minus(commitment_discount, commitment_before));
    TALLY_ASSIGN_OR_RETURN(Money net, Plus(p.amount, p.adjustment));
    TALLY_ASSIGN_OR_RETURN(p.net, Plus(net, p.commitment_discount));
    amount_before = amount;
    adjustment_before = adjustment;
    commitment_before = commitment_discount;
  }
  if (!(amount_before == line.amount)) return Inconsistent(line, "amount");
  if (!(adjustment_before == line.adjustment)) return Inconsistent(line, "discount or markup");
  if (commitment && !(commitment_before == line.commitment_discount)) {
    return Inconsistent(line, "commitment discount");
  }
  return parts;
}

}  // namespace tally::pricing
