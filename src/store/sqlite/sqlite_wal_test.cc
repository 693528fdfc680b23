// The SQLite store's write-ahead log (docs/storage.md, "The single-writer rule"): it is kept
// between processes, so a reopened store overwrites the log it has instead of growing a new
// one; and WalCheckpointer copies it into the database without the writer waiting for the
// database file's fsync, never letting SQLite restart the log before that fsync.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/wal_checkpointer.h"
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

// A WAL-mode database with one table, the way the store configures its writer connection.
sqlite::Database OpenWalDatabase(const std::string& path) {
  auto db = sqlite::Database::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_TRUE(db->Exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                       "PRAGMA wal_autocheckpoint = 0;"
                       "CREATE TABLE IF NOT EXISTS t (x BLOB)")
                  .ok());
  return std::move(*db);
}

void InsertRows(sqlite::Database& db, int rows) {
  for (int i = 0; i < rows; ++i) {
    ASSERT_TRUE(db.Exec("INSERT INTO t VALUES (randomblob(3000))").ok());
  }
}

// What the checkpointer relies on: while a read transaction is open on another connection,
// SQLite appends to the log after a checkpoint instead of restarting it over the copied
// frames, which the database file may not hold durably yet.
TEST(SqliteWalTest, AnOpenReadTransactionKeepsTheLogFromRestarting) {
  TempDir dir;
  const std::string path = dir.path() + "/t.db";
  sqlite::Database writer = OpenWalDatabase(path);
  InsertRows(writer, 40);
  auto guard = sqlite::Database::Open(path, SQLITE_OPEN_READONLY);
  ASSERT_TRUE(guard.ok()) << guard.status().ToString();
  ASSERT_TRUE(guard->Exec("BEGIN").ok());
  ASSERT_TRUE(guard->QueryInt64("SELECT count(*) FROM sqlite_schema").ok());

  ASSERT_TRUE(writer.Exec("PRAGMA synchronous = OFF").ok());
  ASSERT_TRUE(writer.Exec("PRAGMA wal_checkpoint(PASSIVE)").ok());
  ASSERT_TRUE(writer.Exec("PRAGMA synchronous = FULL").ok());
  const int64_t copied = FileSize(path + "-wal");
  InsertRows(writer, 5);
  EXPECT_GT(FileSize(path + "-wal"), copied) << "the log restarted under an open read";

  // Once the read ends, the next checkpoint lets the next commit restart the log.
  ASSERT_TRUE(guard->Exec("COMMIT").ok());
  ASSERT_TRUE(writer.Exec("PRAGMA wal_checkpoint(PASSIVE)").ok());
  const int64_t grown = FileSize(path + "-wal");
  InsertRows(writer, 5);
  EXPECT_EQ(FileSize(path + "-wal"), grown) << "the log did not restart";
}

// A WAL-mode database holding 40 rows and a checkpointer for it.
class WalCheckpointerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InsertRows(writer, 40);
    auto opened = sqlite::WalCheckpointer::Open(path, [this] {
      std::lock_guard lock(mu);
      ++syncs_ended;
      cv.notify_all();
    });
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    checkpointer = std::move(*opened);
  }

  // Waits (up to 30 s) until the checkpointer has said `n` syncs ended.
  bool AwaitSyncsEnded(int n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(30), [&] { return syncs_ended >= n; });
  }

  TempDir dir;
  const std::string path = dir.path() + "/t.db";
  sqlite::Database writer = OpenWalDatabase(path);
  std::unique_ptr<sqlite::WalCheckpointer> checkpointer;
  std::mutex mu;
  std::condition_variable cv;
  int syncs_ended = 0;  // guarded by mu
};

TEST_F(WalCheckpointerTest, ACheckpointSyncsInTheBackgroundAndThenLetsTheLogRestart) {
  ASSERT_TRUE(checkpointer->Run(writer, /*due=*/false, /*overdue=*/false).ok());
  EXPECT_FALSE(checkpointer->syncing()) << "started a checkpoint that was not due";
  ASSERT_TRUE(checkpointer->Run(writer, /*due=*/true, /*overdue=*/false).ok());
  EXPECT_TRUE(checkpointer->syncing());
  EXPECT_EQ(*writer.QueryInt64("PRAGMA synchronous"), 2) << "commits must stay FULL";
  InsertRows(writer, 3);  // committed while the database file syncs
  // Overdue: waits for the sync, then copies what was committed meanwhile.
  ASSERT_TRUE(checkpointer->Run(writer, /*due=*/false, /*overdue=*/true).ok());
  EXPECT_FALSE(checkpointer->syncing());
  const int64_t size = FileSize(path + "-wal");
  InsertRows(writer, 5);
  EXPECT_EQ(FileSize(path + "-wal"), size) << "the log did not restart after the sync";

  auto reader = sqlite::Database::Open(path, SQLITE_OPEN_READONLY);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(*reader->QueryInt64("SELECT count(*) FROM t"), 48);
}

// The store's writer finishes a checkpoint when it is idle; it learns that the sync has ended
// from the callback, and its next call then finishes without waiting.
TEST_F(WalCheckpointerTest, TheWriterIsToldWhenTheSyncHasEnded) {
  ASSERT_TRUE(checkpointer->Run(writer, /*due=*/true, /*overdue=*/false).ok());
  ASSERT_TRUE(checkpointer->syncing());
  InsertRows(writer, 3);  // committed while the database file syncs
  ASSERT_TRUE(AwaitSyncsEnded(1)) << "the end of the sync was never told";
  ASSERT_TRUE(checkpointer->Run(writer, /*due=*/false, /*overdue=*/false).ok());
  EXPECT_FALSE(checkpointer->syncing()) << "told of the end, but the checkpoint did not finish";
  const int64_t size = FileSize(path + "-wal");
  InsertRows(writer, 5);
  EXPECT_EQ(FileSize(path + "-wal"), size) << "the log did not restart after the sync";
  EXPECT_EQ(syncs_ended, 1);
}

TEST_F(WalCheckpointerTest, AFailedSyncIsReportedAndTheLogIsNeverRestarted) {
  checkpointer->FailNextSyncForTesting();

  ASSERT_TRUE(checkpointer->Run(writer, /*due=*/true, /*overdue=*/false).ok());
  ASSERT_TRUE(AwaitSyncsEnded(1)) << "a failed sync must be told too";
  Status failed = checkpointer->Run(writer, /*due=*/false, /*overdue=*/false);
  EXPECT_EQ(failed.code(), StatusCode::kUnavailable) << failed.ToString();
  EXPECT_NE(failed.message().find("fsync of the database file"), std::string::npos)
      << failed.ToString();

  // The database file may lack the copied pages, and a later fsync that succeeds would not
  // prove otherwise: nothing checkpoints any more and the log keeps every frame.
  const int64_t before = FileSize(path + "-wal");
  EXPECT_EQ(checkpointer->Run(writer, /*due=*/true, /*overdue=*/false).code(),
            StatusCode::kUnavailable);
  ASSERT_TRUE(writer.Exec("PRAGMA wal_checkpoint(PASSIVE)").ok());  // copies, cannot restart
  InsertRows(writer, 5);
  EXPECT_GT(FileSize(path + "-wal"), before) << "the log restarted after a failed sync";
  checkpointer.reset();
  writer = sqlite::Database();
  auto reader = sqlite::Database::Open(path, SQLITE_OPEN_READONLY);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(*reader->QueryInt64("SELECT count(*) FROM t"), 45);
}

// Options that open the store in `dir`, creating it if need be.
SqliteStoreOptions CreatingOptions(const std::string& dir, const Clock* clock) {
  SqliteStoreOptions options;
  options.data_dir = dir;
  options.create_if_missing = true;
  options.clock = clock;
  return options;
}

// A checkpoint after every commit: the log is restarted again and again and stays small.
TEST(SqliteWalTest, TheStoresLogStaysBoundedWhenEveryCommitIsCheckpointed) {
  TempDir dir;
  FakeClockForTesting clock(UtcTime{Reported(kHour + 100).micros()});
  SqliteStoreOptions options = CreatingOptions(dir.path(), &clock);
  options.checkpoint_wal_bytes = 1;
  {
    auto opened = OpenSqliteStore(options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    AppendBatches(**opened, "small-", 120);
    EXPECT_TRUE((*opened)->WriteHealth().ok());
    // Each commit writes a few 64 KiB pages; without restarts 120 commits would pass 20 MiB.
    EXPECT_LT(FileSize(dir.path() + "/tally.db-wal"), int64_t{4} << 20);
  }
  auto opened = OpenTestSqliteStore(dir.path(), &clock);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto records = (*opened)->ListRecords(0, 10000);
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  EXPECT_EQ(records->size(), 120u * 50);
}

// The checkpoint steps that hold up the writer are timed, and only those: a store whose log
// never needs a checkpoint counts none, however often the writer asks.
TEST(SqliteWalTest, TheCheckpointStepsThatHoldUpTheWriterAreTimed) {
  FakeClockForTesting clock(UtcTime{Reported(kHour + 100).micros()});
  {
    TempDir dir;
    auto opened = OpenSqliteStore(CreatingOptions(dir.path(), &clock));
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    AppendBatches(**opened, "quiet-", 10);
    EXPECT_EQ((*opened)->GetStats().checkpoint_pauses.count, 0u);
  }
  TempDir dir;
  SqliteStoreOptions options = CreatingOptions(dir.path(), &clock);
  options.checkpoint_wal_bytes = 1;  // a checkpoint whenever the writer is idle
  auto opened = OpenSqliteStore(options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  AppendBatches(**opened, "busy-", 10);
  const DurationHistogram pauses = (*opened)->GetStats().checkpoint_pauses;
  // Each commit is followed by the copy of a new checkpoint, or by the finishing step of the
  // last one (whose sync may still run, in which case the writer moves on without a step).
  EXPECT_GE(pauses.count, 5u);
  EXPECT_LE(pauses.count, 20u);
  uint64_t in_buckets = 0;
  for (uint64_t n : pauses.buckets) in_buckets += n;
  EXPECT_EQ(in_buckets, pauses.count);
  EXPECT_GT(pauses.max_seconds, 0);
  EXPECT_LE(pauses.max_seconds, pauses.sum_seconds);
}

// A checkpoint whose background sync ends while nothing is queued is finished by the writer at
// once (the sync thread wakes it), not only when the next batch comes: its two steps, the copy
// and the finishing checkpoint, are both timed with no append after the first.
TEST(SqliteWalTest, AnIdleWriterFinishesTheCheckpointOnceItsSyncHasEnded) {
  FakeClockForTesting clock(UtcTime{Reported(kHour + 100).micros()});
  TempDir dir;
  SqliteStoreOptions options = CreatingOptions(dir.path(), &clock);
  options.checkpoint_wal_bytes = 1;
  auto opened = OpenSqliteStore(options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  AppendBatches(**opened, "one-", 1);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while ((*opened)->GetStats().checkpoint_pauses.count < 2 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ((*opened)->GetStats().checkpoint_pauses.count, 2u);
  EXPECT_TRUE((*opened)->WriteHealth().ok());
}

// The page size of the database file: only a new database takes the one asked for.
int64_t PageSizeOf(const std::string& db_path) {
  auto db = sqlite::Database::Open(db_path, SQLITE_OPEN_READONLY);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  auto size = db->QueryInt64("PRAGMA page_size");
  EXPECT_TRUE(size.ok()) << size.status().ToString();
  return size.ok() ? *size : -1;
}

TEST(SqliteStorePageSizeTest, ANewDatabaseTakesThePageSizeAskedForAndAnOldOneKeepsItsOwn) {
  TempDir dir;
  FakeClockForTesting clock(UtcTime{Reported(kHour + 100).micros()});
  SqliteStoreOptions options = CreatingOptions(dir.path(), &clock);
  options.new_database_page_size = 16384;
  {
    auto opened = OpenSqliteStore(options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    AppendBatches(**opened, "small-pages-", 3);
  }
  EXPECT_EQ(PageSizeOf(dir.path() + "/tally.db"), 16384);

  options.new_database_page_size = 65536;
  {
    auto opened = OpenSqliteStore(options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    auto records = (*opened)->ListRecords(0, 1000);
    ASSERT_TRUE(records.ok()) << records.status().ToString();
    EXPECT_EQ(records->size(), 3u * 50);
  }
  EXPECT_EQ(PageSizeOf(dir.path() + "/tally.db"), 16384) << "an existing database changed";
}

TEST(SqliteStorePageSizeTest, APageSizeSQLiteCannotUseIsRefused) {
  TempDir dir;
  FakeClockForTesting clock(UtcTime{Reported(kHour + 100).micros()});
  for (uint32_t size : {0u, 256u, 1000u, 131072u}) {
    SqliteStoreOptions options = CreatingOptions(dir.path(), &clock);
    options.new_database_page_size = size;
    auto opened = OpenSqliteStore(options);
    ASSERT_FALSE(opened.ok()) << size;
    EXPECT_EQ(opened.status().code(), StatusCode::kInvalidArgument) << size;
    EXPECT_NE(opened.status().message().find("power of two from 512 to 65536, not " +
                                             std::to_string(size)),
              std::string::npos)
        << opened.status().ToString();
  }
}

}  // namespace
}  // namespace tally::store
