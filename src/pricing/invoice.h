// Invoices (chargeback statements): one subscription's charges for one billing period, computed
// from its usage, its offer's price list and its own pricing terms. Pure: no storage, no clock.
//
// Lines, in this order: a usage line per meter (RateMeterUsage, rounded half-even to the
// currency's minor unit); an adjustment line per (finalized earlier period, meter) with usage
// that arrived late; then the offer-term lines in the order they are applied: the subscription's
// discount or markup, the monetary commitment discount, the monetary credit, the recurring
// charge. The invoice total is the sum of the (rounded) line amounts. Every rule, with a worked
// example, is in docs/pricing.md. Plain values; MakeInvoice is thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/decimal.h"
#include "common/status.h"
#include "pricing/billing_period.h"
#include "pricing/money.h"
#include "pricing/rate_card.h"
#include "pricing/rating.h"

namespace tally::pricing {

// One meter's hourly usage within the invoice's period.
struct MeterUsage {
  std::string meter_id;
  std::vector<HourlyQuantity> hours;
};

// Usage of an earlier, finalized period that arrived after its invoice was finalized. It is
// rated as the continuation of that period (from `invoiced_quantity` on, with the card entries
// in force at its own usage hours) and billed on this invoice as an adjustment line; the
// finalized invoice never changes.
struct LateUsage {
  BillingPeriod period;  // the finalized period the hours belong to
  std::string meter_id;
  // The meter's quantity already billed for `period`: its usage line plus earlier adjustments.
  Decimal invoiced_quantity;
  std::vector<HourlyQuantity> hours;
};

// What an operator sets per subscription.
struct SubscriptionPricing {
  // A percentage of every usage and adjustment line: negative for a discount (-10 = 10% off),
  // positive for a markup (+15). At least -100.
  Decimal adjustment_percent;
  // The subscription's monetary commitment in the card's currency: it selects the level of the
  // offer's "Monetary Commitment" TieredDiscount (the highest level <= it). nullopt: no
  // commitment, so no commitment discount.
  std::optional<Decimal> commitment;
};

struct InvoiceRequest {
  std::string subscription_id;
  BillingPeriod period;
  SubscriptionPricing pricing;
  std::vector<MeterUsage> usage;      // hours inside `period`, one entry per meter
  std::vector<LateUsage> late_usage;  // earlier periods only, one entry per (period, meter)
};

enum class LineKind {
  kUsage,
  kAdjustment,          // late usage of an earlier period
  kDiscount,            // the subscription's adjustment_percent when negative
  kMarkup,              // ... when positive
  kCommitmentDiscount,  // the offer's Monetary Commitment
  kCredit,              // the offer's Monetary Credit
  kRecurringCharge,     // the offer's Recurring Charge
};
// "usage", "adjustment", "discount", "markup", "commitmentDiscount", "credit", "recurringCharge".
std::string_view LineKindName(LineKind kind);

struct InvoiceLine {
  LineKind kind = LineKind::kUsage;
  // The line's amount, rounded half-even to the currency's minor unit. For usage and
  // adjustment lines: the rated (list) amount, before any offer term.
  Money amount;
  // For usage and adjustment lines: rating.amount, the exact amount before rounding. For
  // term lines: equal to `amount`.
  ExactAmount unrounded_amount;

  // Usage and adjustment lines.
  std::string meter_id;
  std::string meter_name;  // from the card entry in force at the end of the rated period
  std::string unit;
  std::optional<BillingPeriod> adjusted_period;  // adjustment lines: the finalized period
  MeterRating rating;
  // This line's share of the term lines (each already included in them): the discount or
  // markup, round(amount × adjustment_percent / 100); the commitment discount,
  // -round((amount + adjustment) × percent / 100) or 0 for an excluded meter; and the net.
  Money adjustment;
  Money commitment_discount;
  Money net;
  bool commitment_eligible = false;  // not excluded by the commitment, not "Third Party"
  bool credit_eligible = false;      // not excluded by the credit

  // Discount, markup and commitment lines: the percentage applied (discount: negative).
  Decimal percent;
};

struct Invoice {
  std::string subscription_id;
  std::string offer_durable_id;
  BillingPeriod period;
  Currency currency;
  std::vector<InvoiceLine> lines;
  Money usage_amount;      // the sum of the usage and adjustment lines
  Money credit_available;  // the credit of the period (0 without a Monetary Credit term)
  Money credit_used;       // what the credit line took off (not negative)
  Money total;             // the sum of all lines

  // True when some usage had no card entry in force (rating.unpriced_quantity > 0).
  bool HasUnpricedUsage() const;
};

// Computes the invoice of `request.subscription_id` for `request.period` with the prices of
// `prices`. Offer terms are those in force at the period's start. InvalidArgument listing
// every problem of the request (an hour outside its period, a negative quantity, a meter given
// twice, late usage of a period that is not earlier, an adjustment_percent below -100, a
// negative commitment) or on overflow.
Result<Invoice> MakeInvoice(const PriceList& prices, const InvoiceRequest& request);

}  // namespace tally::pricing
