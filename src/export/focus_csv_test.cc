#include "export/focus_csv.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "export/test_util.h"

namespace tally::exports {
namespace {

using testing::CsvRows;
using testing::MakeDocumentedExampleInvoice;
using testing::MakeOneLineInvoice;
using testing::ReadCsv;

FocusOptions Options() {
  FocusOptions o;
  o.provider_name = "Contoso Private Cloud";
  o.billing_account_id = "contoso-ops";
  o.billing_account_name = "Contoso, Operations";
  o.region_id = "local";
  o.region_name = "Local";
  return o;
}

std::string Export(const std::vector<pricing::Invoice>& invoices,
                   FocusOptions options = Options()) {
  std::ostringstream out;
  FocusCsvWriter w(out, std::move(options), domain::MeterCatalog::Builtin());
  for (const auto& inv : invoices) EXPECT_TRUE(w.WriteInvoice(inv).ok());
  EXPECT_TRUE(w.Finish().ok());
  return out.str();
}

// Rows as column name -> field.
std::vector<std::map<std::string, std::optional<std::string>>> Records(const std::string& text) {
  const CsvRows rows = ReadCsv(text);
  std::vector<std::map<std::string, std::optional<std::string>>> out;
  if (rows.empty()) {
    ADD_FAILURE() << "no header";
    return out;
  }
  for (size_t i = 1; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].size(), rows[0].size()) << "row " << i;
    std::map<std::string, std::optional<std::string>> rec;
    for (size_t c = 0; c < rows[0].size() && c < rows[i].size(); ++c) rec[*rows[0][c]] = rows[i][c];
    out.push_back(std::move(rec));
  }
  return out;
}

bool IsFocusDateTime(std::string_view s) {
  // YYYY-MM-DDTHH:mm:ssZ
  if (s.size() != 20) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 4 || i == 7) {
      if (c != '-') return false;
    } else if (i == 10) {
      if (c != 'T') return false;
    } else if (i == 13 || i == 16) {
      if (c != ':') return false;
    } else if (i == 19) {
      if (c != 'Z') return false;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

// FOCUS numeric format: optional '-', digits, optional '.' digits; no exponent, no grouping.
bool IsFocusDecimal(std::string_view s) {
  if (s.starts_with('-')) s.remove_prefix(1);
  const size_t dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? "" : s.substr(dot + 1);
  auto digits = [](std::string_view d) {
    return !d.empty() &&
           std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  return digits(whole) && (dot == std::string_view::npos || digits(frac));
}

TEST(FocusCsv, HeaderHasEveryMandatoryColumnOnceWithFocusIds) {
  const CsvRows rows = ReadCsv(Export({}));
  ASSERT_EQ(rows.size(), 1u);
  std::vector<std::string> header;
  for (const auto& f : rows[0]) header.push_back(*f);
  EXPECT_EQ(header, std::vector<std::string>(kFocusColumns.begin(), kFocusColumns.end()));
  // The 21 mandatory columns of FOCUS 1.2, spelled out here independently of the header.
  const std::vector<std::string> mandatory = {
      "BilledCost",        "BillingAccountId",   "BillingAccountName", "BillingCurrency",
      "BillingPeriodEnd",  "BillingPeriodStart", "ChargeCategory",     "ChargeClass",
      "ChargeDescription", "ChargePeriodEnd",    "ChargePeriodStart",  "ContractedCost",
      "EffectiveCost",     "InvoiceIssuerName",  "ListCost",           "PricingQuantity",
      "PricingUnit",       "ProviderName",       "PublisherName",      "ServiceCategory",
      "ServiceName"};
  ASSERT_EQ(mandatory.size(), 21u);
  for (const std::string& m : mandatory) {
    EXPECT_EQ(std::count(header.begin(), header.end(), m), 1) << m;
  }
  EXPECT_EQ(std::set<std::string>(header.begin(), header.end()).size(), header.size());
  for (const std::string& h : header) {
    // PascalCase FOCUS IDs, or custom columns with the x_ prefix.
    EXPECT_TRUE((h[0] >= 'A' && h[0] <= 'Z') || h.starts_with("x_")) << h;
    EXPECT_EQ(h.find_first_of(" _-", h.starts_with("x_") ? 2 : 0), std::string::npos) << h;
  }
}

TEST(FocusCsv, BilledCostOfAnInvoiceSumsToItsTotal) {
  const pricing::Invoice a = MakeDocumentedExampleInvoice();
  const pricing::Invoice b = MakeOneLineInvoice("other-sub", "n", "u", "3", "0.333");
  const auto records = Records(Export({a, b}));
  std::map<std::string, Decimal> billed;
  for (const auto& r : records) {
    auto d = Decimal::Parse(*r.at("BilledCost"));
    ASSERT_TRUE(d.ok());
    billed[*r.at("InvoiceId")] += *d;
  }
  ASSERT_EQ(billed.size(), 2u);
  EXPECT_EQ(billed[a.subscription_id + "/2026-10"], a.total.amount());
  EXPECT_EQ(billed["other-sub/2026-10"], b.total.amount());
  EXPECT_EQ(a.total.FormatAmount(), "18.58");
}

// a × b for decimal texts whose exact product fits a Decimal (the test's figures do).
Decimal ExactProduct(std::string_view a, std::string_view b) {
  const pricing::ExactAmount p =
      pricing::ExactAmount::Product(*Decimal::Parse(a), *Decimal::Parse(b));
  auto d = p.RoundHalfEven(15);
  EXPECT_TRUE(d && pricing::ExactAmount::FromDecimal(*d) == p) << a << " × " << b;
  return d.value_or(Decimal());
}

TEST(FocusCsv, MandatoryColumnsAreTypedAndNonNullableOnesAreNeverNull) {
  const auto records = Records(Export({MakeDocumentedExampleInvoice()}));
  ASSERT_EQ(records.size(), 8u);  // 5 usage parts, 1 adjustment, credit, recurring charge
  const std::set<std::string> nullable = {"BillingAccountName", "ChargeClass", "ChargeDescription",
                                          "PricingQuantity", "PricingUnit"};
  const std::set<std::string> decimals = {"BilledCost", "ContractedCost",  "EffectiveCost",
                                          "ListCost",   "PricingQuantity", "ConsumedQuantity"};
  const std::set<std::string> times = {"BillingPeriodStart", "BillingPeriodEnd",
                                       "ChargePeriodStart", "ChargePeriodEnd"};
  const std::set<std::string> categories = {"Usage", "Purchase", "Tax", "Credit", "Adjustment"};
  const std::set<std::string> service_categories = {"AI and Machine Learning",
                                                    "Analytics",
                                                    "Business Applications",
                                                    "Compute",
                                                    "Databases",
                                                    "Developer Tools",
                                                    "Multicloud",
                                                    "Identity",
                                                    "Integration",
                                                    "Internet of Things",
                                                    "Management and Governance",
                                                    "Media",
                                                    "Migration",
                                                    "Mobile",
                                                    "Networking",
                                                    "Security",
                                                    "Storage",
                                                    "Web",
                                                    "Other"};
  for (const auto& r : records) {
    for (std::string_view col : kFocusMandatoryColumns) {
      const auto& v = r.at(std::string(col));
      if (!nullable.contains(std::string(col))) {
        EXPECT_TRUE(v.has_value() && !v->empty()) << col << " is null";
      }
      if (!v) continue;
      if (decimals.contains(std::string(col))) {
        EXPECT_TRUE(IsFocusDecimal(*v)) << col << "=" << *v;
      }
      if (times.contains(std::string(col))) {
        EXPECT_TRUE(IsFocusDateTime(*v)) << col << "=" << *v;
      }
    }
    EXPECT_TRUE(categories.contains(*r.at("ChargeCategory")));
    EXPECT_TRUE(service_categories.contains(*r.at("ServiceCategory"))) << *r.at("ServiceCategory");
    EXPECT_EQ(*r.at("BillingCurrency"), "USD");
    const auto& cls = r.at("ChargeClass");
    EXPECT_TRUE(!cls || *cls == "Correction");
    EXPECT_TRUE(*r.at("ChargePeriodStart") < *r.at("ChargePeriodEnd"));
    const auto& freq = r.at("ChargeFrequency");
    EXPECT_TRUE(*freq == "One-Time" || *freq == "Recurring" || *freq == "Usage-Based");
    // Usage and purchases carry a pricing quantity and unit (FOCUS: not null unless a correction).
    if ((*r.at("ChargeCategory") == "Usage" || *r.at("ChargeCategory") == "Purchase") && !cls) {
      EXPECT_TRUE(r.at("PricingQuantity").has_value());
      EXPECT_TRUE(r.at("PricingUnit").has_value());
      EXPECT_TRUE(r.at("ListUnitPrice").has_value());
      EXPECT_TRUE(r.at("ContractedUnitPrice").has_value());
      EXPECT_TRUE(r.at("SkuId").has_value());
      EXPECT_TRUE(r.at("SkuPriceId").has_value());
    }
    // A unit price times the pricing quantity is the cost, exactly.
    const auto& quantity = r.at("PricingQuantity");
    for (auto [price, cost] : {std::pair{"ListUnitPrice", "ListCost"},
                               std::pair{"ContractedUnitPrice", "ContractedCost"}}) {
      if (!r.at(price) || !quantity) continue;
      EXPECT_TRUE(IsFocusDecimal(*r.at(price))) << price << "=" << *r.at(price);
      EXPECT_EQ(ExactProduct(*r.at(price), *quantity), *Decimal::Parse(*r.at(cost)))
          << price << " × PricingQuantity != " << cost;
    }
  }
}

TEST(FocusCsv, MapsTheDocumentedExampleRowByRow) {
  const auto records = Records(Export({MakeDocumentedExampleInvoice()}));
  const auto& ip = records[0];
  EXPECT_EQ(*ip.at("ChargeCategory"), "Usage");
  EXPECT_FALSE(ip.at("ChargeClass").has_value());
  EXPECT_EQ(*ip.at("ListCost"), "3.325");  // exact: the line rounds to 3.32
  EXPECT_EQ(*ip.at("ListUnitPrice"), "0.0025");
  EXPECT_EQ(*ip.at("ContractedUnitPrice"), "0.00225");  // the 10 % discount
  EXPECT_EQ(*ip.at("ContractedCost"), "2.9925");
  EXPECT_EQ(*ip.at("SkuPriceId"), "F271A8A388C44D93956A063E1D2FA80B/tier/0");
  EXPECT_EQ(*ip.at("BilledCost"), "2.99");  // after its -0.33 discount share
  EXPECT_EQ(*ip.at("EffectiveCost"), "2.99");
  EXPECT_EQ(*ip.at("PricingQuantity"), "1330");
  EXPECT_EQ(*ip.at("ConsumedQuantity"), "1330");
  EXPECT_EQ(*ip.at("PricingUnit"), "IP addresses");
  EXPECT_EQ(*ip.at("ServiceCategory"), "Networking");
  EXPECT_EQ(*ip.at("ServiceName"), "Network");
  EXPECT_EQ(*ip.at("SkuId"), "F271A8A388C44D93956A063E1D2FA80B");
  EXPECT_EQ(*ip.at("SkuMeter"), "Static IP Address Usage");
  EXPECT_EQ(*ip.at("SubAccountId"), "4f1e5a0c-8d2b-4c1e-9a57-1a2b3c4d5e6f");
  EXPECT_FALSE(ip.at("SubAccountName").has_value());
  EXPECT_EQ(*ip.at("BillingAccountName"), "Contoso, Operations");
  EXPECT_EQ(*ip.at("BillingPeriodStart"), "2026-10-01T00:00:00Z");
  EXPECT_EQ(*ip.at("BillingPeriodEnd"), "2026-11-01T00:00:00Z");
  EXPECT_EQ(*ip.at("InvoiceIssuerName"), "Contoso Private Cloud");
  EXPECT_EQ(*ip.at("RegionId"), "local");

  const auto& included = records[1];
  EXPECT_EQ(*included.at("PricingQuantity"), "100");
  EXPECT_EQ(*included.at("ListUnitPrice"), "0");
  EXPECT_EQ(*included.at("BilledCost"), "0.00");
  EXPECT_EQ(*included.at("SkuPriceId"), "FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5/included");
  EXPECT_EQ(*included.at("ChargeDescription"), "Base VM Size Hours (included)");
  EXPECT_EQ(*records[2].at("ListUnitPrice"), "0.05");
  EXPECT_EQ(*records[2].at("PricingQuantity"), "600");
  EXPECT_EQ(*records[3].at("ListUnitPrice"), "0.06");
  EXPECT_EQ(*records[3].at("PricingQuantity"), "400");
  EXPECT_THAT(*records[3].at("ChargeDescription"),
              ::testing::MatchesRegex("Base VM Size Hours \\(from 0, price of 2026-10-[0-9]+\\)"));
  EXPECT_EQ(*records[3].at("SkuPriceId"), *records[2].at("SkuPriceId"));  // stable over prices
  EXPECT_EQ(*records[4].at("ListUnitPrice"), "0.045");
  EXPECT_EQ(*records[4].at("PricingQuantity"), "200.5");
  EXPECT_EQ(*records[4].at("SkuPriceId"), "FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5/tier/1000");
  // The VM line: list 63.02, net 63.02 - 6.30 - 2.84 = 53.88, split over its rows.
  Decimal vm_billed, vm_consumed;
  for (int i = 1; i <= 4; ++i) {
    EXPECT_EQ(*records[i].at("ServiceCategory"), "Compute");
    vm_billed = vm_billed + *Decimal::Parse(*records[i].at("BilledCost"));
    vm_consumed = vm_consumed + *Decimal::Parse(*records[i].at("ConsumedQuantity"));
  }
  EXPECT_EQ(vm_billed.ToString(), "53.88");
  EXPECT_EQ(vm_consumed.ToString(), "1300.5");

  const auto& late = records[5];
  EXPECT_EQ(*late.at("ChargeClass"), "Correction");
  EXPECT_EQ(*late.at("x_AdjustedBillingPeriod"), "2026-09");
  EXPECT_EQ(*late.at("ChargePeriodStart"), "2026-09-01T00:00:00Z");
  EXPECT_EQ(*late.at("ChargePeriodEnd"), "2026-10-01T00:00:00Z");
  EXPECT_EQ(*late.at("BillingPeriodStart"), "2026-10-01T00:00:00Z");
  EXPECT_EQ(*late.at("BilledCost"), "1.71");

  const auto& credit = records[6];
  EXPECT_EQ(*credit.at("ChargeCategory"), "Credit");
  EXPECT_EQ(*credit.at("BilledCost"), "-50.00");
  EXPECT_FALSE(credit.at("PricingQuantity").has_value());
  EXPECT_FALSE(credit.at("SkuId").has_value());

  const auto& recurring = records[7];
  EXPECT_EQ(*recurring.at("ChargeCategory"), "Purchase");
  EXPECT_EQ(*recurring.at("ChargeFrequency"), "Recurring");
  EXPECT_EQ(*recurring.at("BilledCost"), "10.00");
  EXPECT_EQ(*recurring.at("ListUnitPrice"), "10.00");
  EXPECT_EQ(*recurring.at("SkuPriceId"), *recurring.at("SkuId"));
}

TEST(FocusCsv, NullsAreEmptyUnquotedFields) {
  FocusOptions o = Options();
  o.billing_account_name.clear();
  o.region_id.clear();
  o.region_name.clear();
  const std::string text = Export({MakeOneLineInvoice("s", "n", "u", "1", "1")}, o);
  const auto records = Records(text);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_FALSE(records[0].at("BillingAccountName").has_value());
  EXPECT_FALSE(records[0].at("RegionId").has_value());
  EXPECT_THAT(text, ::testing::Not(::testing::HasSubstr("\"\"")));
}

TEST(FocusCsv, TextWithCommasQuotesNewlinesAndNonAsciiIsQuoted) {
  FocusOptions o = Options();
  o.provider_name = "Zürich \"Cloud\", AG\nEast";
  const auto records =
      Records(Export({MakeOneLineInvoice("s", "Disk, \"fast\" 東京", "GB", "1", "1")}, o));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(*records[0].at("ProviderName"), "Zürich \"Cloud\", AG\nEast");
  EXPECT_EQ(*records[0].at("ChargeDescription"), "Disk, \"fast\" 東京");
}

TEST(FocusCsv, RefusesOptionsThatWouldLeaveANonNullableColumnEmpty) {
  std::ostringstream out;
  FocusCsvWriter w(out, FocusOptions{}, domain::MeterCatalog::Builtin());
  EXPECT_EQ(w.WriteInvoice(MakeOneLineInvoice("s", "n", "u", "1", "1")).code(),
            StatusCode::kInvalidArgument);
}

TEST(FocusServiceCategory, MapsCatalogFamilies) {
  EXPECT_EQ(FocusServiceCategory("Compute"), "Compute");
  EXPECT_EQ(FocusServiceCategory("Network"), "Networking");
  EXPECT_EQ(FocusServiceCategory("Managed Disks"), "Storage");
  EXPECT_EQ(FocusServiceCategory("Key Vault"), "Security");
  EXPECT_EQ(FocusServiceCategory(""), "Other");
  // Every family of the built-in catalog maps to something other than Other.
  for (const domain::Meter& m : domain::MeterCatalog::Builtin().meters()) {
    if (!m.family.empty()) {
      EXPECT_NE(FocusServiceCategory(m.family), "Other") << m.family;
    }
  }
}

}  // namespace
}  // namespace tally::exports
