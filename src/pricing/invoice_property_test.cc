// Property test: for random price plans and random usage, MakeInvoice agrees to the minor unit
// with a reference written independently and as plainly as possible. The reference works in
// integers only (quantities in quarter units, prices in 10^-4, amounts in 10^-6) and prices the
// usage one quarter unit at a time, so it shares neither the interval arithmetic of
// RateMeterUsage nor the 256-bit rounding of the invoice. Seeds are fixed; a failure prints the
// case's seed.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "common/strings.h"
#include "pricing/invoice.h"

namespace tally::pricing {
namespace {

__extension__ typedef __int128 Int;

// ---- The reference: plain integer arithmetic, documented rules written out again. ----

// a / 10^k rounded half to even, for any sign.
Int RefRound(Int a, int k) {
  Int div = 1;
  for (int i = 0; i < k; ++i) div *= 10;
  const bool neg = a < 0;
  Int m = neg ? -a : a;
  Int q = m / div;
  const Int r = m % div;
  if (2 * r > div || (2 * r == div && q % 2 == 1)) ++q;
  return neg ? -q : q;
}

struct RefEntry {
  int64_t effective_hour;             // usage hours from this hour on use this entry
  int64_t included_q;                 // quarters
  std::vector<int64_t> thresholds_q;  // quarters, first 0
  std::vector<int64_t> prices;        // 10^-4 units
};

struct RefMeter {
  std::string id;
  std::vector<RefEntry> entries;  // any order
  bool third_party = false;
};

// The amount, in 10^-6, of `hours` (hour -> quarters) continuing from `start_q`.
Int RefRate(const RefMeter* meter, const std::map<int64_t, int64_t>& hours, int64_t start_q) {
  Int micros = 0;
  int64_t pos = start_q;
  for (const auto& [hour, quarters] : hours) {
    const RefEntry* in_force = nullptr;
    if (meter != nullptr) {
      for (const RefEntry& e : meter->entries) {
        if (e.effective_hour <= hour &&
            (in_force == nullptr || e.effective_hour > in_force->effective_hour)) {
          in_force = &e;
        }
      }
    }
    if (in_force == nullptr) continue;  // unpriced: no charge, no position
    for (int64_t j = pos; j < pos + quarters; ++j) {
      if (j < in_force->included_q) continue;
      const int64_t b = j - in_force->included_q;
      size_t tier = 0;
      for (size_t t = 0; t < in_force->thresholds_q.size(); ++t) {
        if (in_force->thresholds_q[t] <= b) tier = t;
      }
      micros += Int{in_force->prices[tier]} * 25;  // a quarter unit at 10^-4 × price
    }
    pos += quarters;
  }
  return micros;
}

struct Case {
  Currency currency;
  BillingPeriod period;
  std::vector<RefMeter> meters;
  std::vector<std::pair<std::string, std::map<int64_t, int64_t>>> usage;  // meter -> hours
  struct Late {
    std::string meter;
    int64_t invoiced_q;
    std::map<int64_t, int64_t> hours;
  };
  std::vector<Late> late;
  int64_t adjustment_tenths = 0;      // percent × 10
  std::optional<int64_t> commitment;  // whole currency units
  bool has_commitment_term = false;
  std::vector<std::pair<int64_t, int64_t>> commitment_levels;  // (level, percent)
  std::vector<std::string> commitment_excluded;
  bool has_credit = false;
  int64_t credit_mills = 0;
  std::vector<std::string> credit_excluded;
  bool has_recurring = false;
  int64_t recurring_mills = 0;
};

bool RefIn(const std::vector<std::string>& ids, const std::string& id) {
  for (const std::string& x : ids) {
    if (EqualsIgnoreCase(x, id)) return true;
  }
  return false;
}

struct RefInvoice {
  std::vector<std::pair<std::string, Int>> line_amounts;  // "kind:meter" -> minor units
  Int total = 0;
};

RefInvoice Reference(const Case& c) {
  const int d = c.currency.minor_unit();
  RefInvoice out;
  auto find = [&](const std::string& id) -> const RefMeter* {
    for (const RefMeter& m : c.meters) {
      if (EqualsIgnoreCase(m.id, id)) return &m;
    }
    return nullptr;
  };
  int64_t percent = 0;
  if (c.has_commitment_term && c.commitment) {
    for (const auto& [level, p] : c.commitment_levels) {
      if (level <= *c.commitment) percent = p;
    }
  }
  Int adjustments = 0, commitments = 0, credit_base = 0, usage = 0;
  auto add_line = [&](const std::string& key, const std::string& meter_id, Int micros) {
    const Int amount = RefRound(micros, 6 - d);
    out.line_amounts.emplace_back(key, amount);
    usage += amount;
    const Int adj = RefRound(amount * c.adjustment_tenths, 3);
    adjustments += adj;
    const RefMeter* m = find(meter_id);
    Int com = 0;
    if (!RefIn(c.commitment_excluded, meter_id) && !(m != nullptr && m->third_party)) {
      com = -RefRound((amount + adj) * percent, 2);
    }
    commitments += com;
    if (!RefIn(c.credit_excluded, meter_id)) credit_base += amount + adj + com;
  };
  for (const auto& [meter, hours] : c.usage) {
    add_line("usage:" + meter, meter, RefRate(find(meter), hours, 0));
  }
  for (const Case::Late& l : c.late) {
    add_line("adjustment:" + l.meter, l.meter, RefRate(find(l.meter), l.hours, l.invoiced_q));
  }
  out.total = usage + adjustments + commitments;
  if (c.adjustment_tenths != 0) {
    out.line_amounts.emplace_back(c.adjustment_tenths < 0 ? "discount:" : "markup:", adjustments);
  }
  if (percent != 0) out.line_amounts.emplace_back("commitmentDiscount:", commitments);
  if (c.has_credit) {
    const Int available = RefRound(c.credit_mills, 3 - d);
    const Int used = std::min(available, std::max(Int{0}, credit_base));
    out.line_amounts.emplace_back("credit:", -used);
    out.total -= used;
  }
  if (c.has_recurring) {
    const Int r = RefRound(c.recurring_mills, 3 - d);
    out.line_amounts.emplace_back("recurringCharge:", r);
    out.total += r;
  }
  return out;
}

// ---- Random cases, and the same case as MakeInvoice's input. ----

Decimal Scaled(int64_t units, int fractional_digits) {
  Decimal::Raw raw = units;
  for (int i = fractional_digits; i < Decimal::kScale; ++i) raw *= 10;
  return Decimal::FromRaw(raw);
}
Decimal Quarters(int64_t q) { return Decimal::FromRaw(Decimal::Raw{q} * (Decimal::kOne / 4)); }
std::string ToText(Int v) { return Int128ToString(v); }

Case RandomCase(uint64_t seed, const TimeZone& berlin) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  Case c;
  const char* codes[] = {"USD", "JPY", "KWD", "EUR"};
  c.currency = *Currency::Find(codes[pick(0, 3)]);
  const BillingMonth month{2026, static_cast<int>(pick(2, 12))};
  c.period = *BillingPeriod::Make(month, pick(0, 1) ? berlin : TimeZone::Utc());
  const BillingPeriod previous = *c.period.Previous();
  const int64_t first_hour = c.period.start().micros / kMicrosPerHour;
  const int64_t hours_in_period =
      (c.period.end().micros - c.period.start().micros) / kMicrosPerHour;
  const int64_t prev_first = previous.start().micros / kMicrosPerHour;

  const int n_meters = static_cast<int>(pick(1, 4));
  for (int i = 0; i < n_meters; ++i) {
    RefMeter m;
    m.id = (pick(0, 1) ? "meter-" : "METER-") + std::to_string(i);
    m.third_party = pick(0, 4) == 0;
    const int n_entries = static_cast<int>(pick(1, 3));
    for (int e = 0; e < n_entries; ++e) {
      RefEntry entry;
      // The first entry mostly starts before both periods; later ones anywhere (distinct).
      entry.effective_hour = e == 0 && pick(0, 5) != 0 ? prev_first - pick(0, 1000)
                                                       : prev_first + pick(0, 2 * hours_in_period);
      entry.included_q = pick(0, 2) == 0 ? pick(1, 400) : 0;
      entry.thresholds_q.push_back(0);
      entry.prices.push_back(pick(0, 99999));
      const int tiers = static_cast<int>(pick(0, 3));
      for (int t = 0; t < tiers; ++t) {
        entry.thresholds_q.push_back(entry.thresholds_q.back() + pick(1, 800));
        entry.prices.push_back(pick(0, 99999));
      }
      bool clash = false;
      for (const RefEntry& other : m.entries) clash |= other.effective_hour == entry.effective_hour;
      if (!clash) m.entries.push_back(entry);
    }
    c.meters.push_back(m);
  }
  // Usage of the card's meters (spelled in another case sometimes) and of an unknown one.
  for (int i = 0; i <= n_meters; ++i) {
    if (pick(0, 4) == 0) continue;
    std::string id = i == n_meters ? "unpriced-meter" : c.meters[i].id;
    if (pick(0, 3) == 0) std::transform(id.begin(), id.end(), id.begin(), ::tolower);
    std::map<int64_t, int64_t> hours;
    const int n = static_cast<int>(pick(0, 30));
    for (int h = 0; h < n; ++h) hours[first_hour + pick(0, hours_in_period - 1)] += pick(0, 400);
    c.usage.emplace_back(id, hours);
  }
  if (pick(0, 2) == 0) {
    Case::Late l;
    l.meter = c.meters[pick(0, n_meters - 1)].id;
    l.invoiced_q = pick(0, 2000);
    const int n = static_cast<int>(pick(1, 5));
    const int64_t prev_hours = first_hour - prev_first;
    for (int h = 0; h < n; ++h) l.hours[prev_first + pick(0, prev_hours - 1)] += pick(0, 400);
    c.late.push_back(l);
  }
  c.adjustment_tenths = pick(0, 2) == 0 ? 0 : pick(-500, 500);
  if (pick(0, 1)) c.commitment = pick(0, 3000);
  c.has_commitment_term = pick(0, 1);
  c.commitment_levels = {{0, pick(0, 5)}, {500, pick(0, 20)}, {2000, pick(0, 100)}};
  c.has_credit = pick(0, 1);
  c.credit_mills = pick(0, 500'000);
  c.has_recurring = pick(0, 1);
  c.recurring_mills = pick(0, 100'000);
  for (const RefMeter& m : c.meters) {
    if (pick(0, 3) == 0) c.commitment_excluded.push_back(m.id);
    if (pick(0, 3) == 0) c.credit_excluded.push_back(m.id);
  }
  return c;
}

UsageHour Hour(int64_t h) { return UsageHour::FromHours(h); }

Result<PriceList> PricesOf(const Case& c, bool commitment_in_force, bool credit_in_force) {
  RateCard card;
  card.offer_durable_id = "MS-AZR-0003P";
  card.currency = c.currency;
  for (const RefMeter& m : c.meters) {
    for (const RefEntry& e : m.entries) {
      RateCardMeter entry;
      entry.meter_id = m.id;
      if (m.third_party) entry.meter_tags = {"Third Party"};
      entry.effective_date = Hour(e.effective_hour).utc();
      entry.included_quantity = Quarters(e.included_q);
      for (size_t t = 0; t < e.prices.size(); ++t) {
        entry.meter_rates.push_back({Quarters(e.thresholds_q[t]), Scaled(e.prices[t], 4)});
      }
      card.meters.push_back(entry);
    }
  }
  // Terms not in force begin after the period starts.
  const UtcTime before = UtcTime{c.period.start().micros - kMicrosPerDay};
  const UtcTime after = UtcTime{c.period.start().micros + kMicrosPerHour};
  if (c.has_commitment_term) {
    MonetaryCommitment t;
    for (const auto& [level, p] : c.commitment_levels) {
      t.tiered_discount.push_back({Scaled(level, 0), Scaled(p, 0)});
    }
    t.excluded_meter_ids = c.commitment_excluded;
    t.effective_date = commitment_in_force ? before : after;
    card.offer_terms.push_back(t);
  }
  if (c.has_credit) {
    card.offer_terms.push_back(MonetaryCredit{Scaled(c.credit_mills, 3), c.credit_excluded,
                                              credit_in_force ? before : after});
  }
  if (c.has_recurring)
    card.offer_terms.push_back(RecurringCharge{Scaled(c.recurring_mills, 3), before});
  return PriceList::Make(std::move(card));
}

InvoiceRequest RequestOf(const Case& c) {
  InvoiceRequest req;
  req.subscription_id = "sub";
  req.period = c.period;
  req.pricing.adjustment_percent = Scaled(c.adjustment_tenths, 1);
  if (c.commitment) req.pricing.commitment = Scaled(*c.commitment, 0);
  for (const auto& [meter, hours] : c.usage) {
    MeterUsage u{meter, {}};
    for (const auto& [h, q] : hours) u.hours.push_back({Hour(h), Quarters(q)});
    req.usage.push_back(u);
  }
  for (const Case::Late& l : c.late) {
    LateUsage u{*c.period.Previous(), l.meter, Quarters(l.invoiced_q), {}};
    for (const auto& [h, q] : l.hours) u.hours.push_back({Hour(h), Quarters(q)});
    req.late_usage.push_back(u);
  }
  return req;
}

// Minor units of an engine amount.
Int MinorUnits(const Money& m) {
  return m.amount().raw() / Scaled(1, m.currency().minor_unit()).raw();
}

TEST(InvoiceProperty, InvoiceLinesMatchAnIndependentReferenceToTheMinorUnit) {
  auto berlin = TimeZone::Load("Europe/Berlin");
  ASSERT_TRUE(berlin.ok());
  constexpr int kCases = 400;
  int with_tiers_crossed = 0;
  for (int i = 0; i < kCases; ++i) {
    const uint64_t seed = 20261001u + static_cast<uint64_t>(i);
    SCOPED_TRACE("case seed " + std::to_string(seed));
    Case c = RandomCase(seed, *berlin);
    // Terms not in force must change nothing: run every case with them in force, and a third
    // of the cases with them starting just after the period begins.
    const bool in_force = i % 3 != 0;
    auto prices = PricesOf(c, in_force, in_force);
    ASSERT_TRUE(prices.ok()) << prices.status().ToString();
    auto inv = MakeInvoice(*prices, RequestOf(c));
    ASSERT_TRUE(inv.ok()) << inv.status().ToString();
    if (!in_force) {
      c.has_commitment_term = false;
      c.has_credit = false;
    }
    const RefInvoice ref = Reference(c);

    Int sum = 0;
    std::vector<std::pair<std::string, Int>> got;
    for (const InvoiceLine& l : inv->lines) {
      ASSERT_TRUE(l.amount.IsRounded());
      got.emplace_back(std::string(LineKindName(l.kind)) + ":" + l.meter_id, MinorUnits(l.amount));
      sum += MinorUnits(l.amount);
      if (l.rating.tiers.size() > 1) ++with_tiers_crossed;
    }
    auto sorted = [](std::vector<std::pair<std::string, Int>> v) {
      std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
        return AsciiLower(a.first) < AsciiLower(b.first);
      });
      std::vector<std::string> s;
      for (const auto& [k, a] : v) s.push_back(AsciiLower(k) + "=" + ToText(a));
      return s;
    };
    EXPECT_EQ(sorted(got), sorted(ref.line_amounts));
    EXPECT_EQ(ToText(MinorUnits(inv->total)), ToText(ref.total));
    EXPECT_EQ(ToText(sum), ToText(ref.total)) << "the total is the sum of the lines";
    EXPECT_GE(MinorUnits(inv->credit_used), 0);
  }
  // The generator must exercise the interesting paths, or the test proves little.
  EXPECT_GT(with_tiers_crossed, kCases / 4);
}

}  // namespace
}  // namespace tally::pricing
