#include "pricing/rating.h"

#include <algorithm>

namespace tally::pricing {
namespace {

Status Overflow(std::string_view meter_id) {
  return InvalidArgument("the quantities of meter " + std::string(meter_id) + " overflow");
}

}  // namespace

Result<MeterRating> RateMeterUsage(const PriceList& prices, std::string_view meter_id,
                                   std::span<const HourlyQuantity> hours, Decimal start_position) {
  if (start_position.is_negative()) {
    return InvalidArgument("the start position of meter " + std::string(meter_id) + " is negative");
  }
  auto negative = [&](const HourlyQuantity& h) {
    return InvalidArgument("meter " + std::string(meter_id) + " has a negative quantity at " +
                           FormatUtcTime(h.hour.utc()));
  };
  // Usage-time order, one entry per hour: the cumulative position depends only on the order
  // of distinct hours, and two records of one hour are priced by the same entry. Hours read
  // from the store arrive that way already, so they are rated in place.
  std::span<const HourlyQuantity> ordered = hours;
  std::vector<HourlyQuantity> merged;
  if (std::adjacent_find(hours.begin(), hours.end(),
                         [](const HourlyQuantity& a, const HourlyQuantity& b) {
                           return !(a.hour < b.hour);
                         }) == hours.end()) {
    for (const HourlyQuantity& h : hours) {
      if (h.quantity.is_negative()) return negative(h);
    }
  } else {
    std::vector<HourlyQuantity> sorted(hours.begin(), hours.end());
    std::sort(sorted.begin(), sorted.end(),
              [](const HourlyQuantity& a, const HourlyQuantity& b) { return a.hour < b.hour; });
    for (const HourlyQuantity& h : sorted) {
      if (h.quantity.is_negative()) return negative(h);
      if (!merged.empty() && merged.back().hour == h.hour) {
        auto sum = Decimal::Add(merged.back().quantity, h.quantity);
        if (!sum) return Overflow(meter_id);
        merged.back().quantity = *sum;
      } else {
        merged.push_back(h);
      }
    }
    ordered = merged;
  }

  MeterRating r;
  r.meter_id = std::string(meter_id);
  r.start_position = start_position;
  const std::vector<const RateCardMeter*> entries = prices.FindMeterEntries(meter_id);
  size_t next_entry = 0;  // entries[next_entry] is the first not yet in force
  const RateCardMeter* entry = nullptr;
  // The tier charge of each (entry, tier) pair, to extend while positions stay contiguous.
  const RateCardMeter* last_entry = nullptr;
  size_t last_tier = 0;

  Decimal pos = start_position;
  for (const HourlyQuantity& h : ordered) {
    while (next_entry < entries.size() && entries[next_entry]->effective_date <= h.hour.utc()) {
      entry = entries[next_entry++];
    }
    auto total = Decimal::Add(r.quantity, h.quantity);
    if (!total) return Overflow(meter_id);
    r.quantity = *total;
    if (entry == nullptr) {
      r.unpriced_quantity = r.unpriced_quantity + h.quantity;  // <= r.quantity: cannot overflow
      continue;
    }
    auto end = Decimal::Add(pos, h.quantity);
    if (!end) return Overflow(meter_id);
    const Decimal lo = pos;
    const Decimal hi = *end;
    pos = hi;
    const Decimal included = entry->included_quantity;
    if (lo < included) r.included_quantity += std::min(hi, included) - lo;
    if (!(included < hi)) continue;
    // The billable range of this hour, measured from the entry's IncludedQuantity.
    const Decimal b_lo = std::max(lo, included) - included;
    const Decimal b_hi = hi - included;
    const std::vector<MeterRate>& rates = entry->meter_rates;
    for (size_t t = 0; t < rates.size(); ++t) {
      const bool top = t + 1 == rates.size();
      if (!top && !(b_lo < rates[t + 1].threshold)) continue;
      const Decimal from = std::max(b_lo, rates[t].threshold);
      const Decimal to = top ? b_hi : std::min(b_hi, rates[t + 1].threshold);
      if (!(from < to)) continue;
      if (last_entry == entry && last_tier == t && !r.tiers.empty() && r.tiers.back().to == from) {
        r.tiers.back().to = to;
        r.tiers.back().quantity += to - from;
      } else {
        TierCharge c;
        c.effective_date = entry->effective_date;
        c.threshold = rates[t].threshold;
        if (!top) c.next_threshold = rates[t + 1].threshold;
        c.from = from;
        c.to = to;
        c.unit_price = rates[t].unit_price;
        c.quantity = to - from;
        r.tiers.push_back(c);
        last_entry = entry;
        last_tier = t;
      }
      r.billable_quantity += to - from;
    }
  }
  r.end_position = pos;
  for (TierCharge& c : r.tiers) {
    c.amount = ExactAmount::Product(c.quantity, c.unit_price);
    auto sum = ExactAmount::Add(r.amount, c.amount);
    if (!sum) return Overflow(meter_id);
    r.amount = *sum;
  }
  return r;
}

}  // namespace tally::pricing
