// The SQLite store's record blocks (schema version 5) beside the rows that versions 1-4 wrote
// into usage_records: a data directory written by an older tally keeps every record.
#include <gtest/gtest.h>

#include "common/clock.h"
#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store_test_util.h"

namespace tally::store {
namespace {

using namespace testing;  // NOLINT: the store test helpers

constexpr int64_t kHour = 20000 * 24;
const char kMeter[] = "F271A8A388C44D93956A063E1D2FA80B";

// Writes `seq` into usage_records the way versions 1-4 did (the meter in lower case, as a
// reporter may send it).
void InsertOldRow(sqlite::Database& db, int64_t seq, const std::string& id,
                  const std::string& quantity) {
  auto q = db.Prepare(
      "INSERT INTO usage_records (seq, record_id, subscription_id, meter_id, resource_uri, "
      "location, usage_start_hour, quantity, tags, additional_info, reported_time_us, "
      "content_hash) VALUES (?,?,?,?,?,?,?,?,?,NULL,?,?)");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  domain::UsageRecord r = MakeRecord(id, SubId(1), kMeter, kHour, quantity);
  r.tags = domain::Properties{{"env", "old"}};
  q->BindInt64(1, seq);
  q->BindText(2, r.record_id);
  q->BindText(3, r.subscription_id);
  q->BindText(4, "f271a8a388c44d93956a063e1d2fa80b");
  q->BindText(5, r.resource_uri);
  q->BindText(6, r.location);
  q->BindInt64(7, kHour);
  q->BindText(8, quantity);
  q->BindText(9, "{\"env\":\"old\"}");
  q->BindInt64(10, Reported(kHour + 1).micros());
  q->BindInt64(11, static_cast<int64_t>(domain::ContentHash(r)));
  ASSERT_TRUE(q->Run().ok());
}

TEST(SqliteBlocksTest, RowsOfEarlierVersionsAreReadAndNewRecordsFollowThem) {
  TempDir dir;
  FakeClockForTesting clock(UtcTime{Reported(kHour + 2).micros()});
  {
    auto created = OpenTestSqliteStore(dir.path(), &clock);  // an empty store
    ASSERT_TRUE(created.ok()) << created.status().ToString();
  }
  {
    auto db = sqlite::Database::Open(dir.path() + "/tally.db", SQLITE_OPEN_READWRITE);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    InsertOldRow(*db, 1, "old-1", "1.5");
    InsertOldRow(*db, 2, "old-2", "2.25");
  }
  auto opened = OpenTestSqliteStore(dir.path(), &clock);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<UsageStore> store = std::move(*opened);

  // The old rows count for dedup and conflicts, read back from usage_records.
  domain::UsageRecord again = MakeRecord("old-1", SubId(1), kMeter, kHour, "1.5");
  again.tags = domain::Properties{{"env", "old"}};
  domain::UsageRecord changed = again;
  changed.quantity = *Decimal::Parse("9");
  auto dup = store->AppendUsage({again}, Reported(kHour + 3));
  ASSERT_TRUE(dup.ok()) << dup.status().ToString();
  EXPECT_EQ(dup->duplicates, 1u);
  auto conflict = store->AppendUsage({changed}, Reported(kHour + 3));
  ASSERT_TRUE(conflict.ok());
  ASSERT_EQ(conflict->conflicts.size(), 1u);

  // New records go into a block after them.
  auto added = store->AppendUsage({MakeRecord("new-1", SubId(1), kMeter, kHour, "0.25"),
                                   MakeRecord("new-2", SubId(1), kMeter, kHour + 1, "4")},
                                  Reported(kHour + 3));
  ASSERT_TRUE(added.ok());
  EXPECT_EQ(added->accepted, 2u);

  for (int pass = 0; pass < 2; ++pass) {
    SCOPED_TRACE(pass == 0 ? "as written" : "after reopening");
    auto all = store->ListRecords(0, 10);
    ASSERT_TRUE(all.ok()) << all.status().ToString();
    ASSERT_EQ(all->size(), 4u);
    const char* ids[] = {"old-1", "old-2", "new-1", "new-2"};
    for (size_t i = 0; i < 4; ++i) {
      EXPECT_EQ((*all)[i].seq, i + 1);
      EXPECT_EQ((*all)[i].record.record_id, ids[i]);
      EXPECT_EQ((*all)[i].record.meter_id, kMeter);  // the catalog's spelling
    }
    EXPECT_EQ((*all)[0].reported_time, Reported(kHour + 1));
    EXPECT_EQ((*all)[2].reported_time, Reported(kHour + 3));
    // Paging across the boundary between rows and blocks.
    auto tail = store->ListRecords(1, 2);
    ASSERT_TRUE(tail.ok());
    ASSERT_EQ(tail->size(), 2u);
    EXPECT_EQ((*tail)[0].seq, 2u);
    EXPECT_EQ((*tail)[1].seq, 3u);

    AggregateQuery q;
    q.subscription_ids = {SubId(1)};
    q.reported_from = Reported(kHour);
    q.reported_to = Reported(kHour + 4);
    q.granularity = domain::Granularity::kDaily;
    auto page = store->AggregateUsage(q);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    ASSERT_EQ(page->rows.size(), 2u);  // two instances: with and without tags
    store.reset();
    auto reopened = OpenTestSqliteStore(dir.path(), &clock);
    ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
    store = std::move(*reopened);
  }
}

}  // namespace
}  // namespace tally::store
