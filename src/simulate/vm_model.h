// The virtual machine model of the usage simulator: how a VM's power state changes from hour
// to hour and which compute meters an hour in each state produces (contract §6, Compute:
// running and stopped VMs are metered, deallocated ones are not; Windows VMs under Hybrid
// Benefit produce no Windows meter). Pure functions over values; thread-safe.
#pragma once

#include <cstdint>

namespace tally::simulate {

enum class VmState : uint8_t {
  kRunning,
  kStopped,      // shut down from inside the guest: still holds its host, still metered
  kDeallocated,  // released its host: not metered
};

enum class VmProfile : uint8_t {
  kAlwaysOn,     // servers: rarely stopped, back soon when they are
  kOfficeHours,  // dev boxes: auto-shutdown (deallocate) at 19:00 UTC, started on weekday mornings
  kBatch,        // jobs: allocated for a few hours now and then
};

// The state after one more hour. `hour_of_day` (0-23, UTC) and `weekday` (0 = Sunday) are those
// of the new hour; `random` is a uniform 64-bit value. Deterministic in its arguments.
VmState NextVmState(VmState state, VmProfile profile, int hour_of_day, int weekday,
                    uint64_t random);

struct VmSpec {
  int vcores = 1;
  bool windows = false;
  bool hybrid_benefit = false;  // Windows licence brought by the tenant
};

// The compute quantities of one hour in `state`. All zero when deallocated.
struct VmHourUsage {
  int64_t base_vcore_hours = 0;     // Base VM Size Hours: vcores x 1 h
  int64_t windows_vcore_hours = 0;  // Windows VM Size Hours: vcores x 1 h, Windows without AHB
  int64_t vm_hours = 0;             // VM size hours: 1, whatever the size
  bool metered() const { return vm_hours != 0; }
};
VmHourUsage VmUsageForHour(VmState state, const VmSpec& spec);

}  // namespace tally::simulate
