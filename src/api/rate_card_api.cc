// The RateCard API (contract §7; Azure has it, Azure Stack Hub does not):
//   GET /subscriptions/{subscriptionId}/providers/Microsoft.Commerce/RateCard
//       ?api-version=2015-06-01-preview|2016-08-31-preview
//       &$filter=OfferDurableId eq '…' and Currency eq '…' and Locale eq '…' and RegionInfo eq '…'
// answered with the imported card's PascalCase body as a direct 200 (never the 302 public Azure
// sends: clients follow it differently). A tenant key reads the card of its own subscription's
// offer; an operator key any card, through a subscription it may read. Decisions: docs/api.md.
#include <algorithm>
#include <optional>
#include <string>

#include "api/api_service.h"
#include "api/auth.h"
#include "api/errors.h"
#include "api/query_string.h"
#include "api/rate_card_filter.h"
#include "billing/billing_service.h"
#include "common/strings.h"

namespace tally::api {
namespace {

constexpr std::string_view kRateCardApiVersions[] = {"2015-06-01-preview", "2016-08-31-preview"};

// Azure's own message for a filter it cannot use, followed by what is wrong with this one.
constexpr std::string_view kInvalidFilter =
    "Invalid query specified. Please specify valid values for OfferDurableId, Currency, Locale "
    "and RegionInfo.";

HttpResponse Forbidden(std::string_view subscription_id) {
  return ErrorResponse(
      PermissionDenied("the client is not authorized to read rate cards of subscription '" +
                       std::string(subscription_id) + "'"));
}

}  // namespace

HttpResponse ApiService::GetRateCard(const HttpRequest& request, const PathParams& params) const {
  Result<domain::ApiKey> key = AuthenticateBearer(store_, request);
  if (!key.ok()) return ErrorResponse(key.status());
  const std::string subscription_id = AsciiLower(params.Get("subscriptionId"));
  // Who may ask through this subscription: its tenant keys, and operator keys that may read
  // its usage (the rule of the tenant usage API).
  Result<bool> allowed = MayReadSubscription(store_, *key, subscription_id);
  if (!allowed.ok()) return ErrorResponse(allowed.status());
  if (!*allowed) return Forbidden(subscription_id);

  Result<QueryString> q = QueryString::Parse(request.RawQuery());
  if (!q.ok()) return ErrorResponse(q.status(), "InvalidQueryParameterValue");
  const std::optional<std::string> api_version = q->Find("api-version");
  if (!api_version || api_version->empty()) {
    return ErrorResponse(
        InvalidArgument("the query parameter api-version is required; use 2015-06-01-preview"),
        "NoApiVersion");
  }
  if (std::none_of(std::begin(kRateCardApiVersions), std::end(kRateCardApiVersions),
                   [&](std::string_view v) { return EqualsIgnoreCase(*api_version, v); })) {
    return ErrorResponse(InvalidArgument("api-version '" + *api_version +
                                         "' is not supported; use 2015-06-01-preview or "
                                         "2016-08-31-preview"),
                         "InvalidApiVersionParameter");
  }
  const std::optional<std::string> filter_text = q->Find("$filter");
  if (!filter_text || q->IsRepeated("$filter")) {
    return ErrorResponse(InvalidArgument(std::string(kInvalidFilter) +
                                         (filter_text ? " $filter is given more than once."
                                                      : " $filter is required.")),
                         "InvalidFilter");
  }
  Result<RateCardFilter> filter = ParseRateCardFilter(*filter_text);
  if (!filter.ok()) {
    return ErrorResponse(
        InvalidArgument(std::string(kInvalidFilter) + " " + filter.status().message() + "."),
        "InvalidFilter");
  }

  Result<billing::BillingService> billing = billing::BillingService::Make(store_, clock_);
  if (!billing.ok()) return ErrorResponse(Internal(billing.status().message()));
  if (key->role == domain::Role::kTenant) {
    // A tenant reads only the card its own subscription is priced with.
    Result<std::vector<store::SubscriptionPricingRecord>> pricing =
        billing->ListSubscriptionPricing();
    if (!pricing.ok()) return ErrorResponse(pricing.status());
    const auto mine = std::find_if(pricing->begin(), pricing->end(), [&](const auto& p) {
      return p.subscription_id == subscription_id;
    });
    if (mine == pricing->end() ||
        !EqualsIgnoreCase(mine->offer_durable_id, filter->offer_durable_id)) {
      return ErrorResponse(PermissionDenied("subscription '" + subscription_id +
                                            "' is not on offer '" + filter->offer_durable_id +
                                            "'"));
    }
  }
  // RegionInfo and Locale pick a card when the offer has one for them; an offer imported
  // without a region serves every region, and a card in another locale still has the prices
  // (the locale only names things).
  struct Choice {
    std::optional<std::string> region;
    std::optional<std::string> locale;
  };
  const Choice choices[] = {{filter->region_info, filter->locale},
                            {std::string(), filter->locale},
                            {filter->region_info, std::nullopt},
                            {std::string(), std::nullopt}};
  Result<store::StoredRateCard> card = NotFound("no card");
  for (const Choice& c : choices) {
    card = billing->FindRateCard(filter->offer_durable_id, c.region, filter->currency, c.locale);
    if (card.ok() || card.status().code() != StatusCode::kNotFound) break;
  }
  if (!card.ok()) {
    if (card.status().code() == StatusCode::kNotFound) {
      return ErrorResponse(NotFound("there is no rate card for offer '" + filter->offer_durable_id +
                                    "' in currency '" + filter->currency + "' for region '" +
                                    filter->region_info + "'"),
                           "RateCardNotFound");
    }
    return ErrorResponse(card.status());
  }
  HttpResponse r;
  r.body = card->document;  // FormatRateCardJson's PascalCase text, never with a BOM
  return r;
}

}  // namespace tally::api
