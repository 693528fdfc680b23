#include "export/usage_summary_csv.h"

#include <gtest/gtest.h>

#include <sstream>

#include "export/test_util.h"

namespace tally::exports {
namespace {

using testing::CsvRows;
using testing::ReadCsv;

UtcTime T(std::string_view s) { return *ParseUtcTime(s); }
Decimal D(std::string_view s) { return *Decimal::Parse(s); }

constexpr std::string_view kVmUri =
    "/subscriptions/4f1e5a0c-8d2b-4c1e-9a57-1a2b3c4d5e6f/resourceGroups/rg-web/providers/"
    "Microsoft.Compute/virtualMachines/web-01";

UsageSummaryRow VmRow() {
  UsageSummaryRow r;
  r.subscription_id = "4f1e5a0c-8d2b-4c1e-9a57-1a2b3c4d5e6f";
  r.subscription_owner = "alice@contoso.com";
  r.usage_start = T("2026-10-05T10:00:00Z");
  r.usage_end = T("2026-10-05T11:00:00Z");
  r.meter_id = "FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5";
  r.quantity = D("2.400000000000001");
  r.resource_uri = kVmUri;
  r.location = "local";
  r.tags_json = R"({"env":"prod"})";
  r.additional_info_json = R"({"ServiceType":"Standard_D2"})";
  return r;
}

std::string Export(const std::vector<UsageSummaryRow>& rows) {
  std::ostringstream out;
  UsageSummaryCsvWriter w(out, domain::MeterCatalog::Builtin());
  for (const auto& r : rows) EXPECT_TRUE(w.WriteRow(r).ok());
  EXPECT_TRUE(w.Finish().ok());
  EXPECT_EQ(w.rows_written(), rows.size());
  return out.str();
}

TEST(UsageSummaryCsv, HeaderIsExactlyTheScriptsColumnsInItsOrderAllQuoted) {
  const std::string text = Export({});
  EXPECT_EQ(text,
            "\"UsageStartTime\",\"UsageEndTime\",\"MeterName\",\"Quantity\",\"resourceType\","
            "\"location\",\"resourceGroup\",\"resourceName\",\"subowner\",\"tags\",\"MeterId\","
            "\"additionalInfo\",\"subscription\",\"resourceUri\"\r\n");
}

TEST(UsageSummaryCsv, OneRowPerAggregateWithEveryFieldQuoted) {
  const std::string text = Export({VmRow()});
  const std::string expected_row =
      "\"2026-10-05T10:00:00Z\",\"2026-10-05T11:00:00Z\",\"Base VM Size Hours\","
      "\"2.400000000000001\",\"virtualMachines\",\"local\",\"rg-web\",\"web-01\","
      "\"alice@contoso.com\",\"{\"\"env\"\":\"\"prod\"\"}\","
      "\"FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5\",\"{\"\"ServiceType\"\":\"\"Standard_D2\"\"}\","
      "\"4f1e5a0c-8d2b-4c1e-9a57-1a2b3c4d5e6f\",\"" +
      std::string(kVmUri) + "\"\r\n";
  ASSERT_EQ(text.substr(text.find("\r\n") + 2), expected_row);
  const CsvRows rows = ReadCsv(text);
  ASSERT_EQ(rows.size(), 2u);
  ASSERT_EQ(rows[1].size(), kUsageSummaryColumns.size());
  EXPECT_EQ(*rows[1][9], R"({"env":"prod"})");
}

TEST(UsageSummaryCsv, QuantityKeepsEveryDigitAndNoExponent) {
  UsageSummaryRow r = VmRow();
  r.quantity = D("123456789012345678.25");
  const CsvRows rows = ReadCsv(Export({r}));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(*rows[1][3], "123456789012345678.25");
  r.quantity = D("1e-15");
  EXPECT_EQ(*ReadCsv(Export({r}))[1][3], "0.000000000000001");
  r.quantity = D("5.000");
  EXPECT_EQ(*ReadCsv(Export({r}))[1][3], "5");
}

TEST(UsageSummaryCsv, UnknownMeterHasABlankNameAndLookupIgnoresCase) {
  UsageSummaryRow r = VmRow();
  r.meter_id = "00000000-0000-0000-0000-000000000000";
  EXPECT_EQ(*ReadCsv(Export({r}))[1][2], "");
  r.meter_id = "fab6eb84-500b-4a09-a8ca-7358f8bbaea5";
  const CsvRows rows = ReadCsv(Export({r}));
  EXPECT_EQ(*rows[1][2], "Base VM Size Hours");
  EXPECT_EQ(*rows[1][10], "fab6eb84-500b-4a09-a8ca-7358f8bbaea5");  // MeterId as given
}

TEST(UsageSummaryCsv, EachRowGetsTheNameOfItsOwnMeter) {
  UsageSummaryRow known = VmRow();
  known.meter_id = "fab6eb84-500b-4a09-a8ca-7358f8bbaea5";
  UsageSummaryRow unknown = VmRow();
  unknown.meter_id = "00000000-0000-0000-0000-000000000000";
  UsageSummaryRow empty = VmRow();
  empty.meter_id = "";
  const CsvRows rows = ReadCsv(Export({known, known, unknown, known, empty, unknown}));
  ASSERT_EQ(rows.size(), 7u);
  const char* names[] = {"Base VM Size Hours", "Base VM Size Hours", "", "Base VM Size Hours",
                         "", ""};
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(*rows[i + 1][2], names[i]) << "row " << i;
}

TEST(UsageSummaryCsv, ResourceFieldsAreSplitPositionsFourSevenAndEight) {
  EXPECT_EQ(ResourceUriSegment(kVmUri, 0), "");
  EXPECT_EQ(ResourceUriSegment(kVmUri, 4), "rg-web");
  EXPECT_EQ(ResourceUriSegment(kVmUri, 7), "virtualMachines");
  EXPECT_EQ(ResourceUriSegment(kVmUri, 8), "web-01");
  EXPECT_EQ(ResourceUriSegment(kVmUri, 9), "");
  // A nested resource: Split('/') still takes segment 8, as the script does.
  EXPECT_EQ(ResourceUriSegment("/s/x/resourceGroups/rg/providers/P/a/b/c/d", 8), "b");
  // A short or odd URI gives empty fields instead of failing.
  UsageSummaryRow r = VmRow();
  r.resource_uri = "web-01";
  const CsvRows rows = ReadCsv(Export({r}));
  EXPECT_EQ(*rows[1][4], "");
  EXPECT_EQ(*rows[1][6], "");
  EXPECT_EQ(*rows[1][7], "");
  EXPECT_EQ(*rows[1][13], "web-01");
}

TEST(UsageSummaryCsv, AbsentTagsAndAdditionalInfoAreEmpty) {
  UsageSummaryRow r = VmRow();
  r.tags_json = "null";
  r.additional_info_json = "";
  const std::string text = Export({r});
  const CsvRows rows = ReadCsv(text);
  EXPECT_EQ(*rows[1][9], "");
  EXPECT_EQ(*rows[1][11], "");
  EXPECT_NE(text.find("\"alice@contoso.com\",\"\",\"FAB6"), std::string::npos);
}

TEST(UsageSummaryCsv, QuotesCommasNewlinesAndNonAsciiSurviveARoundTrip) {
  UsageSummaryRow r = VmRow();
  const std::string uri = "/subscriptions/s/resourceGroups/rg \"a\",b/providers/P/t/名前\nzwei";
  const std::string tags = "{\"owner\":\"Zoë, \\\"ops\\\"\"}";
  r.resource_uri = uri;
  r.tags_json = tags;
  r.subscription_owner = "Jürgen \"J\" Müller,\r\nIT";
  r.location = "région-1";
  const CsvRows rows = ReadCsv(Export({r}));
  ASSERT_EQ(rows.size(), 2u);
  ASSERT_EQ(rows[1].size(), 14u);
  EXPECT_EQ(*rows[1][5], "région-1");
  EXPECT_EQ(*rows[1][6], "rg \"a\",b");
  EXPECT_EQ(*rows[1][7], "名前\nzwei");
  EXPECT_EQ(*rows[1][8], "Jürgen \"J\" Müller,\r\nIT");
  EXPECT_EQ(*rows[1][9], tags);
  EXPECT_EQ(*rows[1][13], uri);
}

TEST(UsageSummaryCsv, RowsAreWrittenAsTheyArriveNotAtTheEnd) {
  std::ostringstream out;
  UsageSummaryCsvWriter w(out, domain::MeterCatalog::Builtin());
  ASSERT_TRUE(w.WriteRow(VmRow()).ok());
  const size_t after_one = out.str().size();
  EXPECT_GT(after_one, 0u);
  ASSERT_TRUE(w.WriteRow(VmRow()).ok());
  EXPECT_EQ(out.str().size(), after_one + (after_one - out.str().find("\r\n") - 2));
}

TEST(UsageSummaryCsv, AFailedStreamIsReported) {
  std::ostringstream out;
  out.setstate(std::ios::badbit);
  UsageSummaryCsvWriter w(out, domain::MeterCatalog::Builtin());
  EXPECT_EQ(w.WriteRow(VmRow()).code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace tally::exports
