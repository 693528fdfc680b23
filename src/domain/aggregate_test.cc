#include "domain/aggregate.h"

#include <gtest/gtest.h>

namespace tally::domain {
namespace {

TEST(InstanceData, IsTheDocumentedJsonString) {
  EXPECT_EQ(FormatInstanceData("/subscriptions/s/rg", "local", Properties{{"Dept", "Sales"}},
                               std::nullopt),
            R"({"Microsoft.Resources":{"resourceUri":"/subscriptions/s/rg","location":"local",)"
            R"("tags":{"Dept":"Sales"},"additionalInfo":null}})");
}

TEST(AggregateProperties, CarryExactQuantityAndOffsetTimes) {
  UsageAggregate a;
  a.subscription_id = "s";
  a.meter_id = "M";
  a.usage_start = UtcTime{0};
  a.usage_end = UtcTime{kMicrosPerHour};
  a.quantity = *Decimal::Parse("0.217790327034891");
  a.instance_data = "{}";
  std::string out;
  AppendAggregatePropertiesJson(out, a);
  EXPECT_EQ(out,
            R"({"subscriptionId":"s","usageStartTime":"1970-01-01T00:00:00+00:00",)"
            R"("usageEndTime":"1970-01-01T01:00:00+00:00","instanceData":"{}",)"
            R"("quantity":0.217790327034891,"meterId":"M"})");
}

TEST(Granularity, ParsesCaseInsensitively) {
  EXPECT_EQ(*ParseGranularity("hourly"), Granularity::kHourly);
  EXPECT_EQ(*ParseGranularity("Daily"), Granularity::kDaily);
  EXPECT_FALSE(ParseGranularity("weekly").ok());
}

}  // namespace
}  // namespace tally::domain
