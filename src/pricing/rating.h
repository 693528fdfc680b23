// Rating: the exact charge of one meter's usage in one billing period, with its tier breakdown.
//
// The period's usage of a meter is laid out on one axis, the cumulative quantity, in usage-time
// order. Each hour occupies the range [position, position + quantity) and is priced by the
// card entry in force at the hour's start (latest EffectiveDate <= hour): positions below that
// entry's IncludedQuantity are free; a position x above it has the billable position
// x - IncludedQuantity and is priced at the unit price of the highest MeterRates threshold <=
// that billable position. With one entry all period long this is exactly "billable =
// max(0, quantity - IncludedQuantity), the part from threshold k_i up to the next threshold at
// the price of k_i". Hours for which no entry is in force are unpriced: counted, not
// positioned, not charged. Amounts are exact (ExactAmount); rounding happens on the invoice.
// docs/pricing.md states the rules with examples. Stateless functions; thread-safe.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/decimal.h"
#include "common/status.h"
#include "common/time.h"
#include "pricing/money.h"
#include "pricing/rate_card.h"

namespace tally::pricing {

// A meter's quantity in one usage hour (for example a UsageAggregate's quantity).
struct HourlyQuantity {
  UsageHour hour;
  Decimal quantity;  // not negative
  bool operator==(const HourlyQuantity&) const = default;
};

// A contiguous part of the billable quantity priced at one unit price: one tier of one card
// entry.
struct TierCharge {
  UtcTime effective_date;                 // of the card entry that priced it
  Decimal threshold;                      // the tier's MeterRates key
  std::optional<Decimal> next_threshold;  // where the tier ends; nullopt for the top tier
  Decimal from;                           // billable position where this charge starts (inclusive)
  Decimal to;                             // billable position where it ends (exclusive)
  Decimal unit_price;
  Decimal quantity;    // to - from
  ExactAmount amount;  // quantity × unit_price, exact
  bool operator==(const TierCharge&) const = default;
};

struct MeterRating {
  std::string meter_id;
  Decimal quantity;               // every hour's quantity, summed
  Decimal included_quantity;      // the part that fell below IncludedQuantity (free)
  Decimal billable_quantity;      // the part priced by tiers: the sum of the tiers' quantities
  Decimal unpriced_quantity;      // hours with no card entry in force
  Decimal start_position;         // the cumulative position the hours started from
  Decimal end_position;           // start_position + the quantity of the priced hours
  std::vector<TierCharge> tiers;  // in usage-time order, then tier order
  ExactAmount amount;             // the sum of the tiers' amounts, exact
};

// Rates the hours of one meter in one billing period (any order; an hour given twice counts
// its quantities summed). `start_position` is the cumulative quantity of the same meter and
// period rated before these hours: 0 for an invoice's line, the already invoiced quantity for
// usage that arrives after the period was finalized (docs/pricing.md, "Adjustments").
// InvalidArgument when a quantity or start_position is negative or a sum overflows. The caller
// chooses which hours belong to the period.
Result<MeterRating> RateMeterUsage(const PriceList& prices, std::string_view meter_id,
                                   std::span<const HourlyQuantity> hours,
                                   Decimal start_position = Decimal());

}  // namespace tally::pricing
