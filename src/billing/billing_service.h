// BillingService: the chargeback process over the store and the pricing engine. It imports
// rate cards, puts subscriptions on offers, drafts every priced subscription's invoice of a
// billing period, and finalizes them; usage that arrives for a period after it was finalized
// is billed as adjustment lines on a later invoice, never on the final one. The CLI and the
// HTTP API call these same functions. Rules and operation: docs/pricing.md.
//
// Owner: the caller owns the store and the clock, which must outlive the service. Thread-safe
// as far as the store is (it keeps no state of its own besides those references); two
// concurrent RunInvoices of one period may both save drafts, and the later one wins.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/decimal.h"
#include "common/status.h"
#include "pricing/billing_period.h"
#include "pricing/rate_card.h"
#include "store/usage_store.h"

namespace tally::billing {

struct ImportedRateCard {
  store::StoredRateCard card;
  bool replaced = false;  // a card with the same key existed and was replaced
  size_t meter_entries = 0;
  size_t offer_terms = 0;
};

struct SubscriptionPricingRequest {
  std::string subscription_id;
  std::string offer_durable_id;
  std::optional<std::string> region;    // required when the offer has cards for several
  std::optional<std::string> currency;  // required when the offer has cards in several
  Decimal adjustment_percent;           // negative = discount, positive = markup; >= -100
  std::optional<Decimal> commitment;    // not negative
};

// One invoice of a run or a finalize.
struct InvoiceSummary {
  std::string subscription_id;
  std::string period;
  std::string currency;
  std::string total;
  size_t adjustment_lines = 0;
  bool has_unpriced_usage = false;
};

struct SubscriptionProblem {
  std::string subscription_id;
  std::string problem;
};

struct RunReport {
  std::string period;
  std::string time_zone;
  uint64_t watermark_seq = 0;            // the usage seq the drafts were computed at
  std::vector<InvoiceSummary> drafted;   // saved as drafts (replacing earlier drafts)
  std::vector<std::string> already_final;  // left unchanged
  // Tenant subscriptions with no pricing: reported, never billed silently at zero.
  std::vector<std::string> without_offer;
  // Subscriptions that could not be invoiced (no such card, a bad card, a zone change...).
  std::vector<SubscriptionProblem> failed;
};

struct FinalizeReport {
  std::string period;
  std::vector<InvoiceSummary> finalized;
  std::vector<std::string> already_final;
  std::vector<SubscriptionProblem> failed;  // e.g. a draft out of date: run the period again
};

class BillingService {
 public:
  // InvalidArgument when `store` has no billing side (UsageStore::Billing() is null).
  static Result<BillingService> Make(store::UsageStore& store, const Clock& clock);

  // Parses `json` (the RateCard JSON, src/pricing/rate_card_json.h) for `offer_durable_id` and
  // `region` and saves it, replacing the card with the same (offer, region, currency, locale).
  // InvalidArgument listing every problem of the card.
  Result<ImportedRateCard> ImportRateCard(std::string_view json, std::string offer_durable_id,
                                          std::string region);
  // Every stored card in key order, with its document.
  Result<std::vector<store::StoredRateCard>> ListRateCards();
  // The one card of the offer that matches the given region / currency / locale (each may be
  // omitted when only one card of the offer fits). NotFound when none matches; InvalidArgument
  // naming the choices when several do.
  Result<store::StoredRateCard> FindRateCard(std::string_view offer_durable_id,
                                             std::optional<std::string> region,
                                             std::optional<std::string> currency,
                                             std::optional<std::string> locale = std::nullopt);

  // Puts a subscription on an offer with its terms, after checking that exactly one card of
  // the offer fits the region and currency given. The subscription must be registered
  // (UsageStore::SaveSubscription). Returns the saved record. InvalidArgument for every bad
  // input in one message; NotFound when the offer has no card or the subscription is unknown.
  Result<store::SubscriptionPricingRecord> SetSubscriptionPricing(
      const SubscriptionPricingRequest& request);
  Result<std::vector<store::SubscriptionPricingRecord>> ListSubscriptionPricing();

  // Drafts the invoice of `month` in `zone` for every subscription with pricing, from all usage
  // committed so far (the store's last seq, recorded as the drafts' watermark): usage lines for
  // the period's hours, and adjustment lines for usage of earlier final periods committed after
  // what their final invoices (and the final adjustments since) covered. Final invoices of
  // `month` are left unchanged. Per-subscription problems are reported, not fatal; the call
  // fails only when the store fails.
  Result<RunReport> RunInvoices(pricing::BillingMonth month, const pricing::TimeZone& zone);

  // Finalizes every draft of `month` exactly as last drafted. Each finalize also queues the
  // invoice for every webhook endpoint that receives invoice.finalized, atomically with it
  // (BillingStore::FinalizeInvoice); delivery is src/webhook/'s (docs/webhooks.md).
  Result<FinalizeReport> FinalizeInvoices(pricing::BillingMonth month);

  // Listing and reading (the store's, for the HTTP layer and the CLI alike).
  Result<std::vector<store::StoredInvoice>> ListInvoices(const store::InvoiceFilter& filter);
  // NotFound when the subscription has no invoice for the period.
  Result<store::StoredInvoice> GetInvoice(const std::string& subscription_id,
                                          const std::string& period);

 private:
  BillingService(store::UsageStore& usage, store::BillingStore& billing, const Clock& clock)
      : usage_(&usage), billing_(&billing), clock_(&clock) {}

  store::UsageStore* usage_;
  store::BillingStore* billing_;
  const Clock* clock_;
};

}  // namespace tally::billing
