// The RateCard JSON of the Azure RateCard API (contract §7), read and written: the format of
// `tally ratecards import|export` and of the RateCard API's 200 body. Stateless functions;
// thread-safe.
//
//   {"OfferTerms":[{"Credit":150,"EffectiveDate":"2026-01-01T00:00:00Z",
//                   "ExcludedMeterIds":[],"Name":"Monetary Credit"}],
//    "Meters":[{"EffectiveDate":"2026-01-01T00:00:00Z","IncludedQuantity":0,
//               "MeterCategory":"...","MeterId":"...","MeterName":"...",
//               "MeterRates":{"0":1.99,"100":0.99},"MeterRegion":"...","MeterStatus":"Active",
//               "MeterSubCategory":"...","MeterTags":[],"Unit":"Hours"}],
//    "Currency":"USD","Locale":"en-US","IsTaxIncluded":false}
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "pricing/rate_card.h"

namespace tally::pricing {

// Parses a RateCard body. `offer_durable_id` and `region` are not part of the JSON and are
// stored in the card as given. Every number (prices, thresholds, quantities, credits) is read
// from its JSON text, digit for digit (at most 15 fractional digits). Required: Currency (a
// code Currency::Find knows), Meters (an array; each item with MeterId, MeterRates and
// EffectiveDate) and, per offer term, Name, EffectiveDate and the amount its Name needs
// (Credit, TieredDiscount or RecurringCharge). Optional: Locale ("en-US"), IsTaxIncluded
// (false), OfferTerms ([]), the descriptive meter strings and MeterTags, IncludedQuantity (0),
// ExcludedMeterIds ([]); null counts as absent. Unknown or repeated properties are refused (a
// misspelt IncludedQuantity would otherwise silently bill the free quantity). MeterRates and
// TieredDiscount may list their keys in any order. A leading UTF-8 BOM is ignored.
// InvalidArgument when the text is not JSON (naming line and column), and otherwise one
// InvalidArgument listing every problem by its JSON path ("Meters[2].MeterRates[\"100\"]: the
// price must be a JSON number"), including every rule of ValidateRateCard.
Result<RateCard> ParseRateCardJson(std::string_view json, std::string offer_durable_id,
                                   std::string region);

// The card as a RateCard body: the shape above, properties in that order, numbers in their
// shortest exact form, times as RFC 3339 UTC ("Z"), MeterStatus only when set. Never a BOM.
// ParseRateCardJson(FormatRateCardJson(c), c.offer_durable_id, c.region) == c for a valid card
// whose rates and discount levels are in ascending order.
std::string FormatRateCardJson(const RateCard& card);

}  // namespace tally::pricing
