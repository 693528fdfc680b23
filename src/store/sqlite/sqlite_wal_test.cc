// The SQLite store keeps its write-ahead log between processes (docs/storage.md, "Files"): a
// store that is reopened overwrites the log it already has instead of growing a new one, whose
// first commits would each extend the file and so cost the filesystem an extra journal commit.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/clock.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store_test_util.h"

namespace tally::store {
namespace {

using namespace testing;  // NOLINT: the store test helpers

constexpr int64_t kHour = 20000 * 24;
const char kMeter[] = "F271A8A388C44D93956A063E1D2FA80B";

// The size of `path`, or -1 when it does not exist.
int64_t FileSize(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : -1;
}

void AppendBatches(UsageStore& store, const std::string& prefix, int batches) {
  for (int b = 0; b < batches; ++b) {
    std::vector<domain::UsageRecord> records;
    for (int i = 0; i < 50; ++i) {
      records.push_back(MakeRecord(prefix + std::to_string(b) + "-" + std::to_string(i),
                                   SubId(i % 3), kMeter, kHour + i, "1.25"));
    }
    auto out = store.AppendUsage(records, Reported(kHour + 100));
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    ASSERT_EQ(out->accepted, records.size());
  }
}

TEST(SqliteWalTest, TheLogOutlivesTheStoreAndIsOverwrittenFromItsStartWhenReopened) {
  TempDir dir;
  FakeClockForTesting clock(UtcTime{Reported(kHour + 100).micros()});
  const std::string wal = dir.path() + "/tally.db-wal";
  {
    auto opened = OpenTestSqliteStore(dir.path(), &clock);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    AppendBatches(**opened, "first-", 6);  // one commit each
  }
  // Checkpointed into the database on close, but kept at its length.
  const int64_t kept = FileSize(wal);
  ASSERT_GT(kept, 0) << "the write-ahead log was deleted or emptied on close";

  for (int reopen = 0; reopen < 3; ++reopen) {
    auto opened = OpenTestSqliteStore(dir.path(), &clock);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    AppendBatches(**opened, "again-" + std::to_string(reopen) + "-", 1);
    opened->reset();
    EXPECT_EQ(FileSize(wal), kept)
        << "after reopening " << reopen + 1 << " times, the store appended to the old log";
  }

  auto opened = OpenTestSqliteStore(dir.path(), &clock);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto records = (*opened)->ListRecords(0, 1000);
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  EXPECT_EQ(records->size(), 6u * 50 + 3 * 50);
}

}  // namespace
}  // namespace tally::store
