#include "store/anonymous_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <new>
#include <utility>

#include "common/thread_name.h"

namespace tally::store {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

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
    auto* aligned = reinterpret_cast<char*>(
        (reinterpret_cast<uintptr_t>(start) + kHugePage - 1) & ~(uintptr_t{kHugePage} - 1));
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

}  // namespace tally::store
