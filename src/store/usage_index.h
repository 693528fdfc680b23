// UsageIndex: the in-memory index of every committed usage record, derived from the durable
// store and rebuilt from it on open. It answers the two hot questions without touching disk:
//   - dedup: has a record with this recordId (hash) been stored, and with what content hash?
//   - aggregation: hourly / daily sums per (usage bucket, meter, instance) of one subscription
//     over a reported-time window, as of a sequence number, one page at a time.
// It is backend-agnostic (it knows nothing of SQLite) so that any UsageStore implementation
// can keep one. See docs/storage.md.
//
// Layout, chosen to stay under about 60 bytes per record:
//   - dedup: a DedupTable (store/dedup_table.h) of {id hash, content hash} by seq - 1, with an
//     open-addressing table into it that grows a little at a time (~22 bytes per record);
//   - per subscription (a partition), the columns seq (uint32), reported time (int64 µs), meter
//     number, instance number (uint32 each) and quantity packed into 64 bits (mantissa and power
//     of ten; the rare quantity that does not fit goes to a side table), in two parts:
//       sorted rows, ordered by (usage hour, meter key, instance, seq) with a directory of the
//         hours (so the hour is not stored per row), immutable until the next merge;
//       a tail of the rows published since, in seq order (with their usage hours). When the
//         tail reaches 1/32 of the sorted rows (at least 2,048 rows), Publish merges it in.
//     A page of an Hourly query is then a walk along the sorted rows from the cursor's hour,
//     merged with the (few) tail rows of the window sorted once per query;
//   - meters and instances (resourceUri, location, tags, additionalInfo, and the instanceData
//     JSON) interned once, their text in a TextArena that the returned pages share, so result
//     rows are views. Instance IDs are assigned in seq order of first use, so a rebuild gives
//     every instance the same ID again and continuation cursors stay valid.
//
// Owner: the store that feeds it. Thread-safety: the dedup side (Reserve, AddToDedup,
// ForEachIdMatch) is used by one thread at a time (the store's writer), and the publishing side
// (PublishRows, MergePending, SetMeterSpelling, StartLoading, FinishLoading) by one thread at
// a time (the store's publisher), which may be a different one; Publish() is both. Aggregate(),
// GetStats() and the other const methods may be called from any thread at any time: they take
// a shared lock; publishing takes it exclusively only while it appends or swaps in merged rows.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/decimal.h"
#include "common/status.h"
#include "common/time.h"
#include "store/billing_store.h"
#include "store/dedup_table.h"
#include "store/text_arena.h"
#include "store/usage_store.h"

namespace tally::store {

// The 64-bit hash of a recordId under which the dedup table files it.
uint64_t RecordIdHash(std::string_view record_id);

// What the index needs of one committed record. Views must stay valid during Publish().
struct IndexedRecord {
  uint64_t seq = 0;
  ReportedTime reported_time;
  UsageHour usage_start;
  uint64_t id_hash = 0;       // RecordIdHash(record_id)
  uint64_t content_hash = 0;  // domain::ContentHash(record)
  std::string_view subscription_id;
  std::string_view meter_key;  // domain::MeterKey(meter_id)
  std::string_view meter_id;   // the spelling to emit (the catalog's when known)
  std::string_view resource_uri;
  std::string_view location;
  // Properties text (store/properties_codec.h); nullopt when absent.
  std::optional<std::string_view> tags_text;
  std::optional<std::string_view> additional_info_text;
  Decimal quantity;
};

struct IndexStats {
  uint64_t records = 0;
  uint64_t last_seq = 0;
  uint64_t subscriptions = 0;
  uint64_t instances = 0;
  uint64_t meters = 0;
  uint64_t memory_bytes = 0;  // an estimate of the heap the index holds
};

class UsageIndex {
 public:
  // The largest seq the index can hold (dedup slots are 32-bit).
  static constexpr uint64_t kMaxSeq = DedupTable::kMaxEntries;

  UsageIndex();
  ~UsageIndex();
  UsageIndex(const UsageIndex&) = delete;
  UsageIndex& operator=(const UsageIndex&) = delete;

  // Sizes the dedup table for `records` records so that loading them does not rehash.
  void Reserve(uint64_t records);

  // Adds committed records, in increasing seq order, each seq greater than every seq published
  // before. Fails (and adds nothing further) when a seq is out of order or beyond kMaxSeq, or a
  // properties text is damaged (DataLoss): callers treat any failure as fatal for writes.
  Status Publish(std::span<const IndexedRecord> records);
  // Publish() in three steps, which a store may run on two threads:
  //   - AddToDedup (the dedup thread) files the records' recordId and content hashes, so that
  //     ForEachIdMatch finds them from then on, before queries see them;
  //   - PublishRows (the publishing thread) makes them visible to queries, in the same order;
  //   - MergePending (the publishing thread) merges the tails that have grown large enough into
  //     their sorted rows (see above), which can take milliseconds, so a store may answer its
  //     writers in between. Until it runs, queries merely sort a larger tail.
  // AddToDedup checks the order and limits; PublishRows fails only on damaged properties text.
  Status AddToDedup(std::span<const IndexedRecord> records);
  Status PublishRows(std::span<const IndexedRecord> records);
  void MergePending();

  // Bulk loading (rebuilding on open): between the two calls Publish leaves every published
  // row in its partition's tail; FinishLoading() then sorts each partition once. Loading
  // merges nothing, so it avoids re-merging large partitions again and again.
  void StartLoading();
  void FinishLoading();

  // Calls visit(content_hash, seq) for every record added to the dedup table whose recordId hash
  // is `id_hash` (usually none or one). The dedup thread only.
  template <typename Visit>
  void ForEachIdMatch(uint64_t id_hash, Visit&& visit) const;
  // Prefetch hints for a ForEachIdMatch a few records later; see DedupTable::PrefetchSlots.
  [[gnu::always_inline]] void PrefetchIdSlots(uint64_t id_hash) const {
    dedup_.PrefetchSlots(id_hash);
  }
  [[gnu::always_inline]] void PrefetchIdEntry(uint64_t id_hash) const {
    dedup_.PrefetchEntry(id_hash);
  }

  // Changes how a meter is spelled in results (an operator renamed its case). No-op when the
  // index has not seen the meter.
  void SetMeterSpelling(std::string_view meter_key, std::string_view meter_id);

  // One page of aggregates; see UsageStore::AggregateUsage. InvalidArgument when limit is 0;
  // Internal when a sum overflows.
  Result<AggregatePage> Aggregate(const AggregateQuery& query) const;

  // The hourly sums of the query's usage window and seq range; see
  // BillingStore::VisitHourlyUsage. Sorted rows are summed as they are walked (equal (hour,
  // meter) keys are adjacent); only the matching tail rows are sorted. `visit` runs under the
  // shared lock. Internal when a sum overflows.
  Status VisitHourly(const HourlyUsageQuery& query,
                     const std::function<void(const HourlyUsageRow&)>& visit) const;

  uint64_t last_seq() const;
  IndexStats GetStats() const;

 private:
  struct SortedRows;
  struct Partition;
  struct Instance {
    // Views into text_.
    std::string_view resource_uri;
    std::string_view location;
    std::string_view tags_text;
    std::string_view additional_info_text;
    bool has_tags = false;
    bool has_info = false;
    uint32_t next_same_hash = UINT32_MAX;

    bool Matches(const IndexedRecord& r) const;
  };
  struct MeterEntry {
    std::string_view key;       // view into text_
    std::string_view spelling;  // view into text_; replaced (never overwritten) on a rename
  };
  struct InstanceSlot {
    uint64_t hash = 0;
    uint32_t id = UINT32_MAX;  // UINT32_MAX = empty
  };
  struct PartitionSlot {
    uint64_t hash = 0;               // SubscriptionHash of the partition's subscription
    Partition* partition = nullptr;  // nullptr = empty
  };
  struct TailScan;
  struct Emitter;

  // Under the exclusive lock.
  uint32_t InternMeter(std::string_view key, std::string_view spelling);
  size_t InstanceSlotIndex(uint64_t hash) const;  // where the probe for `hash` starts
  InstanceSlot& FindInstanceSlot(uint64_t hash);
  // `hash` is InstanceHash(r).
  Result<uint32_t> InternInstance(const IndexedRecord& r, uint64_t hash);
  // The three dependent loads of interning a known instance, in order.
  enum class InstanceLoad { kSlot, kInstance, kText };
  // Prefetches `load` of interning an instance with this hash. Always inlined: see
  // DedupTable::PrefetchSlots.
  [[gnu::always_inline]] inline void PrefetchInstance(uint64_t hash, InstanceLoad load) const;
  Partition& PartitionFor(std::string_view subscription_id);
  // The same from the publishing thread's slot table; `hash` is SubscriptionHash(id).
  Partition& PartitionFor(std::string_view subscription_id, uint64_t hash);
  size_t PartitionSlotIndex(uint64_t hash) const;  // where the probe for `hash` starts
  // The loads of finding a known subscription's partition and appending to its tail, in
  // order: the slot, the partition (its subscription's view and tail columns), then the
  // subscription's text and the ends of the tail columns. Always inlined: see
  // DedupTable::PrefetchSlots.
  enum class PartitionLoad { kSlot, kPartition, kTail };
  [[gnu::always_inline]] inline void PrefetchPartition(uint64_t hash, PartitionLoad load) const;
  // Makes room in a full tail for more rows (all its columns alike).
  void ReserveTail(Partition& p);

  // Publishing thread, without holding mu_: merges the partition's tail into its sorted rows
  // (built under the shared lock, swapped in under the exclusive lock).
  void MergeTail(Partition& p);

  // Under the shared lock.
  std::shared_ptr<const TailScan> GetTailScan(const Partition& p, const AggregateQuery& q,
                                              uint64_t as_of) const;
  Status EmitPartition(const Partition& p, const AggregateQuery& q, uint64_t as_of,
                       const domain::AggregateKey* cursor, Emitter& out) const;

  // --- dedup: touched only by the dedup thread (its memory_bytes() by any) ---
  DedupTable dedup_;
  bool loading_ = false;
  // Partitions published to since the last MergePending(), and the instance hashes of the
  // group being published (publishing thread only).
  std::vector<Partition*> merge_candidates_;
  std::vector<uint64_t> instance_hashes_;
  std::vector<uint64_t> subscription_hashes_;
  // Open addressing from a subscription hash to its partition, for publishing: looked up once
  // a record and prefetched records ahead, where partitions_ (which queries use) costs a
  // string hash and three dependent cache misses. Kept at most half full.
  std::vector<PartitionSlot> partition_slots_;
  size_t partition_slots_used_ = 0;

  // --- aggregation data: guarded by mu_ ---
  mutable std::shared_mutex mu_;
  uint64_t last_seq_ = 0;
  uint64_t records_ = 0;
  // Shared with every page returned, whose rows view it; appended to under the exclusive lock.
  std::shared_ptr<TextArena> text_;
  std::unordered_map<std::string_view, std::unique_ptr<Partition>> partitions_;
  std::vector<MeterEntry> meters_;
  std::unordered_map<std::string_view, uint32_t> meter_by_key_;
  std::vector<uint32_t> meter_rank_;   // meter number -> position in key order
  std::vector<uint32_t> meter_order_;  // position in key order -> meter number
  std::vector<Instance> instances_;
  // instanceData JSON (domain::FormatInstanceData) by instance ID, views into text_: apart from
  // instances_ so that emitting rows reads a dense 16-byte-per-instance array.
  std::vector<std::string_view> instance_data_;
  // Open addressing from an instance hash to the first instance with that hash (the others
  // follow through Instance::next_same_hash): one probe is usually one cache line.
  std::vector<InstanceSlot> instance_slots_;

  // The tail rows of recent queries' windows, sorted (one per query and snapshot), so the
  // later pages of a query do not select and sort them again.
  mutable std::mutex scan_cache_mu_;
  mutable std::vector<std::shared_ptr<const TailScan>> scan_cache_;
};

template <typename Visit>
void UsageIndex::ForEachIdMatch(uint64_t id_hash, Visit&& visit) const {
  dedup_.ForEachMatch(
      id_hash, [&](uint64_t content_hash, uint64_t ordinal) { visit(content_hash, ordinal + 1); });
}

}  // namespace tally::store
