// BillingStore: the durable state of pricing and chargeback beside the usage ledger: imported
// rate cards, each subscription's pricing terms, and invoices (draft or final), plus the one
// usage read billing needs (hourly quantities by usage hour within a sequence-number range).
//
// The store keeps documents (a rate card's JSON, an invoice's renderings) as the layer above
// made them and never interprets them: pricing rules live in src/pricing/, the billing process
// in src/billing/. Its own rules are few and stated per method: keys, the immutability of a
// final invoice, and the contiguity of the late-usage coverage of a finalized period.
//
// A backend implements it next to UsageStore and through the same single writer (the SQLite
// store: UsageStore::Billing()). Thread-safe: any method may be called from any thread.
// docs/storage.md has the tables.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/decimal.h"
#include "common/status.h"
#include "common/time.h"

namespace tally::store {

// An imported rate card. Key: (offer_durable_id, region, currency, locale), offer and currency
// compared in upper case; the store keeps the spellings it is given.
struct StoredRateCard {
  std::string offer_durable_id;  // e.g. "MS-AZR-0003P"
  std::string region;            // RegionInfo; "" when the offer has one card
  std::string currency;          // ISO 4217, upper case
  std::string locale;            // e.g. "en-US"
  std::string document;          // the RateCard JSON (src/pricing/rate_card_json.h)
  UtcTime imported;              // when this version was saved
  bool operator==(const StoredRateCard&) const = default;
};

// The pricing terms of one subscription: which card prices it and its own adjustments.
struct SubscriptionPricingRecord {
  std::string subscription_id;  // lower-case GUID
  std::string offer_durable_id;
  std::string region;
  std::string currency;
  // Percent of every usage line: negative = discount (-10), positive = markup (+15).
  Decimal adjustment_percent;
  std::optional<Decimal> commitment;  // monetary commitment in the card's currency
  UtcTime updated;
  bool operator==(const SubscriptionPricingRecord&) const = default;
};

enum class InvoiceStatus { kDraft, kFinal };
std::string_view InvoiceStatusName(InvoiceStatus s);  // "draft", "final"

// The part of one earlier, finalized period's usage that an invoice bills as late usage: the
// hours of `period` committed with seq in (after_seq, up_to_seq].
struct InvoiceCoverage {
  std::string period;  // "2026-09"
  uint64_t after_seq = 0;
  uint64_t up_to_seq = 0;
  bool operator==(const InvoiceCoverage&) const = default;
};

// The quantity of one meter of one period that an invoice billed (its usage line, or an
// adjustment line for an earlier period): the positions it used on the period's tier axis.
struct BilledQuantity {
  std::string period;    // "2026-10"
  std::string meter_id;  // as on the invoice
  Decimal quantity;
  bool operator==(const BilledQuantity&) const = default;
};

struct StoredInvoice {
  std::string subscription_id;  // lower-case GUID
  std::string period;           // "2026-10"
  std::string time_zone;        // the zone the period was computed in, e.g. "UTC"
  std::string offer_durable_id;
  std::string currency;
  std::string total;  // the invoice total, as formatted (e.g. "18.58")
  InvoiceStatus status = InvoiceStatus::kDraft;
  // The invoice covers the usage of its period committed up to this seq; for a final invoice,
  // later usage of the period is late usage.
  uint64_t watermark_seq = 0;
  std::vector<InvoiceCoverage> coverage;
  std::vector<BilledQuantity> billed;
  // The renderings (src/export/invoice_format.h), kept so a final invoice never changes.
  std::string json;
  std::string csv;
  std::string html;
  UtcTime created;
  std::optional<UtcTime> finalized;
  bool operator==(const StoredInvoice&) const = default;
};

// What to list: empty strings mean any. Listed without their documents (json, csv, html empty).
struct InvoiceFilter {
  std::string subscription_id;
  std::string period;
  std::optional<InvoiceStatus> status;
};

// The billing read of usage: hourly sums per (subscription, meter, usage hour).
struct HourlyUsageQuery {
  std::vector<std::string> subscription_ids;  // lower-case; empty selects nothing
  UsageHour from;                             // inclusive
  UsageHour to;                               // exclusive
  uint64_t after_seq = 0;                     // only records with after_seq < seq <= up_to_seq
  uint64_t up_to_seq = 0;
};

// One sum; the views are valid during the visit only.
struct HourlyUsageRow {
  std::string_view subscription_id;
  std::string_view meter_id;  // the catalog's spelling when the meter is known
  UsageHour hour;
  Decimal quantity;  // the exact sum over the resource instances
};

class BillingStore {
 public:
  virtual ~BillingStore() = default;

  // Inserts the card, or replaces the one with the same key. InvalidArgument when the offer,
  // currency or locale is empty or the document is empty.
  virtual Status SaveRateCard(const StoredRateCard& card) = 0;
  // Every card, in key order (offer, region, currency, locale), with its document.
  virtual Result<std::vector<StoredRateCard>> ListRateCards() = 0;

  // Inserts or replaces the terms of record.subscription_id. InvalidArgument when the ID is not
  // a GUID or the offer is empty.
  virtual Status SaveSubscriptionPricing(const SubscriptionPricingRecord& record) = 0;
  // Every subscription's terms, in subscription ID order.
  virtual Result<std::vector<SubscriptionPricingRecord>> ListSubscriptionPricing() = 0;

  // Saves draft invoices in one transaction, each replacing the draft of its (subscription,
  // period). All or nothing: AlreadyExists naming every invoice whose (subscription, period)
  // is already final; InvalidArgument when one is not a draft.
  virtual Status SaveDraftInvoices(const std::vector<StoredInvoice>& invoices) = 0;

  // Makes the draft of (subscription_id, period) final at `when`, in one transaction that
  // checks it first: NotFound when there is no invoice; AlreadyExists when it is already final;
  // InvalidArgument when its watermark_seq is not `expected_watermark_seq` (it was recomputed
  // meanwhile), or when one of its coverage entries does not continue exactly where the final
  // invoices leave that period (after_seq must equal the period's covered seq: the final
  // invoice's watermark, raised by every final coverage of the period), so that no late usage
  // is ever billed twice or skipped. After this the invoice never changes. In the same
  // transaction it records an `invoice.finalized` event, whose payload is the invoice's JSON,
  // with one pending delivery per webhook endpoint that receives it (WebhookStore's outbox).
  virtual Status FinalizeInvoice(const std::string& subscription_id, const std::string& period,
                                 uint64_t expected_watermark_seq, UtcTime when) = 0;

  // Invoices matching the filter, by (subscription, period), without their documents.
  virtual Result<std::vector<StoredInvoice>> ListInvoices(const InvoiceFilter& filter) = 0;
  // One invoice with its documents; nullopt when there is none.
  virtual Result<std::optional<StoredInvoice>> FindInvoice(const std::string& subscription_id,
                                                           const std::string& period) = 0;

  // Visits the hourly sums of the query's usage window and seq range, subscription by
  // subscription (in the order given), each in (usage hour, meter key) order. Quantities are
  // exact; Internal when a sum overflows. `visit` runs under the store's read lock: it must
  // not call the store. The latest committed seq is UsageStore::GetStats().last_seq.
  virtual Status VisitHourlyUsage(const HourlyUsageQuery& query,
                                  const std::function<void(const HourlyUsageRow&)>& visit) = 0;
};

}  // namespace tally::store
