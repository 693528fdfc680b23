#include "export/test_util.h"

#include <gtest/gtest.h>

#include "pricing/rate_card_json.h"

namespace tally::exports::testing {
namespace {

using namespace pricing;  // NOLINT(google-build-using-namespace): test-only helper

Decimal D(std::string_view s) { return *Decimal::Parse(s); }
UsageHour H(std::string_view s) { return *UsageHour::FromUtc(*ParseUtcTime(s)); }

constexpr std::string_view kExampleCard = R"({
  "OfferTerms": [
    {"Credit": 50, "EffectiveDate": "2026-01-01T00:00:00Z",
     "ExcludedMeterIds": ["F271A8A388C44D93956A063E1D2FA80B"], "Name": "Monetary Credit"},
    {"EffectiveDate": "2026-01-01T00:00:00Z",
     "ExcludedMeterIds": ["F271A8A388C44D93956A063E1D2FA80B"], "Name": "Monetary Commitment",
     "TieredDiscount": {"0": 0, "500": 5, "2000": 10}},
    {"EffectiveDate": "2026-01-01T00:00:00Z", "Name": "Recurring Charge", "RecurringCharge": 10}
  ],
  "Meters": [
    {"EffectiveDate": "2026-01-01T00:00:00Z", "IncludedQuantity": 100,
     "MeterCategory": "Compute", "MeterId": "FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5",
     "MeterName": "Base VM Size Hours", "MeterRates": {"0": 0.05, "1000": 0.04},
     "MeterRegion": "local", "MeterStatus": "Active", "MeterSubCategory": "",
     "MeterTags": [], "Unit": "Virtual core hours"},
    {"EffectiveDate": "2026-10-16T00:00:00Z", "IncludedQuantity": 100,
     "MeterCategory": "Compute", "MeterId": "FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5",
     "MeterName": "Base VM Size Hours", "MeterRates": {"0": 0.06, "1000": 0.045},
     "MeterRegion": "local", "MeterStatus": "Active", "MeterSubCategory": "",
     "MeterTags": [], "Unit": "Virtual core hours"},
    {"EffectiveDate": "2026-01-01T00:00:00Z", "IncludedQuantity": 0,
     "MeterCategory": "Network", "MeterId": "F271A8A388C44D93956A063E1D2FA80B",
     "MeterName": "Static IP Address Usage", "MeterRates": {"0": 0.0025},
     "MeterRegion": "local", "MeterStatus": "Active", "MeterSubCategory": "",
     "MeterTags": [], "Unit": "IP addresses"}
  ],
  "Currency": "USD",
  "Locale": "en-US",
  "IsTaxIncluded": false
})";

BillingPeriod Month(std::string_view m) {
  return *BillingPeriod::Make(*BillingMonth::Parse(m), TimeZone::Utc());
}

Invoice Make(const RateCard& card, const InvoiceRequest& req) {
  auto prices = PriceList::Make(card);
  EXPECT_TRUE(prices.ok()) << prices.status().ToString();
  if (!prices.ok()) return Invoice();
  auto inv = MakeInvoice(*prices, req);
  EXPECT_TRUE(inv.ok()) << inv.status().ToString();
  return inv.ok() ? std::move(inv).value() : Invoice();
}

}  // namespace

Invoice MakeDocumentedExampleInvoice() {
  auto card = ParseRateCardJson(kExampleCard, "MS-AZR-0003P", "US");
  EXPECT_TRUE(card.ok()) << card.status().ToString();
  if (!card.ok()) return Invoice();
  const std::string vm = "FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5";
  const std::string ip = "F271A8A388C44D93956A063E1D2FA80B";
  InvoiceRequest req;
  req.subscription_id = "4f1e5a0c-8d2b-4c1e-9a57-1a2b3c4d5e6f";
  req.period = Month("2026-10");
  req.pricing.adjustment_percent = D("-10");
  req.pricing.commitment = D("1000");
  req.usage.push_back(MeterUsage{
      vm, {{H("2026-10-05T10:00:00Z"), D("700")}, {H("2026-10-20T10:00:00Z"), D("600.5")}}});
  req.usage.push_back(MeterUsage{
      ip, {{H("2026-10-01T00:00:00Z"), D("1000")}, {H("2026-10-02T00:00:00Z"), D("330")}}});
  req.late_usage.push_back(
      LateUsage{Month("2026-09"), vm, D("1200"), {{H("2026-09-30T22:00:00Z"), D("50")}}});
  return Make(*card, req);
}

Invoice MakeOneLineInvoice(std::string_view subscription_id, std::string_view meter_name,
                           std::string_view unit, std::string_view quantity, std::string_view price,
                           std::string_view currency) {
  RateCard card;
  card.offer_durable_id = "offer";
  card.currency = *Currency::Find(currency);
  RateCardMeter m;
  m.meter_id = "M1";
  m.meter_name = std::string(meter_name);
  m.unit = std::string(unit);
  m.effective_date = *ParseUtcTime("2026-01-01T00:00:00Z");
  m.meter_rates.push_back({Decimal(), D(price)});
  card.meters.push_back(m);
  InvoiceRequest req;
  req.subscription_id = std::string(subscription_id);
  req.period = Month("2026-10");
  req.usage.push_back(MeterUsage{"M1", {{H("2026-10-01T00:00:00Z"), D(quantity)}}});
  return Make(card, req);
}

CsvRows ReadCsv(std::string_view text) {
  CsvRows rows;
  std::vector<CsvField> row;
  size_t i = 0;
  while (i < text.size()) {
    CsvField field;
    if (text[i] == '"') {
      std::string value;
      ++i;
      for (;;) {
        if (i >= text.size()) {
          ADD_FAILURE() << "unterminated quoted field";
          return rows;
        }
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            value.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        value.push_back(text[i++]);
      }
      field = std::move(value);
    } else {
      const size_t end = text.find_first_of(",\r\n\"", i);
      const size_t stop = end == std::string_view::npos ? text.size() : end;
      if (stop < text.size() && text[stop] == '"') {
        ADD_FAILURE() << "a quote inside an unquoted field at offset " << stop;
        return rows;
      }
      if (stop > i) field = std::string(text.substr(i, stop - i));
      i = stop;
    }
    row.push_back(std::move(field));
    if (i < text.size() && text[i] == ',') {
      ++i;
      if (i == text.size()) ADD_FAILURE() << "the text ends after a comma";
      continue;
    }
    if (text.substr(i, 2) != "\r\n") {
      ADD_FAILURE() << "a record does not end with CRLF at offset " << i;
      return rows;
    }
    i += 2;
    rows.push_back(std::move(row));
    row.clear();
  }
  return rows;
}

}  // namespace tally::exports::testing
