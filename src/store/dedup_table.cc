#include "store/dedup_table.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <thread>
#include <utility>

namespace tally::store {
namespace {

constexpr size_t kInitialSlots = 16;

// Load limits, as occupied slots * 10 against slots * {7, 9}: a growth starts past 70%, and is
// finished at once should a table ever pass 90%.
bool Over(uint64_t filed, size_t slots, uint64_t tenths) {
  return (filed + 1) * 10 > slots * tenths;
}

size_t PageSize() {
  static const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

}  // namespace

DedupTable::SlotArray::SlotArray(size_t count) : count_(count) {
  const size_t page = PageSize();
  mapped_ = (count * sizeof(uint32_t) + page - 1) / page * page;
  void* p = mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  // Huge pages where the kernel allows them: each lookup lands on a random slot, so with 4 KiB
  // pages nearly every one is a TLB miss. On the bench machine they also cut by a third the
  // time the kernel's memory monitor (DAMON) spends on the process each round, and the
  // acknowledgements' p99 by ~10 ms (docs/benchmarks.md, (a''''''''''')). Advice only: refused,
  // the table works the same on small pages.
  (void)madvise(p, mapped_, MADV_HUGEPAGE);
  data_ = static_cast<uint32_t*>(p);
}

DedupTable::SlotArray::SlotArray(SlotArray&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      count_(std::exchange(other.count_, 0)),
      mapped_(std::exchange(other.mapped_, 0)) {}

DedupTable::SlotArray& DedupTable::SlotArray::operator=(SlotArray&& other) noexcept {
  if (this != &other) {
    Unmap();
    data_ = std::exchange(other.data_, nullptr);
    count_ = std::exchange(other.count_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
  }
  return *this;
}

DedupTable::SlotArray::~SlotArray() { Unmap(); }

void DedupTable::SlotArray::Unmap() {
  if (data_ != nullptr) munmap(data_, mapped_);
  data_ = nullptr;
  count_ = mapped_ = 0;
}

void DedupTable::SlotArray::UnmapGradually(size_t piece, std::chrono::microseconds pause) {
  const size_t page = PageSize();
  piece = std::max(piece / page, size_t{1}) * page;
  auto* bytes = reinterpret_cast<char*>(data_);
  for (size_t done = 0; done < mapped_;) {
    const size_t n = std::min(piece, mapped_ - done);
    munmap(bytes + done, n);
    done += n;
    if (done < mapped_) std::this_thread::sleep_for(pause);
  }
  data_ = nullptr;
  count_ = mapped_ = 0;
}

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
  // Chunks are allocated as the entries reach them: each is first-touch memory, faulted in
  // while the writer waits, and a small chunk spreads that cost thinly (1 MiB chunks stalled
  // the writer 5-16 ms every 65,536 records on the bench machine).
  if ((size_ >> kChunkBits) >= chunks_.size()) {
    chunks_.push_back(std::make_unique<Entry[]>(size_t{1} << kChunkBits));
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
  if (frozen_.mapped_bytes() <= kUnmappedInline) {
    frozen_ = SlotArray();
  } else {
    if (releaser_.joinable()) releaser_.join();  // long done: the last growth was long ago
    releaser_ = std::thread([old = std::move(frozen_)]() mutable {
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
  const uint64_t bytes = chunks_.size() * (sizeof(Entry) << kChunkBits) + slots_.mapped_bytes() +
                         next_.mapped_bytes() + frozen_.mapped_bytes() +
                         gaps_.capacity() * sizeof(uint64_t);
  memory_bytes_.store(bytes, std::memory_order_relaxed);
}

}  // namespace tally::store
