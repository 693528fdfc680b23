// The embedded SQLite store: Tally's durable UsageStore for a single node. Data lives in
// <data_dir>/tally.db (WAL mode, synchronous=FULL); <data_dir>/LOCK is held (flock) while the
// store is open so that two processes never share a data directory. An in-memory UsageIndex,
// rebuilt from the database on open, answers dedup and aggregation. See docs/storage.md.
//
// Ownership: the caller owns the returned store; destroying it drains queued writes, stops the
// writer and publisher threads and releases the lock. Thread-safety: every UsageStore method may be called
// from any number of threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "store/usage_store.h"

namespace tally::store {

struct SqliteStoreOptions {
  std::string data_dir;
  bool create_if_missing = false;  // else NotFound when data_dir does not exist
  const Clock* clock = nullptr;    // required; must outlive the store
  // The writer runs a passive WAL checkpoint after this many commits, or sooner once the WAL
  // holds more than checkpoint_wal_bytes of frames (counted after each commit), in both cases
  // after the callers of that commit have been answered.
  uint32_t checkpoint_every_commits = 1000;
  // A checkpoint stalls the writer for as long as it copies (about 1 ms a MiB here), so smaller
  // and more frequent ones keep the acknowledgement tail short at the same throughput.
  uint64_t checkpoint_wal_bytes = uint64_t{16} << 20;
  // Committed records may wait this many for the publisher (which makes them visible to
  // queries) before the writer waits; a larger group is still taken, alone.
  size_t max_unpublished_records = 65536;
  // The publisher thread's nice value. Publishing makes answered groups visible to queries and
  // merges grown tails (up to ~60 ms of CPU for a large subscription): at a lower priority that
  // work yields the cores to the acknowledgement path; it catches up when they are idle.
  int publisher_nice = 10;
  // The page size of a new database (a power of two, 512-65536); an existing database keeps
  // the one it was created with. Every commit logs whole pages to the WAL (docs/storage.md).
  uint32_t new_database_page_size = 65536;
};

// Opens (and with create_if_missing, creates) the store in options.data_dir, applies pending
// schema migrations and rebuilds the in-memory index. Unavailable when another process holds
// the directory ("data directory DIR is in use by another tally process (pid N)") or the
// database is from a newer tally; DataLoss when the database is damaged.
Result<std::unique_ptr<UsageStore>> OpenSqliteStore(const SqliteStoreOptions& options);

// Test hook: the next `n` commits of `store` fail as a failed COMMIT would (the transaction is
// rolled back and the store then refuses writes). InvalidArgument unless `store` was made by
// OpenSqliteStore.
Status FailNextCommitsForTesting(UsageStore& store, int n);
// While held, the store's publisher leaves committed (and answered) groups unpublished, so a
// test can make the writer commit the next group meanwhile; reads wait. Release it before
// closing.
Status HoldPublisherForTesting(UsageStore& store, bool hold);

}  // namespace tally::store
