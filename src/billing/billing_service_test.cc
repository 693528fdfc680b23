// BillingService over a real SQLite store: rate card import, subscription pricing, invoice runs,
// finalization and late usage billed as adjustments on later invoices.
#include "billing/billing_service.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

#include "store/sqlite/sqlite_store.h"

namespace tally::billing {
namespace {

const char kSubA[] = "4f1e5a0c-8d2b-4c1e-9a57-1a2b3c4d5e6f";
const char kSubB[] = "0b0b0b0b-8d2b-4c1e-9a57-1a2b3c4d5e6f";
const char kMeter[] = "F271A8A388C44D93956A063E1D2FA80B";

// 1 USD per unit up to 100 units a month, 0.5 above.
std::string Card(const std::string& first_price = "1", const std::string& currency = "USD") {
  return R"({"OfferTerms":[],"Meters":[{"EffectiveDate":"2026-01-01T00:00:00Z",
    "IncludedQuantity":0,"MeterCategory":"Networking","MeterId":")" +
         std::string(kMeter) + R"(","MeterName":"Static IP Address Usage",
    "MeterRates":{"0":)" + first_price +
         R"(,"100":0.5},"MeterRegion":"local","MeterSubCategory":"","MeterTags":[],
    "Unit":"IP addresses"}],"Currency":")" +
         currency + R"(","Locale":"en-US","IsTaxIncluded":false})";
}

int64_t HourOf(const char* text) { return ParseUtcTime(text)->micros / kMicrosPerHour; }

pricing::BillingMonth Month(const char* text) { return *pricing::BillingMonth::Parse(text); }

class BillingServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tally-billing-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    store::SqliteStoreOptions o;
    o.data_dir = dir_.string();
    o.create_if_missing = true;
    o.clock = &clock_;
    auto s = store::OpenSqliteStore(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    auto b = BillingService::Make(*store_, clock_);
    ASSERT_TRUE(b.ok());
    service_.emplace(std::move(b).value());
    for (const char* id : {kSubA, kSubB}) {
      domain::Subscription sub;
      sub.id = id;
      ASSERT_TRUE(store_->SaveSubscription(sub).ok());
    }
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Append(const std::string& sub, const char* hour, const char* quantity) {
    domain::UsageRecord r;
    r.record_id = "r" + std::to_string(++records_);
    r.subscription_id = sub;
    r.meter_id = kMeter;
    r.resource_uri = "/subscriptions/" + sub +
                     "/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/ip1";
    r.location = "local";
    r.usage_start = UsageHour::FromHours(HourOf(hour));
    r.quantity = *Decimal::Parse(quantity);
    auto out = store_->AppendUsage({r}, ReportedTime(clock_.Now()));
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    ASSERT_EQ(out->accepted, 1u);
  }

  void PutOnOffer(const std::string& sub) {
    SubscriptionPricingRequest r;
    r.subscription_id = sub;
    r.offer_durable_id = "MS-AZR-0003P";
    auto saved = service_->SetSubscriptionPricing(r);
    ASSERT_TRUE(saved.ok()) << saved.status().ToString();
  }

  RunReport Run(const char* month) {
    auto r = service_->RunInvoices(Month(month), pricing::TimeZone::Utc());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : RunReport{};
  }

  FinalizeReport Finalize(const char* month) {
    auto r = service_->FinalizeInvoices(Month(month));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : FinalizeReport{};
  }

  store::StoredInvoice Invoice(const std::string& sub, const char* period) {
    auto inv = service_->GetInvoice(sub, period);
    EXPECT_TRUE(inv.ok()) << inv.status().ToString();
    return inv.ok() ? *inv : store::StoredInvoice{};
  }

  std::filesystem::path dir_;
  FakeClockForTesting clock_{*ParseUtcTime("2026-11-20T00:00:00Z")};
  std::unique_ptr<store::UsageStore> store_;
  std::optional<BillingService> service_;
  int records_ = 0;
};

TEST_F(BillingServiceTest, ReimportReplacesTheCardAndListShowsIt) {
  auto first = service_->ImportRateCard(Card("1"), "MS-AZR-0003P", "");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(first->replaced);
  EXPECT_EQ(first->meter_entries, 1u);
  auto second = service_->ImportRateCard("\xEF\xBB\xBF" + Card("2"), "MS-AZR-0003P", "");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE(second->replaced);
  auto cards = service_->ListRateCards();
  ASSERT_TRUE(cards.ok());
  ASSERT_EQ(cards->size(), 1u);
  EXPECT_NE((*cards)[0].document.find("\"0\":2"), std::string::npos) << (*cards)[0].document;
  EXPECT_NE((*cards)[0].document.substr(0, 1), "\xEF");

  auto bad = service_->ImportRateCard(R"({"Meters":[{"MeterId":"x"}],"Currency":"USD"})",
                                      "MS-AZR-0003P", "");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("Meters[0]"), std::string::npos);
}

TEST_F(BillingServiceTest, OfferWithSeveralRegionsNeedsTheChoice) {
  ASSERT_TRUE(service_->ImportRateCard(Card("1"), "MS-AZR-0003P", "US").ok());
  ASSERT_TRUE(service_->ImportRateCard(Card("2", "EUR"), "MS-AZR-0003P", "DE").ok());
  SubscriptionPricingRequest r;
  r.subscription_id = kSubA;
  r.offer_durable_id = "ms-azr-0003p";
  auto ambiguous = service_->SetSubscriptionPricing(r);
  EXPECT_EQ(ambiguous.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(ambiguous.status().message().find("DE/EUR"), std::string::npos);

  r.region = "de";
  r.adjustment_percent = *Decimal::Parse("-10");
  auto saved = service_->SetSubscriptionPricing(r);
  ASSERT_TRUE(saved.ok()) << saved.status().ToString();
  EXPECT_EQ(saved->region, "DE");
  EXPECT_EQ(saved->currency, "EUR");
  EXPECT_EQ((*store_->FindSubscription(kSubA))->offer, "MS-AZR-0003P");

  r.region = "FR";
  EXPECT_EQ(service_->SetSubscriptionPricing(r).status().code(), StatusCode::kNotFound);
  r.offer_durable_id = "MS-AZR-9999P";
  EXPECT_EQ(service_->SetSubscriptionPricing(r).status().code(), StatusCode::kNotFound);
  r.offer_durable_id = "MS-AZR-0003P";
  r.region = "DE";
  r.subscription_id = "11111111-2222-4333-8444-555555555555";
  EXPECT_EQ(service_->SetSubscriptionPricing(r).status().code(), StatusCode::kNotFound);
  r.subscription_id = "nope";
  r.adjustment_percent = *Decimal::Parse("-150");
  auto bad = service_->SetSubscriptionPricing(r);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("GUID"), std::string::npos);
  EXPECT_NE(bad.status().message().find("100 percent"), std::string::npos);
}

TEST_F(BillingServiceTest, RunDraftsPricedSubscriptionsAndReportsTheOthers) {
  ASSERT_TRUE(service_->ImportRateCard(Card(), "MS-AZR-0003P", "").ok());
  PutOnOffer(kSubA);
  Append(kSubA, "2026-10-01T00:00:00Z", "60");
  Append(kSubA, "2026-10-31T23:00:00Z", "60");
  Append(kSubA, "2026-11-01T00:00:00Z", "1000");  // November: not on October's invoice
  Append(kSubB, "2026-10-02T00:00:00Z", "5");

  RunReport report = Run("2026-10");
  ASSERT_EQ(report.drafted.size(), 1u);
  EXPECT_EQ(report.drafted[0].subscription_id, kSubA);
  EXPECT_EQ(report.drafted[0].total, "110.00");  // 100 x 1 + 20 x 0.5
  EXPECT_EQ(report.without_offer, std::vector<std::string>{kSubB});
  EXPECT_EQ(report.watermark_seq, 4u);

  store::StoredInvoice inv = Invoice(kSubA, "2026-10");
  EXPECT_EQ(inv.status, store::InvoiceStatus::kDraft);
  EXPECT_NE(inv.json.find("\"total\":110.00"), std::string::npos) << inv.json;
  EXPECT_NE(inv.csv.find("subscriptionId,period"), std::string::npos);
  EXPECT_NE(inv.html.find("<html"), std::string::npos);

  // Re-running replaces the draft with the usage committed since.
  Append(kSubA, "2026-10-15T00:00:00Z", "10");
  report = Run("2026-10");
  ASSERT_EQ(report.drafted.size(), 1u);
  EXPECT_EQ(report.drafted[0].total, "115.00");
  EXPECT_EQ(Invoice(kSubA, "2026-10").watermark_seq, 5u);
}

TEST_F(BillingServiceTest, LateUsageAfterFinalizeIsAdjustedOnTheNextInvoicesTwice) {
  ASSERT_TRUE(service_->ImportRateCard(Card(), "MS-AZR-0003P", "").ok());
  PutOnOffer(kSubA);
  Append(kSubA, "2026-09-10T00:00:00Z", "80");
  Run("2026-09");
  FinalizeReport fin = Finalize("2026-09");
  ASSERT_EQ(fin.finalized.size(), 1u);
  ASSERT_TRUE(fin.failed.empty()) << fin.failed[0].problem;
  const store::StoredInvoice september = Invoice(kSubA, "2026-09");
  EXPECT_EQ(september.status, store::InvoiceStatus::kFinal);
  EXPECT_EQ(september.total, "80.00");

  // 30 more units of September arrive after it was finalized: positions 80..110 of
  // September's tier axis, 20 x 1 + 10 x 0.5 = 25.00, on October's invoice.
  Append(kSubA, "2026-09-20T00:00:00Z", "30");
  Append(kSubA, "2026-10-05T00:00:00Z", "10");
  RunReport oct = Run("2026-10");
  ASSERT_EQ(oct.drafted.size(), 1u);
  EXPECT_EQ(oct.drafted[0].adjustment_lines, 1u);
  EXPECT_EQ(oct.drafted[0].total, "35.00");  // 10.00 October + 25.00 adjustment
  store::StoredInvoice october = Invoice(kSubA, "2026-10");
  EXPECT_NE(october.json.find("\"adjustedPeriod\":\"2026-09\""), std::string::npos);
  EXPECT_NE(october.json.find("\"startPosition\":80"), std::string::npos) << october.json;
  EXPECT_EQ(september.json, Invoice(kSubA, "2026-09").json);
  // September is final: a run leaves it as it is.
  RunReport again = Run("2026-09");
  EXPECT_EQ(again.already_final, std::vector<std::string>{kSubA});
  EXPECT_TRUE(again.drafted.empty());
  ASSERT_EQ(Finalize("2026-10").finalized.size(), 1u);

  // Later still: 10 more units of September, now after 110 billed (all at 0.5), and 5 of
  // October, after October's 10 (at 1): November carries both adjustments.
  Append(kSubA, "2026-09-30T23:00:00Z", "10");
  Append(kSubA, "2026-10-31T00:00:00Z", "5");
  RunReport nov = Run("2026-11");
  ASSERT_EQ(nov.drafted.size(), 1u);
  EXPECT_EQ(nov.drafted[0].adjustment_lines, 2u);
  EXPECT_EQ(nov.drafted[0].total, "10.00");  // 5.00 + 5.00
  store::StoredInvoice november = Invoice(kSubA, "2026-11");
  EXPECT_NE(november.json.find("\"startPosition\":110"), std::string::npos) << november.json;
  ASSERT_TRUE(Finalize("2026-11").failed.empty());

  EXPECT_EQ(Invoice(kSubA, "2026-09").json, september.json);
  EXPECT_EQ(Invoice(kSubA, "2026-10").json, october.json);
  // Nothing new: December has no adjustment.
  RunReport dec = Run("2026-12");
  ASSERT_EQ(dec.drafted.size(), 1u);
  EXPECT_EQ(dec.drafted[0].adjustment_lines, 0u);
  EXPECT_EQ(dec.drafted[0].total, "0.00");
}

TEST_F(BillingServiceTest, TwoDraftsBillingTheSameLateUsageCannotBothBeFinal) {
  ASSERT_TRUE(service_->ImportRateCard(Card(), "MS-AZR-0003P", "").ok());
  PutOnOffer(kSubA);
  Append(kSubA, "2026-09-10T00:00:00Z", "10");
  Run("2026-09");
  Finalize("2026-09");
  Append(kSubA, "2026-09-11T00:00:00Z", "10");
  EXPECT_EQ(Run("2026-10").drafted[0].adjustment_lines, 1u);
  EXPECT_EQ(Run("2026-11").drafted[0].adjustment_lines, 1u);
  ASSERT_EQ(Finalize("2026-10").finalized.size(), 1u);

  FinalizeReport stale = Finalize("2026-11");
  ASSERT_EQ(stale.failed.size(), 1u);
  EXPECT_NE(stale.failed[0].problem.find("out of date"), std::string::npos)
      << stale.failed[0].problem;
  EXPECT_EQ(Invoice(kSubA, "2026-11").status, store::InvoiceStatus::kDraft);
  // Run again, November no longer bills September's late usage.
  EXPECT_EQ(Run("2026-11").drafted[0].adjustment_lines, 0u);
  EXPECT_EQ(Finalize("2026-11").finalized.size(), 1u);
}

TEST_F(BillingServiceTest, FinalizeReportsSubscriptionsWithoutInvoice) {
  ASSERT_TRUE(service_->ImportRateCard(Card(), "MS-AZR-0003P", "").ok());
  PutOnOffer(kSubA);
  FinalizeReport r = Finalize("2026-10");
  EXPECT_TRUE(r.finalized.empty());
  ASSERT_EQ(r.failed.size(), 1u);
  EXPECT_NE(r.failed[0].problem.find("tally invoices run"), std::string::npos);
}

// Every finalize, whoever calls it (CLI or HTTP), queues the final invoice for the webhook
// endpoints; drafts and invoices already final raise nothing.
TEST_F(BillingServiceTest, FinalizeQueuesEachFinalInvoiceForWebhooksOnce) {
  ASSERT_TRUE(service_->ImportRateCard(Card(), "MS-AZR-0003P", "").ok());
  PutOnOffer(kSubA);
  PutOnOffer(kSubB);
  Append(kSubA, "2026-10-02T10:00:00Z", "3");
  Append(kSubB, "2026-10-03T10:00:00Z", "4");
  store::WebhookEndpoint endpoint{0, "https://erp.example/hook", "whsec_0123456789abcdef",
                                  {"invoice.finalized"}, clock_.Now(), std::nullopt};
  ASSERT_TRUE(store_->Webhooks()->AddWebhookEndpoint(endpoint).ok());
  Run("2026-10");
  auto queued = store_->Webhooks()->ListWebhookDeliveries({});
  ASSERT_TRUE(queued.ok());
  EXPECT_TRUE(queued->empty());  // drafts are not announced

  EXPECT_EQ(Finalize("2026-10").finalized.size(), 2u);
  EXPECT_EQ(Finalize("2026-10").already_final.size(), 2u);
  auto due = store_->Webhooks()->LoadDueDeliveries(clock_.Now(), 0);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 2u);
  for (const store::DueDelivery& d : *due) {
    EXPECT_EQ(d.delivery.event_type, "invoice.finalized");
    const std::string sub = d.delivery.subject.substr(0, d.delivery.subject.find('/'));
    EXPECT_EQ(d.delivery.subject, sub + "/2026-10");
    EXPECT_EQ(d.payload, Invoice(sub, "2026-10").json);
  }
  EXPECT_NE((*due)[0].delivery.subject, (*due)[1].delivery.subject);
}

}  // namespace
}  // namespace tally::billing
