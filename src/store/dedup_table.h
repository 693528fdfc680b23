// DedupTable: the recordId side of the usage index. For every committed record, by ordinal
// (seq - 1), it keeps the 64-bit hash of its recordId and of its content, and finds the
// ordinals filed under a recordId hash. The store's writer asks it, for every record of every
// group, whether the recordId was stored before; so no single call may take long.
//
// Layout (about 22 bytes per record at the usual load):
//   - entries: a dense array of {id hash, content hash} by ordinal, in 2 MiB chunks;
//   - slots: an open-addressing table (linear probing) of uint32 ordinal + 1, kept at most 70%
//     full.
//
// Growth is incremental. Doubling the slots at once re-files every ordinal: 1.0-1.4 s for 23 M
// records on the bench machine, during which no acknowledgement can be sent. Instead, once the
// table passes 70% load, each append does a bounded share of the growth:
//   1. preparing: the doubled table (an anonymous mapping of zero pages) is touched
//      kTouchedSlotsPerAppend slots an append, so that its page faults (10-13 us per 4 KiB
//      there) are spread instead of met at random by the re-filing; appends still go to the
//      current table;
//   2. migrating: the doubled table becomes the current one; the old one is kept, frozen, for
//      the ordinals below the frozen count, and each append re-files kMigratedPerAppend of them
//      into the new table. Lookups visit the frozen table, then the new one's ordinals from
//      the frozen count up, so each ordinal is visited once;
//   3. the old table is unmapped on a thread of its own, 256 KiB at a time with a 1 ms pause
//      between pieces: unmapping 134 MB took 10-16 ms there, and even done by another thread
//      all at once (or 1 MiB at a time) it held up the writer's appends 5-10 ms.
// The phases end long before the new table reaches 70% itself; were one to lag (it cannot with
// these constants), it is finished at once rather than let a table fill up.
//
// Both are anonymous mappings on huge pages where the kernel allows (store/anonymous_memory.h),
// faulted in by a thread of the table's own before the writer reaches them: the next entry
// chunk as soon as the one before it is taken, a doubled table as soon as it is mapped.
//
// Owner: UsageIndex. Thread-safety: none; one thread at a time (the store's writer), except
// memory_bytes(), which any thread may call.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include "store/anonymous_memory.h"

namespace tally::store {

class DedupTable {
 public:
  // The most entries the table can hold (slots are 32-bit).
  static constexpr uint64_t kMaxEntries = 0xFFFF'FFFEull;
  // Work an append does towards a growth in progress (see above).
  static constexpr size_t kTouchedSlotsPerAppend = 64;  // 256 bytes
  static constexpr size_t kMigratedPerAppend = 2;

  DedupTable();
  ~DedupTable();
  DedupTable(const DedupTable&) = delete;
  DedupTable& operator=(const DedupTable&) = delete;

  // Sizes the slots for `entries` entries at once (finishing any growth in progress), so that
  // appending up to that many does not grow the table. For opening a store, before loading.
  void Reserve(uint64_t entries);

  // Appends the entry of ordinal size(). Callers keep size() below kMaxEntries.
  void Append(uint64_t id_hash, uint64_t content_hash);
  // Appends an ordinal that holds no record (a gap in the seqs): it is never found.
  void AppendGap();

  // Calls visit(content_hash, ordinal) for every entry appended with this id hash (usually
  // none or one), each once.
  template <typename Visit>
  void ForEachMatch(uint64_t id_hash, Visit&& visit) const;
  // Hints for a ForEachMatch(id_hash) a few lookups later, so that it does not wait for memory
  // (the slots and entries are far larger than the caches): PrefetchSlots starts loading the
  // slots where the lookup begins; PrefetchEntry, called once those have arrived, the entry the
  // first of them names. Neither changes anything. Always inlined: GCC 12 takes a function that
  // only prefetches for one without effects and drops the calls to it (ipa-modref), prefetch
  // and all; the callers' wrappers (UsageIndex) are always inlined for the same reason.
  void PrefetchSlots(uint64_t id_hash) const;
  void PrefetchEntry(uint64_t id_hash) const;

  uint64_t size() const { return size_; }
  // The heap the table holds, in bytes. Any thread.
  uint64_t memory_bytes() const { return memory_bytes_.load(std::memory_order_relaxed); }
  // True from the moment the table starts preparing a larger one until it has re-filed every
  // entry in it.
  bool growing() const { return !next_.empty() || !frozen_.empty(); }
  size_t slot_count() const { return mask_ + 1; }

 private:
  struct Entry {
    uint64_t id_hash;
    uint64_t content_hash;
  };
  static constexpr size_t kChunkBits = 17;  // 131,072 entries (2 MiB, one huge page) a chunk
  static constexpr uint64_t kChunkMask = (uint64_t{1} << kChunkBits) - 1;
  static constexpr size_t kChunkBytes = sizeof(Entry) << kChunkBits;

  // An array of slots in an anonymous mapping of its own: zero pages until touched, and given
  // back to the kernel by whichever thread destroys it.
  class SlotArray {
   public:
    SlotArray() = default;
    explicit SlotArray(size_t count) : memory_(count * sizeof(uint32_t)), count_(count) {}

    uint32_t* data() const { return static_cast<uint32_t*>(memory_.data()); }
    size_t count() const { return count_; }
    bool empty() const { return memory_.empty(); }
    const AnonymousMapping& memory() const { return memory_; }
    // Unmaps it a piece at a time (see AnonymousMapping); empty() afterwards.
    void UnmapGradually(size_t piece, std::chrono::microseconds pause) {
      memory_.UnmapGradually(piece, pause);
      count_ = 0;
    }

   private:
    AnonymousMapping memory_;
    size_t count_ = 0;
  };

  Entry& At(uint64_t ordinal) { return Chunk(ordinal >> kChunkBits)[ordinal & kChunkMask]; }
  const Entry& At(uint64_t ordinal) const {
    return Chunk(ordinal >> kChunkBits)[ordinal & kChunkMask];
  }
  Entry* Chunk(uint64_t k) const { return static_cast<Entry*>(chunks_[k].data()); }
  Entry& NewEntry();
  void File(uint64_t ordinal, uint64_t id_hash);
  // One append's share of a growth: starts it, prepares or migrates.
  void StepGrowth();
  void StartMigrating();
  void MigrateOne();
  // Completes a growth in progress within this call.
  void FinishNow();
  // Hands the frozen table to releaser_ (after the previous one has finished).
  void RetireFrozen();
  void UpdateMemoryBytes();

  std::vector<AnonymousMapping> chunks_;
  AnonymousMapping spare_chunk_;  // the next chunk, mapped and (being) faulted in ahead
  uint64_t size_ = 0;           // entries, = last ordinal + 1
  std::vector<uint64_t> gaps_;  // the ordinals appended by AppendGap, ascending

  SlotArray slots_;     // 0 = empty, else ordinal + 1
  size_t mask_ = 0;     // slots_.count() - 1
  uint64_t filed_ = 0;  // occupied slots of slots_

  // Preparing: the next table and how many of its slots are touched.
  SlotArray next_;
  size_t next_touched_ = 0;

  // Migrating: the old table, which holds exactly the ordinals below frozen_size_, and the
  // first of them not yet re-filed in slots_.
  SlotArray frozen_;
  uint64_t frozen_size_ = 0;
  uint64_t migrated_ = 0;
  size_t next_gap_ = 0;  // the first of gaps_ not below migrated_

  // Unmaps the last retired table; joined before the next one, and on destruction.
  std::thread releaser_;

  std::atomic<uint64_t> memory_bytes_{0};

  // Faults in spare_chunk_ and next_. Last, so that it stops before the mappings go.
  Prefaulter prefaulter_;
};

[[gnu::always_inline]] inline void DedupTable::PrefetchSlots(uint64_t id_hash) const {
  if (!frozen_.empty()) __builtin_prefetch(frozen_.data() + (id_hash & (frozen_.count() - 1)));
  if (!slots_.empty()) __builtin_prefetch(slots_.data() + (id_hash & mask_));
}

[[gnu::always_inline]] inline void DedupTable::PrefetchEntry(uint64_t id_hash) const {
  if (slots_.empty()) return;
  const uint32_t s = slots_.data()[id_hash & mask_];
  if (s != 0) __builtin_prefetch(&At(s - 1));
}

template <typename Visit>
void DedupTable::ForEachMatch(uint64_t id_hash, Visit&& visit) const {
  // Ordinals below frozen_size_ are filed in the frozen table, and some of them in slots_ too;
  // the frozen table answers for them.
  uint64_t from = 0;
  if (!frozen_.empty()) {
    const uint32_t* frozen = frozen_.data();
    const size_t frozen_mask = frozen_.count() - 1;
    for (size_t i = id_hash & frozen_mask;; i = (i + 1) & frozen_mask) {
      const uint32_t s = frozen[i];
      if (s == 0) break;
      const Entry& e = At(s - 1);
      if (e.id_hash == id_hash) visit(e.content_hash, uint64_t{s} - 1);
    }
    from = frozen_size_;
  }
  const uint32_t* slots = slots_.data();
  for (size_t i = id_hash & mask_;; i = (i + 1) & mask_) {
    const uint32_t s = slots[i];
    if (s == 0) return;
    const Entry& e = At(s - 1);
    if (e.id_hash == id_hash && s - 1 >= from) visit(e.content_hash, uint64_t{s} - 1);
  }
}

}  // namespace tally::store
