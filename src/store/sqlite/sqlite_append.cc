// The writer thread of SqliteStore: group commit of appends, metadata writes, checkpoints.
#include <sys/stat.h>

#include <algorithm>
#include <unordered_map>

#include "store/properties_codec.h"
#include "store/sqlite/sqlite_store_impl.h"

namespace tally::store::sqlite {
namespace {

constexpr uint32_t kWalSizeCheckEvery = 16;  // commits between stat() calls on the WAL file

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
  // Hashing is the bulk of the per-record CPU work of dedup; do it on the caller's thread so
  // that concurrent callers hash in parallel and the writer only probes.
  job.id_hashes.resize(records.size());
  job.content_hashes.resize(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    job.id_hashes[i] = RecordIdHash(records[i].record_id);
    job.content_hashes[i] = domain::ContentHash(records[i]);
  }
  RunOnWriter(job);
  if (!job.status.ok()) return job.status;
  return std::move(job.outcome);
}

void SqliteStore::RunOnWriter(Job& job) {
  std::unique_lock lock(queue_mu_);
  if (stopping_) {
    job.status = Unavailable("the store is closing");
    return;
  }
  queue_.push_back(&job);
  queue_cv_.notify_one();
  done_cv_.wait(lock, [&] { return job.done; });
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
  std::unique_lock lock(queue_mu_);
  while (true) {
    queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) break;  // stopping, and every queued job is done
    std::vector<Job*> jobs(queue_.begin(), queue_.end());
    queue_.clear();
    lock.unlock();

    // Consecutive appends share one transaction; a metadata write runs on its own, in order.
    size_t i = 0;
    while (i < jobs.size()) {
      if (jobs[i]->kind == Job::Kind::kMeta) {
        ProcessMeta(*jobs[i]);
        ++i;
        continue;
      }
      size_t j = i;
      while (j < jobs.size() && jobs[j]->kind == Job::Kind::kAppend) ++j;
      ProcessAppends(std::vector<Job*>(jobs.begin() + static_cast<long>(i),
                                       jobs.begin() + static_cast<long>(j)));
      i = j;
    }
    MaybeCheckpoint();

    lock.lock();
    for (Job* job : jobs) job->done = true;
    done_cv_.notify_all();
  }
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

void SqliteStore::MaybeCheckpoint() {
  if (commits_since_checkpoint_ == 0) return;
  bool due = commits_since_checkpoint_ >= options_.checkpoint_every_commits;
  if (!due && commits_since_checkpoint_ % kWalSizeCheckEvery == 0) {
    struct stat st;
    std::string wal = db_path_ + "-wal";
    due = stat(wal.c_str(), &st) == 0 &&
          static_cast<uint64_t>(st.st_size) > options_.checkpoint_wal_bytes;
  }
  if (!due) return;
  // PASSIVE never waits for readers; whatever it cannot copy now is copied next time. A failed
  // checkpoint loses nothing (the WAL keeps the data), so it is not a write failure.
  (void)writer_db_.Exec("PRAGMA wal_checkpoint(PASSIVE)");
  commits_since_checkpoint_ = 0;
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
  std::unique_lock lock(meta_mu_);
  job.publish();
}

Result<domain::UsageRecord> SqliteStore::LoadRecordForWriter(uint64_t seq) {
  Statement& q = select_record_;
  q.BindInt64(1, static_cast<int64_t>(seq));
  auto body = [&]() -> Result<domain::UsageRecord> {
    TALLY_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return DataLoss("usage record seq " + std::to_string(seq) + " is indexed but missing");
    return ReadRecordColumns(q, 0);
  };
  auto r = body();
  q.Reset();
  return r;
}

void SqliteStore::ProcessAppends(const std::vector<Job*>& jobs) {
  if (auto f = Failure()) {
    for (Job* job : jobs) job->status = *f;
    return;
  }

  // A record accepted into this group (not yet committed).
  struct Accepted {
    const domain::UsageRecord* record;
    uint64_t id_hash;
    uint64_t content_hash;
    int64_t reported_us;
  };
  std::vector<Accepted> accepted;
  // recordId hash -> positions in `accepted`, so later batches of the group (and later
  // records of the same batch) see earlier ones.
  std::unordered_map<uint64_t, std::vector<uint32_t>> in_group;
  std::vector<uint64_t> candidates;

  for (Job* job : jobs) {
    const auto& records = *job->records;
    const size_t start = accepted.size();
    AppendOutcome& out = job->outcome;
    Status job_error;
    for (size_t i = 0; i < records.size() && job_error.ok(); ++i) {
      const domain::UsageRecord& r = records[i];
      const uint64_t id_hash = job->id_hashes[i];
      const uint64_t content_hash = job->content_hashes[i];
      Verdict verdict = Verdict::kNew;
      bool decided = false;
      if (auto it = in_group.find(id_hash); it != in_group.end()) {
        for (uint32_t pos : it->second) {
          const domain::UsageRecord& other = *accepted[pos].record;
          if (other.record_id != r.record_id) continue;  // a hash collision
          verdict = domain::SameContent(other, r) ? Verdict::kDuplicate : Verdict::kConflict;
          decided = true;
          break;
        }
      }
      if (!decided) {
        // Same recordId hash and same content hash: a duplicate. Same recordId hash only: a
        // conflict if the stored recordId really is equal, else a collision.
        candidates.clear();
        index_.ForEachIdMatch(id_hash, [&](uint64_t stored_content_hash, uint64_t seq) {
          if (stored_content_hash == content_hash) {
            verdict = Verdict::kDuplicate;
            decided = true;
          } else {
            candidates.push_back(seq);
          }
        });
        for (size_t c = 0; !decided && c < candidates.size(); ++c) {
          auto stored = LoadRecordForWriter(candidates[c]);
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
        case Verdict::kDuplicate: ++out.duplicates; break;
        case Verdict::kConflict: out.conflicts.push_back({i, r.record_id}); break;
        case Verdict::kNew: {
          int64_t reported = r.reported_time ? r.reported_time->micros() : job->now.micros();
          in_group[id_hash].push_back(static_cast<uint32_t>(accepted.size()));
          accepted.push_back({&r, id_hash, content_hash, reported});
          break;
        }
      }
    }
    if (!job_error.ok() || !out.conflicts.empty()) {
      // Refuse the whole batch: forget what it added to the group (it was added last).
      for (size_t k = accepted.size(); k > start; --k) {
        auto it = in_group.find(accepted[k - 1].id_hash);
        it->second.pop_back();
        if (it->second.empty()) in_group.erase(it);
      }
      accepted.resize(start);
      out.accepted = 0;
      out.duplicates = 0;
      job->status = job_error;
      continue;
    }
    out.accepted = accepted.size() - start;
  }
  if (accepted.empty()) return;

  // Resolve meters (catalog spelling, or registration as kUnknown) and subscriptions
  // (registration as kUnregistered). The caches are only changed by this thread, so reading
  // them here needs no lock.
  struct MeterRef {
    std::string key;
    std::string spelling;
  };
  std::unordered_map<std::string_view, MeterRef> meter_refs;
  std::vector<domain::Meter> new_meters;
  std::vector<domain::Subscription> new_subscriptions;
  std::vector<const MeterRef*> meter_of(accepted.size());
  const UtcTime now = clock_.Now();
  for (size_t k = 0; k < accepted.size(); ++k) {
    const domain::UsageRecord& r = *accepted[k].record;
    auto [it, inserted] = meter_refs.try_emplace(r.meter_id);
    if (inserted) {
      it->second.key = domain::MeterKey(r.meter_id);
      if (const domain::Meter* known_meter = FindMeterLocked(it->second.key)) {
        it->second.spelling = known_meter->id;
      } else {
        auto known = std::find_if(new_meters.begin(), new_meters.end(), [&](const auto& pending) {
          return domain::MeterKey(pending.id) == it->second.key;
        });
        if (known == new_meters.end()) {
          domain::Meter m;
          m.id = r.meter_id;
          m.source = domain::MeterSource::kUnknown;
          new_meters.push_back(m);
          it->second.spelling = r.meter_id;
        } else {
          it->second.spelling = known->id;
        }
      }
    }
    meter_of[k] = &it->second;
    if (subscriptions_.find(r.subscription_id) == subscriptions_.end() &&
        std::none_of(new_subscriptions.begin(), new_subscriptions.end(),
                     [&](const auto& s) { return s.id == r.subscription_id; })) {
      domain::Subscription s;
      s.id = r.subscription_id;
      s.kind = domain::SubscriptionKind::kTenant;
      s.state = domain::SubscriptionState::kUnregistered;
      s.created = now;
      new_subscriptions.push_back(s);
    }
  }

  // Encode the text columns once into one buffer (no per-row allocation); the same bytes are
  // bound to the INSERT and handed to the index.
  struct Texts {
    uint32_t quantity_begin, quantity_end;
    uint32_t tags_begin, tags_end;  // begin == UINT32_MAX: absent
    uint32_t info_begin, info_end;
  };
  std::string arena;
  std::vector<Texts> texts(accepted.size());
  for (size_t k = 0; k < accepted.size(); ++k) {
    const domain::UsageRecord& r = *accepted[k].record;
    Texts& t = texts[k];
    t.quantity_begin = static_cast<uint32_t>(arena.size());
    r.quantity.AppendTo(arena);
    t.quantity_end = static_cast<uint32_t>(arena.size());
    t.tags_begin = t.tags_end = UINT32_MAX;
    if (r.tags) {
      t.tags_begin = static_cast<uint32_t>(arena.size());
      AppendPropertiesText(arena, *r.tags);
      t.tags_end = static_cast<uint32_t>(arena.size());
    }
    t.info_begin = t.info_end = UINT32_MAX;
    if (r.additional_info) {
      t.info_begin = static_cast<uint32_t>(arena.size());
      AppendPropertiesText(arena, *r.additional_info);
      t.info_end = static_cast<uint32_t>(arena.size());
    }
  }
  auto view = [&](uint32_t b, uint32_t e) { return std::string_view(arena).substr(b, e - b); };

  const uint64_t first_seq = last_seq_ + 1;
  auto write = [&]() -> Status {
    TALLY_RETURN_IF_ERROR(writer_db_.Exec("BEGIN IMMEDIATE"));
    Statement& ins = insert_record_;
    for (size_t k = 0; k < accepted.size(); ++k) {
      const Accepted& a = accepted[k];
      const domain::UsageRecord& r = *a.record;
      const Texts& t = texts[k];
      ins.BindInt64(1, static_cast<int64_t>(first_seq + k));
      ins.BindText(2, r.record_id);
      ins.BindText(3, r.subscription_id);
      ins.BindText(4, meter_of[k]->spelling);
      ins.BindText(5, r.resource_uri);
      ins.BindText(6, r.location);
      ins.BindInt64(7, r.usage_start.hours());
      ins.BindText(8, view(t.quantity_begin, t.quantity_end));
      if (t.tags_begin != UINT32_MAX) {
        ins.BindText(9, view(t.tags_begin, t.tags_end));
      } else {
        ins.BindNull(9);
      }
      if (t.info_begin != UINT32_MAX) {
        ins.BindText(10, view(t.info_begin, t.info_end));
      } else {
        ins.BindNull(10);
      }
      ins.BindInt64(11, a.reported_us);
      ins.BindInt64(12, static_cast<int64_t>(a.content_hash));
      TALLY_RETURN_IF_ERROR(ins.Run());
    }
    for (const domain::Meter& m : new_meters) TALLY_RETURN_IF_ERROR(InsertMeter(m));
    for (const domain::Subscription& sub : new_subscriptions) {
      TALLY_RETURN_IF_ERROR(InsertSubscription(sub));
    }
    return Commit();
  };
  Status s = write();
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
    return;
  }
  last_seq_ = first_seq + accepted.size() - 1;
  ++commits_since_checkpoint_;

  // Publish: the index first (its own lock), then the metadata caches.
  std::vector<IndexedRecord> published(accepted.size());
  for (size_t k = 0; k < accepted.size(); ++k) {
    const Accepted& a = accepted[k];
    const domain::UsageRecord& r = *a.record;
    const Texts& t = texts[k];
    IndexedRecord& x = published[k];
    x.seq = first_seq + k;
    x.reported_time = ReportedTime::FromMicros(a.reported_us);
    x.usage_start = r.usage_start;
    x.id_hash = a.id_hash;
    x.content_hash = a.content_hash;
    x.subscription_id = r.subscription_id;
    x.meter_key = meter_of[k]->key;
    x.meter_id = meter_of[k]->spelling;
    x.resource_uri = r.resource_uri;
    x.location = r.location;
    if (t.tags_begin != UINT32_MAX) x.tags_text = view(t.tags_begin, t.tags_end);
    if (t.info_begin != UINT32_MAX) x.additional_info_text = view(t.info_begin, t.info_end);
    x.quantity = r.quantity;
  }
  Status published_ok = index_.Publish(published);
  if (!new_meters.empty() || !new_subscriptions.empty()) {
    std::unique_lock lock(meta_mu_);
    for (auto& m : new_meters) {
      std::string key = domain::MeterKey(m.id);
      meters_.emplace(std::move(key), std::move(m));
    }
    for (auto& sub : new_subscriptions) subscriptions_.emplace(sub.id, std::move(sub));
    if (!new_subscriptions.empty()) ForgetDirectTenants();
  }
  if (!published_ok.ok()) {
    // The records are durable but the index cannot show them; reopening rebuilds it.
    MarkFailed(published_ok);
  }
}

}  // namespace tally::store::sqlite
