#include "export/invoice_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <sstream>

#include "export/test_util.h"

namespace tally::exports {
namespace {

using testing::CsvRows;
using ::testing::HasSubstr;
using testing::MakeDocumentedExampleInvoice;
using testing::MakeOneLineInvoice;
using ::testing::Not;
using testing::ReadCsv;

std::string Json(const pricing::Invoice& inv) {
  std::string out;
  AppendInvoiceJson(out, inv);
  return out;
}

std::string Csv(const pricing::Invoice& inv) {
  std::ostringstream out;
  EXPECT_TRUE(WriteInvoiceCsv(out, inv).ok());
  return out.str();
}

std::string Html(const pricing::Invoice& inv) {
  std::string out;
  AppendInvoiceHtml(out, inv);
  return out;
}

// The raw text of a JSON number or string value, exactly as written.
std::string RawValue(simdjson::ondemand::value v) {
  std::string_view raw = v.raw_json_token();
  while (!raw.empty() && raw.back() == ' ') raw.remove_suffix(1);
  return std::string(raw);
}

TEST(InvoiceJson, TopLevelMembersAndExactAmountsOfTheDocumentedExample) {
  const std::string json = Json(MakeDocumentedExampleInvoice());
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(json);
  simdjson::ondemand::document doc = parser.iterate(padded);
  simdjson::ondemand::object obj = doc.get_object();
  std::vector<std::string> keys;
  std::vector<std::string> kinds;
  std::vector<std::string> amounts;
  std::string total;
  for (auto field : obj) {
    std::string key(std::string_view(field.unescaped_key()));
    keys.push_back(key);
    if (key == "subscriptionId") {
      EXPECT_EQ(std::string_view(field.value().get_string()),
                "4f1e5a0c-8d2b-4c1e-9a57-1a2b3c4d5e6f");
    } else if (key == "period") {
      EXPECT_EQ(std::string_view(field.value().get_string()), "2026-10");
    } else if (key == "currency") {
      EXPECT_EQ(std::string_view(field.value().get_string()), "USD");
    } else if (key == "lines") {
      for (auto line : field.value().get_array()) {
        for (auto lf : line.get_object()) {
          std::string lk(std::string_view(lf.unescaped_key()));
          if (lk == "kind") kinds.emplace_back(std::string_view(lf.value().get_string()));
          if (lk == "amount") amounts.push_back(RawValue(lf.value()));
        }
      }
    } else if (key == "total") {
      total = RawValue(field.value());
    }
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"subscriptionId", "offerDurableId", "period",
                                            "timeZone", "periodStart", "periodEnd", "currency",
                                            "lines", "usageAmount", "creditAvailable", "creditUsed",
                                            "hasUnpricedUsage", "total"}));
  EXPECT_EQ(kinds, (std::vector<std::string>{"usage", "usage", "adjustment", "discount",
                                             "commitmentDiscount", "credit", "recurringCharge"}));
  // Every amount is a JSON number with exactly the cents: docs/pricing.md's worked example.
  EXPECT_EQ(amounts, (std::vector<std::string>{"3.32", "63.02", "2.00", "-6.83", "-2.93", "-50.00",
                                               "10.00"}));
  EXPECT_EQ(total, "18.58");
}

TEST(InvoiceJson, LinesCarryTheirTierBreakdownWithExactDigits) {
  const std::string json = Json(MakeDocumentedExampleInvoice());
  // The VM line: 600 at 0.05, then 400 at 0.06 and 200.5 at 0.045 after the price change.
  EXPECT_THAT(json, HasSubstr(R"("tiers":[{"effectiveDate":"2026-01-01T00:00:00Z","threshold":0,)"
                              R"("nextThreshold":1000,"from":0,"to":600,"quantity":600,)"
                              R"("unitPrice":0.05,"amount":30},)"));
  EXPECT_THAT(json, HasSubstr(R"("from":1000,"to":1200.5,"quantity":200.5,"unitPrice":0.045,)"
                              R"("amount":9.0225})"));
  EXPECT_THAT(json, HasSubstr(R"("unroundedAmount":3.325,"amount":3.32,"adjustment":-0.33,)"
                              R"("commitmentDiscount":0.00,"net":2.99)"));
  EXPECT_THAT(json,
              HasSubstr(R"("kind":"adjustment","meterId":"FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5",)"
                        R"("meterName":"Base VM Size Hours","unit":"Virtual core hours",)"
                        R"("adjustedPeriod":"2026-09","quantity":50,)"));
  EXPECT_THAT(json, HasSubstr(R"({"kind":"discount","percent":-10,"amount":-6.83})"));
  EXPECT_THAT(
      json,
      HasSubstr(R"("periodStart":"2026-10-01T00:00:00Z","periodEnd":"2026-11-01T00:00:00Z")"));
}

TEST(InvoiceJson, AmountsHaveTheCurrencysMinorUnitDigits) {
  EXPECT_THAT(Json(MakeOneLineInvoice("s", "n", "u", "3", "0.5")), HasSubstr(R"("total":1.50})"));
  EXPECT_THAT(Json(MakeOneLineInvoice("s", "n", "u", "3", "0.5", "JPY")),
              HasSubstr(R"("total":2})"));  // 1.5 yen to even
  EXPECT_THAT(Json(MakeOneLineInvoice("s", "n", "u", "3", "0.5", "KWD")),
              HasSubstr(R"("total":1.500})"));
}

TEST(InvoiceJson, TextIsEscapedAndTheOutputParses) {
  const std::string json =
      Json(MakeOneLineInvoice("sub \"x\"\n", "Disk \\ \"fast\" é", "GB\tmonth", "1", "1"));
  EXPECT_THAT(json, HasSubstr(R"("subscriptionId":"sub \"x\"\n")"));
  EXPECT_THAT(json, HasSubstr(R"("meterName":"Disk \\ \"fast\" é")"));
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(json);
  simdjson::ondemand::document doc = parser.iterate(padded);
  std::string_view unit;
  for (auto line : doc["lines"].get_array()) {
    ASSERT_EQ(line["unit"].get_string().get(unit), simdjson::SUCCESS);
  }
  EXPECT_EQ(unit, "GB\tmonth");
}

TEST(InvoiceCsv, HeaderOrderAndOneRowPerLine) {
  const pricing::Invoice inv = MakeDocumentedExampleInvoice();
  const CsvRows rows = ReadCsv(Csv(inv));
  ASSERT_EQ(rows.size(), 1 + inv.lines.size());
  std::vector<std::string> header;
  for (const auto& f : rows[0]) header.push_back(*f);
  EXPECT_EQ(header, std::vector<std::string>(kInvoiceCsvColumns.begin(), kInvoiceCsvColumns.end()));
  EXPECT_EQ(header.front(), "subscriptionId");
  EXPECT_EQ(header[13], "amount");
  for (size_t i = 1; i < rows.size(); ++i) ASSERT_EQ(rows[i].size(), kInvoiceCsvColumns.size());
}

TEST(InvoiceCsv, RowsHoldExactDigitsAndTheAmountsSumToTheTotal) {
  const std::string text = Csv(MakeDocumentedExampleInvoice());
  const CsvRows rows = ReadCsv(text);
  // The IP line, field by field.
  const std::vector<std::optional<std::string>> ip = rows[1];
  EXPECT_EQ(*ip[3], "usage");
  EXPECT_EQ(*ip[4], "F271A8A388C44D93956A063E1D2FA80B");
  EXPECT_FALSE(ip[7].has_value());  // no adjusted period: null
  EXPECT_EQ(*ip[8], "1330");
  EXPECT_EQ(*ip[12], "3.325");
  EXPECT_EQ(*ip[13], "3.32");
  EXPECT_EQ(*ip[16], "0.00");
  EXPECT_EQ(*ip[17], "2.99");
  // The adjustment names its period; the discount its percentage.
  EXPECT_EQ(*rows[3][7], "2026-09");
  EXPECT_EQ(*rows[4][3], "discount");
  EXPECT_EQ(*rows[4][14], "-10");
  EXPECT_FALSE(rows[4][8].has_value());
  // Sum of the amount column, in cents, is the invoice total.
  int64_t cents = 0;
  for (size_t i = 1; i < rows.size(); ++i) {
    auto d = Decimal::Parse(*rows[i][13]);
    ASSERT_TRUE(d.ok());
    cents += static_cast<int64_t>(d->raw() / (Decimal::kOne / 100));
  }
  EXPECT_EQ(cents, 1858);
}

TEST(InvoiceCsv, QuotesCommasNewlinesAndNonAscii) {
  const std::string text =
      Csv(MakeOneLineInvoice("s,1", "Disk \"fast\", tier\n2 — 東京", "GB·month", "1", "1"));
  EXPECT_THAT(text, HasSubstr("\"s,1\",2026-10,USD,usage,M1,\"Disk \"\"fast\"\", tier\n2 — 東京\","
                              "GB·month,,1,0,1,0,1,1.00,,0.00,0.00,1.00\r\n"));
  const CsvRows rows = ReadCsv(text);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(*rows[1][5], "Disk \"fast\", tier\n2 — 東京");
}

TEST(InvoiceHtml, IsACompletePrintablePageWithTheNumbers) {
  const std::string html = Html(MakeDocumentedExampleInvoice());
  EXPECT_TRUE(
      html.starts_with("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"));
  EXPECT_TRUE(html.ends_with("</body></html>\n"));
  EXPECT_THAT(html, HasSubstr("@media print"));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("http://")));
  EXPECT_THAT(html, Not(HasSubstr("https://")));
  EXPECT_THAT(html,
              HasSubstr("<tr class=\"total\"><td>Total</td><td class=\"num\">18.58 USD</td></tr>"));
  EXPECT_THAT(html, HasSubstr("<td class=\"num\">1000 to 1200.5</td><td class=\"num\">200.5</td>"
                              "<td class=\"num\">0.045</td><td class=\"num\">9.0225</td>"));
  EXPECT_THAT(html, HasSubstr("<td>adjustment for 2026-09: Base VM Size Hours "
                              "(FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5)</td>"));
  EXPECT_THAT(html, HasSubstr("<td>discount -10%</td><td class=\"num\">-6.83 USD</td>"));
}

TEST(InvoiceHtml, AllTextIsEscaped) {
  const std::string html = Html(MakeOneLineInvoice("<b>sub</b>&amp;", "<script>alert('x')</script>",
                                                   "\"GB\" & 'more'", "1", "1"));
  EXPECT_THAT(html, Not(HasSubstr("<script>")));
  EXPECT_THAT(html, Not(HasSubstr("<b>sub")));
  EXPECT_THAT(html, HasSubstr("&lt;b&gt;sub&lt;/b&gt;&amp;amp;"));
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
  EXPECT_THAT(html, HasSubstr("&quot;GB&quot; &amp; &#39;more&#39;"));
}

TEST(HtmlEscape, ReplacesTheFiveSpecialCharactersOnly) {
  std::string out;
  AppendHtmlEscaped(out, "a<b>&\"c'é");
  EXPECT_EQ(out, "a&lt;b&gt;&amp;&quot;c&#39;é");
}

}  // namespace
}  // namespace tally::exports
