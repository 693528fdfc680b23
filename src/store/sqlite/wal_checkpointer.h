// WalCheckpointer: copies the WAL into the database for the writer thread without making the
// writer wait for the database file's fsync, which is nearly all of a checkpoint's time (about
// 10 ms for a 16 MiB WAL on the benchmark machine; the copy into the page cache is ~1 ms).
//
// A checkpoint goes in three steps (docs/storage.md, "Checkpoints"):
//   1. A second, read-only connection (the guard) opens a read transaction: while it is open,
//      SQLite cannot restart the WAL, so every frame stays on disk in the WAL.
//   2. The writer connection checkpoints with `synchronous = OFF`: the frames are copied into
//      the database file's page cache, with no fsync, and the writer goes back to committing
//      (its commits stay `synchronous = FULL`).
//   3. A background thread fsyncs the database file, then ends the guard's transaction. The
//      writer's next call copies what was committed meanwhile with an ordinary checkpoint (a
//      small fsync), after which the next commit restarts the WAL from its start.
// A crash before step 3 ends loses nothing: the WAL still holds every frame the database file
// may lack, and recovery reads them from it.
//
// Only the writer connection ever checkpoints or writes (the single-writer rule of
// docs/storage.md), so Debian's SQLite 3.40 WAL-reset bug cannot occur: the guard only reads.
//
// Thread-safety: thread-compatible: Run() and syncing() are called by the store's writer only (one
// thread at a time, see sqlite_store_impl.h); the sync thread is internal.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "store/sqlite/sqlite_db.h"

namespace tally::store::sqlite {

class WalCheckpointer {
 public:
  // `db_path` is the database the writer connection has open in WAL mode. `on_synced`, if
  // given, is called on the sync thread whenever a background sync has ended (well or not), so
  // that an idle writer can take its next step at once; it must not call back into this.
  static Result<std::unique_ptr<WalCheckpointer>> Open(const std::string& db_path,
                                                       std::function<void()> on_synced = {});
  ~WalCheckpointer();  // waits for a sync in flight
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Called by the writer after it answered a group. `due`: the WAL has grown enough for a
  // checkpoint; `overdue`: so much that the writer should rather wait for a sync in flight than
  // let the WAL grow further. An error means the database file could not be made durable or
  // the writer connection could not be put back to `synchronous = FULL`: the store must stop
  // accepting writes. Once a sync has failed, every later call returns that failure.
  Status Run(Database& writer, bool due, bool overdue);

  // True between step 2 and the writer's next call after the sync (for tests).
  bool syncing() const { return syncing_; }
  // The next background sync fails as if fdatasync had (for tests).
  void FailNextSyncForTesting() { fail_next_sync_ = true; }

 private:
  WalCheckpointer() = default;
  void SyncLoop();
  // Step 1 and 2; falls back to an ordinary checkpoint when the guard cannot pin the WAL.
  Status StartCheckpoint(Database& writer);

  Database guard_;
  int db_fd_ = -1;
  bool syncing_ = false;  // writer
  Status failure_;        // writer: the failed sync, after which nothing checkpoints

  std::mutex mu_;
  std::condition_variable cv_;
  bool sync_requested_ = false;  // guarded by mu_
  bool sync_done_ = false;       // guarded by mu_
  bool stopping_ = false;        // guarded by mu_
  Status sync_status_;           // guarded by mu_
  std::function<void()> on_synced_;
  std::thread syncer_;
  std::atomic<bool> fail_next_sync_{false};
};

}  // namespace tally::store::sqlite
