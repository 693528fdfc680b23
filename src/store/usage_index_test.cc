#include "store/usage_index.h"

#include <iostream>

#include <gtest/gtest.h>

namespace tally::store {
namespace {

constexpr int64_t kHour0 = 20000 * 24;

struct Builder {
  std::string sub = "00000001-0000-4000-8000-000000000000";
  std::string meter_key = "M";
  std::string uri = "/subscriptions/x/vm";
  IndexedRecord Make(uint64_t seq, int64_t hour, Decimal q, std::string_view id,
                     int64_t reported_hour) const {
    IndexedRecord r;
    r.seq = seq;
    r.reported_time = ReportedTime::FromMicros(reported_hour * kMicrosPerHour);
    r.usage_start = UsageHour::FromHours(hour);
    r.id_hash = RecordIdHash(id);
    r.content_hash = seq * 31;
    r.subscription_id = sub;
    r.meter_key = meter_key;
    r.meter_id = meter_key;
    r.resource_uri = uri;
    r.location = "local";
    r.quantity = q;
    return r;
  }
};

AggregateQuery AllOf(const std::string& sub) {
  AggregateQuery q;
  q.subscription_ids = {sub};
  q.reported_from = ReportedTime::FromMicros(0);
  q.reported_to = ReportedTime::FromMicros(INT64_MAX);
  q.granularity = domain::Granularity::kHourly;
  return q;
}

TEST(UsageIndex, DedupFindsEveryRecordAfterGrowth) {
  UsageIndex index;
  Builder b;
  std::vector<IndexedRecord> batch;
  std::vector<std::string> ids;
  for (int i = 0; i < 5000; ++i) ids.push_back("id-" + std::to_string(i));
  for (int i = 0; i < 5000; ++i) batch.push_back(b.Make(i + 1, kHour0, Decimal::FromInt(1), ids[i], kHour0));
  ASSERT_TRUE(index.Publish(batch).ok());
  for (int i = 0; i < 5000; ++i) {
    int hits = 0;
    index.ForEachIdMatch(RecordIdHash(ids[i]), [&](uint64_t content, uint64_t seq) {
      EXPECT_EQ(seq, static_cast<uint64_t>(i + 1));
      EXPECT_EQ(content, seq * 31);
      ++hits;
    });
    EXPECT_EQ(hits, 1);
  }
  int misses = 0;
  index.ForEachIdMatch(RecordIdHash("absent"), [&](uint64_t, uint64_t) { ++misses; });
  EXPECT_EQ(misses, 0);
}

TEST(UsageIndex, PublishRejectsOutOfOrderSeq) {
  UsageIndex index;
  Builder b;
  std::vector<IndexedRecord> batch = {b.Make(5, kHour0, Decimal::FromInt(1), "a", kHour0)};
  ASSERT_TRUE(index.Publish(batch).ok());
  batch = {b.Make(5, kHour0, Decimal::FromInt(1), "b", kHour0)};
  EXPECT_EQ(index.Publish(batch).code(), StatusCode::kInternal);
  // Gaps are allowed (and cost nothing in lookups).
  EXPECT_EQ(index.last_seq(), 5u);
}

TEST(UsageIndex, LargeAndSmallQuantitiesSumExactly) {
  UsageIndex index;
  Builder b;
  const char* texts[] = {"0.000000000000001", "287.999999999999999", "288", "1e20",
                         "99999999999999999999.999999999999999", "123456.5"};
  Decimal want;
  std::vector<IndexedRecord> batch;
  uint64_t seq = 1;
  for (const char* t : texts) {
    Decimal d = *Decimal::Parse(t);
    want += d;
    batch.push_back(b.Make(seq, kHour0, d, "id" + std::to_string(seq), kHour0));
    ++seq;
  }
  ASSERT_TRUE(index.Publish(batch).ok());
  auto page = index.Aggregate(AllOf(b.sub));
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->rows.size(), 1u);
  EXPECT_EQ(page->rows[0].quantity, want);
}

TEST(UsageIndex, OverflowingSumIsInternalError) {
  UsageIndex index;
  Builder b;
  Decimal big = Decimal::FromRaw(static_cast<Decimal::Raw>(1) << 126);
  std::vector<IndexedRecord> batch = {b.Make(1, kHour0, big, "a", kHour0),
                                      b.Make(2, kHour0, big, "b", kHour0)};
  ASSERT_TRUE(index.Publish(batch).ok());
  auto page = index.Aggregate(AllOf(b.sub));
  EXPECT_EQ(page.status().code(), StatusCode::kInternal);
}

TEST(UsageIndex, InstancesKeepTheirIdsAcrossRebuild) {
  Builder b;
  std::vector<IndexedRecord> batch;
  std::vector<std::string> uris = {"/s/b", "/s/a", "/s/b", "/s/c"};
  for (size_t i = 0; i < uris.size(); ++i) {
    IndexedRecord r = b.Make(i + 1, kHour0, Decimal::FromInt(1), "id" + std::to_string(i), kHour0);
    r.resource_uri = uris[i];
    batch.push_back(r);
  }
  UsageIndex one, two;
  ASSERT_TRUE(one.Publish(batch).ok());
  for (const auto& r : batch) ASSERT_TRUE(two.Publish({&r, 1}).ok());
  auto p1 = one.Aggregate(AllOf(b.sub));
  auto p2 = two.Aggregate(AllOf(b.sub));
  ASSERT_TRUE(p1.ok() && p2.ok());
  ASSERT_EQ(p1->rows.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(p1->rows[i].key, p2->rows[i].key);
    EXPECT_EQ(p1->rows[i].key.instance_id, i);
  }
  EXPECT_EQ(p1->rows[0].quantity.ToString(), "2");
}

TEST(UsageIndex, MemoryPerRecordStaysSmall) {
  UsageIndex index;
  Builder b;
  constexpr int kRecords = 4 << 16;  // whole dedup chunks
  index.Reserve(kRecords);
  std::vector<IndexedRecord> batch;
  std::vector<std::string> ids(1000);
  for (int i = 0; i < kRecords; ++i) {
    ids[i % 1000] = "id" + std::to_string(i);
    batch.push_back(b.Make(i + 1, kHour0 + i % 744, Decimal::FromInt(i % 7), ids[i % 1000], kHour0));
    if (batch.size() == 1000) {
      ASSERT_TRUE(index.Publish(batch).ok());
      batch.clear();
    }
  }
  ASSERT_TRUE(index.Publish(batch).ok());
  IndexStats s = index.GetStats();
  EXPECT_EQ(s.records, static_cast<uint64_t>(kRecords));
  // The design target is about 60 bytes per record (docs/storage.md).
  EXPECT_LE(s.memory_bytes / kRecords, 64u) << s.memory_bytes;
  std::cout << "index memory: " << s.memory_bytes / kRecords << " bytes per record\n";
}

}  // namespace
}  // namespace tally::store
