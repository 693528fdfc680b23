#include "store/dedup_table.h"

#include <algorithm>
#include <cstring>
#include <thread>
#include <utility>

#include "common/current_thread.h"

namespace tally::store {
namespace {

constexpr size_t kInitialSlots = 16;

// Load limits, as occupied slots * 10 against slots * {7, 9}: a growth starts past 70%, and is
// finished at once should a table ever pass 90%.
bool Over(uint64_t filed, size_t slots, uint64_t tenths) {
  return (filed + 1) * 10 > slots * tenths;
}

}  // namespace

DedupTable::DedupTable() : slots_(kInitialSlots), mask_(kInitialSlots - 1) { UpdateMemoryBytes(); }

DedupTable::~DedupTable() {
  if (releaser_.joinable()) releaser_.join();
}

void DedupTable::File(uint64_t ordinal, uint64_t id_hash) {
  uint32_t* slots = slots_.data();
  size_t i = id_hash & mask_;
  while (slots[i] != 0) i = (i + 1) & mask_;
  slots[i] = static_cast<uint32_t>(ordinal + 1);
  ++filed_;
}

DedupTable::Entry& DedupTable::NewEntry() {
  // A chunk is taken when the entries reach it, and the one after it is mapped and handed to
  // the prefaulter at once: faulted in by the writer, a fresh chunk's pages stalled it
  // (1 MiB chunks of 4 KiB pages: 5-16 ms every 65,536 records on the bench machine; a 2 MiB
  // huge page takes ~3.5 ms), and the prefaulter has ~0.9 s at 150,000 records/s to do it.
  if ((size_ >> kChunkBits) >= chunks_.size()) {
    if (spare_chunk_.empty()) spare_chunk_ = AnonymousMapping(kChunkBytes);
    chunks_.push_back(std::move(spare_chunk_));
    spare_chunk_ = AnonymousMapping(kChunkBytes);
    prefaulter_.Populate(spare_chunk_);
    UpdateMemoryBytes();
  }
  return At(size_++);
}

void DedupTable::Append(uint64_t id_hash, uint64_t content_hash) {
  // The growth step first: a switch of tables happens between two appends, so the frozen table
  // holds exactly the ordinals below the size at the switch.
  StepGrowth();
  const uint64_t ordinal = size_;
  NewEntry() = Entry{id_hash, content_hash};
  File(ordinal, id_hash);
}

void DedupTable::AppendGap() {
  StepGrowth();
  gaps_.push_back(size_);
  NewEntry() = Entry{0, 0};
}

void DedupTable::StepGrowth() {
  if (!frozen_.empty()) {
    for (size_t k = 0; k < kMigratedPerAppend && migrated_ < frozen_size_; ++k) MigrateOne();
    if (migrated_ == frozen_size_) RetireFrozen();
  } else if (!next_.empty()) {
    const size_t n = std::min(kTouchedSlotsPerAppend, next_.count() - next_touched_);
    std::memset(next_.data() + next_touched_, 0, n * sizeof(uint32_t));
    next_touched_ += n;
    if (next_touched_ == next_.count()) StartMigrating();
  } else if (Over(filed_, slot_count(), 7)) {
    next_ = SlotArray(2 * slot_count());
    next_touched_ = 0;
    // The touching below then mostly finds its pages faulted in already (the prefaulter is
    // done long before it: ~0.2 s for 128 MB against ~3.5 s of appends).
    prefaulter_.Populate(next_.memory());
    UpdateMemoryBytes();
  }
  if (Over(filed_, slot_count(), 9)) FinishNow();
}

void DedupTable::MigrateOne() {
  const uint64_t ordinal = migrated_++;
  if (next_gap_ < gaps_.size() && gaps_[next_gap_] == ordinal) {
    ++next_gap_;
    return;
  }
  File(ordinal, At(ordinal).id_hash);
}

void DedupTable::StartMigrating() {
  frozen_ = std::move(slots_);
  frozen_size_ = size_;
  migrated_ = 0;
  next_gap_ = 0;
  slots_ = std::move(next_);
  mask_ = slots_.count() - 1;
  filed_ = 0;
  next_touched_ = 0;
  if (frozen_size_ == 0) RetireFrozen();
}

void DedupTable::RetireFrozen() {
  // Small tables (the early growths) are unmapped here, at a cost of microseconds.
  constexpr size_t kUnmappedInline = size_t{1} << 20;
  prefaulter_.Forget(frozen_.memory());  // long done with it: it was queued a growth ago
  if (frozen_.memory().size() <= kUnmappedInline) {
    frozen_ = SlotArray();
  } else {
    if (releaser_.joinable()) releaser_.join();  // long done: the last growth was long ago
    releaser_ = std::thread([old = std::move(frozen_)]() mutable {
      NameCurrentThread("tally-unmap");
      old.UnmapGradually(size_t{256} << 10, std::chrono::milliseconds(1));
    });
  }
  frozen_size_ = 0;
  migrated_ = 0;
  UpdateMemoryBytes();
}

void DedupTable::FinishNow() {
  if (!next_.empty()) {
    next_touched_ = next_.count();  // a fresh mapping is zero; faults are taken as they come
    StartMigrating();
  }
  while (migrated_ < frozen_size_ && !frozen_.empty()) MigrateOne();
  prefaulter_.Forget(frozen_.memory());  // before it is unmapped
  frozen_ = SlotArray();
  frozen_size_ = 0;
  migrated_ = 0;
  UpdateMemoryBytes();
}

void DedupTable::Reserve(uint64_t entries) {
  FinishNow();
  size_t want = kInitialSlots;
  while (want * 7 / 10 < entries) want <<= 1;
  if (want <= slot_count()) return;
  // A growth to `want` slots, done within this call.
  next_ = SlotArray(want);
  FinishNow();
}

void DedupTable::UpdateMemoryBytes() {
  const uint64_t bytes = (chunks_.size() + (spare_chunk_.empty() ? 0 : 1)) * kChunkBytes +
                         slots_.memory().size() + next_.memory().size() +
                         frozen_.memory().size() + gaps_.capacity() * sizeof(uint64_t);
  memory_bytes_.store(bytes, std::memory_order_relaxed);
}

}  // namespace tally::store
