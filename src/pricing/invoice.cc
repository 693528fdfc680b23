#include "pricing/invoice.h"

#include <algorithm>
#include <set>
#include <utility>

#include "domain/meter.h"
#include "pricing/problems.h"

namespace tally::pricing {
namespace {

Status AmountOverflow() { return InvalidArgument("invoice amounts overflow"); }

Result<Money> Sum(const Money& a, const Money& b) {
  auto s = Money::Add(a, b);
  if (!s.ok()) return AmountOverflow();
  return s;
}

// PercentOf, with the invoice's overflow error.
Result<Money> ShareOf(const Money& amount, Decimal percent) {
  auto r = PercentOf(amount, percent);
  if (!r.ok()) return AmountOverflow();
  return r;
}

bool Contains(const std::set<std::string>& keys, std::string_view meter_id) {
  return keys.count(domain::MeterKey(meter_id)) > 0;
}

std::set<std::string> KeysOf(const std::vector<std::string>& ids) {
  std::set<std::string> keys;
  for (const std::string& id : ids) keys.insert(domain::MeterKey(id));
  return keys;
}

void CheckHours(const std::vector<HourlyQuantity>& hours, const BillingPeriod& period,
                const std::string& path, internal::Problems& p) {
  for (size_t i = 0; i < hours.size(); ++i) {
    if (period.Contains(hours[i].hour) && !hours[i].quantity.is_negative()) continue;
    const std::string at = path + ".hours[" + std::to_string(i) + "]";  // only for a problem
    if (!period.Contains(hours[i].hour)) {
      p.Add(at, "the hour " + FormatUtcTime(hours[i].hour.utc()) + " is not in period " +
                    period.ToString() + " (" + period.zone().name() + ")");
    }
    if (hours[i].quantity.is_negative()) p.Add(at, "the quantity must not be negative");
  }
}

Status ValidateRequest(const InvoiceRequest& req) {
  internal::Problems p;
  if (req.pricing.adjustment_percent < Decimal::FromInt(-100)) {
    p.Add("pricing.adjustment_percent", "a discount cannot exceed 100%");
  }
  if (req.pricing.commitment && req.pricing.commitment->is_negative()) {
    p.Add("pricing.commitment", "must not be negative");
  }
  std::set<std::string> meters;
  for (size_t i = 0; i < req.usage.size(); ++i) {
    const std::string path = "usage[" + std::to_string(i) + "]";
    const MeterUsage& u = req.usage[i];
    if (u.meter_id.empty()) p.Add(path + ".meter_id", "must not be empty");
    if (!meters.insert(domain::MeterKey(u.meter_id)).second) {
      p.Add(path + ".meter_id", "meter " + u.meter_id + " is listed twice");
    }
    CheckHours(u.hours, req.period, path, p);
  }
  std::set<std::pair<UtcTime, std::string>> late;
  for (size_t i = 0; i < req.late_usage.size(); ++i) {
    const std::string path = "late_usage[" + std::to_string(i) + "]";
    const LateUsage& u = req.late_usage[i];
    if (u.meter_id.empty()) p.Add(path + ".meter_id", "must not be empty");
    if (req.period.start() < u.period.end()) {
      p.Add(path + ".period", "period " + u.period.ToString() + " does not end before period " +
                                  req.period.ToString() + " begins");
    }
    if (!late.insert({u.period.start(), domain::MeterKey(u.meter_id)}).second) {
      p.Add(path, "meter " + u.meter_id + " of period " + u.period.ToString() + " is listed twice");
    }
    if (u.invoiced_quantity.is_negative()) p.Add(path + ".invoiced_quantity", "is negative");
    CheckHours(u.hours, u.period, path, p);
  }
  return p.ToStatus("invalid invoice request for subscription " + req.subscription_id);
}

// The entry that names a meter on a line: the one in force at the end of `period`, else the
// earliest.
const RateCardMeter* NamingEntry(const PriceList& prices, std::string_view meter_id,
                                 const BillingPeriod& period) {
  const RateCardMeter* e = prices.FindEntryInForce(meter_id, UtcTime{period.end().micros - 1});
  if (e != nullptr) return e;
  auto all = prices.FindMeterEntries(meter_id);
  return all.empty() ? nullptr : all.front();
}

Result<InvoiceLine> RateLine(const PriceList& prices, LineKind kind, const std::string& meter_id,
                             const std::vector<HourlyQuantity>& hours, Decimal start_position,
                             const BillingPeriod& period) {
  InvoiceLine line;
  line.kind = kind;
  line.meter_id = meter_id;
  if (const RateCardMeter* e = NamingEntry(prices, meter_id, period)) {
    line.meter_name = e->meter_name;
    line.unit = e->unit;
  }
  if (kind == LineKind::kAdjustment) line.adjusted_period = period;
  TALLY_ASSIGN_OR_RETURN(line.rating, RateMeterUsage(prices, meter_id, hours, start_position));
  line.unrounded_amount = line.rating.amount;
  auto rounded = line.rating.amount.RoundHalfEven(prices.currency().minor_unit());
  if (!rounded) return AmountOverflow();
  line.amount = Money(*rounded, prices.currency());
  return line;
}

InvoiceLine TermLine(LineKind kind, const Money& amount, Decimal percent = Decimal()) {
  InvoiceLine line;
  line.kind = kind;
  line.amount = amount;
  line.unrounded_amount = ExactAmount::FromDecimal(amount.amount());
  line.percent = percent;
  return line;
}

// The TieredDiscount percentage for `commitment`: that of the highest level <= it, else 0.
Decimal CommitmentPercent(const MonetaryCommitment& term, Decimal commitment) {
  Decimal percent;
  for (const DiscountTier& t : term.tiered_discount) {
    if (t.commitment <= commitment) percent = t.percent;
  }
  return percent;
}

}  // namespace

std::string_view LineKindName(LineKind kind) {
  switch (kind) {
    case LineKind::kUsage:
      return "usage";
    case LineKind::kAdjustment:
      return "adjustment";
    case LineKind::kDiscount:
      return "discount";
    case LineKind::kMarkup:
      return "markup";
    case LineKind::kCommitmentDiscount:
      return "commitmentDiscount";
    case LineKind::kCredit:
      return "credit";
    case LineKind::kRecurringCharge:
      return "recurringCharge";
  }
  return "usage";
}

bool Invoice::HasUnpricedUsage() const {
  return std::any_of(lines.begin(), lines.end(),
                     [](const InvoiceLine& l) { return !l.rating.unpriced_quantity.is_zero(); });
}

Result<Invoice> MakeInvoice(const PriceList& prices, const InvoiceRequest& req) {
  TALLY_RETURN_IF_ERROR(ValidateRequest(req));
  const Currency currency = prices.currency();
  Invoice inv;
  inv.subscription_id = req.subscription_id;
  inv.offer_durable_id = prices.card().offer_durable_id;
  inv.period = req.period;
  inv.currency = currency;
  const Money zero = Money::Zero(currency);
  inv.usage_amount = inv.credit_available = inv.credit_used = inv.total = zero;

  // 1. Usage lines by meter ID, then adjustment lines by period and meter ID.
  std::vector<const MeterUsage*> usage;
  for (const MeterUsage& u : req.usage) usage.push_back(&u);
  std::sort(usage.begin(), usage.end(), [](const MeterUsage* a, const MeterUsage* b) {
    return domain::MeterKey(a->meter_id) < domain::MeterKey(b->meter_id);
  });
  for (const MeterUsage* u : usage) {
    TALLY_ASSIGN_OR_RETURN(InvoiceLine line, RateLine(prices, LineKind::kUsage, u->meter_id,
                                                      u->hours, Decimal(), req.period));
    inv.lines.push_back(std::move(line));
  }
  std::vector<const LateUsage*> late;
  for (const LateUsage& u : req.late_usage) late.push_back(&u);
  std::sort(late.begin(), late.end(), [](const LateUsage* a, const LateUsage* b) {
    return std::make_pair(a->period.start(), domain::MeterKey(a->meter_id)) <
           std::make_pair(b->period.start(), domain::MeterKey(b->meter_id));
  });
  for (const LateUsage* u : late) {
    TALLY_ASSIGN_OR_RETURN(InvoiceLine line, RateLine(prices, LineKind::kAdjustment, u->meter_id,
                                                      u->hours, u->invoiced_quantity, u->period));
    inv.lines.push_back(std::move(line));
  }

  // 2. Each line's share of the discount or markup and of the commitment discount.
  const UtcTime terms_at = req.period.start();
  const auto* commitment = prices.FindTermInForce<MonetaryCommitment>(terms_at);
  const auto* credit = prices.FindTermInForce<MonetaryCredit>(terms_at);
  const auto* recurring = prices.FindTermInForce<RecurringCharge>(terms_at);
  Decimal commitment_percent;
  if (commitment != nullptr && req.pricing.commitment) {
    commitment_percent = CommitmentPercent(*commitment, *req.pricing.commitment);
  }
  const std::set<std::string> commitment_excluded =
      commitment ? KeysOf(commitment->excluded_meter_ids) : std::set<std::string>();
  const std::set<std::string> credit_excluded =
      credit ? KeysOf(credit->excluded_meter_ids) : std::set<std::string>();
  const Decimal adjustment_percent = req.pricing.adjustment_percent;
  Money adjustment_total = zero;
  Money commitment_total = zero;
  Money credit_base = zero;
  for (InvoiceLine& line : inv.lines) {
    TALLY_ASSIGN_OR_RETURN(inv.usage_amount, Sum(inv.usage_amount, line.amount));
    TALLY_ASSIGN_OR_RETURN(line.adjustment, ShareOf(line.amount, adjustment_percent));
    TALLY_ASSIGN_OR_RETURN(Money after_adjustment, Sum(line.amount, line.adjustment));
    const RateCardMeter* entry = NamingEntry(
        prices, line.meter_id, line.adjusted_period ? *line.adjusted_period : req.period);
    line.commitment_eligible = !Contains(commitment_excluded, line.meter_id) &&
                               !(entry != nullptr && entry->IsThirdParty());
    line.commitment_discount = zero;
    if (line.commitment_eligible && !commitment_percent.is_zero()) {
      TALLY_ASSIGN_OR_RETURN(Money d, ShareOf(after_adjustment, commitment_percent));
      line.commitment_discount = d.Negated();
    }
    TALLY_ASSIGN_OR_RETURN(line.net, Sum(after_adjustment, line.commitment_discount));
    line.credit_eligible = !Contains(credit_excluded, line.meter_id);
    TALLY_ASSIGN_OR_RETURN(adjustment_total, Sum(adjustment_total, line.adjustment));
    TALLY_ASSIGN_OR_RETURN(commitment_total, Sum(commitment_total, line.commitment_discount));
    if (line.credit_eligible) {
      TALLY_ASSIGN_OR_RETURN(credit_base, Sum(credit_base, line.net));
    }
  }

  // 3. The term lines, in the order they apply.
  if (!adjustment_percent.is_zero()) {
    const LineKind kind =
        adjustment_percent.is_negative() ? LineKind::kDiscount : LineKind::kMarkup;
    inv.lines.push_back(TermLine(kind, adjustment_total, adjustment_percent));
  }
  if (!commitment_percent.is_zero()) {
    inv.lines.push_back(
        TermLine(LineKind::kCommitmentDiscount, commitment_total, commitment_percent));
  }
  if (credit != nullptr) {
    TALLY_ASSIGN_OR_RETURN(inv.credit_available,
                           Money(credit->credit, currency).RoundedToMinorUnit());
    // The credit pays the eligible lines' net amounts, never below zero.
    const Decimal base = credit_base.amount().is_negative() ? Decimal() : credit_base.amount();
    inv.credit_used = Money(std::min(base, inv.credit_available.amount()), currency);
    inv.lines.push_back(TermLine(LineKind::kCredit, inv.credit_used.Negated()));
  }
  if (recurring != nullptr) {
    TALLY_ASSIGN_OR_RETURN(Money charge,
                           Money(recurring->recurring_charge, currency).RoundedToMinorUnit());
    inv.lines.push_back(TermLine(LineKind::kRecurringCharge, charge));
  }
  for (const InvoiceLine& line : inv.lines) {
    TALLY_ASSIGN_OR_RETURN(inv.total, Sum(inv.total, line.amount));
  }
  return inv;
}

}  // namespace tally::pricing
