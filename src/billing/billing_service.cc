#include "billing/billing_service.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "common/strings.h"
#include "domain/meter.h"
#include "export/invoice_format.h"
#include "pricing/invoice.h"
#include "pricing/rate_card_json.h"

namespace tally::billing {
namespace {

using pricing::BillingMonth;
using pricing::BillingPeriod;
using pricing::TimeZone;

bool SameKey(std::string_view a, std::string_view b) { return EqualsIgnoreCase(a, b); }

// A storage failure ends the whole operation; any other status is a per-subscription answer.
bool IsStoreFailure(const Status& s) {
  return s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kDataLoss ||
         s.code() == StatusCode::kInternal;
}

// The usage hours whose start lies in [start, end): from the first whole hour at or after
// `start` to the first at or after `end` (a zone with a half-hour offset starts its months
// within an hour).
UsageHour CeilHour(UtcTime t) {
  int64_t h = t.micros / kMicrosPerHour;
  if (h * kMicrosPerHour < t.micros) ++h;
  return UsageHour::FromHours(h);
}

std::string CardChoice(const store::StoredRateCard& c) {
  return (c.region.empty() ? std::string("(no region)") : c.region) + "/" + c.currency + "/" +
         c.locale;
}

// Per-meter hours of one subscription, built from the visit's rows. Meters are few per
// subscription, so a linear search beats a map; the store's views of one meter share their
// text, so the search compares pointers first and text only on a miss.
struct MeterHours {
  std::string key;
  const char* seen = nullptr;  // the data() of the last view that matched
  pricing::MeterUsage usage;
};
uint32_t MeterIndex(std::vector<MeterHours>& meters, std::string_view meter_id) {
  for (uint32_t i = 0; i < meters.size(); ++i) {
    if (meters[i].seen == meter_id.data()) return i;
  }
  for (uint32_t i = 0; i < meters.size(); ++i) {
    if (EqualsIgnoreCase(meters[i].key, meter_id)) {
      meters[i].seen = meter_id.data();
      return i;
    }
  }
  meters.push_back(
      MeterHours{domain::MeterKey(meter_id), meter_id.data(), {std::string(meter_id), {}}});
  return static_cast<uint32_t>(meters.size() - 1);
}

struct FlatHour {
  uint32_t meter;  // index into the MeterHours
  UsageHour hour;
  Decimal quantity;
};

// The hours of `q` per meter, appended to `meters` (in the visit's (hour, meter) order, so
// each meter's hours ascend). The rows are gathered in `flat` first, which the caller keeps
// across subscriptions, and each meter's list is then allocated once at its final size: a
// month's run otherwise spent more time growing vectors (and, on its first run, faulting in
// fresh heap pages) than reading the index (docs/benchmarks.md, "Billing").
Status CollectHours(store::BillingStore& billing, const store::HourlyUsageQuery& q,
                    std::vector<FlatHour>& flat, std::vector<MeterHours>& meters) {
  flat.clear();
  TALLY_RETURN_IF_ERROR(billing.VisitHourlyUsage(q, [&](const store::HourlyUsageRow& row) {
    flat.push_back(FlatHour{MeterIndex(meters, row.meter_id), row.hour, row.quantity});
  }));
  std::vector<size_t> counts(meters.size());
  for (const FlatHour& f : flat) ++counts[f.meter];
  for (size_t i = 0; i < meters.size(); ++i) {
    meters[i].usage.hours.reserve(meters[i].usage.hours.size() + counts[i]);
  }
  for (const FlatHour& f : flat) meters[f.meter].usage.hours.push_back({f.hour, f.quantity});
  return Status::Ok();
}

}  // namespace

Result<BillingService> BillingService::Make(store::UsageStore& store, const Clock& clock) {
  store::BillingStore* billing = store.Billing();
  if (billing == nullptr) return InvalidArgument("this store keeps no billing data");
  return BillingService(store, *billing, clock);
}

Result<ImportedRateCard> BillingService::ImportRateCard(std::string_view json,
                                                        std::string offer_durable_id,
                                                        std::string region) {
  TALLY_ASSIGN_OR_RETURN(pricing::RateCard card,
                         pricing::ParseRateCardJson(json, std::move(offer_durable_id),
                                                    std::move(region)));
  ImportedRateCard out;
  out.card.offer_durable_id = card.offer_durable_id;
  out.card.region = card.region;
  out.card.currency = std::string(card.currency.code());
  out.card.locale = card.locale;
  // Kept in the canonical form (no BOM, properties in order, exact numbers): what the export
  // and the RateCard API serve.
  out.card.document = pricing::FormatRateCardJson(card);
  out.card.imported = clock_->Now();
  out.meter_entries = card.meters.size();
  out.offer_terms = card.offer_terms.size();
  TALLY_ASSIGN_OR_RETURN(auto existing, billing_->ListRateCards());
  for (const store::StoredRateCard& c : existing) {
    if (SameKey(c.offer_durable_id, out.card.offer_durable_id) &&
        SameKey(c.region, out.card.region) && SameKey(c.currency, out.card.currency) &&
        SameKey(c.locale, out.card.locale)) {
      out.replaced = true;
    }
  }
  TALLY_RETURN_IF_ERROR(billing_->SaveRateCard(out.card));
  return out;
}

Result<std::vector<store::StoredRateCard>> BillingService::ListRateCards() {
  return billing_->ListRateCards();
}

Result<store::StoredRateCard> BillingService::FindRateCard(std::string_view offer_durable_id,
                                                           std::optional<std::string> region,
                                                           std::optional<std::string> currency,
                                                           std::optional<std::string> locale) {
  TALLY_ASSIGN_OR_RETURN(auto cards, billing_->ListRateCards());
  std::vector<store::StoredRateCard> fit;
  bool offer_known = false;
  for (store::StoredRateCard& c : cards) {
    if (!SameKey(c.offer_durable_id, offer_durable_id)) continue;
    offer_known = true;
    if (region && !SameKey(c.region, *region)) continue;
    if (currency && !SameKey(c.currency, *currency)) continue;
    if (locale && !SameKey(c.locale, *locale)) continue;
    fit.push_back(std::move(c));
  }
  std::string offer(offer_durable_id);
  if (!offer_known) {
    return NotFound("offer " + offer + " has no rate card (import one with tally ratecards import)");
  }
  if (fit.empty()) {
    std::string want;
    if (region) want += " region " + *region;
    if (currency) want += " currency " + *currency;
    if (locale) want += " locale " + *locale;
    return NotFound("offer " + offer + " has no rate card for" + want);
  }
  if (fit.size() > 1) {
    std::string choices;
    for (const auto& c : fit) choices += (choices.empty() ? "" : ", ") + CardChoice(c);
    return InvalidArgument("offer " + offer + " has several rate cards (region/currency/locale: " +
                           choices + "); choose one with --region, --currency or --locale");
  }
  return std::move(fit.front());
}

Result<store::SubscriptionPricingRecord> BillingService::SetSubscriptionPricing(
    const SubscriptionPricingRequest& r) {
  std::string problems;
  auto problem = [&](std::string_view p) {
    if (!problems.empty()) problems.append("; ");
    problems.append(p);
  };
  if (!IsGuid(r.subscription_id)) problem("subscription id must be a GUID");
  if (r.offer_durable_id.empty()) problem("the offer is required");
  if (r.adjustment_percent < Decimal::FromInt(-100)) {
    problem("a discount cannot exceed 100 percent");
  }
  if (r.commitment && r.commitment->is_negative()) problem("the commitment must not be negative");
  if (!problems.empty()) return InvalidArgument(problems);

  const std::string sub_id = AsciiLower(r.subscription_id);
  TALLY_ASSIGN_OR_RETURN(auto sub, usage_->FindSubscription(sub_id));
  if (!sub) return NotFound("subscription " + sub_id + " is not registered");

  // Cards of one (region, currency) may differ by locale only; any of them fixes the pricing.
  TALLY_ASSIGN_OR_RETURN(auto cards, billing_->ListRateCards());
  std::vector<const store::StoredRateCard*> fit;
  bool offer_known = false;
  for (const store::StoredRateCard& c : cards) {
    if (!SameKey(c.offer_durable_id, r.offer_durable_id)) continue;
    offer_known = true;
    if (r.region && !SameKey(c.region, *r.region)) continue;
    if (r.currency && !SameKey(c.currency, *r.currency)) continue;
    bool seen = std::any_of(fit.begin(), fit.end(), [&](const store::StoredRateCard* f) {
      return SameKey(f->region, c.region) && SameKey(f->currency, c.currency);
    });
    if (!seen) fit.push_back(&c);
  }
  if (!offer_known) {
    return NotFound("offer " + r.offer_durable_id +
                    " has no rate card (import one with tally ratecards import)");
  }
  if (fit.empty()) {
    return NotFound("offer " + r.offer_durable_id + " has no rate card for" +
                    (r.region ? " region " + *r.region : std::string()) +
                    (r.currency ? " currency " + *r.currency : std::string()));
  }
  if (fit.size() > 1) {
    std::string choices;
    for (const auto* c : fit) {
      choices += (choices.empty() ? "" : ", ") +
                 (c->region.empty() ? std::string("(no region)") : c->region) + "/" + c->currency;
    }
    return InvalidArgument("offer " + r.offer_durable_id +
                           " has rate cards for several regions or currencies (" + choices +
                           "); choose with --region and --currency");
  }
  store::SubscriptionPricingRecord record;
  record.subscription_id = sub_id;
  record.offer_durable_id = fit.front()->offer_durable_id;
  record.region = fit.front()->region;
  record.currency = fit.front()->currency;
  record.adjustment_percent = r.adjustment_percent;
  record.commitment = r.commitment;
  record.updated = clock_->Now();
  TALLY_RETURN_IF_ERROR(billing_->SaveSubscriptionPricing(record));
  if (sub->offer != record.offer_durable_id) {
    domain::Subscription updated = *sub;
    updated.offer = record.offer_durable_id;
    TALLY_RETURN_IF_ERROR(usage_->SaveSubscription(updated));
  }
  return record;
}

Result<std::vector<store::SubscriptionPricingRecord>> BillingService::ListSubscriptionPricing() {
  return billing_->ListSubscriptionPricing();
}

Result<RunReport> BillingService::RunInvoices(BillingMonth month, const TimeZone& zone) {
  TALLY_ASSIGN_OR_RETURN(BillingPeriod period, BillingPeriod::Make(month, zone));
  RunReport report;
  report.period = month.ToString();
  report.time_zone = zone.name();
  // Everything committed up to here is billed; later records wait for the next run.
  const uint64_t seq = usage_->GetStats().last_seq;
  report.watermark_seq = seq;

  TALLY_ASSIGN_OR_RETURN(auto pricing_records, billing_->ListSubscriptionPricing());
  TALLY_ASSIGN_OR_RETURN(auto subscriptions, usage_->ListSubscriptions());
  TALLY_ASSIGN_OR_RETURN(auto cards, billing_->ListRateCards());
  TALLY_ASSIGN_OR_RETURN(auto invoices, billing_->ListInvoices({}));

  std::set<std::string> priced;
  for (const auto& p : pricing_records) priced.insert(p.subscription_id);
  for (const domain::Subscription& s : subscriptions) {
    if (s.kind == domain::SubscriptionKind::kTenant && priced.count(s.id) == 0) {
      report.without_offer.push_back(s.id);
    }
  }
  std::map<std::string, std::vector<store::StoredInvoice>> finals;  // by subscription
  std::set<std::string> final_now;                                  // of `month`
  for (store::StoredInvoice& inv : invoices) {
    if (inv.status != store::InvoiceStatus::kFinal) continue;
    if (inv.period == report.period) final_now.insert(inv.subscription_id);
    finals[inv.subscription_id].push_back(std::move(inv));
  }

  for (const auto& p : pricing_records) {
    if (final_now.count(p.subscription_id) != 0) report.already_final.push_back(p.subscription_id);
  }
  // Price lists, parsed once per card.
  std::map<std::string, Result<pricing::PriceList>> price_lists;
  auto price_list_for =
      [&](const store::SubscriptionPricingRecord& p) -> Result<const pricing::PriceList*> {
    const store::StoredRateCard* card = nullptr;
    for (const store::StoredRateCard& c : cards) {
      if (SameKey(c.offer_durable_id, p.offer_durable_id) && SameKey(c.region, p.region) &&
          SameKey(c.currency, p.currency)) {
        card = &c;
        break;  // key order: the first locale; locales differ only in names
      }
    }
    if (card == nullptr) {
      return NotFound("offer " + p.offer_durable_id + " has no rate card for region '" +
                      p.region + "' in " + p.currency);
    }
    std::string key = AsciiUpper(card->offer_durable_id + "\n" + card->region + "\n" +
                                 card->currency + "\n" + card->locale);
    auto it = price_lists.find(key);
    if (it == price_lists.end()) {
      Result<pricing::PriceList> made = [&]() -> Result<pricing::PriceList> {
        TALLY_ASSIGN_OR_RETURN(pricing::RateCard rc,
                               pricing::ParseRateCardJson(card->document, card->offer_durable_id,
                                                          card->region));
        return pricing::PriceList::Make(std::move(rc));
      }();
      it = price_lists.emplace(key, std::move(made)).first;
    }
    if (!it->second.ok()) {
      return Status(it->second.status().code(),
                    "the stored rate card of offer " + p.offer_durable_id + " is unusable: " +
                        it->second.status().message());
    }
    return &*it->second;
  };

  std::vector<store::StoredInvoice> drafts;
  std::vector<FlatHour> flat;  // one subscription's hourly rows, reused
  for (const store::SubscriptionPricingRecord& p : pricing_records) {
    if (final_now.count(p.subscription_id) != 0) continue;
    const std::string& sub = p.subscription_id;
    auto fail = [&](const Status& s) {
      report.failed.push_back({sub, s.message()});
    };
    const std::vector<store::StoredInvoice>& sub_finals = finals[sub];

    std::string zone_problem;
    for (const store::StoredInvoice& f : sub_finals) {
      if (f.time_zone != zone.name()) {
        zone_problem = "its final invoice of " + f.period + " was computed in time zone " +
                       f.time_zone + ", not " + zone.name();
      }
    }
    if (!zone_problem.empty()) {
      fail(InvalidArgument(zone_problem));
      continue;
    }
    auto prices = price_list_for(p);
    if (!prices.ok()) {
      if (IsStoreFailure(prices.status())) return prices.status();
      fail(prices.status());
      continue;
    }

    pricing::InvoiceRequest request;
    request.subscription_id = sub;
    request.period = period;
    request.pricing.adjustment_percent = p.adjustment_percent;
    request.pricing.commitment = p.commitment;
    // The period's usage, one subscription at a time so memory holds one subscription's hours.
    {
      store::HourlyUsageQuery q;
      q.subscription_ids = {sub};
      q.from = CeilHour(period.start());
      q.to = CeilHour(period.end());
      q.after_seq = 0;
      q.up_to_seq = seq;
      std::vector<MeterHours> meters;
      TALLY_RETURN_IF_ERROR(CollectHours(*billing_, q, flat, meters));
      for (MeterHours& m : meters) request.usage.push_back(std::move(m.usage));
    }

    // Late usage: for each earlier final period, what was committed after the final invoices
    // covered it.
    std::vector<store::InvoiceCoverage> coverage;
    Status late_status;
    for (const store::StoredInvoice& f : sub_finals) {
      if (f.period >= report.period) continue;
      uint64_t covered = f.watermark_seq;
      for (const store::StoredInvoice& g : sub_finals) {
        for (const store::InvoiceCoverage& c : g.coverage) {
          if (c.period == f.period) covered = std::max(covered, c.up_to_seq);
        }
      }
      if (covered >= seq) continue;
      auto late_month = BillingMonth::Parse(f.period);
      if (!late_month.ok()) {
        late_status = DataLoss("invoice " + sub + " " + f.period + " has a damaged period");
        break;
      }
      auto late_period = BillingPeriod::Make(*late_month, zone);
      if (!late_period.ok()) {
        late_status = late_period.status();
        break;
      }
      store::HourlyUsageQuery q;
      q.subscription_ids = {sub};
      q.from = CeilHour(late_period->start());
      q.to = CeilHour(late_period->end());
      q.after_seq = covered;
      q.up_to_seq = seq;
      std::vector<MeterHours> late_meters;
      TALLY_RETURN_IF_ERROR(CollectHours(*billing_, q, flat, late_meters));
      if (late_meters.empty()) continue;
      coverage.push_back({f.period, covered, seq});
      for (MeterHours& m : late_meters) {
        pricing::LateUsage late;
        late.period = *late_period;
        late.meter_id = m.usage.meter_id;
        for (const store::StoredInvoice& g : sub_finals) {
          for (const store::BilledQuantity& b : g.billed) {
            if (b.period == f.period && EqualsIgnoreCase(b.meter_id, m.key)) {
              late.invoiced_quantity += b.quantity;
            }
          }
        }
        late.hours = std::move(m.usage.hours);
        request.late_usage.push_back(std::move(late));
      }
    }
    if (!late_status.ok()) {
      if (IsStoreFailure(late_status)) return late_status;
      fail(late_status);
      continue;
    }

    auto invoice = pricing::MakeInvoice(**prices, request);
    if (!invoice.ok()) {
      fail(invoice.status());
      continue;
    }
    store::StoredInvoice stored;
    stored.subscription_id = sub;
    stored.period = report.period;
    stored.time_zone = zone.name();
    stored.offer_durable_id = invoice->offer_durable_id;
    stored.currency = std::string(invoice->currency.code());
    stored.total = invoice->total.FormatAmount();
    stored.watermark_seq = seq;
    stored.coverage = std::move(coverage);
    InvoiceSummary summary{sub, report.period, stored.currency, stored.total, 0,
                           invoice->HasUnpricedUsage()};
    for (const pricing::InvoiceLine& line : invoice->lines) {
      if (line.kind != pricing::LineKind::kUsage && line.kind != pricing::LineKind::kAdjustment) {
        continue;
      }
      if (line.kind == pricing::LineKind::kAdjustment) ++summary.adjustment_lines;
      stored.billed.push_back(
          {line.adjusted_period ? line.adjusted_period->ToString() : report.period, line.meter_id,
           line.rating.end_position - line.rating.start_position});
    }
    exports::AppendInvoiceJson(stored.json, *invoice);
    std::ostringstream csv;
    if (Status s = exports::WriteInvoiceCsv(csv, *invoice); !s.ok()) {
      fail(s);
      continue;
    }
    stored.csv = std::move(csv).str();
    exports::AppendInvoiceHtml(stored.html, *invoice);
    stored.created = clock_->Now();
    drafts.push_back(std::move(stored));
    report.drafted.push_back(std::move(summary));
  }
  TALLY_RETURN_IF_ERROR(billing_->SaveDraftInvoices(drafts));
  return report;
}

Result<FinalizeReport> BillingService::FinalizeInvoices(BillingMonth month) {
  FinalizeReport report;
  report.period = month.ToString();
  store::InvoiceFilter filter;
  filter.period = report.period;
  TALLY_ASSIGN_OR_RETURN(auto invoices, billing_->ListInvoices(filter));
  TALLY_ASSIGN_OR_RETURN(auto pricing_records, billing_->ListSubscriptionPricing());
  std::set<std::string> invoiced;
  const UtcTime now = clock_->Now();
  for (const store::StoredInvoice& inv : invoices) {
    invoiced.insert(inv.subscription_id);
    if (inv.status == store::InvoiceStatus::kFinal) {
      report.already_final.push_back(inv.subscription_id);
      continue;
    }
    Status s = billing_->FinalizeInvoice(inv.subscription_id, inv.period, inv.watermark_seq, now);
    if (IsStoreFailure(s)) return s;
    if (!s.ok()) {
      report.failed.push_back({inv.subscription_id, s.message()});
      continue;
    }
    size_t adjustments = 0;
    for (const store::BilledQuantity& b : inv.billed) adjustments += b.period != inv.period;
    report.finalized.push_back({inv.subscription_id, inv.period, inv.currency, inv.total,
                                adjustments, false});
  }
  for (const store::SubscriptionPricingRecord& p : pricing_records) {
    if (invoiced.count(p.subscription_id) == 0) {
      report.failed.push_back({p.subscription_id, "has no invoice for " + report.period +
                                                      " (run tally invoices run first)"});
    }
  }
  return report;
}

Result<std::vector<store::StoredInvoice>> BillingService::ListInvoices(
    const store::InvoiceFilter& filter) {
  return billing_->ListInvoices(filter);
}

Result<store::StoredInvoice> BillingService::GetInvoice(const std::string& subscription_id,
                                                        const std::string& period) {
  TALLY_ASSIGN_OR_RETURN(auto found, billing_->FindInvoice(subscription_id, period));
  if (!found) {
    return NotFound("subscription " + AsciiLower(subscription_id) + " has no invoice for " +
                    period);
  }
  return std::move(*found);
}

}  // namespace tally::billing
