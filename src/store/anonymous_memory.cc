#include "store/anonymous_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>
#include <string_view>
#include <utility>
#include <vector>

#include "common/current_thread.h"

namespace tally::store {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

constexpr size_t kMaxHeapMapping = size_t{256} << 30;
// mincore() answers for at most this much at a time (a byte a page: 256 KiB of answers).
constexpr size_t kResidencyWindow = size_t{1} << 30;

#ifndef MADV_COLLAPSE
constexpr int MADV_COLLAPSE = 25;  // Linux 6.1; glibc 2.36's headers predate it
#endif

uintptr_t HugePageFloor(uintptr_t address) { return address & ~(uintptr_t{kHugePage} - 1); }
uintptr_t HugePageCeil(uintptr_t address) { return HugePageFloor(address + kHugePage - 1); }

size_t PageSize() {
  static const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

}  // namespace

AnonymousMapping::AnonymousMapping(size_t bytes) {
  const size_t page = PageSize();
  size_ = std::max((bytes + page - 1) / page * page, page);
  const bool huge = size_ >= kHugePage;
  // Huge mappings are over-mapped by one huge page and trimmed to an aligned start: a huge
  // page can only back an aligned 2 MiB of the mapping.
  const size_t mapped = huge ? size_ + kHugePage : size_;
  void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  auto* start = static_cast<char*>(p);
  if (huge) {
    auto* aligned = reinterpret_cast<char*>(HugePageCeil(reinterpret_cast<uintptr_t>(start)));
    if (aligned > start) munmap(start, static_cast<size_t>(aligned - start));
    char* end = start + mapped;
    if (end > aligned + size_) munmap(aligned + size_, static_cast<size_t>(end - aligned - size_));
    start = aligned;
    (void)madvise(start, size_, MADV_HUGEPAGE);
  }
  data_ = start;
}

AnonymousMapping::AnonymousMapping(AnonymousMapping&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

AnonymousMapping& AnonymousMapping::operator=(AnonymousMapping&& other) noexcept {
  if (this != &other) {
    Unmap();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

AnonymousMapping::~AnonymousMapping() { Unmap(); }

void AnonymousMapping::Unmap() {
  if (data_ != nullptr) munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

void AnonymousMapping::UnmapGradually(size_t piece, std::chrono::microseconds pause) {
  const size_t page = PageSize();
  piece = std::max(piece / page, size_t{1}) * page;
  auto* bytes = static_cast<char*>(data_);
  for (size_t done = 0; done < size_;) {
    const size_t n = std::min(piece, size_ - done);
    munmap(bytes + done, n);
    done += n;
    if (done < size_) std::this_thread::sleep_for(pause);
  }
  data_ = nullptr;
  size_ = 0;
}

Prefaulter::~Prefaulter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    queue_.clear();
    cancel_.store(true, std::memory_order_relaxed);
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Prefaulter::Populate(const AnonymousMapping& mapping) {
  if (mapping.empty()) return;
  {
    std::lock_guard lock(mu_);
    queue_.push_back(Range{static_cast<char*>(mapping.data()), mapping.size()});
    if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  }
  cv_.notify_all();
}

void Prefaulter::Forget(const AnonymousMapping& mapping) {
  const auto* data = static_cast<const char*>(mapping.data());
  std::unique_lock lock(mu_);
  std::erase_if(queue_, [&](const Range& r) { return r.data == data; });
  if (data == nullptr || current_ != data) return;
  cancel_.store(true, std::memory_order_relaxed);
  cv_.wait(lock, [&] { return current_ != data; });
}

bool Prefaulter::Idle() const {
  std::lock_guard lock(mu_);
  return queue_.empty() && current_ == nullptr;
}

void Prefaulter::Run() {
  NameCurrentThread("tally-prefault");
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    const Range range = queue_.front();
    queue_.pop_front();
    current_ = range.data;
    cancel_.store(false, std::memory_order_relaxed);
    lock.unlock();
    for (size_t done = 0; done < range.size; done += kHugePage) {
      if (cancel_.load(std::memory_order_relaxed)) break;
      // EINVAL (a kernel before 5.14) and ENOMEM alike leave the faults to the first writer.
      if (madvise(range.data + done, std::min(kHugePage, range.size - done),
                  MADV_POPULATE_WRITE) != 0) {
        break;
      }
    }
    lock.lock();
    current_ = nullptr;
    cv_.notify_all();
  }
}

namespace {

// The private anonymous memory of the process: glibc's heap ("[heap]") and unnamed mappings.
// Stacks, files and shared memory are left alone, and so are reservations too large to be a
// heap (a sanitizer's shadow memory spans terabytes, almost none of it resident).
std::vector<std::pair<uintptr_t, uintptr_t>> AnonymousRanges() {
  std::vector<std::pair<uintptr_t, uintptr_t>> ranges;
  std::FILE* maps = std::fopen("/proc/self/maps", "re");
  if (maps == nullptr) return ranges;
  char line[512];
  while (std::fgets(line, sizeof line, maps) != nullptr) {
    unsigned long from = 0, to = 0;  // NOLINT(google-runtime-int): sscanf's %lx
    char perms[5] = {};
    int name_at = 0;
    if (std::sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", &from, &to, perms, &name_at) < 3) {
      continue;
    }
    if (std::strcmp(perms, "rw-p") != 0 || to - from > kMaxHeapMapping) continue;
    const std::string_view name(line + name_at);  // "" for an unnamed mapping
    if (!name.empty() && !name.starts_with("[heap]")) continue;
    ranges.emplace_back(from, to);
  }
  std::fclose(maps);
  return ranges;
}

}  // namespace

HeapCollapser::Totals HeapCollapser::CollapseOnce() {
  Totals pass;
  pass.passes = 1;
  const size_t page = PageSize();
  const size_t pages_per_huge = kHugePage / page;
  std::vector<unsigned char> in_core;
  bool any_advised = false, all_invalid = true;
  for (auto [from, to] : AnonymousRanges()) {
    const uintptr_t start = HugePageCeil(from);
    const uintptr_t end = HugePageFloor(to);
    for (uintptr_t window = start; window < end; window += kResidencyWindow) {
      const uintptr_t window_end = std::min<uintptr_t>(end, window + kResidencyWindow);
      in_core.resize((window_end - window) / page);
      // ENOMEM: the mapping went away meanwhile (another thread freed it). Skip it.
      if (mincore(reinterpret_cast<void*>(window), window_end - window, in_core.data()) != 0) {
        break;
      }
      const size_t pieces = (window_end - window) / kHugePage;
      for (size_t k = 0; k < pieces; ++k) {
        const unsigned char* c = in_core.data() + k * pages_per_huge;
        if (!std::all_of(c, c + pages_per_huge, [](unsigned char b) { return (b & 1) != 0; })) {
          continue;
        }
        // One piece a call: a refusal costs one piece, and each call holds the process's
        // page tables for one piece's copy only.
        any_advised = true;
        if (madvise(reinterpret_cast<void*>(window + k * kHugePage), kHugePage,
                    MADV_COLLAPSE) == 0) {
          all_invalid = false;
          pass.collapsed_bytes += kHugePage;
        } else {
          if (errno != EINVAL) all_invalid = false;
          ++pass.refused;
        }
      }
    }
  }
  pass.unsupported = any_advised && all_invalid;
  return pass;
}

HeapCollapser::HeapCollapser(std::chrono::milliseconds interval, int nice)
    : thread_([this, interval, nice] { Run(interval, nice); }) {}

HeapCollapser::~HeapCollapser() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

HeapCollapser::Totals HeapCollapser::totals() const {
  std::lock_guard lock(mu_);
  return totals_;
}

void HeapCollapser::Run(std::chrono::milliseconds interval, int nice) {
  NameCurrentThread("tally-hugepages");
  if (nice != 0) NiceCurrentThread(nice);
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    const Totals pass = CollapseOnce();
    lock.lock();
    totals_.passes += pass.passes;
    totals_.collapsed_bytes += pass.collapsed_bytes;
    totals_.refused += pass.refused;
    if (pass.unsupported) {
      totals_.unsupported = true;
      return;
    }
    cv_.wait_for(lock, interval, [&] { return stop_; });
  }
}

}  // namespace tally::store
