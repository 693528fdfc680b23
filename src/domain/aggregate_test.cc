#include "domain/aggregate.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

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

TEST(AggregatePropertiesWriter, WritesWhatTheFunctionWritesAndEscapesEachInstanceOnce) {
  const std::string first = R"({"Microsoft.Resources":{"resourceUri":"/a\"b","tags":null}})";
  const std::string second = R"({"Microsoft.Resources":{"resourceUri":"/c"}})";
  std::vector<UsageAggregate> rows(4);
  for (size_t i = 0; i < rows.size(); ++i) {
    rows[i].subscription_id = "s";
    rows[i].meter_id = i % 2 ? "M\"1" : "M2";
    rows[i].usage_start = UtcTime{static_cast<int64_t>(i) * kMicrosPerHour};
    rows[i].usage_end = UtcTime{static_cast<int64_t>(i + 1) * kMicrosPerHour};
    rows[i].quantity = *Decimal::Parse(i % 2 ? "1.5" : "0");
    rows[i].instance_data = i < 3 ? first : second;
  }
  AggregatePropertiesWriter writer;
  for (const UsageAggregate& a : rows) {
    std::string expected;
    AppendAggregatePropertiesJson(expected, a);
    std::string out = "[";
    writer.Append(out, a);
    EXPECT_EQ(out, "[" + expected);
  }
  std::string one;
  AppendAggregatePropertiesJson(one, rows[0]);
  EXPECT_NE(one.find(R"("instanceData":"{\"Microsoft.Resources\":{\"resourceUri\":\"/a\\\"b\")"),
            std::string::npos)
      << one;
}

TEST(Granularity, ParsesCaseInsensitively) {
  EXPECT_EQ(*ParseGranularity("hourly"), Granularity::kHourly);
  EXPECT_EQ(*ParseGranularity("Daily"), Granularity::kDaily);
  EXPECT_FALSE(ParseGranularity("weekly").ok());
}

}  // namespace
}  // namespace tally::domain
