#include "simulate/vm_model.h"

#include <gtest/gtest.h>

#include "simulate/random.h"

namespace tally::simulate {
namespace {

TEST(VmUsageForHour, RunningAndStoppedVmsAreMeteredDeallocatedAreNot) {
  const VmSpec windows{.vcores = 4, .windows = true, .hybrid_benefit = false};
  for (VmState state : {VmState::kRunning, VmState::kStopped}) {
    VmHourUsage u = VmUsageForHour(state, windows);
    EXPECT_TRUE(u.metered());
    EXPECT_EQ(u.base_vcore_hours, 4);
    EXPECT_EQ(u.windows_vcore_hours, 4);
    EXPECT_EQ(u.vm_hours, 1);
  }
  VmHourUsage off = VmUsageForHour(VmState::kDeallocated, windows);
  EXPECT_FALSE(off.metered());
  EXPECT_EQ(off.base_vcore_hours, 0);
  EXPECT_EQ(off.windows_vcore_hours, 0);
  EXPECT_EQ(off.vm_hours, 0);
}

TEST(VmUsageForHour, HybridBenefitAndLinuxEmitNoWindowsMeter) {
  VmHourUsage hybrid =
      VmUsageForHour(VmState::kStopped, {.vcores = 8, .windows = true, .hybrid_benefit = true});
  EXPECT_EQ(hybrid.base_vcore_hours, 8);
  EXPECT_EQ(hybrid.windows_vcore_hours, 0);
  EXPECT_EQ(hybrid.vm_hours, 1);
  VmHourUsage linux_vm = VmUsageForHour(VmState::kRunning, {.vcores = 2});
  EXPECT_EQ(linux_vm.base_vcore_hours, 2);
  EXPECT_EQ(linux_vm.windows_vcore_hours, 0);
}

TEST(NextVmState, OfficeVmsAreDeallocatedByTheEveningShutdown) {
  EXPECT_EQ(NextVmState(VmState::kRunning, VmProfile::kOfficeHours, 19, 3, 0),
            VmState::kDeallocated);
  EXPECT_EQ(NextVmState(VmState::kStopped, VmProfile::kOfficeHours, 19, 3, 0),
            VmState::kDeallocated);
  // The tenth of VMs whose shutdown is disabled that day keep running.
  EXPECT_EQ(NextVmState(VmState::kRunning, VmProfile::kOfficeHours, 19, 3, ~uint64_t{0}),
            VmState::kRunning);
}

TEST(NextVmState, OfficeVmsStartOnlyOnWeekdayMornings) {
  int started_monday = 0;
  for (uint64_t i = 0; i < 2000; ++i) {
    uint64_t r = HashOf(42, i);
    EXPECT_EQ(NextVmState(VmState::kDeallocated, VmProfile::kOfficeHours, 2, 3, r),
              VmState::kDeallocated);  // 02:00
    EXPECT_EQ(NextVmState(VmState::kDeallocated, VmProfile::kOfficeHours, 9, 0, r),
              VmState::kDeallocated);  // Sunday
    started_monday +=
        NextVmState(VmState::kDeallocated, VmProfile::kOfficeHours, 8, 1, r) == VmState::kRunning;
  }
  EXPECT_GT(started_monday, 500);
  EXPECT_LT(started_monday, 900);
}

TEST(NextVmState, DeallocatedVmsNeverJumpToStopped) {
  for (VmProfile profile : {VmProfile::kAlwaysOn, VmProfile::kOfficeHours, VmProfile::kBatch}) {
    for (uint64_t i = 0; i < 5000; ++i) {
      VmState next = NextVmState(VmState::kDeallocated, profile, static_cast<int>(i % 24),
                                 static_cast<int>(i % 7), HashOf(7, i));
      EXPECT_NE(next, VmState::kStopped);
    }
  }
}

TEST(NextVmState, ServersAreMeteredAlmostAlwaysAndBatchVmsRarely) {
  auto metered_share = [](VmProfile profile) {
    VmState s = VmState::kRunning;
    int metered = 0;
    const int hours = 20'000;
    for (int h = 0; h < hours; ++h) {
      s = NextVmState(s, profile, h % 24, (h / 24 + 4) % 7, HashOf(99, static_cast<uint64_t>(h)));
      metered += VmUsageForHour(s, {.vcores = 1}).metered();
    }
    return metered * 100 / hours;
  };
  EXPECT_GE(metered_share(VmProfile::kAlwaysOn), 95);
  EXPECT_LE(metered_share(VmProfile::kBatch), 40);
  int office = metered_share(VmProfile::kOfficeHours);
  EXPECT_GE(office, 20);
  EXPECT_LE(office, 70);
}

TEST(NextVmState, IsDeterministic) {
  for (uint64_t i = 0; i < 100; ++i) {
    EXPECT_EQ(NextVmState(VmState::kRunning, VmProfile::kBatch, 5, 2, HashOf(1, i)),
              NextVmState(VmState::kRunning, VmProfile::kBatch, 5, 2, HashOf(1, i)));
  }
}

}  // namespace
}  // namespace tally::simulate
