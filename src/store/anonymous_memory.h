// Memory for the index's large, long-lived arrays that every record reaches at a random place
// (the dedup table's slots and entries): anonymous mappings of their own, on huge pages where
// the kernel allows, and a thread that faults them in before the store's writer needs them;
// and, for the rest of the process's heap, a thread that moves it onto huge pages once filled.
//
// Why (docs/benchmarks.md, (a''''''''''')): on the bench machine a fresh 4 KiB page costs the
// thread that first writes it 10-15 µs and a fresh 2 MiB huge page ~3.5 ms, and the kernel's
// memory monitor (DAMON) spends about half as long a round on memory kept hot in huge pages.
// Writing a page first on another thread keeps both costs off the acknowledgement path.
//
// Thread-safety: an AnonymousMapping is a value owned by one thread at a time. A Prefaulter's
// and a HeapCollapser's methods may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>

namespace tally::store {

class AnonymousMapping {
 public:
  AnonymousMapping() = default;
  // Maps `bytes` (rounded up to whole pages) of zeroed memory, asking for huge pages when it is
  // at least one huge page (then also aligned to one, so that all of it can be). Throws
  // std::bad_alloc when the kernel refuses the mapping; a refusal of huge pages is not an error.
  explicit AnonymousMapping(size_t bytes);
  AnonymousMapping(AnonymousMapping&& other) noexcept;
  AnonymousMapping& operator=(AnonymousMapping&& other) noexcept;
  ~AnonymousMapping();

  void* data() const { return data_; }
  size_t size() const { return size_; }  // bytes mapped, a whole number of pages
  bool empty() const { return data_ == nullptr; }

  // Unmaps it `piece` bytes at a time, pausing `pause` between pieces (unmapping a large
  // mapping at once holds up the process's other page-table work for milliseconds). empty()
  // afterwards.
  void UnmapGradually(size_t piece, std::chrono::microseconds pause);

 private:
  void Unmap();

  void* data_ = nullptr;
  size_t size_ = 0;
};

// Faults in memory on a thread of its own, 2 MiB at a time, without changing what it holds
// (MADV_POPULATE_WRITE): only the page tables change, so the thread may run while others use
// the same memory. Advice only: on a kernel without it (before Linux 5.14) nothing happens and
// the pages are faulted in by whoever writes them first, as without a Prefaulter.
class Prefaulter {
 public:
  Prefaulter() = default;
  // Cancels what is queued and joins the thread.
  ~Prefaulter();
  Prefaulter(const Prefaulter&) = delete;
  Prefaulter& operator=(const Prefaulter&) = delete;

  // Queues `mapping` to be faulted in. It must stay mapped until it has been (Idle()) or
  // Forget(mapping) has returned. Starts the thread on first use.
  void Populate(const AnonymousMapping& mapping);
  // Drops `mapping` from the queue, or stops faulting it in at the next 2 MiB piece; returns
  // once the thread no longer touches it (at once unless it was in progress).
  void Forget(const AnonymousMapping& mapping);
  // True when nothing is queued or in progress.
  bool Idle() const;

 private:
  struct Range {
    char* data;
    size_t size;
  };
  void Run();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Range> queue_;
  const char* current_ = nullptr;  // the range in progress, if any
  bool stop_ = false;
  std::atomic<bool> cancel_{false};  // stops the range in progress
  std::thread thread_;
};

// How often a serving process's HeapCollapser makes a pass (~0.1 s of one core a pass while the
// index grows at 150,000 records/s; a few milliseconds once it has stopped growing).
inline constexpr std::chrono::milliseconds kHeapCollapseInterval{5000};

// Moves the process's heap onto huge pages as it fills, on a thread of its own. Every
// `interval`, each 2 MiB-aligned piece of private anonymous memory (glibc's arenas, large
// allocations, the mappings above) whose 512 pages are all resident is collapsed into one huge
// page (MADV_COLLAPSE, Linux 6.1). Only fully resident pieces: the process's memory does not
// grow, only its page tables change shape (the kernel copies each piece into a huge page, the
// contents stay as they are; threads that touch the piece meanwhile wait for it, ~0.3 ms).
//
// Why (docs/benchmarks.md, (a''''''''''''')): the index's heap is hundreds of megabytes that
// every group of records touches here and there. On 4 KiB pages it costs TLB misses and, on
// the bench machine, the kernel's memory monitor (DAMON) a trap for each page it samples;
// glibc cannot be told to use huge pages from within the process, and taking them as the heap
// grows (glibc.malloc.hugetlb=1) puts ~3.5 ms page faults on whichever thread allocates.
//
// On a kernel without MADV_COLLAPSE (or with transparent huge pages off) the first pass finds
// out and the thread ends; nothing else changes.
class HeapCollapser {
 public:
  struct Totals {
    uint64_t passes = 0;
    uint64_t collapsed_bytes = 0;  // resident pieces advised (some may have been huge already)
    uint64_t refused = 0;          // pieces the kernel could not collapse then (tried again)
    bool unsupported = false;      // the kernel cannot collapse: the thread has ended
  };

  // One pass over the calling process's memory, on the calling thread.
  static Totals CollapseOnce();

  // Starts the thread: a pass every `interval`, the first at once, at niceness `nice` (a
  // background job: it yields the cores to serving).
  explicit HeapCollapser(std::chrono::milliseconds interval, int nice = 10);
  ~HeapCollapser();  // stops and joins the thread
  HeapCollapser(const HeapCollapser&) = delete;
  HeapCollapser& operator=(const HeapCollapser&) = delete;

  Totals totals() const;

 private:
  void Run(std::chrono::milliseconds interval, int nice);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  Totals totals_;
  std::thread thread_;
};

}  // namespace tally::store
