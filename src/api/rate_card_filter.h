// The $filter of the RateCard API (contract §7):
//   OfferDurableId eq 'MS-AZR-0003P' and Currency eq 'USD' and Locale eq 'en-US' and
//   RegionInfo eq 'US'
// Only `eq` and `and`, each of the four names exactly once, in any order; names and keywords in
// any case; values in single quotes ('' inside a value is one quote, as in OData). Values only.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace tally::api {

struct RateCardFilter {
  std::string offer_durable_id;
  std::string currency;
  std::string locale;
  std::string region_info;
};

// InvalidArgument saying what is wrong (a missing or repeated name, an unknown name, an
// operator other than eq, an unquoted value, text after the last clause).
Result<RateCardFilter> ParseRateCardFilter(std::string_view text);

}  // namespace tally::api
