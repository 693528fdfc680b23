#include "pricing/rate_card.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "common/strings.h"
#include "domain/meter.h"
#include "pricing/problems.h"

namespace tally::pricing {
namespace {

constexpr std::string_view kThirdPartyTag = "Third Party";

void ValidateMeter(const RateCardMeter& m, const std::string& path, internal::Problems& p) {
  if (TrimSpace(m.meter_id).empty()) p.Add(path + ".MeterId", "must not be empty");
  if (m.meter_rates.empty()) {
    p.Add(path + ".MeterRates", "must have at least one rate (\"0\": price)");
  } else if (!m.meter_rates.front().threshold.is_zero()) {
    p.Add(path + ".MeterRates", "must start at quantity \"0\" (lowest is \"" +
                                    m.meter_rates.front().threshold.ToString() + "\")");
  }
  for (size_t i = 0; i < m.meter_rates.size(); ++i) {
    const MeterRate& r = m.meter_rates[i];
    const std::string at = path + ".MeterRates[\"" + r.threshold.ToString() + "\"]";
    if (r.threshold.is_negative()) p.Add(at, "the quantity must not be negative");
    if (r.unit_price.is_negative()) p.Add(at, "the price must not be negative");
    if (i > 0 && !(m.meter_rates[i - 1].threshold < r.threshold)) {
      p.Add(at, "quantities must be distinct and in ascending order");
    }
  }
  if (m.included_quantity.is_negative()) p.Add(path + ".IncludedQuantity", "must not be negative");
}

void ValidateExcluded(const std::vector<std::string>& ids, const std::string& path,
                      internal::Problems& p) {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (TrimSpace(ids[i]).empty()) {
      p.Add(path + ".ExcludedMeterIds[" + std::to_string(i) + "]", "must not be empty");
    }
  }
}

void ValidateTerm(const OfferTerm& term, const std::string& path, internal::Problems& p) {
  if (const auto* c = std::get_if<MonetaryCredit>(&term)) {
    if (c->credit.is_negative()) p.Add(path + ".Credit", "must not be negative");
    ValidateExcluded(c->excluded_meter_ids, path, p);
  } else if (const auto* m = std::get_if<MonetaryCommitment>(&term)) {
    if (m->tiered_discount.empty()) p.Add(path + ".TieredDiscount", "must have at least one level");
    for (size_t i = 0; i < m->tiered_discount.size(); ++i) {
      const DiscountTier& t = m->tiered_discount[i];
      const std::string at = path + ".TieredDiscount[\"" + t.commitment.ToString() + "\"]";
      if (t.commitment.is_negative()) p.Add(at, "the commitment must not be negative");
      if (t.percent.is_negative() || Decimal::FromInt(100) < t.percent) {
        p.Add(at, "the discount must be a percentage from 0 to 100");
      }
      if (i > 0 && !(m->tiered_discount[i - 1].commitment < t.commitment)) {
        p.Add(at, "commitments must be distinct and in ascending order");
      }
    }
    ValidateExcluded(m->excluded_meter_ids, path, p);
  } else if (const auto* r = std::get_if<RecurringCharge>(&term)) {
    if (r->recurring_charge.is_negative()) p.Add(path + ".RecurringCharge", "must not be negative");
  }
}

}  // namespace

bool RateCardMeter::IsThirdParty() const {
  return std::any_of(meter_tags.begin(), meter_tags.end(),
                     [](const std::string& t) { return EqualsIgnoreCase(t, kThirdPartyTag); });
}

std::string_view OfferTermName(const OfferTerm& term) {
  if (std::holds_alternative<MonetaryCredit>(term)) return "Monetary Credit";
  if (std::holds_alternative<MonetaryCommitment>(term)) return "Monetary Commitment";
  return "Recurring Charge";
}

UtcTime OfferTermEffectiveDate(const OfferTerm& term) {
  return std::visit([](const auto& t) { return t.effective_date; }, term);
}

Status ValidateRateCard(const RateCard& card) {
  internal::Problems p;
  internal::ValidateRateCardInto(card, p);
  return p.ToStatus("invalid rate card");
}

void internal::ValidateRateCardInto(const RateCard& card, internal::Problems& p) {
  if (TrimSpace(card.offer_durable_id).empty()) p.Add("OfferDurableId", "must not be empty");
  std::map<std::pair<std::string, UtcTime>, size_t> seen_meters;
  for (size_t i = 0; i < card.meters.size(); ++i) {
    const std::string path = "Meters[" + std::to_string(i) + "]";
    const RateCardMeter& m = card.meters[i];
    ValidateMeter(m, path, p);
    if (TrimSpace(m.meter_id).empty()) continue;
    auto [it, inserted] =
        seen_meters.emplace(std::make_pair(domain::MeterKey(m.meter_id), m.effective_date), i);
    if (!inserted) {
      p.Add(path + ".EffectiveDate", "repeats the date of Meters[" + std::to_string(it->second) +
                                         "], an entry of the same meter " + m.meter_id +
                                         " (one entry per meter and date)");
    }
  }
  std::map<std::pair<std::string_view, UtcTime>, size_t> seen_terms;
  for (size_t i = 0; i < card.offer_terms.size(); ++i) {
    const std::string path = "OfferTerms[" + std::to_string(i) + "]";
    const OfferTerm& t = card.offer_terms[i];
    ValidateTerm(t, path, p);
    auto [it, inserted] =
        seen_terms.emplace(std::make_pair(OfferTermName(t), OfferTermEffectiveDate(t)), i);
    if (!inserted) {
      p.Add(path + ".EffectiveDate", "repeats the " + std::string(OfferTermName(t)) +
                                         " term with the EffectiveDate of OfferTerms[" +
                                         std::to_string(it->second) + "]");
    }
  }
}

Result<PriceList> PriceList::Make(RateCard card) {
  TALLY_RETURN_IF_ERROR(ValidateRateCard(card));
  PriceList list;
  list.card_ = std::move(card);
  for (size_t i = 0; i < list.card_.meters.size(); ++i) {
    list.entries_[domain::MeterKey(list.card_.meters[i].meter_id)].push_back(i);
  }
  for (auto& [key, indexes] : list.entries_) {
    std::sort(indexes.begin(), indexes.end(), [&](size_t a, size_t b) {
      return list.card_.meters[a].effective_date < list.card_.meters[b].effective_date;
    });
  }
  return list;
}

std::vector<const RateCardMeter*> PriceList::FindMeterEntries(std::string_view meter_id) const {
  std::vector<const RateCardMeter*> out;
  auto it = entries_.find(domain::MeterKey(meter_id));
  if (it == entries_.end()) return out;
  for (size_t i : it->second) out.push_back(&card_.meters[i]);
  return out;
}

const RateCardMeter* PriceList::FindEntryInForce(std::string_view meter_id, UtcTime t) const {
  auto it = entries_.find(domain::MeterKey(meter_id));
  if (it == entries_.end()) return nullptr;
  const RateCardMeter* best = nullptr;
  for (size_t i : it->second) {
    if (card_.meters[i].effective_date > t) break;
    best = &card_.meters[i];
  }
  return best;
}

}  // namespace tally::pricing
