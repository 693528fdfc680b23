#include "store/anonymous_memory.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace tally::store {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

// How many of the mapping's pages are resident.
size_t ResidentPages(const AnonymousMapping& m) {
  const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> in_core(m.size() / page);
  EXPECT_EQ(mincore(m.data(), m.size(), in_core.data()), 0);
  size_t resident = 0;
  for (unsigned char c : in_core) resident += c & 1;
  return resident;
}

void WaitIdle(const Prefaulter& prefaulter) {
  for (int i = 0; i < 5'000 && !prefaulter.Idle(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(prefaulter.Idle());
}

// True when this kernel faults memory in on MADV_POPULATE_WRITE (Linux 5.14 on).
bool KernelPopulates() {
  AnonymousMapping probe(4096);
  return madvise(probe.data(), probe.size(), MADV_POPULATE_WRITE) == 0;
}

TEST(AnonymousMapping, IsZeroedWholePagesAndHugeOnesAreAligned) {
  AnonymousMapping small(100);
  EXPECT_EQ(small.size(), static_cast<size_t>(sysconf(_SC_PAGESIZE)));
  AnonymousMapping huge(3 * kHugePage + 1);
  EXPECT_GE(huge.size(), 3 * kHugePage + 1);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(huge.data()) % kHugePage, 0u);
  const auto* bytes = static_cast<const unsigned char*>(huge.data());
  for (size_t i = 0; i < huge.size(); i += 4093) ASSERT_EQ(bytes[i], 0) << i;
  std::memset(huge.data(), 0x5a, huge.size());  // all of it is writable

  AnonymousMapping moved(std::move(huge));
  EXPECT_TRUE(huge.empty());  // NOLINT(bugprone-use-after-move): a moved-from mapping is empty
  EXPECT_EQ(static_cast<const unsigned char*>(moved.data())[moved.size() - 1], 0x5a);
  moved.UnmapGradually(kHugePage, std::chrono::microseconds(0));
  EXPECT_TRUE(moved.empty());
}

TEST(Prefaulter, FaultsInAMappingWithoutChangingIt) {
  if (!KernelPopulates()) GTEST_SKIP() << "the kernel has no MADV_POPULATE_WRITE";
  AnonymousMapping m(4 * kHugePage);
  auto* bytes = static_cast<unsigned char*>(m.data());
  bytes[0] = 7;  // pages written before (each write may fault in a whole huge page)
  bytes[m.size() - 1] = 9;
  const size_t pages = m.size() / static_cast<size_t>(sysconf(_SC_PAGESIZE));
  EXPECT_LE(ResidentPages(m), pages / 2);
  Prefaulter prefaulter;
  prefaulter.Populate(m);
  WaitIdle(prefaulter);
  EXPECT_EQ(ResidentPages(m), pages);
  EXPECT_EQ(bytes[0], 7);
  EXPECT_EQ(bytes[m.size() - 1], 9);
  EXPECT_EQ(bytes[m.size() / 2], 0);
}

TEST(Prefaulter, AForgottenMappingIsNotFaultedIn) {
  if (!KernelPopulates()) GTEST_SKIP() << "the kernel has no MADV_POPULATE_WRITE";
  // A large first mapping keeps the thread busy while the second is queued, then forgotten.
  AnonymousMapping busy(64 * kHugePage);
  AnonymousMapping forgotten(4 * kHugePage);
  Prefaulter prefaulter;
  prefaulter.Populate(busy);
  prefaulter.Populate(forgotten);
  prefaulter.Forget(forgotten);
  forgotten = AnonymousMapping();  // unmapped while the thread may still be busy
  // Forgetting the one in progress stops it early and waits for it.
  prefaulter.Forget(busy);
  EXPECT_TRUE(prefaulter.Idle());
  busy = AnonymousMapping();
  // It goes on serving later requests.
  AnonymousMapping later(kHugePage);
  prefaulter.Populate(later);
  WaitIdle(prefaulter);
  EXPECT_EQ(ResidentPages(later), later.size() / static_cast<size_t>(sysconf(_SC_PAGESIZE)));
}

// A private anonymous mapping of `pieces` huge pages, aligned, without huge-page advice (as
// glibc's heap is), kept apart from its neighbours by inaccessible guards so that it is a
// mapping of its own in /proc/self/smaps. Unmapped by the destructor.
class PlainHeapLike {
 public:
  explicit PlainHeapLike(size_t pieces) : size_(pieces * kHugePage) {
    reserved_ = static_cast<char*>(
        mmap(nullptr, size_ + 3 * kHugePage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (reserved_ == MAP_FAILED) throw std::bad_alloc();
    data_ = reinterpret_cast<char*>(
        (reinterpret_cast<uintptr_t>(reserved_) + 2 * kHugePage - 1) & ~(kHugePage - 1));
    if (mprotect(data_, size_, PROT_READ | PROT_WRITE) != 0) throw std::bad_alloc();
  }
  ~PlainHeapLike() { munmap(reserved_, size_ + 3 * kHugePage); }
  PlainHeapLike(const PlainHeapLike&) = delete;
  PlainHeapLike& operator=(const PlainHeapLike&) = delete;

  char* data() const { return data_; }
  size_t size() const { return size_; }

  // A field of this mapping's entry in /proc/self/smaps ("Rss", "AnonHugePages"), in kB.
  int64_t SmapsKb(const std::string& field) const {
    std::ifstream smaps("/proc/self/smaps");
    std::string line;
    bool ours = false;
    while (std::getline(smaps, line)) {
      unsigned long from = 0, to = 0;  // NOLINT(google-runtime-int): sscanf's %lx
      if (std::sscanf(line.c_str(), "%lx-%lx ", &from, &to) == 2 && line.find(' ') > 8 &&
          line.find('-') < line.find(' ')) {
        ours = from == reinterpret_cast<uintptr_t>(data_);
        continue;
      }
      if (ours && line.starts_with(field + ":")) {
        std::istringstream in(line.substr(field.size() + 1));
        int64_t kb = -1;
        in >> kb;
        return kb;
      }
    }
    return -1;
  }

 private:
  size_t size_;
  char* reserved_ = nullptr;
  char* data_ = nullptr;
};

TEST(HeapCollapser, CollapsesFullyResidentPiecesOnlyAndKeepsTheirContents) {
  PlainHeapLike heap(4);
  const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  // Pieces 0 and 1 fully written; pieces 2 and 3 one page each.
  for (size_t i = 0; i < 2 * kHugePage; i += page) heap.data()[i] = static_cast<char>(i / page);
  heap.data()[2 * kHugePage] = 1;
  heap.data()[3 * kHugePage + page] = 2;
  ASSERT_EQ(heap.SmapsKb("Rss"), static_cast<int64_t>((2 * kHugePage + 2 * page) / 1024));
  if (heap.SmapsKb("AnonHugePages") != 0) GTEST_SKIP() << "the kernel gave it huge pages itself";

  const HeapCollapser::Totals pass = HeapCollapser::CollapseOnce();
  if (pass.unsupported) GTEST_SKIP() << "the kernel cannot collapse (no MADV_COLLAPSE, or THP off)";
  EXPECT_EQ(pass.passes, 1u);
  const int64_t huge_kb = heap.SmapsKb("AnonHugePages");
  if (huge_kb == 0 && pass.refused > 0) GTEST_SKIP() << "the kernel had no huge page to spare";
  EXPECT_EQ(huge_kb, static_cast<int64_t>(2 * kHugePage / 1024));
  EXPECT_GE(pass.collapsed_bytes, 2 * kHugePage);
  // The sparse pieces were left alone: the memory did not grow.
  EXPECT_EQ(heap.SmapsKb("Rss"), static_cast<int64_t>((2 * kHugePage + 2 * page) / 1024));
  for (size_t i = 0; i < 2 * kHugePage; i += page) {
    ASSERT_EQ(heap.data()[i], static_cast<char>(i / page)) << i;
  }
  EXPECT_EQ(heap.data()[2 * kHugePage], 1);
  EXPECT_EQ(heap.data()[3 * kHugePage + page], 2);
  EXPECT_EQ(heap.data()[page + 1], 0);
}

TEST(HeapCollapser, PassesRepeatUntilItIsDestroyed) {
  HeapCollapser collapser(std::chrono::milliseconds(5));
  for (int i = 0; i < 5'000; ++i) {
    const HeapCollapser::Totals t = collapser.totals();
    if (t.unsupported || t.passes >= 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const HeapCollapser::Totals t = collapser.totals();
  EXPECT_TRUE(t.unsupported || t.passes >= 3) << t.passes;
  if (t.unsupported) {
    EXPECT_EQ(t.passes, 1u);  // it stops after finding out
  }
}

}  // namespace
}  // namespace tally::store
