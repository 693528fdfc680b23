// The invoice JSON read with simdjson's On-Demand API, which gives each number's text, so
// amounts and quantities come back digit for digit.
#include "export/invoice_json.h"

#include <simdjson.h>

#include <optional>
#include <string>

namespace tally::exports {
namespace {

namespace od = simdjson::ondemand;
using pricing::BillingMonth;
using pricing::BillingPeriod;
using pricing::Currency;
using pricing::ExactAmount;
using pricing::InvoiceLine;
using pricing::LineKind;
using pricing::Money;

Status Bad(std::string_view where, std::string_view why) {
  return InvalidArgument("invoice JSON: " + std::string(where) + ": " + std::string(why));
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' ||
                        s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

Result<std::string> String(od::value v, std::string_view key) {
  std::string_view s;
  if (v.get_string().get(s) != simdjson::SUCCESS) return Bad(key, "must be a string");
  return std::string(s);
}

Result<bool> Bool(od::value v, std::string_view key) {
  bool b = false;
  if (v.get_bool().get(b) != simdjson::SUCCESS) return Bad(key, "must be true or false");
  return b;
}

Result<Decimal> Number(od::value v, std::string_view key) {
  od::json_type type;
  if (v.type().get(type) != simdjson::SUCCESS || type != od::json_type::number) {
    return Bad(key, "must be a number");
  }
  auto d = Decimal::Parse(TrimSpace(v.raw_json_token()));
  if (!d.ok()) return Bad(key, d.status().message());
  return *d;
}

// An exact amount has up to 30 fractional digits, twice a Decimal's: it is read as the sum of
// the first 15 and the next 15 scaled down by 10^15.
Result<ExactAmount> Exact(od::value v, std::string_view key) {
  od::json_type type;
  if (v.type().get(type) != simdjson::SUCCESS || type != od::json_type::number) {
    return Bad(key, "must be a number");
  }
  std::string_view text = TrimSpace(v.raw_json_token());
  const bool negative = !text.empty() && text.front() == '-';
  const size_t dot = text.find('.');
  if (dot == std::string_view::npos || text.size() - dot - 1 <= 15) {
    auto d = Decimal::Parse(text);
    if (!d.ok()) return Bad(key, d.status().message());
    return ExactAmount::FromDecimal(*d);
  }
  auto high = Decimal::Parse(text.substr(0, dot + 16));
  auto low = Decimal::Parse(std::string(negative ? "-0." : "0.") +
                            std::string(text.substr(dot + 16)));
  static const Decimal kScaleDown = Decimal::FromRaw(1);  // 10^-15
  if (!high.ok() || !low.ok() || text.size() - dot - 1 > 30) {
    return Bad(key, "is not an exact amount with at most 30 fractional digits");
  }
  auto sum = ExactAmount::Add(ExactAmount::FromDecimal(*high),
                              ExactAmount::Product(*low, kScaleDown));
  if (!sum) return Bad(key, "overflows");
  return *sum;
}

Result<LineKind> KindOf(std::string_view name) {
  for (LineKind k : {LineKind::kUsage, LineKind::kAdjustment, LineKind::kDiscount,
                     LineKind::kMarkup, LineKind::kCommitmentDiscount, LineKind::kCredit,
                     LineKind::kRecurringCharge}) {
    if (pricing::LineKindName(k) == name) return k;
  }
  return Bad("lines[].kind", "unknown kind " + std::string(name));
}

Result<pricing::TierCharge> ParseTier(od::object obj) {
  pricing::TierCharge t;
  for (auto field : obj) {
    std::string_view key;
    od::value v;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS ||
        field.value().get(v) != simdjson::SUCCESS) {
      return Bad("tiers", "is not valid JSON");
    }
    if (key == "effectiveDate") {
      TALLY_ASSIGN_OR_RETURN(std::string s, String(v, key));
      auto time = ParseUtcTime(s);
      if (!time.ok()) return Bad(key, time.status().message());
      t.effective_date = *time;
    } else if (key == "threshold") {
      TALLY_ASSIGN_OR_RETURN(t.threshold, Number(v, key));
    } else if (key == "nextThreshold") {
      bool is_null = false;
      if (v.is_null().get(is_null) == simdjson::SUCCESS && is_null) continue;
      TALLY_ASSIGN_OR_RETURN(Decimal next, Number(v, key));
      t.next_threshold = next;
    } else if (key == "from") {
      TALLY_ASSIGN_OR_RETURN(t.from, Number(v, key));
    } else if (key == "to") {
      TALLY_ASSIGN_OR_RETURN(t.to, Number(v, key));
    } else if (key == "quantity") {
      TALLY_ASSIGN_OR_RETURN(t.quantity, Number(v, key));
    } else if (key == "unitPrice") {
      TALLY_ASSIGN_OR_RETURN(t.unit_price, Number(v, key));
    } else if (key == "amount") {
      TALLY_ASSIGN_OR_RETURN(t.amount, Exact(v, key));
    } else {
      return Bad("tiers", "unknown property " + std::string(key));
    }
  }
  return t;
}

Result<InvoiceLine> ParseLine(od::object obj, Currency currency, const pricing::TimeZone& zone) {
  InvoiceLine line;
  bool has_unrounded = false;
  for (auto field : obj) {
    std::string_view key;
    od::value v;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS ||
        field.value().get(v) != simdjson::SUCCESS) {
      return Bad("lines", "is not valid JSON");
    }
    pricing::MeterRating& r = line.rating;
    if (key == "kind") {
      TALLY_ASSIGN_OR_RETURN(std::string s, String(v, key));
      TALLY_ASSIGN_OR_RETURN(line.kind, KindOf(s));
    } else if (key == "meterId") {
      TALLY_ASSIGN_OR_RETURN(line.meter_id, String(v, key));
    } else if (key == "meterName") {
      TALLY_ASSIGN_OR_RETURN(line.meter_name, String(v, key));
    } else if (key == "unit") {
      TALLY_ASSIGN_OR_RETURN(line.unit, String(v, key));
    } else if (key == "adjustedPeriod") {
      TALLY_ASSIGN_OR_RETURN(std::string s, String(v, key));
      auto month = BillingMonth::Parse(s);
      if (!month.ok()) return Bad(key, month.status().message());
      auto period = BillingPeriod::Make(*month, zone);
      if (!period.ok()) return Bad(key, period.status().message());
      line.adjusted_period = *period;
    } else if (key == "quantity") {
      TALLY_ASSIGN_OR_RETURN(r.quantity, Number(v, key));
    } else if (key == "includedQuantity") {
      TALLY_ASSIGN_OR_RETURN(r.included_quantity, Number(v, key));
    } else if (key == "billableQuantity") {
      TALLY_ASSIGN_OR_RETURN(r.billable_quantity, Number(v, key));
    } else if (key == "unpricedQuantity") {
      TALLY_ASSIGN_OR_RETURN(r.unpriced_quantity, Number(v, key));
    } else if (key == "startPosition") {
      TALLY_ASSIGN_OR_RETURN(r.start_position, Number(v, key));
    } else if (key == "tiers") {
      od::array tiers;
      if (v.get_array().get(tiers) != simdjson::SUCCESS) return Bad(key, "must be an array");
      for (auto element : tiers) {
        od::object tier;
        if (element.get_object().get(tier) != simdjson::SUCCESS) {
          return Bad(key, "must hold objects");
        }
        TALLY_ASSIGN_OR_RETURN(pricing::TierCharge t, ParseTier(tier));
        r.tiers.push_back(std::move(t));
      }
    } else if (key == "unroundedAmount") {
      TALLY_ASSIGN_OR_RETURN(line.unrounded_amount, Exact(v, key));
      has_unrounded = true;
    } else if (key == "amount") {
      TALLY_ASSIGN_OR_RETURN(Decimal d, Number(v, key));
      line.amount = Money(d, currency);
    } else if (key == "adjustment") {
      TALLY_ASSIGN_OR_RETURN(Decimal d, Number(v, key));
      line.adjustment = Money(d, currency);
    } else if (key == "commitmentDiscount") {
      TALLY_ASSIGN_OR_RETURN(Decimal d, Number(v, key));
      line.commitment_discount = Money(d, currency);
    } else if (key == "net") {
      TALLY_ASSIGN_OR_RETURN(Decimal d, Number(v, key));
      line.net = Money(d, currency);
    } else if (key == "commitmentEligible") {
      TALLY_ASSIGN_OR_RETURN(line.commitment_eligible, Bool(v, key));
    } else if (key == "creditEligible") {
      TALLY_ASSIGN_OR_RETURN(line.credit_eligible, Bool(v, key));
    } else if (key == "percent") {
      TALLY_ASSIGN_OR_RETURN(line.percent, Number(v, key));
    } else {
      return Bad("lines", "unknown property " + std::string(key));
    }
  }
  const bool meter_line = line.kind == LineKind::kUsage || line.kind == LineKind::kAdjustment;
  // Money members default to USD: give every one the invoice's currency.
  if (!meter_line) {
    line.adjustment = Money::Zero(currency);
    line.commitment_discount = Money::Zero(currency);
    line.net = Money::Zero(currency);
  }
  line.amount = Money(line.amount.amount(), currency);
  if (meter_line) {
    line.rating.meter_id = line.meter_id;
    line.rating.amount = line.unrounded_amount;
    line.rating.end_position =
        line.rating.start_position + line.rating.quantity - line.rating.unpriced_quantity;
  } else if (!has_unrounded) {
    line.unrounded_amount = ExactAmount::FromDecimal(line.amount.amount());
  }
  return line;
}

Result<pricing::Invoice> ParseDocument(od::object obj) {
  pricing::Invoice inv;
  std::optional<BillingMonth> month;
  std::optional<pricing::TimeZone> zone;
  std::optional<Currency> currency;
  std::optional<Decimal> usage_amount, credit_available, credit_used, total;
  for (auto field : obj) {
    std::string_view key;
    od::value v;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS ||
        field.value().get(v) != simdjson::SUCCESS) {
      return Bad("invoice", "is not valid JSON");
    }
    if (key == "subscriptionId") {
      TALLY_ASSIGN_OR_RETURN(inv.subscription_id, String(v, key));
    } else if (key == "offerDurableId") {
      TALLY_ASSIGN_OR_RETURN(inv.offer_durable_id, String(v, key));
    } else if (key == "period") {
      TALLY_ASSIGN_OR_RETURN(std::string s, String(v, key));
      auto m = BillingMonth::Parse(s);
      if (!m.ok()) return Bad(key, m.status().message());
      month = *m;
    } else if (key == "timeZone") {
      TALLY_ASSIGN_OR_RETURN(std::string s, String(v, key));
      auto z = pricing::TimeZone::Load(s);
      if (!z.ok()) return Bad(key, z.status().message());
      zone = *z;
    } else if (key == "periodStart" || key == "periodEnd" || key == "hasUnpricedUsage") {
      // Derived from period and timeZone, and from the lines.
    } else if (key == "currency") {
      TALLY_ASSIGN_OR_RETURN(std::string s, String(v, key));
      auto c = Currency::Find(s);
      if (!c.ok()) return Bad(key, c.status().message());
      currency = *c;
    } else if (key == "lines") {
      if (!currency || !zone) return Bad(key, "must come after currency and timeZone");
      od::array lines;
      if (v.get_array().get(lines) != simdjson::SUCCESS) return Bad(key, "must be an array");
      for (auto element : lines) {
        od::object line;
        if (element.get_object().get(line) != simdjson::SUCCESS) {
          return Bad(key, "must hold objects");
        }
        TALLY_ASSIGN_OR_RETURN(InvoiceLine l, ParseLine(line, *currency, *zone));
        inv.lines.push_back(std::move(l));
      }
    } else if (key == "usageAmount") {
      TALLY_ASSIGN_OR_RETURN(usage_amount, Number(v, key));
    } else if (key == "creditAvailable") {
      TALLY_ASSIGN_OR_RETURN(credit_available, Number(v, key));
    } else if (key == "creditUsed") {
      TALLY_ASSIGN_OR_RETURN(credit_used, Number(v, key));
    } else if (key == "total") {
      TALLY_ASSIGN_OR_RETURN(total, Number(v, key));
    } else {
      return Bad("invoice", "unknown property " + std::string(key));
    }
  }
  if (!month || !zone || !currency || !usage_amount || !credit_available || !credit_used ||
      !total) {
    return Bad("invoice", "period, timeZone, currency, lines and the amounts are required");
  }
  TALLY_ASSIGN_OR_RETURN(inv.period, BillingPeriod::Make(*month, *zone));
  inv.currency = *currency;
  inv.usage_amount = Money(*usage_amount, *currency);
  inv.credit_available = Money(*credit_available, *currency);
  inv.credit_used = Money(*credit_used, *currency);
  inv.total = Money(*total, *currency);
  return inv;
}

}  // namespace

Result<pricing::Invoice> ParseInvoiceJson(std::string_view json) {
  simdjson::padded_string padded(json);
  od::parser parser;
  od::document doc;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) {
    return Bad("invoice", "is not JSON");
  }
  od::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) return Bad("invoice", "is not an object");
  return ParseDocument(obj);
}

}  // namespace tally::exports
