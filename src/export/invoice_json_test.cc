#include "export/invoice_json.h"

#include <sstream>

#include <gtest/gtest.h>

#include "export/focus_csv.h"
#include "export/invoice_format.h"
#include "export/test_util.h"

namespace tally::exports {
namespace {

std::string Json(const pricing::Invoice& inv) {
  std::string out;
  AppendInvoiceJson(out, inv);
  return out;
}

// Every rendering of the invoice read back equals that of the invoice itself.
void ExpectSameRenderings(const pricing::Invoice& original) {
  const std::string json = Json(original);
  auto parsed = ParseInvoiceJson(json);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(Json(*parsed), json);

  std::ostringstream a, b;
  ASSERT_TRUE(WriteInvoiceCsv(a, original).ok());
  ASSERT_TRUE(WriteInvoiceCsv(b, *parsed).ok());
  EXPECT_EQ(b.str(), a.str());

  std::string html_a, html_b;
  AppendInvoiceHtml(html_a, original);
  AppendInvoiceHtml(html_b, *parsed);
  EXPECT_EQ(html_b, html_a);

  FocusOptions options{"Contoso Private Cloud", "acct-1", "", "local", ""};
  std::ostringstream fa, fb;
  FocusCsvWriter wa(fa, options, domain::MeterCatalog::Builtin());
  FocusCsvWriter wb(fb, options, domain::MeterCatalog::Builtin());
  ASSERT_TRUE(wa.WriteInvoice(original).ok());
  ASSERT_TRUE(wb.WriteInvoice(*parsed).ok());
  EXPECT_EQ(fb.str(), fa.str());

  EXPECT_EQ(parsed->total, original.total);
  EXPECT_EQ(parsed->period, original.period);
  ASSERT_EQ(parsed->lines.size(), original.lines.size());
  for (size_t i = 0; i < original.lines.size(); ++i) {
    EXPECT_EQ(parsed->lines[i].rating.end_position, original.lines[i].rating.end_position);
    EXPECT_EQ(parsed->lines[i].unrounded_amount, original.lines[i].unrounded_amount);
  }
}

TEST(InvoiceJson, DocumentedExampleReadsBackToTheSameRenderings) {
  ExpectSameRenderings(testing::MakeDocumentedExampleInvoice());
}

TEST(InvoiceJson, ThirtyDigitAmountsAndOtherCurrenciesReadBackExactly) {
  // 0.123456789012345 x 0.000000000000007 has 30 fractional digits.
  ExpectSameRenderings(
      testing::MakeOneLineInvoice("sub", "Meter", "Hours", "0.123456789012345",
                                  "0.000000000000007"));
  ExpectSameRenderings(testing::MakeOneLineInvoice("sub", "M\"<&", "GB", "1234.5", "3", "JPY"));
  ExpectSameRenderings(testing::MakeOneLineInvoice("sub", "Meter", "GB", "10.0005", "1.1", "KWD"));
}

TEST(InvoiceJson, RefusesWhatItDidNotWrite) {
  EXPECT_EQ(ParseInvoiceJson("[]").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseInvoiceJson("{\"total\":1}").status().code(), StatusCode::kInvalidArgument);
  std::string json = Json(testing::MakeDocumentedExampleInvoice());
  std::string unknown = json;
  unknown.replace(unknown.find("\"usageAmount\""), 13, "\"usageAmounts\"");
  auto r = ParseInvoiceJson(unknown);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("usageAmounts"), std::string::npos);
  EXPECT_FALSE(ParseInvoiceJson(json.substr(0, json.size() / 2)).ok());
}

}  // namespace
}  // namespace tally::exports
