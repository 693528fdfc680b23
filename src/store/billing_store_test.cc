// Conformance of BillingStore (UsageStore::Billing()): rate cards, subscription pricing,
// invoices and the hourly usage read, each checked with and without closing and reopening the
// store between steps.
#include <map>
#include <random>
#include <tuple>

#include <gtest/gtest.h>

#include "store/sqlite/sqlite_store.h"
#include "store/store_test_util.h"

namespace tally::store::testing {
namespace {

constexpr int64_t kHour0 = 20000 * 24;
const char kMeterA[] = "F271A8A388C44D93956A063E1D2FA80B";
const char kMeterB[] = "FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5";

Decimal D(const char* text) { return *Decimal::Parse(text); }

class BillingStoreConformance : public ReopeningStoreTest {
 protected:
  BillingStoreConformance() : ReopeningStoreTest(UtcTime{(kHour0 + 1000) * kMicrosPerHour}) {}

  // The billing side, after a reopen when the test runs in that mode.
  BillingStore& Billing() { return *Step().Billing(); }

  static StoredInvoice Draft(const std::string& sub, const std::string& period, uint64_t seq,
                             const std::string& total) {
    StoredInvoice inv;
    inv.subscription_id = sub;
    inv.period = period;
    inv.time_zone = "UTC";
    inv.offer_durable_id = "MS-AZR-0003P";
    inv.currency = "USD";
    inv.total = total;
    inv.watermark_seq = seq;
    inv.billed = {{period, kMeterA, D("12.5")}};
    inv.json = "{\"total\":" + total + "}";
    inv.csv = "total\r\n" + total + "\r\n";
    inv.html = "<p>" + total + "</p>";
    inv.created = UtcTime{1000};
    return inv;
  }
};

TEST_P(BillingStoreConformance, RateCardReimportReplacesTheCardOfItsKey) {
  StoredRateCard card{"MS-AZR-0003P", "US", "USD", "en-US", "{\"v\":1}", UtcTime{5}};
  ASSERT_TRUE(Billing().SaveRateCard(card).ok());
  StoredRateCard other{"MS-AZR-0003P", "DE", "EUR", "de-DE", "{\"v\":2}", UtcTime{6}};
  ASSERT_TRUE(Billing().SaveRateCard(other).ok());
  // The same key in other spellings replaces the first card.
  StoredRateCard again{"ms-azr-0003p", "us", "usd", "EN-us", "{\"v\":3}", UtcTime{7}};
  ASSERT_TRUE(Billing().SaveRateCard(again).ok());

  auto cards = Billing().ListRateCards();
  ASSERT_TRUE(cards.ok()) << cards.status().ToString();
  ASSERT_EQ(cards->size(), 2u);
  EXPECT_EQ((*cards)[0], other);  // key order: region DE before US
  EXPECT_EQ((*cards)[1], again);
}

TEST_P(BillingStoreConformance, RateCardWithoutKeyIsRefused) {
  Status s = Billing().SaveRateCard(StoredRateCard{"", "", "", "en-US", "", UtcTime{}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("offer"), std::string::npos);
  EXPECT_NE(s.message().find("currency"), std::string::npos);
  EXPECT_NE(s.message().find("document"), std::string::npos);
}

TEST_P(BillingStoreConformance, SubscriptionPricingRoundTrips) {
  SubscriptionPricingRecord a{SubId(2), "MS-AZR-0003P", "US", "USD", D("-10"), D("1000.5"),
                              UtcTime{9}};
  SubscriptionPricingRecord b{SubId(1), "OFFER-B", "", "EUR", D("15"), std::nullopt,
                              UtcTime{10}};
  ASSERT_TRUE(Billing().SaveSubscriptionPricing(a).ok());
  ASSERT_TRUE(Billing().SaveSubscriptionPricing(b).ok());
  a.adjustment_percent = D("-12.25");
  ASSERT_TRUE(Billing().SaveSubscriptionPricing(a).ok());
  auto all = Billing().ListSubscriptionPricing();
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0], b);
  EXPECT_EQ((*all)[1], a);

  SubscriptionPricingRecord bad{"not-a-guid", "", "", "USD", D("0"), std::nullopt, UtcTime{}};
  Status s = Billing().SaveSubscriptionPricing(bad);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

TEST_P(BillingStoreConformance, DraftsAreReplacedAndFinalInvoicesNeverChange) {
  const std::string sub = SubId(1);
  ASSERT_TRUE(Billing().SaveDraftInvoices({Draft(sub, "2026-09", 5, "1.00")}).ok());
  StoredInvoice second = Draft(sub, "2026-09", 8, "2.00");
  second.coverage = {};
  ASSERT_TRUE(Billing().SaveDraftInvoices({second}).ok());
  auto found = Billing().FindInvoice(sub, "2026-09");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ(**found, second);

  // The watermark must be the one of the draft as last computed.
  Status stale = Billing().FinalizeInvoice(sub, "2026-09", 5, UtcTime{2000});
  EXPECT_EQ(stale.code(), StatusCode::kInvalidArgument) << stale.ToString();
  ASSERT_TRUE(Billing().FinalizeInvoice(sub, "2026-09", 8, UtcTime{2000}).ok());

  StoredInvoice final_invoice = second;
  final_invoice.status = InvoiceStatus::kFinal;
  final_invoice.finalized = UtcTime{2000};
  found = Billing().FindInvoice(sub, "2026-09");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ(**found, final_invoice);

  // A batch that would replace it is refused whole, and the store stays writable.
  Status replace = Billing().SaveDraftInvoices(
      {Draft(SubId(2), "2026-09", 9, "3.00"), Draft(sub, "2026-09", 9, "9.99")});
  EXPECT_EQ(replace.code(), StatusCode::kAlreadyExists) << replace.ToString();
  EXPECT_NE(replace.message().find(sub + " 2026-09"), std::string::npos);
  EXPECT_EQ(Billing().FinalizeInvoice(sub, "2026-09", 8, UtcTime{3000}).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(Billing().FinalizeInvoice(sub, "2026-08", 8, UtcTime{3000}).code(),
            StatusCode::kNotFound);
  EXPECT_TRUE(store_->WriteHealth().ok());

  found = Billing().FindInvoice(sub, "2026-09");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ(**found, final_invoice);
  auto other = Billing().FindInvoice(SubId(2), "2026-09");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
  ASSERT_TRUE(Billing().SaveDraftInvoices({Draft(SubId(2), "2026-09", 9, "3.00")}).ok());
}

TEST_P(BillingStoreConformance, ListInvoicesFiltersWithoutDocuments) {
  ASSERT_TRUE(Billing()
                  .SaveDraftInvoices({Draft(SubId(2), "2026-10", 3, "1.00"),
                                      Draft(SubId(1), "2026-10", 3, "2.00"),
                                      Draft(SubId(1), "2026-09", 3, "3.00")})
                  .ok());
  ASSERT_TRUE(Billing().FinalizeInvoice(SubId(1), "2026-09", 3, UtcTime{1}).ok());

  auto all = Billing().ListInvoices({});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].subscription_id, SubId(1));
  EXPECT_EQ((*all)[0].period, "2026-09");
  EXPECT_EQ((*all)[0].status, InvoiceStatus::kFinal);
  EXPECT_EQ((*all)[0].total, "3.00");
  EXPECT_TRUE((*all)[0].json.empty());
  EXPECT_EQ((*all)[0].billed, Draft(SubId(1), "2026-09", 3, "3.00").billed);

  auto october = Billing().ListInvoices({"", "2026-10", std::nullopt});
  ASSERT_TRUE(october.ok());
  EXPECT_EQ(october->size(), 2u);
  auto drafts = Billing().ListInvoices({SubId(1), "", InvoiceStatus::kDraft});
  ASSERT_TRUE(drafts.ok());
  ASSERT_EQ(drafts->size(), 1u);
  EXPECT_EQ((*drafts)[0].period, "2026-10");
}

TEST_P(BillingStoreConformance, LateUsageCoverageMustContinueTheFinalChain) {
  const std::string sub = SubId(1);
  ASSERT_TRUE(Billing().SaveDraftInvoices({Draft(sub, "2026-09", 10, "1.00")}).ok());

  // Covering a period that is not final is refused.
  StoredInvoice oct = Draft(sub, "2026-10", 20, "2.00");
  oct.coverage = {{"2026-09", 10, 20}};
  ASSERT_TRUE(Billing().SaveDraftInvoices({oct}).ok());
  Status s = Billing().FinalizeInvoice(sub, "2026-10", 20, UtcTime{1});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("2026-09 is not final"), std::string::npos) << s.ToString();

  ASSERT_TRUE(Billing().FinalizeInvoice(sub, "2026-09", 10, UtcTime{1}).ok());
  // A gap (after 12 while September is covered up to 10) is refused, the exact chain accepted.
  oct.coverage = {{"2026-09", 12, 20}};
  ASSERT_TRUE(Billing().SaveDraftInvoices({oct}).ok());
  EXPECT_EQ(Billing().FinalizeInvoice(sub, "2026-10", 20, UtcTime{2}).code(),
            StatusCode::kInvalidArgument);
  oct.coverage = {{"2026-09", 10, 20}};
  ASSERT_TRUE(Billing().SaveDraftInvoices({oct}).ok());
  ASSERT_TRUE(Billing().FinalizeInvoice(sub, "2026-10", 20, UtcTime{2}).ok());

  // November must now continue September from 20 (not 10) and October from 20.
  StoredInvoice nov = Draft(sub, "2026-11", 30, "3.00");
  nov.coverage = {{"2026-09", 10, 30}, {"2026-10", 20, 30}};
  ASSERT_TRUE(Billing().SaveDraftInvoices({nov}).ok());
  s = Billing().FinalizeInvoice(sub, "2026-11", 30, UtcTime{3});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("up to seq 20"), std::string::npos) << s.ToString();
  nov.coverage = {{"2026-09", 20, 30}, {"2026-10", 20, 30}};
  ASSERT_TRUE(Billing().SaveDraftInvoices({nov}).ok());
  EXPECT_TRUE(Billing().FinalizeInvoice(sub, "2026-11", 30, UtcTime{3}).ok());
  EXPECT_TRUE(store_->WriteHealth().ok());
}

// The hourly read against a sum computed from the raw records, for every seq range split, with
// enough records that some partitions merge their tails (and, reopened, all rows are sorted).
TEST_P(BillingStoreConformance, HourlyUsageIsTheExactSumOfTheRecordsInRange) {
  std::mt19937 rng(42);
  const std::string subs[] = {SubId(1), SubId(2), SubId(3)};
  const std::string meters[] = {kMeterA, kMeterB, "custom.meter-1"};
  std::vector<domain::UsageRecord> batch;
  int n = 0;
  for (int b = 0; b < 12; ++b) {
    batch.clear();
    for (int i = 0; i < 1000; ++i, ++n) {
      std::string q = std::to_string(rng() % 1000) + "." + std::to_string(rng() % 1000);
      batch.push_back(MakeRecord("r" + std::to_string(n), subs[rng() % 3], meters[rng() % 3],
                                 kHour0 + static_cast<int64_t>(rng() % 48), q,
                                 "vm" + std::to_string(rng() % 4)));
    }
    auto out = store_->AppendUsage(batch, Reported(kHour0 + 60 + b));
    ASSERT_TRUE(out.ok()) << out.status().ToString();
  }
  auto records = store_->ListRecords(0, 100000);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 12000u);

  using Key = std::tuple<std::string, int64_t, std::string>;  // subscription, hour, meter
  for (auto [after, up_to, from, to] : {std::tuple<uint64_t, uint64_t, int64_t, int64_t>{
                                            0, 12000, kHour0, kHour0 + 48},
                                        {0, 2500, kHour0 + 5, kHour0 + 30},
                                        {2500, 11999, kHour0, kHour0 + 48},
                                        {4000, 4000, kHour0, kHour0 + 48},
                                        {9000, 12000, kHour0 + 47, kHour0 + 48}}) {
    std::map<Key, Decimal> expected;
    for (const StoredRecord& r : *records) {
      if (r.seq <= after || r.seq > up_to) continue;
      int64_t h = r.record.usage_start.hours();
      if (h < from || h >= to || r.record.subscription_id == subs[2]) continue;
      expected[{r.record.subscription_id, h, r.record.meter_id}] += r.record.quantity;
    }
    HourlyUsageQuery q;
    q.subscription_ids = {subs[1], subs[0], SubId(99)};
    q.from = UsageHour::FromHours(from);
    q.to = UsageHour::FromHours(to);
    q.after_seq = after;
    q.up_to_seq = up_to;
    std::map<Key, Decimal> got;
    std::vector<std::pair<std::string, int64_t>> order;
    Status s = Billing().VisitHourlyUsage(q, [&](const HourlyUsageRow& row) {
      Key k{std::string(row.subscription_id), row.hour.hours(), std::string(row.meter_id)};
      EXPECT_EQ(got.count(k), 0u) << "a (subscription, hour, meter) visited twice";
      got[k] = row.quantity;
      order.emplace_back(std::string(row.subscription_id), row.hour.hours());
    });
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(got, expected) << "seq (" << after << ", " << up_to << "]";
    // Subscriptions in the order asked, hours ascending within each.
    for (size_t i = 1; i < order.size(); ++i) {
      if (order[i].first == order[i - 1].first) {
        EXPECT_LE(order[i - 1].second, order[i].second);
      } else {
        EXPECT_EQ(order[i].first, subs[0]);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Sqlite, BillingStoreConformance, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? std::string("ReopenEachStep")
                                             : std::string("SameStore");
                         });

}  // namespace
}  // namespace tally::store::testing
