// Rate cards: an operator's prices for one offer (OfferDurableId) in one region and currency,
// in the shape of the Azure RateCard API (contract §7). A card lists meter entries (graduated
// tiers `MeterRates`, an `IncludedQuantity`, an `EffectiveDate`: a meter appears once per price
// change) and offer terms (monetary credit, monetary commitment, recurring charge), each also
// with an EffectiveDate. Field names mirror the JSON's PascalCase names so that error messages
// can name the JSON path ("Meters[3].MeterRates").
//
// RateCard is a plain value; PriceList is a validated, indexed, immutable card that rating
// reads (safe to share between threads). The rules are in docs/pricing.md.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "common/decimal.h"
#include "common/status.h"
#include "common/time.h"
#include "pricing/money.h"

namespace tally::pricing {

// One graduated tier: the part of the billable quantity from `threshold` up to the next tier's
// threshold is priced at `unit_price` (JSON: "MeterRates": {"<threshold>": <unit_price>}).
struct MeterRate {
  Decimal threshold;
  Decimal unit_price;
  bool operator==(const MeterRate&) const = default;
};

// One meter's prices from `effective_date` until the meter's next entry (JSON: a Meters item).
struct RateCardMeter {
  std::string meter_id;  // matched case-insensitively against usage meter IDs
  std::string meter_name;
  std::string meter_category;
  std::string meter_sub_category;
  std::string unit;
  std::vector<std::string> meter_tags;  // "Third Party": no commitment discount
  std::string meter_region;
  std::vector<MeterRate> meter_rates;  // thresholds strictly ascending, the first is 0
  UtcTime effective_date;
  Decimal included_quantity;  // free quantity per billing period
  std::string meter_status;   // e.g. "Active"; kept, not interpreted; "" when absent

  bool IsThirdParty() const;
  bool operator==(const RateCardMeter&) const = default;
};

// "Monetary Credit": an amount per billing period that pays the invoice down to at most zero.
struct MonetaryCredit {
  Decimal credit;
  std::vector<std::string> excluded_meter_ids;
  UtcTime effective_date;
  bool operator==(const MonetaryCredit&) const = default;
};

// One level of a commitment's TieredDiscount: a commitment of at least `commitment` (in the
// card's currency) earns `percent` off (JSON: "TieredDiscount": {"<commitment>": <percent>}).
struct DiscountTier {
  Decimal commitment;
  Decimal percent;  // 0..100
  bool operator==(const DiscountTier&) const = default;
};

// "Monetary Commitment": a discount by commitment level on the meters not excluded.
struct MonetaryCommitment {
  std::vector<DiscountTier> tiered_discount;  // commitments strictly ascending
  std::vector<std::string> excluded_meter_ids;
  UtcTime effective_date;
  bool operator==(const MonetaryCommitment&) const = default;
};

// "Recurring Charge": a fixed amount added to every billing period's invoice.
struct RecurringCharge {
  Decimal recurring_charge;
  UtcTime effective_date;
  bool operator==(const RecurringCharge&) const = default;
};

using OfferTerm = std::variant<MonetaryCredit, MonetaryCommitment, RecurringCharge>;

// The JSON "Name" of a term: "Monetary Credit", "Monetary Commitment" or "Recurring Charge".
std::string_view OfferTermName(const OfferTerm& term);
UtcTime OfferTermEffectiveDate(const OfferTerm& term);

struct RateCard {
  // Not part of the RateCard JSON: they come from the import (or the API's $filter).
  std::string offer_durable_id;  // e.g. "MS-AZR-0003P"; Tally offers may use any name
  std::string region;            // RegionInfo, e.g. "US"; "" when the offer has one card
  Currency currency;
  std::string locale = "en-US";
  bool is_tax_included = false;
  std::vector<OfferTerm> offer_terms;
  std::vector<RateCardMeter> meters;

  bool operator==(const RateCard&) const = default;
};

// Every rule a card must follow, each problem named by its JSON path, all in one
// InvalidArgument: a non-empty offer id; per meter a non-empty MeterId, at least one rate,
// thresholds strictly ascending from exactly 0, prices and IncludedQuantity not negative, and
// no two entries of one meter (case-insensitively) with the same EffectiveDate; per term a
// credit and charge not negative, discount percents from 0 to 100 with commitments strictly
// ascending from a non-negative value, and no two terms of one Name with the same
// EffectiveDate.
Status ValidateRateCard(const RateCard& card);

namespace internal {
class Problems;
// ValidateRateCard's checks, added to `problems`.
void ValidateRateCardInto(const RateCard& card, Problems& problems);
}  // namespace internal

// A validated card indexed for rating. Immutable; thread-safe.
class PriceList {
 public:
  // Validates `card` (ValidateRateCard) and indexes it.
  static Result<PriceList> Make(RateCard card);

  const RateCard& card() const { return card_; }
  Currency currency() const { return card_.currency; }

  // The entries of `meter_id` (any case) in EffectiveDate order; empty when the card does not
  // price the meter.
  std::vector<const RateCardMeter*> FindMeterEntries(std::string_view meter_id) const;
  // The entry in force at `t`: the one with the latest EffectiveDate <= t; nullptr when none.
  const RateCardMeter* FindEntryInForce(std::string_view meter_id, UtcTime t) const;
  // The term of the same kind as T in force at `t` (latest EffectiveDate <= t); nullptr if none.
  template <typename T>
  const T* FindTermInForce(UtcTime t) const {
    const T* best = nullptr;
    for (const OfferTerm& term : card_.offer_terms) {
      const T* x = std::get_if<T>(&term);
      if (x != nullptr && x->effective_date <= t &&
          (best == nullptr || x->effective_date > best->effective_date)) {
        best = x;
      }
    }
    return best;
  }

 private:
  RateCard card_;
  // Meter key (upper case) -> indexes into card_.meters, in EffectiveDate order.
  std::unordered_map<std::string, std::vector<size_t>> entries_;
};

}  // namespace tally::pricing
