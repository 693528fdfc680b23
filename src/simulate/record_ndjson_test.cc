#include <gtest/gtest.h>

#include "simulate/simulator.h"

namespace tally::simulate {
namespace {

domain::UsageRecord SampleRecord() {
  domain::UsageRecord r;
  r.record_id = "sim-00ff";
  r.subscription_id = "8f1c9a52-3c1e-4a8b-9d2e-0b6f4c7a1e55";
  r.meter_id = "F271A8A388C44D93956A063E1D2FA80B";
  r.resource_uri = "/subscriptions/8f1c9a52-3c1e-4a8b-9d2e-0b6f4c7a1e55/resourceGroups/rg \"q\"/x";
  r.location = "local";
  r.usage_start =
      UsageHour::FromHours(ParseUtcTime("2024-02-29T23:00:00Z")->micros / kMicrosPerHour);
  r.quantity = *Decimal::Parse("0.0013888889");
  return r;
}

TEST(AppendRecordNdjson, WritesOneLineOfTheIngestFormat) {
  domain::UsageRecord r = SampleRecord();
  r.tags = domain::Properties{{"CostCenter", "CC-1"}, {"Department", "Finance"}};
  std::string out = "prefix\n";
  AppendRecordNdjson(out, r, ReportedTime(*ParseUtcTime("2024-03-01T00:07:05Z")));
  EXPECT_EQ(
      out,
      "prefix\n"
      "{\"recordId\":\"sim-00ff\",\"subscriptionId\":\"8f1c9a52-3c1e-4a8b-9d2e-0b6f4c7a1e55\","
      "\"meterId\":\"F271A8A388C44D93956A063E1D2FA80B\",\"resourceUri\":\"/subscriptions/"
      "8f1c9a52-3c1e-4a8b-9d2e-0b6f4c7a1e55/resourceGroups/rg \\\"q\\\"/x\",\"location\":"
      "\"local\",\"usageStartTime\":\"2024-02-29T23:00:00Z\",\"usageEndTime\":"
      "\"2024-03-01T00:00:00Z\",\"quantity\":0.0013888889,\"tags\":{\"CostCenter\":\"CC-1\","
      "\"Department\":\"Finance\"},\"reportedTime\":\"2024-03-01T00:07:05Z\"}\n");
}

TEST(AppendRecordNdjson, OmitsAbsentPropertiesAndReportedTime) {
  domain::UsageRecord r = SampleRecord();
  r.additional_info = domain::Properties{{"ServiceType", "Standard_D2_v2"}};
  std::string out;
  AppendRecordNdjson(out, r);
  EXPECT_EQ(out.find("\"tags\""), std::string::npos);
  EXPECT_EQ(out.find("reportedTime"), std::string::npos);
  EXPECT_NE(out.find(",\"additionalInfo\":{\"ServiceType\":\"Standard_D2_v2\"}}\n"),
            std::string::npos);
}

TEST(AppendRecordNdjson, WritesQuantitiesExactly) {
  domain::UsageRecord r = SampleRecord();
  for (const char* q : {"0", "12", "0.000000000000001", "1.5", "123456789012345678.25",
                        "999999999999999999999.999999999999999", "2.4"}) {
    r.quantity = *Decimal::Parse(q);
    std::string out;
    AppendRecordNdjson(out, r);
    EXPECT_NE(out.find(std::string("\"quantity\":") + q + "}\n"), std::string::npos) << out;
  }
}

TEST(AppendRecordNdjson, KeepsFractionsOfASecondInTheReportedTime) {
  std::string out;
  AppendRecordNdjson(out, SampleRecord(), ReportedTime(*ParseUtcTime("2024-03-01T00:07:05.25Z")));
  EXPECT_NE(out.find("\"reportedTime\":\"2024-03-01T00:07:05.25Z\"}"), std::string::npos) << out;
}

}  // namespace
}  // namespace tally::simulate
