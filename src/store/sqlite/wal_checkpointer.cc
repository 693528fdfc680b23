#include "store/sqlite/wal_checkpointer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/current_thread.h"

namespace tally::store::sqlite {

namespace {

// An ordinary passive checkpoint on the writer connection: copies and fsyncs. A failed
// checkpoint loses nothing (the WAL keeps the data) and the next one retries, so its result is
// not a write failure.
void CheckpointAndSync(Database& writer) { (void)writer.Exec("PRAGMA wal_checkpoint(PASSIVE)"); }

}  // namespace

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Open(const std::string& db_path,
                                                               std::function<void()> on_synced) {
  std::unique_ptr<WalCheckpointer> c(new WalCheckpointer());
  c->on_synced_ = std::move(on_synced);
  TALLY_ASSIGN_OR_RETURN(c->guard_, Database::Open(db_path, SQLITE_OPEN_READONLY));
  TALLY_RETURN_IF_ERROR(c->guard_.Exec("PRAGMA busy_timeout = 10000"));
  c->db_fd_ = open(db_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (c->db_fd_ < 0) {
    return Unavailable("cannot open " + db_path + " to sync it: " + std::strerror(errno));
  }
  c->syncer_ = std::thread([p = c.get()] { p->SyncLoop(); });
  return c;
}

WalCheckpointer::~WalCheckpointer() {
  if (syncer_.joinable()) {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    syncer_.join();
  }
  // A guard still open after a failed sync ends here, when nothing writes any more. The WAL
  // file keeps its frames when the store closes (docs/storage.md), so the next open recovers
  // them all from it and copies them again (wal_checkpoint(RESTART), with an fsync).
  (void)guard_.Exec("ROLLBACK");
  if (db_fd_ >= 0) close(db_fd_);
}

Status WalCheckpointer::Run(Database& writer, bool due, bool overdue) {
  // After a failed fsync the kernel may have dropped the pages it could not write, so a later
  // fsync that succeeds proves nothing about them: no checkpoint runs any more and the guard
  // stays open until the store closes, so the WAL keeps every frame for the next open's
  // recovery.
  if (!failure_.ok()) return failure_;
  if (syncing_) {
    std::unique_lock lock(mu_);
    if (!sync_done_) {
      if (!overdue) return Status::Ok();
      cv_.wait(lock, [&] { return sync_done_; });
    }
    syncing_ = false;
    if (!sync_status_.ok()) {
      failure_ = sync_status_;
      return failure_;
    }
    lock.unlock();
    // What was committed during the sync: a small copy and fsync, after which the next commit
    // restarts the WAL.
    CheckpointAndSync(writer);
    return Status::Ok();
  }
  if (!due) return Status::Ok();
  return StartCheckpoint(writer);
}

Status WalCheckpointer::StartCheckpoint(Database& writer) {
  // A read transaction that has read something holds a read mark in the WAL index.
  Status pinned = guard_.Exec("BEGIN");
  if (pinned.ok()) {
    Result<int64_t> read = guard_.QueryInt64("SELECT count(*) FROM sqlite_schema");
    pinned = read.status();
  }
  if (!pinned.ok()) {
    (void)guard_.Exec("ROLLBACK");
    CheckpointAndSync(writer);
    return Status::Ok();
  }
  if (Status off = writer.Exec("PRAGMA synchronous = OFF"); !off.ok()) {
    (void)guard_.Exec("ROLLBACK");  // an open guard would keep the WAL from ever restarting
    return off;
  }
  (void)writer.Exec("PRAGMA wal_checkpoint(PASSIVE)");
  // Commits must be durable again before anyone is answered.
  TALLY_RETURN_IF_ERROR(writer.Exec("PRAGMA synchronous = FULL"));
  {
    std::lock_guard lock(mu_);
    sync_requested_ = true;
    sync_done_ = false;
  }
  cv_.notify_all();
  syncing_ = true;
  return Status::Ok();
}

void WalCheckpointer::SyncLoop() {
  NameCurrentThread("tally-wal-sync");
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || sync_requested_; });
    if (!sync_requested_) return;
    sync_requested_ = false;
    lock.unlock();
    Status s = Status::Ok();
    const bool failed = fail_next_sync_.exchange(false) || fdatasync(db_fd_) != 0;
    if (failed) {
      s = Unavailable(std::string("fsync of the database file after a checkpoint failed: ") +
                      std::strerror(errno != 0 ? errno : EIO));
    } else {
      s = guard_.Exec("COMMIT");  // lets the WAL restart
    }
    lock.lock();
    sync_status_ = s;
    sync_done_ = true;
    cv_.notify_all();
    if (on_synced_) {
      lock.unlock();
      on_synced_();
      lock.lock();
    }
  }
}

}  // namespace tally::store::sqlite
