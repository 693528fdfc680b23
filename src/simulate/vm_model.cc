#include "simulate/vm_model.h"

#include "simulate/random.h"

namespace tally::simulate {
namespace {

struct Transitions {
  uint32_t running_to_stopped;  // per million per hour
  uint32_t running_to_deallocated;
  uint32_t stopped_to_running;
  uint32_t stopped_to_deallocated;
  uint32_t deallocated_to_running;
};

// Rates chosen so that servers are metered ~99 % of hours, dev boxes roughly office hours plus
// the evenings someone forgot (a guest shutdown keeps billing), and batch VMs ~20 %.
constexpr Transitions kAlwaysOn = {2'000, 1'000, 200'000, 100'000, 150'000};
constexpr Transitions kBatch = {20'000, 150'000, 100'000, 200'000, 30'000};

VmState Step(VmState state, const Transitions& t, uint64_t random) {
  // One draw decides the transition, so each outcome's chance is exactly its rate.
  uint64_t r = Below(random, 1'000'000);
  switch (state) {
    case VmState::kRunning:
      if (r < t.running_to_stopped) return VmState::kStopped;
      if (r < t.running_to_stopped + t.running_to_deallocated) return VmState::kDeallocated;
      return state;
    case VmState::kStopped:
      if (r < t.stopped_to_running) return VmState::kRunning;
      if (r < t.stopped_to_running + t.stopped_to_deallocated) return VmState::kDeallocated;
      return state;
    case VmState::kDeallocated:
      return r < t.deallocated_to_running ? VmState::kRunning : state;
  }
  return state;
}

}  // namespace

VmState NextVmState(VmState state, VmProfile profile, int hour_of_day, int weekday,
                    uint64_t random) {
  switch (profile) {
    case VmProfile::kAlwaysOn:
      return Step(state, kAlwaysOn, random);
    case VmProfile::kBatch:
      return Step(state, kBatch, random);
    case VmProfile::kOfficeHours: {
      bool workday = weekday >= 1 && weekday <= 5;
      // The scheduled auto-shutdown deallocates, but one VM in ten has it disabled that day.
      if (hour_of_day == 19) {
        return state != VmState::kDeallocated && ChancePpm(random, 900'000) ? VmState::kDeallocated
                                                                            : state;
      }
      Transitions t = {10'000, 5'000, 300'000, 50'000, 0};
      if (workday && hour_of_day >= 7 && hour_of_day <= 10) t.deallocated_to_running = 350'000;
      return Step(state, t, random);
    }
  }
  return state;
}

VmHourUsage VmUsageForHour(VmState state, const VmSpec& spec) {
  VmHourUsage usage;
  if (state == VmState::kDeallocated) return usage;
  usage.base_vcore_hours = spec.vcores;
  usage.windows_vcore_hours = spec.windows && !spec.hybrid_benefit ? spec.vcores : 0;
  usage.vm_hours = 1;
  return usage;
}

}  // namespace tally::simulate
