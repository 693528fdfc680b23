// The SQLite store's commit pipeline: while one committed group waits for the publisher, the
// writer commits the next one, which must still see the first group's records as stored.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "common/clock.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store_test_util.h"

namespace tally::store {
namespace {

using namespace testing;  // NOLINT: the store test helpers

constexpr int64_t kDay0 = 20000 * 24;
const char kMeter[] = "F271A8A388C44D93956A063E1D2FA80B";

class SqlitePipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = OpenTestSqliteStore(dir_.path(), &clock_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(*opened);
    // A group that registers a subscription waits for the publisher before the next one, so
    // the tests' subscription is known beforehand.
    ASSERT_TRUE(store_->SaveSubscription(Tenant(SubId(1))).ok());
  }
  void TearDown() override {
    if (store_) {
      ASSERT_TRUE(HoldPublisherForTesting(*store_, false).ok());
    }
  }

  // Waits until `n` records are committed (the reader connection sees them), whether or not
  // they are published.
  void WaitForCommitted(size_t n) {
    for (int i = 0; i < 2000; ++i) {
      auto records = store_->ListRecords(0, 1000);
      ASSERT_TRUE(records.ok()) << records.status().ToString();
      if (records->size() >= n) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    FAIL() << "the writer never committed " << n << " records";
  }

  std::future<Result<AppendOutcome>> AppendAsync(std::vector<domain::UsageRecord> batch) {
    return std::async(std::launch::async, [this, batch = std::move(batch)] {
      return store_->AppendUsage(batch, Reported(kDay0 + 30));
    });
  }

  domain::Subscription Tenant(const std::string& id) {
    domain::Subscription s;
    s.id = id;
    s.kind = domain::SubscriptionKind::kTenant;
    s.state = domain::SubscriptionState::kActive;
    s.created = clock_.Now();
    return s;
  }

  size_t PublishedRows() {
    AggregateQuery q;
    q.subscription_ids = {SubId(1)};
    q.reported_from = Reported(kDay0);
    q.reported_to = Reported(kDay0 + 48);
    q.granularity = domain::Granularity::kHourly;
    q.limit = 1000;
    auto page = store_->AggregateUsage(q);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    return page.ok() ? page->rows.size() : 0;
  }

  SystemClock clock_;
  TempDir dir_;
  std::unique_ptr<UsageStore> store_;
};

domain::UsageRecord Rec(const std::string& id, const std::string& quantity, int hour = 0) {
  return MakeRecord(id, SubId(1), kMeter, kDay0 + hour, quantity);
}

TEST_F(SqlitePipelineTest, TheNextGroupCountsAnUnpublishedGroupsRecordsAsDuplicates) {
  ASSERT_TRUE(HoldPublisherForTesting(*store_, true).ok());
  auto first = AppendAsync({Rec("r1", "1"), Rec("r2", "2", 1)});
  WaitForCommitted(2);
  // Committed but not published: queries do not show it and its caller has no answer yet.
  EXPECT_EQ(PublishedRows(), 0u);
  EXPECT_EQ(first.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);

  auto second = AppendAsync({Rec("r1", "1"), Rec("r3", "3", 2)});
  WaitForCommitted(3);
  ASSERT_TRUE(HoldPublisherForTesting(*store_, false).ok());

  auto a = first.get();
  auto b = second.get();
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(a->accepted, 2u);
  EXPECT_EQ(a->duplicates, 0u);
  EXPECT_EQ(b->accepted, 1u);
  EXPECT_EQ(b->duplicates, 1u);
  EXPECT_EQ(PublishedRows(), 3u);
  auto records = store_->ListRecords(0, 1000);
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(records->size(), 3u);
}

TEST_F(SqlitePipelineTest, TheNextGroupRefusesAConflictWithAnUnpublishedGroup) {
  ASSERT_TRUE(HoldPublisherForTesting(*store_, true).ok());
  auto first = AppendAsync({Rec("r1", "1")});
  WaitForCommitted(1);
  auto second = AppendAsync({Rec("r1", "1.5"), Rec("r9", "9", 3)});
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let the writer judge it
  ASSERT_TRUE(HoldPublisherForTesting(*store_, false).ok());

  auto a = first.get();
  auto b = second.get();
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(a->accepted, 1u);
  EXPECT_EQ(b->accepted, 0u);
  ASSERT_EQ(b->conflicts.size(), 1u);
  EXPECT_EQ(b->conflicts[0].record_id, "r1");
  auto records = store_->ListRecords(0, 1000);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ(records->at(0).record.quantity.ToString(), "1");
}

TEST_F(SqlitePipelineTest, AGroupThatRegistersASubscriptionIsPublishedBeforeTheNext) {
  ASSERT_TRUE(HoldPublisherForTesting(*store_, true).ok());
  auto first = AppendAsync({MakeRecord("n1", SubId(7), kMeter, kDay0, "1")});
  WaitForCommitted(1);
  auto second = AppendAsync({Rec("r1", "1")});
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto records = store_->ListRecords(0, 1000);
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(records->size(), 1u);  // the writer waits for the publisher
  ASSERT_TRUE(HoldPublisherForTesting(*store_, false).ok());
  ASSERT_TRUE(first.get().ok());
  ASSERT_TRUE(second.get().ok());
  auto subs = store_->ListSubscriptions();
  ASSERT_TRUE(subs.ok());
  bool registered = false;
  for (const auto& s : *subs) registered |= s.id == SubId(7);
  EXPECT_TRUE(registered);
}

TEST_F(SqlitePipelineTest, AMetadataWriteWaitsForThePublisher) {
  ASSERT_TRUE(HoldPublisherForTesting(*store_, true).ok());
  auto first = AppendAsync({Rec("r1", "1")});
  WaitForCommitted(1);
  auto meta =
      std::async(std::launch::async, [this] { return store_->SaveSubscription(Tenant(SubId(2))); });
  EXPECT_EQ(meta.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  ASSERT_TRUE(HoldPublisherForTesting(*store_, false).ok());
  ASSERT_TRUE(first.get().ok());
  EXPECT_TRUE(meta.get().ok());
  EXPECT_EQ(PublishedRows(), 1u);
}

}  // namespace
}  // namespace tally::store
