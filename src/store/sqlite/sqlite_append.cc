// The writer of SqliteStore (a role taken by callers or the writer thread): group commit of
// appends, metadata writes, checkpoints.

#include <algorithm>
#include <chrono>
#include <span>
#include <unordered_map>

#include "common/current_thread.h"
#include "store/sqlite/sqlite_store_impl.h"

namespace tally::store::sqlite {
namespace {

enum class Verdict { kNew, kDuplicate, kConflict };

}  // namespace

Result<AppendOutcome> SqliteStore::AppendUsage(const std::vector<domain::UsageRecord>& records,
                                               ReportedTime now) {
  if (records.empty()) {
    if (auto f = Failure()) return *f;
    return AppendOutcome{};
  }
  Job job;
  job.kind = Job::Kind::kAppend;
  job.records = &records;
  job.now = now;
  // Hashing, encoding and compressing the records are the bulk of the per-record CPU work; do
  // them on the caller's thread so that concurrent callers work in parallel and the writer only
  // probes, inserts and commits. Encoding records that turn out to be duplicates is wasted, but
  // cheap; compression, which is not, is done up front only while the writer keeps finding new
  // records, and otherwise once it has found some in this batch (RunOnWriter).
  job.id_hashes.resize(records.size());
  for (size_t i = 0; i < records.size(); ++i) job.id_hashes[i] = RecordIdHash(records[i].record_id);
  job.encoding = TakeEncoding();
  TALLY_RETURN_IF_ERROR(job.encoding->Encode(records, now));
  if (last_batch_had_new_.load(std::memory_order_relaxed)) {
    // New usage usually follows new usage: compress now, in parallel with the batches ahead,
    // instead of when the writer asks (and waits). A replay of duplicates turns this off after
    // its first batch.
    job.compress_status = job.encoding->Compress();
    job.compressed = true;
  }
  RunOnWriter(job);
  ReturnEncoding(std::move(job.encoding));  // unless the publisher took it
  if (!job.status.ok()) return job.status;
  return std::move(job.outcome);
}

std::unique_ptr<BatchEncoding> SqliteStore::TakeEncoding() {
  {
    std::lock_guard lock(spare_mu_);
    if (!spare_encodings_.empty()) {
      std::unique_ptr<BatchEncoding> spare = std::move(spare_encodings_.back());
      spare_encodings_.pop_back();
      return spare;
    }
  }
  return std::make_unique<BatchEncoding>();
}

void SqliteStore::ReturnEncoding(std::unique_ptr<BatchEncoding> encoding) {
  // Enough for every caller and queued group of a busy server; an encoding grown by a huge
  // batch is let go rather than kept.
  constexpr size_t kMaxSpares = 8;
  constexpr size_t kMaxSpareBytes = size_t{16} << 20;
  if (encoding == nullptr || encoding->capacity_bytes() > kMaxSpareBytes) return;
  std::lock_guard lock(spare_mu_);
  if (spare_encodings_.size() < kMaxSpares) spare_encodings_.push_back(std::move(encoding));
}

void SqliteStore::RunOnWriter(Job& job) {
  std::unique_lock lock(queue_mu_);
  if (stopping_) {
    job.status = Unavailable("the store is closing");
    return;
  }
  queue_.push_back(&job);
  while (!job.done) {
    if (!writing_) {
      // Nobody holds the writer's role, so this job is still queued: lead the group of
      // everything queued, on this thread. A batch that finds the writer idle (the usual case
      // below saturation) then costs no hand-off to the writer thread and back, each a wake-up
      // that this machine's scheduler sometimes delays by milliseconds.
      std::vector<Job*> jobs(queue_.begin(), queue_.end());
      queue_.clear();
      writing_ = true;
      job.caller_writes = true;
      lock.unlock();
      const size_t written = WriteJobs(jobs, /*may_wait=*/false);
      const bool checkpoint_due = written == jobs.size() && !publish_pending_ &&
                                  CheckpointStepDue();
      lock.lock();
      if (written < jobs.size() || publish_pending_) {
        // A step has to wait for the publisher: the writer thread takes the role over, with
        // the jobs not written yet (this one may be among them: then it waits like any other).
        for (size_t k = jobs.size(); k-- > written;) {
          jobs[k]->caller_writes = false;
          queue_.push_front(jobs[k]);
        }
        handing_over_ = true;
        queue_cv_.notify_one();
      } else {
        ReleaseWriterRole(checkpoint_due);
      }
      continue;
    }
    done_cv_.wait(lock);
    if (job.compress_requested) {
      // The writer found new records in the batch and waits for it in compressed form.
      job.compress_requested = false;
      lock.unlock();
      Status compressed = job.encoding->Compress();
      lock.lock();
      job.compress_status = std::move(compressed);
      job.compressed = true;
      compressed_cv_.notify_all();
    }
  }
}

void SqliteStore::ReleaseWriterRole(bool checkpoint_due) {
  writing_ = false;
  // The callers of jobs queued meanwhile wait for the role: one of them leads the next group.
  if (!queue_.empty()) done_cv_.notify_all();
  // Checkpoints are the writer thread's: they stall whoever runs them, and a caller would hold
  // its own acknowledgement for that long.
  if (checkpoint_due) checkpoint_due_ = true;
  if (checkpoint_due_ || sync_ended_ || stopping_) queue_cv_.notify_one();
}

Status SqliteStore::RunMetaWrite(std::function<Status()> write, std::function<void()> publish,
                                 std::function<Status()> check) {
  Job job;
  job.kind = Job::Kind::kMeta;
  job.write = std::move(write);
  job.publish = std::move(publish);
  job.check = std::move(check);
  RunOnWriter(job);
  return job.status;
}

std::optional<Status> SqliteStore::Failure() const {
  std::lock_guard lock(health_mu_);
  return failure_;
}

void SqliteStore::MarkFailed(const Status& cause) {
  std::lock_guard lock(health_mu_);
  if (!failure_) {
    failure_ = Unavailable("store refuses writes after a failed commit: " + cause.message());
  }
}

void SqliteStore::WriterLoop() {
  NameCurrentThread("tally-writer");
  std::unique_lock lock(queue_mu_);
  while (true) {
    // Callers lead their own groups while the role is free; this thread takes it for the
    // checkpoints and for the steps that wait for the publisher, and keeps it while jobs queue
    // up meanwhile.
    queue_cv_.wait(lock, [&] {
      return handing_over_ ||
             (!writing_ && (stopping_ || sync_ended_ || checkpoint_due_ || !queue_.empty()));
    });
    if (!handing_over_ && queue_.empty() && stopping_) break;  // every queued job is done
    handing_over_ = false;
    writing_ = true;
    sync_ended_ = false;
    checkpoint_due_ = false;
    if (publish_pending_) {
      // Left by a caller that led the group: its callers are answered, the publisher is behind.
      publish_pending_ = false;
      lock.unlock();
      QueueForPublisher();
      lock.lock();
    }
    std::vector<Job*> jobs;
    while (true) {
      jobs.assign(queue_.begin(), queue_.end());
      queue_.clear();
      lock.unlock();
      if (!jobs.empty()) WriteJobs(jobs, /*may_wait=*/true);
      // Checkpoints wait for a moment when no caller waits for the writer: a step stalls it
      // for milliseconds (the copy, or the finishing checkpoint's fsync).
      lock.lock();
      const bool idle = queue_.empty();
      lock.unlock();
      MaybeCheckpoint(idle);
      lock.lock();
      if (queue_.empty()) break;
    }
    ReleaseWriterRole(/*checkpoint_due=*/false);
  }
  lock.unlock();
  DrainPublisher();
}

size_t SqliteStore::WriteJobs(std::span<Job* const> jobs, bool may_wait) noexcept {
  // Consecutive appends share one transaction; a metadata write runs on its own, in order,
  // once the publisher has published every group before it. A committed group of appends is
  // answered, then queued for the publisher, which makes it visible to queries while the
  // writer commits the next group.
  size_t i = 0;
  while (i < jobs.size()) {
    if (jobs[i]->kind == Job::Kind::kMeta) {
      if (!may_wait && !PublisherIdle()) return i;
      DrainPublisher();
      ProcessMeta(*jobs[i]);
      FinishJobs(jobs.subspan(i, 1));
      ++i;
      continue;
    }
    size_t j = i;
    while (j < jobs.size() && jobs[j]->kind == Job::Kind::kAppend) ++j;
    const auto group = jobs.subspan(i, j - i);
    ProcessAppends(group);
    if (!may_wait) caller_led_groups_.fetch_add(1, std::memory_order_relaxed);
    const bool publish = !to_publish_.records.empty() || to_publish_.HasMetadata();
    if (publish) {
      // The group's records view the encodings of their batches: the publisher takes them.
      for (Job* job : group) {
        if (job->HasNewRecords()) to_publish_.encodings.push_back(std::move(job->encoding));
      }
      to_publish_.last_seq = last_seq_;
      answered_seq_.store(last_seq_, std::memory_order_release);
    }
    FinishJobs(group);
    if (publish) {
      if (may_wait) {
        QueueForPublisher();
      } else if (to_publish_.HasMetadata() ||
                 !HandToPublisher(to_publish_, /*may_wait=*/false)) {
        // Waiting for the publisher is the writer thread's (QueueForPublisher).
        publish_pending_ = true;
        return j;
      }
    }
    i = j;
  }
  return jobs.size();
}

void SqliteStore::QueueForPublisher() {
  // New meters or subscriptions must be in the caches before the next group is checked.
  const bool new_metadata = to_publish_.HasMetadata();
  HandToPublisher(to_publish_, /*may_wait=*/true);
  if (new_metadata) DrainPublisher();
}

bool SqliteStore::HandToPublisher(PublishWork& work, bool may_wait) {
  const size_t records = work.records.size();
  std::unique_lock lock(publish_mu_);
  auto has_room = [&] {
    return unpublished_records_ == 0 ||
           unpublished_records_ + records <= options_.max_unpublished_records;
  };
  if (!may_wait && !has_room()) return false;
  publish_cv_.wait(lock, has_room);
  unpublished_records_ += records;
  publish_queue_.push_back(std::move(work));
  work = PublishWork();
  publish_cv_.notify_all();
  return true;
}

bool SqliteStore::PublisherIdle() {
  std::lock_guard lock(publish_mu_);
  return publish_queue_.empty() && !publish_busy_;
}

void SqliteStore::DrainPublisher() {
  std::unique_lock lock(publish_mu_);
  publish_cv_.wait(lock, [&] { return publish_queue_.empty() && !publish_busy_; });
}

void SqliteStore::AwaitVisible() {
  const uint64_t answered = answered_seq_.load(std::memory_order_acquire);
  if (published_seq_.load(std::memory_order_acquire) >= answered) return;
  std::unique_lock lock(publish_mu_);
  publish_cv_.wait(lock, [&] { return published_seq_.load() >= answered; });
}

void SqliteStore::PublisherLoop() {
  NameCurrentThread("tally-publisher");
  // A refusal leaves it at the process's priority: slower acknowledgements, nothing worse.
  if (options_.publisher_nice != 0) NiceCurrentThread(options_.publisher_nice);
  std::unique_lock lock(publish_mu_);
  while (true) {
    publish_cv_.wait(lock,
                     [&] { return publish_stop_ || (!publish_queue_.empty() && !publish_hold_); });
    if (publish_queue_.empty()) break;  // stopping, and nothing left to publish
    PublishWork work = std::move(publish_queue_.front());
    publish_queue_.pop_front();
    publish_busy_ = true;
    lock.unlock();
    Publish(work);
    lock.lock();
    published_seq_.store(work.last_seq, std::memory_order_release);
    unpublished_records_ -= work.records.size();
    publish_cv_.notify_all();
    lock.unlock();
    // Merging tails that grew large can take milliseconds; the group is visible already, and
    // the writer may queue the next groups meanwhile.
    for (auto& encoding : work.encodings) ReturnEncoding(std::move(encoding));
    work = PublishWork();
    index_.MergePending();
    lock.lock();
    publish_busy_ = false;
    publish_cv_.notify_all();
  }
}

void SqliteStore::Publish(PublishWork& work) {
  // The index first (its own lock), then the metadata caches.
  Status published_ok = index_.PublishRows(work.records);
  if (work.HasMetadata()) {
    std::unique_lock lock(meta_mu_);
    for (auto& m : work.new_meters) {
      std::string key = domain::MeterKey(m.id);
      meters_.emplace(std::move(key), std::move(m));
    }
    for (auto& sub : work.new_subscriptions) subscriptions_.emplace(sub.id, std::move(sub));
    if (!work.new_subscriptions.empty()) ForgetDirectTenants();
  }
  if (!published_ok.ok()) {
    // The records are durable but the index cannot show them; reopening rebuilds them.
    MarkFailed(published_ok);
  }
}

void SqliteStore::FinishJobs(std::span<Job* const> jobs) {
  std::lock_guard lock(queue_mu_);
  for (Job* job : jobs) job->done = true;
  done_cv_.notify_all();
}

Status SqliteStore::Commit() {
  if (fail_commits_.load() > 0) {
    fail_commits_.fetch_sub(1);
    (void)writer_db_.Exec("ROLLBACK");
    return Unavailable("injected commit failure (FailNextCommitsForTesting)");
  }
  Status s = writer_db_.Exec("COMMIT");
  if (!s.ok()) (void)writer_db_.Exec("ROLLBACK");
  return s;
}

void SqliteStore::RecordDuration(DurationHistogram& h,
                                 std::chrono::steady_clock::time_point started) {
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  std::lock_guard lock(durations_mu_);
  h.Add(took.count());
}

uint64_t SqliteStore::WalBytes() const { return wal_frames_ * page_size_; }

bool SqliteStore::CheckpointDue() const {
  return commits_since_checkpoint_ > 0 &&
         (commits_since_checkpoint_ >= options_.checkpoint_every_commits ||
          WalBytes() > options_.checkpoint_wal_bytes);
}

bool SqliteStore::WalOverdue() const { return WalBytes() > 4 * options_.checkpoint_wal_bytes; }

bool SqliteStore::CheckpointStepDue() const {
  // While a sync is in flight only an overdue WAL needs the writer (the sync's end wakes it).
  return checkpointer_->syncing() ? WalOverdue() : CheckpointDue();
}

void SqliteStore::MaybeCheckpoint(bool idle) {
  // A busy writer (callers queued behind it) puts the checkpoint off until it is idle, or
  // until the WAL has grown past twice the threshold.
  if (!idle && WalBytes() <= 2 * options_.checkpoint_wal_bytes) return;
  const bool due = CheckpointDue();
  // A checkpoint starts only when none is syncing; while one is, the WAL may grow up to four
  // times the threshold before the writer waits for it.
  const bool was_syncing = checkpointer_->syncing();
  const bool starts = due && !was_syncing;
  const bool overdue = WalOverdue();
  const auto started = std::chrono::steady_clock::now();
  Status s = checkpointer_->Run(writer_db_, due, overdue);
  // Timed when the call did a step: the copy, the finishing checkpoint after a sync (which
  // ended it), or waiting for a sync in flight.
  if (starts || (was_syncing && (overdue || !checkpointer_->syncing()))) {
    RecordDuration(checkpoint_pauses_, started);
  }
  if (!s.ok()) MarkFailed(s);
  if (starts) commits_since_checkpoint_ = 0;
}

int SqliteStore::OnWalCommit(void* self, sqlite3*, const char*, int frames) {
  static_cast<SqliteStore*>(self)->wal_frames_ = static_cast<uint64_t>(frames);
  return SQLITE_OK;
}

void SqliteStore::ProcessMeta(Job& job) {
  if (auto f = Failure()) {
    job.status = *f;
    return;
  }
  Status s = writer_db_.Exec("BEGIN IMMEDIATE");
  if (s.ok() && job.check) {
    Status refused = job.check();
    if (!refused.ok()) {
      Status rolled_back = writer_db_.Exec("ROLLBACK");
      // A check that could not read is a storage failure; a check that said no is an answer.
      const bool storage_failed = refused.code() == StatusCode::kUnavailable ||
                                  refused.code() == StatusCode::kDataLoss ||
                                  refused.code() == StatusCode::kInternal;
      if (!storage_failed && rolled_back.ok()) {
        job.status = refused;
        return;
      }
      s = storage_failed ? refused : rolled_back;
    }
  }
  if (s.ok()) {
    s = job.write();
    if (s.ok()) {
      s = Commit();
    } else {
      (void)writer_db_.Exec("ROLLBACK");
    }
  }
  if (!s.ok()) {
    MarkFailed(s);
    job.status = *Failure();
    return;
  }
  ++commits_since_checkpoint_;
  meter_refs_.clear();  // a meter may have been renamed
  std::unique_lock lock(meta_mu_);
  job.publish();
}

bool SqliteStore::RememberKnownSubscription(const std::string& id) {
  if (subscriptions_.find(id) == subscriptions_.end()) return false;
  known_subscriptions_.Insert(id);
  return true;
}

void SqliteStore::ResetGroupTable(size_t records) {
  size_t size = 64;
  while (size < records * 2) size *= 2;
  group_slots_.assign(size, 0);
}

int64_t SqliteStore::FindInGroup(uint64_t id_hash, const std::string& record_id) const {
  const size_t mask = group_slots_.size() - 1;
  for (size_t i = id_hash & mask; group_slots_[i] != 0; i = (i + 1) & mask) {
    const Accepted& a = accepted_[group_slots_[i] - 1];
    if (a.id_hash == id_hash && a.record->record_id == record_id) return group_slots_[i] - 1;
  }
  return -1;
}

void SqliteStore::AddToGroup(uint32_t position) {
  const size_t mask = group_slots_.size() - 1;
  size_t i = accepted_[position].id_hash & mask;
  while (group_slots_[i] != 0) i = (i + 1) & mask;
  group_slots_[i] = position + 1;
}

void SqliteStore::ProcessAppends(std::span<Job* const> jobs) {
  if (auto f = Failure()) {
    for (Job* job : jobs) job->status = *f;
    return;
  }

  // Dedup against the group (a recordId repeated in one batch or in two batches of the group)
  // and against the index.
  size_t total = 0;
  for (const Job* job : jobs) total += job->records->size();
  accepted_.clear();
  ResetGroupTable(total);
  for (Job* job : jobs) {
    const auto& records = *job->records;
    const size_t start = accepted_.size();
    AppendOutcome& out = job->outcome;
    Status job_error;
    // The dedup lookups are misses in tables of hundreds of MB: start loading the slots of the
    // record kSlotsAhead on and, once they have arrived, the entry of the one kEntryAhead on.
    constexpr size_t kSlotsAhead = 16;
    constexpr size_t kEntryAhead = 8;
    const std::vector<uint64_t>& id_hashes = job->id_hashes;
    for (size_t i = 0; i < records.size() && job_error.ok(); ++i) {
      if (i + kSlotsAhead < records.size()) index_.PrefetchIdSlots(id_hashes[i + kSlotsAhead]);
      if (i + kEntryAhead < records.size()) index_.PrefetchIdEntry(id_hashes[i + kEntryAhead]);
      const domain::UsageRecord& r = records[i];
      const uint64_t id_hash = id_hashes[i];
      const uint64_t content_hash = job->encoding->content_hash(i);
      Verdict verdict = Verdict::kNew;
      bool decided = false;
      if (int64_t pos = FindInGroup(id_hash, r.record_id); pos >= 0) {
        const domain::UsageRecord& other = *accepted_[static_cast<size_t>(pos)].record;
        verdict = domain::SameContent(other, r) ? Verdict::kDuplicate : Verdict::kConflict;
        decided = true;
      }
      if (!decided) {
        // Same recordId hash and same content hash: a duplicate. Same recordId hash only: a
        // conflict if the stored recordId really is equal, else a collision.
        candidates_.clear();
        index_.ForEachIdMatch(id_hash, [&](uint64_t stored_content_hash, uint64_t seq) {
          if (stored_content_hash == content_hash) {
            verdict = Verdict::kDuplicate;
            decided = true;
          } else {
            candidates_.push_back(seq);
          }
        });
        for (size_t c = 0; !decided && c < candidates_.size(); ++c) {
          auto stored = LoadRecordForWriter(candidates_[c]);
          if (!stored.ok()) {
            job_error = stored.status();
            break;
          }
          if (stored->record_id != r.record_id) continue;
          verdict = domain::SameContent(*stored, r) ? Verdict::kDuplicate : Verdict::kConflict;
          decided = true;
        }
      }
      switch (verdict) {
        case Verdict::kDuplicate:
          ++out.duplicates;
          break;
        case Verdict::kConflict:
          out.conflicts.push_back({i, r.record_id});
          break;
        case Verdict::kNew: {
          int64_t reported = r.reported_time ? r.reported_time->micros() : job->now.micros();
          accepted_.push_back({&r, job, static_cast<uint32_t>(i), id_hash, content_hash, reported});
          AddToGroup(static_cast<uint32_t>(accepted_.size() - 1));
          break;
        }
      }
    }
    if (!job_error.ok() || !out.conflicts.empty()) {
      // Refuse the whole batch: forget what it added to the group (it was added last). Rare,
      // so the group's table is simply rebuilt.
      accepted_.resize(start);
      std::fill(group_slots_.begin(), group_slots_.end(), 0);
      for (size_t k = 0; k < accepted_.size(); ++k) AddToGroup(static_cast<uint32_t>(k));
      out.accepted = 0;
      out.duplicates = 0;
      job->status = job_error;
      continue;
    }
    out.accepted = accepted_.size() - start;
    last_batch_had_new_.store(out.accepted > 0, std::memory_order_relaxed);
  }
  if (accepted_.empty()) return;

  // Resolve meters (catalog spelling, or registration as kUnknown) and subscriptions
  // (registration as kUnregistered). The caches are only changed by this thread, so reading
  // them here needs no lock. Records of a batch mostly come in runs of one subscription and
  // meter, so each record is first compared with the one before.
  std::unordered_map<std::string, MeterRef> new_meter_refs;  // node-stable, like meter_refs_
  std::vector<domain::Meter>& new_meters = to_publish_.new_meters;
  std::vector<domain::Subscription>& new_subscriptions = to_publish_.new_subscriptions;
  meter_of_.resize(accepted_.size());
  const UtcTime now = clock_.Now();
  const domain::UsageRecord* previous = nullptr;
  for (size_t k = 0; k < accepted_.size(); ++k) {
    const domain::UsageRecord& r = *accepted_[k].record;
    if (previous != nullptr && previous->meter_id == r.meter_id) {
      meter_of_[k] = meter_of_[k - 1];
    } else if (auto it = meter_refs_.find(r.meter_id); it != meter_refs_.end()) {
      meter_of_[k] = &it->second;
    } else if (auto pending = new_meter_refs.find(r.meter_id); pending != new_meter_refs.end()) {
      meter_of_[k] = &pending->second;
    } else {
      MeterRef ref;
      ref.key = domain::MeterKey(r.meter_id);
      bool known = true;
      if (const domain::Meter* known_meter = FindMeterLocked(ref.key)) {
        ref.spelling = known_meter->id;
      } else {
        known = false;
        auto same = std::find_if(new_meters.begin(), new_meters.end(),
                                 [&](const auto& m) { return domain::MeterKey(m.id) == ref.key; });
        if (same == new_meters.end()) {
          domain::Meter m;
          m.id = r.meter_id;
          m.source = domain::MeterSource::kUnknown;
          new_meters.push_back(m);
          ref.spelling = r.meter_id;
        } else {
          ref.spelling = same->id;
        }
      }
      // Meters registered by this group join meter_refs_ only once committed.
      auto& refs = known ? meter_refs_ : new_meter_refs;
      meter_of_[k] = &refs.emplace(r.meter_id, std::move(ref)).first->second;
    }
    // Known subscriptions are remembered in a flat hash set: the sorted map costs a dozen
    // string comparisons a record when, as usual, consecutive records name different
    // subscriptions.
    if ((previous == nullptr || previous->subscription_id != r.subscription_id) &&
        !known_subscriptions_.Contains(r.subscription_id) &&
        !RememberKnownSubscription(r.subscription_id) &&
        std::none_of(new_subscriptions.begin(), new_subscriptions.end(),
                     [&](const auto& s) { return s.id == r.subscription_id; })) {
      domain::Subscription s;
      s.id = r.subscription_id;
      s.kind = domain::SubscriptionKind::kTenant;
      s.state = domain::SubscriptionState::kUnregistered;
      s.created = now;
      new_subscriptions.push_back(s);
    }
    previous = &r;
  }

  const uint64_t first_seq = last_seq_ + 1;
  Status s = WriteGroup(first_seq, jobs);
  if (!s.ok()) {
    // Commit() already rolled back a failed COMMIT; roll back a failed INSERT here. Whether the
    // data reached the disk is now in doubt, so stop accepting writes rather than guess.
    if (!writer_db_.raw() || sqlite3_get_autocommit(writer_db_.raw()) == 0) {
      (void)writer_db_.Exec("ROLLBACK");
    }
    MarkFailed(s);
    Status failed = *Failure();
    for (Job* job : jobs) {
      job->status = failed;
      job->outcome = AppendOutcome{};
    }
    accepted_.clear();
    new_meters.clear();
    new_subscriptions.clear();
    return;
  }
  last_seq_ = first_seq + accepted_.size() - 1;
  ++commits_since_checkpoint_;

  // The records go to the dedup table now, so that the next group finds them, and to queries
  // when the publisher takes the group. The views point into the batches' encodings (which go
  // with the group to the publisher) and into meter_refs_ nodes (kept until a metadata write,
  // which waits for the publisher).
  std::vector<IndexedRecord>& published = to_publish_.records;
  published.resize(accepted_.size());
  for (size_t k = 0; k < accepted_.size(); ++k) {
    const Accepted& a = accepted_[k];
    const domain::UsageRecord& r = *a.record;
    IndexedRecord& x = published[k];
    x.seq = first_seq + k;
    x.reported_time = ReportedTime::FromMicros(a.reported_us);
    x.usage_start = r.usage_start;
    x.id_hash = a.id_hash;
    x.content_hash = a.content_hash;
    const BatchEncoding& texts = *a.job->encoding;
    x.subscription_id = texts.subscription_id(a.index);
    x.meter_key = meter_of_[k]->key;
    x.meter_id = meter_of_[k]->spelling;
    x.resource_uri = texts.resource_uri(a.index);
    x.location = texts.location(a.index);
    x.tags_text = texts.tags_text(a.index);
    x.additional_info_text = texts.additional_info_text(a.index);
    x.quantity = r.quantity;
  }
  accepted_.clear();
  meter_refs_.merge(new_meter_refs);
  if (Status filed = index_.AddToDedup(published); !filed.ok()) {
    // The records are durable but cannot be indexed; reopening rebuilds the index. The group
    // is still answered (it is committed), but nothing is published from now on.
    MarkFailed(filed);
    published.clear();
  }
}

Status SqliteStore::WriteGroup(uint64_t first_seq, std::span<Job* const> jobs) {
  // The callers of the batches with new records that are not compressed yet compress them, in
  // parallel, meanwhile the writer waits (and compresses its own caller's batch, if it has one).
  {
    std::unique_lock lock(queue_mu_);
    Job* own = nullptr;
    for (Job* job : jobs) {
      const bool wanted = job->HasNewRecords() && !job->compressed;
      if (wanted && job->caller_writes) {
        own = job;
      } else {
        job->compress_requested = wanted;
      }
    }
    done_cv_.notify_all();
    if (own != nullptr) {
      lock.unlock();
      own->compress_status = own->encoding->Compress();
      lock.lock();
      own->compressed = true;
    }
    compressed_cv_.wait(lock, [&] {
      return std::all_of(jobs.begin(), jobs.end(),
                         [](const Job* job) { return !job->HasNewRecords() || job->compressed; });
    });
  }
  for (const Job* job : jobs) {
    if (job->HasNewRecords()) TALLY_RETURN_IF_ERROR(job->compress_status);
  }
  // accepted_ lists each job's accepted records in batch order, job after job.
  block_.Clear();
  size_t k = 0;
  for (const Job* job : jobs) {
    const size_t count = job->status.ok() ? job->outcome.accepted : 0;
    if (count == 0) continue;
    if (k + count > accepted_.size() || accepted_[k].job != job) break;  // reported below
    const BatchEncoding& batch = *job->encoding;
    skipped_.clear();
    if (count == batch.size()) {
      k += count;
    } else {
      // The batch's duplicates: the indices between its accepted records (in batch order).
      uint32_t next = 0;
      for (const size_t end = k + count; k < end; ++k) {
        for (; next < accepted_[k].index; ++next) skipped_.push_back(next);
        ++next;
      }
      for (; next < batch.size(); ++next) skipped_.push_back(next);
    }
    block_.AddBatch(batch, skipped_);
  }
  if (k != accepted_.size()) {
    return Internal("the group's block does not match its accepted records (" + std::to_string(k) +
                    " of " + std::to_string(accepted_.size()) + ")");
  }
  TALLY_RETURN_IF_ERROR(writer_db_.Exec("BEGIN IMMEDIATE"));
  Statement& ins = insert_block_;
  ins.BindInt64(1, static_cast<int64_t>(first_seq));
  ins.BindInt64(2, static_cast<int64_t>(accepted_.size()));
  ins.BindBlob(3, block_.bytes());
  TALLY_RETURN_IF_ERROR(ins.Run());
  for (const domain::Meter& m : to_publish_.new_meters) TALLY_RETURN_IF_ERROR(InsertMeter(m));
  for (const domain::Subscription& sub : to_publish_.new_subscriptions) {
    TALLY_RETURN_IF_ERROR(InsertSubscription(sub));
  }
  const auto started = std::chrono::steady_clock::now();
  TALLY_RETURN_IF_ERROR(Commit());
  RecordDuration(commit_times_, started);
  return Status::Ok();
}

}  // namespace tally::store::sqlite
