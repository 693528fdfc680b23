#include "api/rate_card_filter.h"

#include <gtest/gtest.h>

namespace tally::api {
namespace {

TEST(RateCardFilter, ReadsTheFourConditionsInAnyOrderAndCase) {
  Result<RateCardFilter> f = ParseRateCardFilter(
      "OfferDurableId eq 'MS-AZR-0003p' and Currency eq 'USD' and Locale eq 'en-US' and "
      "RegionInfo eq 'US'");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->offer_durable_id, "MS-AZR-0003p");
  EXPECT_EQ(f->currency, "USD");
  EXPECT_EQ(f->locale, "en-US");
  EXPECT_EQ(f->region_info, "US");
  f = ParseRateCardFilter(
      "  regioninfo EQ 'DE'  AND locale eq 'de-DE' and currency eq 'EUR' and "
      "offerdurableid eq 'O''Brien'  ");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->offer_durable_id, "O'Brien");
  EXPECT_EQ(f->region_info, "DE");
}

TEST(RateCardFilter, SaysWhatIsWrong) {
  const std::string all = "OfferDurableId eq 'X' and Currency eq 'USD' and Locale eq 'en-US'";
  struct Case {
    std::string text;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {"", "empty"},
           {all, "RegionInfo is required"},
           {all + " and RegionInfo eq 'US' and Currency eq 'EUR'", "Currency is given twice"},
           {all + " and Region eq 'US'", "unknown property 'Region'"},
           {all + " and RegionInfo ne 'US'", "only 'eq'"},
           {all + " or RegionInfo eq 'US'", "only 'and'"},
           {all + " and RegionInfo eq US", "single quotes"},
           {all + " and RegionInfo eq 'US", "no closing quote"},
           {all + " and RegionInfo eq ' '", "must not be empty"},
           {all + " and RegionInfo eq 'US' x", "only 'and'"},
       }) {
    Result<RateCardFilter> f = ParseRateCardFilter(c.text);
    ASSERT_FALSE(f.ok()) << c.text;
    EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(f.status().message().find(c.says), std::string::npos)
        << c.text << " -> " << f.status().message();
  }
}

}  // namespace
}  // namespace tally::api
