// Line parts: a usage or adjustment invoice line cut into the parts that each have one unit
// price, for exports whose rows carry one unit price each (FOCUS: ListUnitPrice ×
// PricingQuantity = ListCost): the quantity below IncludedQuantity (free), each tier charge,
// and the quantity no card entry priced.
//
// The line's rounded amounts are split over the parts by cumulative rounding: with C_k the
// exact amount of parts 1..k, part k gets round(C_k) − round(C_k−1); its discount or markup and
// its commitment discount are the differences of the same terms computed on those cumulative
// rounded amounts exactly as MakeInvoice computes them for the whole line. So the parts add up
// to the line's amounts to the minor unit, and no part of a charge is negative.
// docs/pricing.md ("Exports"). Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/decimal.h"
#include "common/status.h"
#include "pricing/invoice.h"
#include "pricing/money.h"
#include "pricing/rating.h"

namespace tally::pricing {

enum class LinePartKind {
  kIncluded,  // below the entry's IncludedQuantity: free
  kTier,      // one tier charge of the rating
  kUnpriced,  // hours with no card entry in force: counted, not charged
};

struct LinePart {
  LinePartKind kind = LinePartKind::kIncluded;
  const TierCharge* tier = nullptr;  // kTier: the charge, in the line's rating
  Decimal quantity;
  Decimal list_unit_price;  // the tier's unit price; 0 when included; 0 when unpriced
  ExactAmount list_cost;    // quantity × list_unit_price, exact
  // The list unit price with the subscription's discount or markup, list × (100 + %) / 100,
  // and quantity × that: exact decimal text ("" for an unpriced part).
  std::string contracted_unit_price;
  std::string contracted_cost;
  // The part's shares of the line's rounded amounts; net = amount + adjustment +
  // commitment_discount.
  Money amount;
  Money adjustment;
  Money commitment_discount;
  Money net;
};

// The percentages of an invoice's offer terms: its discount or markup line and its commitment
// discount line (0 when the invoice has none).
struct TermPercents {
  Decimal adjustment;
  Decimal commitment;
};
TermPercents TermPercentsOf(const Invoice& invoice);

// The parts of `line` (a usage or adjustment line of an invoice with `percents`), included part
// first, then the tier charges in rating order, then the unpriced quantity; parts with no
// quantity are left out, but a line always has at least one part. InvalidArgument for another
// kind of line, or when the parts do not add up to the line's amounts (a line not made by
// MakeInvoice with these percentages).
Result<std::vector<LinePart>> SplitLine(const InvoiceLine& line, const TermPercents& percents);

}  // namespace tally::pricing
