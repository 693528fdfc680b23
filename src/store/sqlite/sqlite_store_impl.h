// SqliteStore: the class behind OpenSqliteStore (sqlite_store.h). Internal to src/store/sqlite:
// sqlite_store.cc holds opening and metadata; sqlite_records.cc reads stored usage back (the
// index rebuild, ListRecords, conflict look-ups); sqlite_append.cc the writer and the
// group-commit append path.
//
// Concurrency model:
//   - writer_db_ is the process's only read-write connection. Only the writer uses it (after
//     Open has finished), for appends, metadata writes, conflict look-ups and WAL checkpoints.
//     This is both simpler and avoids the WAL-reset bug of Debian's SQLite 3.40, which needs
//     concurrent writers/checkpointers on several connections. "The writer" is a role held by
//     one thread at a time (writing_, under queue_mu_): a caller that finds it free, or the
//     writer thread; the state marked "writer" below belongs to whoever holds it.
//   - Callers enqueue Jobs; the writer takes every queued job at once, so concurrent appends
//     share one COMMIT (group commit).
//   - Pipeline: once a group's COMMIT has returned (durable), the writer files its records in
//     the index's dedup table, answers the group's callers and queues the group for the
//     publisher thread, which makes the records visible to queries and merges index tails,
//     while the writer goes on with the next group. The queued groups own their batches'
//     encodings (the callers' records are gone), and hold at most max_unpublished_records records
//     between them (beyond that the writer waits). Every read of usage or of the metadata caches
//     first waits until the publisher has caught up with the groups answered before the read began
//     (AwaitVisible), so a caller sees its own writes. A group that registers meters or
//     subscriptions, and every metadata write, first waits for the publisher to be idle, so
//     the metadata caches and meter_refs_ never change under it.
//   - The metadata caches are mutated by the writer, or by the publisher while the
//     writer waits for it; readers take meta_mu_ (shared) / the index's own lock.
//   - reader_db_ (read-only, guarded by reader_mu_) serves ListRecords.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "store/record_block.h"
#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/wal_checkpointer.h"
#include "store/text_set.h"
#include "store/usage_index.h"

namespace tally::store::sqlite {

// Reads the record columns record_id, subscription_id, meter_id, resource_uri, location,
// usage_start_hour, quantity, tags, additional_info of the current row of `q`, starting at
// column `first`.
Result<domain::UsageRecord> ReadRecordColumns(Statement& q, int first);

// Decodes the block in the current row of `q` (columns first_seq, record_count, data) with
// `reader` (opened on column 2) and calls visit(seq, const BlockRecord&) -> Result<bool> for
// each of its records with seq >= `from`, until visit answers false. The views live as long as
// `reader` and the row (until the next Step() of `q`). DataLoss when the block is damaged or
// does not hold record_count records.
template <typename Visit>
Status VisitBlockRecords(const Statement& q, RecordBlockReader& reader, uint64_t from,
                         Visit&& visit) {
  const auto first_seq = static_cast<uint64_t>(q.ColumnInt64(0));
  const auto count = static_cast<uint64_t>(q.ColumnInt64(1));
  BlockRecord record;
  uint64_t seq = first_seq;
  while (true) {
    TALLY_ASSIGN_OR_RETURN(bool decoded, reader.Next(record));
    if (!decoded) break;
    if (seq >= from) {
      TALLY_ASSIGN_OR_RETURN(bool more, visit(seq, record));
      if (!more) return Status::Ok();
    }
    ++seq;
  }
  if (seq - first_seq != count) {
    return DataLoss("the usage block at seq " + std::to_string(first_seq) + " holds " +
                    std::to_string(seq - first_seq) + " records, not " + std::to_string(count));
  }
  return Status::Ok();
}

// Runs `q` to the end, calling row() for each row; resets `q` whatever happens.
template <typename Row>
Status ForEachRow(Statement& q, Row&& row) {
  auto body = [&]() -> Status {
    while (true) {
      TALLY_ASSIGN_OR_RETURN(bool has, q.Step());
      if (!has) return Status::Ok();
      TALLY_RETURN_IF_ERROR(row());
    }
  };
  Status s = body();
  q.Reset();
  return s;
}

class SqliteStore final : public UsageStore, public BillingStore, public WebhookStore {
 public:
  static Result<std::unique_ptr<SqliteStore>> Open(const SqliteStoreOptions& options);
  ~SqliteStore() override;

  Result<AppendOutcome> AppendUsage(const std::vector<domain::UsageRecord>& records,
                                    ReportedTime now) override;
  Result<AggregatePage> AggregateUsage(const AggregateQuery& query) override;
  Result<std::vector<StoredRecord>> ListRecords(uint64_t after_seq, size_t limit) override;
  Result<std::vector<domain::Meter>> ListMeters() override;
  Status SaveMeter(const domain::Meter& meter) override;
  Result<std::vector<domain::Subscription>> ListSubscriptions() override;
  Result<std::optional<domain::Subscription>> FindSubscription(const std::string& id) override;
  Result<std::shared_ptr<const std::vector<std::string>>> DirectTenantIds(
      const std::string& provider_id) override;
  Status SaveCustomer(const domain::Customer& customer) override;
  Result<std::vector<domain::Customer>> ListCustomers() override;
  Result<std::optional<domain::Customer>> FindCustomer(const std::string& id) override;
  Status SaveSubscription(const domain::Subscription& subscription) override;
  Result<domain::Subscription> DefaultProvider() override;
  Status SaveApiKey(const domain::ApiKey& key) override;
  Result<std::optional<domain::ApiKey>> FindApiKey(const std::string& key_id) override;
  Result<std::vector<domain::ApiKey>> ListApiKeys() override;
  Status RevokeApiKey(const std::string& key_id, UtcTime when) override;
  StoreStats GetStats() override;
  Status WriteHealth() override;
  BillingStore* Billing() override { return this; }
  WebhookStore* Webhooks() override { return this; }

  // BillingStore (sqlite_billing.cc).
  Status SaveRateCard(const StoredRateCard& card) override;
  Result<std::vector<StoredRateCard>> ListRateCards() override;
  Status SaveSubscriptionPricing(const SubscriptionPricingRecord& record) override;
  Result<std::vector<SubscriptionPricingRecord>> ListSubscriptionPricing() override;
  Status SaveDraftInvoices(const std::vector<StoredInvoice>& invoices) override;
  Status FinalizeInvoice(const std::string& subscription_id, const std::string& period,
                         uint64_t expected_watermark_seq, UtcTime when) override;
  Result<std::vector<StoredInvoice>> ListInvoices(const InvoiceFilter& filter) override;
  Result<std::optional<StoredInvoice>> FindInvoice(const std::string& subscription_id,
                                                   const std::string& period) override;
  Status VisitHourlyUsage(const HourlyUsageQuery& query,
                          const std::function<void(const HourlyUsageRow&)>& visit) override;

  // WebhookStore (sqlite_webhooks.cc).
  Result<WebhookEndpoint> AddWebhookEndpoint(const WebhookEndpoint& endpoint) override;
  Result<std::vector<WebhookEndpoint>> ListWebhookEndpoints() override;
  Status RemoveWebhookEndpoint(int64_t id, UtcTime when) override;
  Result<std::vector<WebhookDelivery>> ListWebhookDeliveries(const DeliveryFilter& filter) override;
  Result<std::optional<WebhookDelivery>> FindWebhookDelivery(int64_t id) override;
  Result<std::vector<DeliveryAttempt>> ListDeliveryAttempts(int64_t delivery_id) override;
  Result<std::vector<DueDelivery>> LoadDueDeliveries(UtcTime now, size_t limit) override;
  Result<std::optional<UtcTime>> NextDueTime() override;
  Status RecordDeliveryAttempt(int64_t delivery_id, const DeliveryAttempt& attempt,
                               DeliveryStatus status, std::optional<UtcTime> next_attempt) override;
  Status ReplayWebhookDelivery(int64_t id, UtcTime when) override;

  void FailNextCommits(int n) { fail_commits_.store(n); }
  void HoldPublisher(bool hold) {
    std::lock_guard lock(publish_mu_);
    publish_hold_ = hold;
    publish_cv_.notify_all();
  }

 private:
  struct Job {
    enum class Kind { kAppend, kMeta } kind = Kind::kAppend;
    // kAppend. Everything but the verdicts is computed by the caller's thread, so that
    // concurrent callers do it in parallel and the writer only probes, inserts and commits.
    const std::vector<domain::UsageRecord>* records = nullptr;
    ReportedTime now;
    std::vector<uint64_t> id_hashes;
    // The records as they are stored, compressed on request. Once the group is committed, the
    // publisher takes it when it holds new records: they are published from its texts, so the
    // caller's batch may die as soon as it is answered.
    std::unique_ptr<BatchEncoding> encoding;
    // Set by the writer (under queue_mu_) when the batch has new records: the caller then
    // compresses `encoding` on its thread and sets `compressed` (compressed_cv_).
    bool compress_requested = false;
    // The caller leads the group that writes this job (RunOnWriter): nobody waits to be asked
    // to compress it, the writer does.
    bool caller_writes = false;
    bool compressed = false;
    Status compress_status;
    AppendOutcome outcome;
    // kMeta: `write` runs inside a transaction on the writer connection; `publish` updates the
    // caches after the commit.
    std::function<Status()> write;
    std::function<void()> publish;
    // Optional, run first inside the transaction: a failure refuses the job (rolled back, the
    // store stays writable), unlike a failure of `write`, which stops all writes.
    std::function<Status()> check;

    Status status;
    bool done = false;

    // An append whose batch holds records the writer accepted.
    bool HasNewRecords() const { return status.ok() && outcome.accepted > 0; }
  };

  explicit SqliteStore(const SqliteStoreOptions& options);

  // Opening (sqlite_store.cc; RebuildIndex in sqlite_records.cc).
  Status OpenFiles();
  Status EnsureDefaultProvider();
  Status LoadMetadata();
  Status RebuildIndex();

  // A record accepted into the group being committed.
  struct Accepted {
    const domain::UsageRecord* record;
    const Job* job;
    uint32_t index;  // in the job's batch
    uint64_t id_hash;
    uint64_t content_hash;
    int64_t reported_us;
  };
  // How a meter ID as sent is stored: its key and the spelling to store and emit.
  struct MeterRef {
    std::string key;
    std::string spelling;
  };

  // A committed (and answered) group on its way to the publisher: its records become visible
  // to queries and the caches learn its new meters and subscriptions.
  struct PublishWork {
    uint64_t last_seq = 0;  // of the group's records
    // The encodings of the group's batches with new records, and those records: views into
    // the encodings' texts and meter_refs_.
    std::vector<std::unique_ptr<BatchEncoding>> encodings;
    std::vector<IndexedRecord> records;
    std::vector<domain::Meter> new_meters;
    std::vector<domain::Subscription> new_subscriptions;
    // The group registers meters or subscriptions (the caches change when it is published).
    bool HasMetadata() const { return !new_meters.empty() || !new_subscriptions.empty(); }
  };

  // The writer (sqlite_append.cc). One thread at a time holds the writer's role (writing_) and
  // with it writer_db_ and the state only the writer touches: a caller that finds the role free
  // leads the group of queued jobs itself (RunOnWriter); the writer thread takes it for
  // checkpoints, and keeps it while jobs queue up meanwhile.
  void WriterLoop();
  // Writes `jobs` in order, answering each group once it is committed, and returns how many it
  // wrote. Unless `may_wait`, it stops where it would wait for the publisher: before a
  // metadata write while the publisher is busy, or after a group it could not queue for the
  // publisher (then left in to_publish_, with publish_pending_ set).
  // noexcept: an exception here would leave the role held and every caller waiting; as on the
  // writer thread, it ends the process instead.
  size_t WriteJobs(std::span<Job* const> jobs, bool may_wait) noexcept;
  // Gives the writer's role up (queue_mu_ held) and wakes whoever should take it next.
  // `checkpoint_due`: CheckpointStepDue() as the holder saw it.
  void ReleaseWriterRole(bool checkpoint_due);
  // A checkpoint step is due: CheckpointDue, or while a sync is in flight WalOverdue (the
  // writer's role held, like the three below).
  bool CheckpointStepDue() const;
  uint64_t WalBytes() const;
  // The WAL has grown enough for a checkpoint.
  bool CheckpointDue() const;
  // The WAL is so large that the writer should rather wait for a sync in flight.
  bool WalOverdue() const;
  // Queues `work` (left empty) for the publisher, once the queue has room for it; unless
  // `may_wait`, only if it has room now (false if not, `work` untouched).
  bool HandToPublisher(PublishWork& work, bool may_wait);
  // Hands to_publish_ to the publisher, waiting for room, and for the publisher to be idle
  // when the group registers meters or subscriptions.
  void QueueForPublisher();
  // The publisher has nothing queued and is not publishing or merging.
  bool PublisherIdle();
  // Waits until the publisher has published every group handed to it and is idle.
  void DrainPublisher();
  // Waits until every group answered before the call is visible to queries.
  void AwaitVisible();
  // Publisher thread.
  void PublisherLoop();
  void Publish(PublishWork& work);
  // Marks the jobs done and wakes their callers; the jobs must not be touched afterwards.
  void FinishJobs(std::span<Job* const> jobs);
  void ProcessAppends(std::span<Job* const> jobs);
  // The position in accepted_ of the record of this group with this recordId, or -1.
  int64_t FindInGroup(uint64_t id_hash, const std::string& record_id) const;
  void AddToGroup(uint32_t position);
  void ResetGroupTable(size_t records);
  // Adds `id` to known_subscriptions_ if subscriptions_ has it; false if not.
  bool RememberKnownSubscription(const std::string& id);
  void ProcessMeta(Job& job);
  // Loads the record stored under `seq` through the writer connection.
  Result<domain::UsageRecord> LoadRecordForWriter(uint64_t seq);
  // Writes the group's accepted records as one block and its new meters and subscriptions,
  // and commits.
  Status WriteGroup(uint64_t first_seq, std::span<Job* const> jobs);
  // Inserts or replaces one row of `meters` (writer only).
  Status InsertMeter(const domain::Meter& m);
  // Inserts or replaces one row of `subscriptions` (writer only).
  Status InsertSubscription(const domain::Subscription& sub);
  Status Commit();
  // Adds the time since `started` to `h` (commit_times_ or checkpoint_pauses_).
  void RecordDuration(DurationHistogram& h, std::chrono::steady_clock::time_point started);
  void MarkFailed(const Status& cause);
  std::optional<Status> Failure() const;
  // Runs the next step of a checkpoint when one is due. `idle`: no caller is waiting for the
  // writer; otherwise only a WAL grown past twice its threshold is checkpointed at once.
  void MaybeCheckpoint(bool idle);
  // sqlite3_wal_hook callback: records how many frames the WAL holds after each commit.
  static int OnWalCommit(void* self, sqlite3* db, const char* name, int frames);
  // Enqueues a job and waits for the writer to finish it, or, when the writer's role is free,
  // takes it and writes the queued jobs (this one among them) on this thread.
  void RunOnWriter(Job& job);
  // Encodings are reused, batch after batch: a batch's buffers are then allocated once, and
  // never freed by another thread than the one that allocated them (the publisher frees the
  // encodings it takes), which glibc's allocator makes slow.
  std::unique_ptr<BatchEncoding> TakeEncoding();
  void ReturnEncoding(std::unique_ptr<BatchEncoding> encoding);
  // Records `type` for the invoice (subscription, period) in the outbox with one pending delivery
  // per endpoint that receives it, when any does (writer, inside the caller's
  // transaction; sqlite_webhooks.cc).
  Status EnqueueInvoiceEventLocked(std::string_view type, const std::string& subscription_id,
                                   const std::string& period, UtcTime when);
  Status RunMetaWrite(std::function<Status()> write, std::function<void()> publish,
                      std::function<Status()> check = nullptr);
  // Drops the DirectTenantIds answers; called with meta_mu_ held exclusively.
  void ForgetDirectTenants();

  // The meter ID to store and emit for `meter_id`, and its key; nullptr meter when unknown.
  const domain::Meter* FindMeterLocked(const std::string& key) const;
  std::string SpellingOf(const std::string& meter_id) const;

  SqliteStoreOptions options_;
  const Clock& clock_;
  std::string db_path_;
  int lock_fd_ = -1;

  Database writer_db_;
  Statement insert_block_;
  Statement select_block_;   // the block holding a seq
  Statement select_record_;  // a row of usage_records (versions 1-4) by seq
  Statement insert_meter_;
  Statement insert_subscription_;
  uint64_t last_seq_ = 0;  // writer
  uint32_t commits_since_checkpoint_ = 0;
  uint64_t wal_frames_ = 0;    // frames in the WAL after the last commit (writer)
  uint64_t page_size_ = 4096;  // of the database, for the WAL's size in bytes
  // Checkpoints for the writer (its thread); closed before writer_db_.
  std::unique_ptr<WalCheckpointer> checkpointer_;
  // Writer: buffers reused from group to group (cleared, not freed).
  std::vector<Accepted> accepted_;
  std::vector<uint32_t> group_slots_;  // open addressing by recordId hash: position + 1
  std::vector<uint64_t> candidates_;
  std::vector<const MeterRef*> meter_of_;
  RecordBlockBuilder block_;
  std::vector<uint32_t> skipped_;  // of one batch, for block_
  PublishWork to_publish_;         // the group being committed
  // The group in to_publish_ is answered but not yet queued for the publisher.
  bool publish_pending_ = false;
  std::atomic<uint64_t> caller_led_groups_{0};  // StoreStats::caller_led_groups
  // Meter IDs as sent -> how they are stored, for meters the store knows (built-in or
  // registered); dropped on every metadata write, which may rename one.
  std::unordered_map<std::string, MeterRef> meter_refs_;
  // IDs of subscriptions in subscriptions_ (which never forgets one), as the writer met them.
  TextSet known_subscriptions_;

  std::mutex reader_mu_;
  Database reader_db_;
  Statement list_records_;  // usage_records rows (versions 1-4)
  Statement list_blocks_;

  UsageIndex index_;

  // Metadata caches: written only by the writer (holding meta_mu_ exclusively).
  mutable std::shared_mutex meta_mu_;
  std::map<std::string, domain::Meter> meters_;  // by key; custom and unknown only
  std::map<std::string, domain::Subscription> subscriptions_;
  // DirectTenantIds answers by provider ID, computed on demand under a shared meta_mu_ (hence
  // its own mutex) and dropped whenever subscriptions_ changes.
  std::mutex direct_tenants_mu_;
  std::map<std::string, std::shared_ptr<const std::vector<std::string>>> direct_tenants_;
  std::map<std::string, domain::ApiKey> api_keys_;
  std::map<std::string, domain::Customer> customers_;
  std::string default_provider_id_;

  mutable std::mutex durations_mu_;
  // Guarded by durations_mu_; written by the writer (RecordDuration).
  DurationHistogram commit_times_;
  DurationHistogram checkpoint_pauses_;

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;       // the writer thread has work (see WriterLoop)
  std::condition_variable done_cv_;        // a job is done, asked to compress, or may lead
  std::condition_variable compressed_cv_;  // a caller has compressed its batch
  std::deque<Job*> queue_;
  bool stopping_ = false;
  bool sync_ended_ = false;  // the checkpointer's background sync ended: wake an idle writer
  bool writing_ = false;          // a thread holds the writer's role
  bool checkpoint_due_ = false;   // a caller that led a group left a checkpoint step due
  // A caller that led a group hands the role (writing_ stays true) to the writer thread, with
  // publish_pending_ or jobs put back at the queue's front: a step must wait for the publisher.
  bool handing_over_ = false;
  std::thread writer_;

  // The publisher's queue. published_seq_ trails answered_seq_ (the last seq of the groups
  // answered so far, set by the writer); both only grow.
  std::mutex publish_mu_;
  std::condition_variable publish_cv_;
  std::deque<PublishWork> publish_queue_;
  size_t unpublished_records_ = 0;  // in publish_queue_ and being published
  bool publish_busy_ = false;       // publishing or merging a group taken from the queue
  bool publish_stop_ = false;
  bool publish_hold_ = false;  // HoldPublisherForTesting
  std::atomic<uint64_t> answered_seq_{0};
  std::atomic<uint64_t> published_seq_{0};
  std::thread publisher_;

  // Whether the writer found new records in the last batch it judged: callers then compress
  // their batches before queueing them (see AppendUsage).
  std::atomic<bool> last_batch_had_new_{false};

  std::mutex spare_mu_;
  std::vector<std::unique_ptr<BatchEncoding>> spare_encodings_;

  mutable std::mutex health_mu_;
  std::optional<Status> failure_;
  std::atomic<int> fail_commits_{0};
};

}  // namespace tally::store::sqlite
