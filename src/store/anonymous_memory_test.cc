#include "store/anonymous_memory.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
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

}  // namespace
}  // namespace tally::store
