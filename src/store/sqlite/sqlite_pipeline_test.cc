// The SQLite store's commit pipeline: a group is answered once committed; while it waits for
// the publisher, the writer commits the next one, which must still see the first group's
// records as stored, and reads wait until it is visible.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <fstream>
#include <future>
#include <sstream>
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
  void SetUp() override { Open(SqliteStoreOptions().max_unpublished_records); }
  void TearDown() override {
    if (store_) {
      ASSERT_TRUE(HoldPublisherForTesting(*store_, false).ok());
    }
  }

  void Open(size_t max_unpublished_records) {
    store_.reset();
    SqliteStoreOptions o;
    o.data_dir = dir_.path();
    o.create_if_missing = true;
    o.clock = &clock_;
    o.max_unpublished_records = max_unpublished_records;
    auto opened = OpenSqliteStore(o);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(*opened);
    // A group that registers a subscription waits for the publisher before the next one, so
    // the tests' subscription is known beforehand.
    ASSERT_TRUE(store_->SaveSubscription(Tenant(SubId(1))).ok());
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

constexpr auto kWhile = std::chrono::milliseconds(100);

TEST_F(SqlitePipelineTest, AGroupIsAnsweredOnceCommittedAndReadsWaitUntilItIsPublished) {
  ASSERT_TRUE(HoldPublisherForTesting(*store_, true).ok());
  auto a = AppendAsync({Rec("r1", "1"), Rec("r2", "2", 1)}).get();
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->accepted, 2u);

  // Committed, answered, not yet published: a read waits for it rather than miss it.
  auto rows = std::async(std::launch::async, [this] { return PublishedRows(); });
  auto records = std::async(std::launch::async, [this] { return store_->ListRecords(0, 1000); });
  EXPECT_EQ(rows.wait_for(kWhile), std::future_status::timeout);
  EXPECT_EQ(records.wait_for(std::chrono::milliseconds(1)), std::future_status::timeout);
  ASSERT_TRUE(HoldPublisherForTesting(*store_, false).ok());
  EXPECT_EQ(rows.get(), 2u);
  auto listed = records.get();
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(listed->size(), 2u);
}

TEST_F(SqlitePipelineTest, EveryCommitOfNewUsageIsTimedAndDuplicatesCommitNothing) {
  EXPECT_EQ(store_->GetStats().usage_commits.count, 0u) << "saving a subscription is no usage";
  for (int i = 0; i < 3; ++i) {
    auto out = store_->AppendUsage({Rec("t" + std::to_string(i), "1", i)}, Reported(kDay0 + 30));
    ASSERT_TRUE(out.ok()) << out.status().ToString();
  }
  auto again = store_->AppendUsage({Rec("t0", "1", 0)}, Reported(kDay0 + 31));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ASSERT_EQ(again->duplicates, 1u);

  const DurationHistogram times = store_->GetStats().usage_commits;
  EXPECT_EQ(times.count, 3u);
  uint64_t in_buckets = 0;
  for (uint64_t n : times.buckets) in_buckets += n;
  EXPECT_EQ(in_buckets, 3u);
  EXPECT_GT(times.sum_seconds, 0);
  EXPECT_GT(times.max_seconds, 0);
  EXPECT_LE(times.max_seconds, times.sum_seconds);
}

TEST(DurationHistogramTest, ACommitFallsInTheFirstBucketWhoseBoundItDoesNotExceed) {
  DurationHistogram t;
  t.Add(0.001);  // on the first bound
  t.Add(0.003);
  t.Add(0.5);
  t.Add(7);  // beyond every bound
  EXPECT_EQ(t.buckets[0], 1u);
  EXPECT_EQ(t.buckets[2], 1u);  // (0.0025, 0.005]
  EXPECT_EQ(t.buckets[8], 1u);  // (0.25, 1]
  EXPECT_EQ(t.buckets.back(), 1u);
  EXPECT_EQ(t.count, 4u);
  EXPECT_DOUBLE_EQ(t.sum_seconds, 7.504);
  EXPECT_DOUBLE_EQ(t.max_seconds, 7);
}

TEST_F(SqlitePipelineTest, TheNextGroupCountsAnUnpublishedGroupsRecordsAsDuplicates) {
  ASSERT_TRUE(HoldPublisherForTesting(*store_, true).ok());
  auto a = AppendAsync({Rec("r1", "1"), Rec("r2", "2", 1)}).get();
  auto b = AppendAsync({Rec("r1", "1"), Rec("r3", "3", 2)}).get();
  ASSERT_TRUE(HoldPublisherForTesting(*store_, false).ok());

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
  auto a = AppendAsync({Rec("r1", "1")}).get();
  auto b = AppendAsync({Rec("r1", "1.5"), Rec("r9", "9", 3)}).get();
  ASSERT_TRUE(HoldPublisherForTesting(*store_, false).ok());

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

// Nothing else is queued, so each append finds the writer's role free and writes its batch on
// its own thread; no checkpoint is due, so the writer thread never takes the role.
TEST_F(SqlitePipelineTest, ACallerThatFindsTheWriterIdleWritesItsOwnBatch) {
  const uint64_t before = store_->GetStats().caller_led_groups;
  for (int i = 0; i < 5; ++i) {
    auto out = store_->AppendUsage({Rec("own" + std::to_string(i), "1", i)}, Reported(kDay0 + 30));
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(out->accepted, 1u);
  }
  // A batch of duplicates is a group too (answered from the index).
  ASSERT_TRUE(store_->AppendUsage({Rec("own0", "1", 0)}, Reported(kDay0 + 31)).ok());
  EXPECT_EQ(store_->GetStats().caller_led_groups - before, 6u);
  EXPECT_EQ(PublishedRows(), 5u);
}

TEST_F(SqlitePipelineTest, AGroupThatRegistersASubscriptionIsPublishedBeforeTheNext) {
  ASSERT_TRUE(HoldPublisherForTesting(*store_, true).ok());
  ASSERT_TRUE(AppendAsync({MakeRecord("n1", SubId(7), kMeter, kDay0, "1")}).get().ok());
  auto second = AppendAsync({Rec("r1", "1")});
  // The writer waits for the publisher before it takes the next group.
  EXPECT_EQ(second.wait_for(kWhile), std::future_status::timeout);
  ASSERT_TRUE(HoldPublisherForTesting(*store_, false).ok());
  ASSERT_TRUE(second.get().ok());
  auto subs = store_->ListSubscriptions();
  ASSERT_TRUE(subs.ok());
  bool registered = false;
  for (const auto& s : *subs) registered |= s.id == SubId(7);
  EXPECT_TRUE(registered);
}

TEST_F(SqlitePipelineTest, AMetadataWriteWaitsForThePublisher) {
  ASSERT_TRUE(HoldPublisherForTesting(*store_, true).ok());
  ASSERT_TRUE(AppendAsync({Rec("r1", "1")}).get().ok());
  auto meta =
      std::async(std::launch::async, [this] { return store_->SaveSubscription(Tenant(SubId(2))); });
  EXPECT_EQ(meta.wait_for(kWhile), std::future_status::timeout);
  ASSERT_TRUE(HoldPublisherForTesting(*store_, false).ok());
  EXPECT_TRUE(meta.get().ok());
  EXPECT_EQ(PublishedRows(), 1u);
}

TEST_F(SqlitePipelineTest, TheWriterWaitsWhenTooManyRecordsAreUnpublished) {
  Open(3);
  ASSERT_TRUE(HoldPublisherForTesting(*store_, true).ok());
  // Two records wait for the publisher; the next group is answered (it is committed), but the
  // writer cannot queue its three, so it takes nothing more.
  ASSERT_TRUE(AppendAsync({Rec("r1", "1"), Rec("r2", "2", 1)}).get().ok());
  ASSERT_TRUE(AppendAsync({Rec("r3", "3", 2), Rec("r4", "4", 3), Rec("r5", "5", 4)}).get().ok());
  auto third = AppendAsync({Rec("r6", "6", 5)});
  EXPECT_EQ(third.wait_for(kWhile), std::future_status::timeout);
  ASSERT_TRUE(HoldPublisherForTesting(*store_, false).ok());
  auto c = third.get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->accepted, 1u);
  EXPECT_EQ(PublishedRows(), 6u);
}

// The nice value of every thread of this process, from /proc/self/task/*/stat.
std::vector<int> ThreadNiceValues() {
  std::vector<int> out;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return out;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(std::string("/proc/self/task/") + e->d_name + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // After "pid (comm)": state is field 3, nice field 19.
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string field;
    for (int i = 3; i <= 19 && fields >> field; ++i) {
      if (i == 19) out.push_back(std::stoi(field));
    }
  }
  closedir(dir);
  return out;
}

TEST_F(SqlitePipelineTest, ThePublisherYieldsTheCoresToTheAcknowledgements) {
  const int base = getpriority(PRIO_PROCESS, 0);
  if (base + SqliteStoreOptions().publisher_nice > 19) GTEST_SKIP() << "the tests run at nice 19";
  const int expected = std::min(19, base + SqliteStoreOptions().publisher_nice);
  // The publisher thread lowers its own priority as it starts, which may be after Open returns.
  std::vector<int> nice = ThreadNiceValues();
  for (int i = 0; i < 500 && std::count(nice.begin(), nice.end(), expected) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    nice = ThreadNiceValues();
  }
  EXPECT_EQ(std::count(nice.begin(), nice.end(), expected), 1)
      << "no thread (or more than one) runs at nice " << expected;
  store_.reset();
  nice = ThreadNiceValues();
  EXPECT_EQ(std::count(nice.begin(), nice.end(), expected), 0);
}

}  // namespace
}  // namespace tally::store
