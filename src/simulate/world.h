// Internal to tally_simulate: the simulated cloud (tenants, resources and their parameters) and
// the meters the simulator reports. Built once per simulation, then only the VM states change.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "domain/usage_record.h"
#include "simulate/simulator.h"
#include "simulate/vm_model.h"

namespace tally::simulate::internal {

// The meters the simulator emits: the current meter of every simulated resource provider (no
// deprecated ones, no custom worker tiers). Fits in 6 bits (see the record key).
enum class SimMeter : uint8_t {
  kStaticIp,
  kDynamicIp,
  kTableCapacity,
  kPageBlobCapacity,
  kQueueCapacity,
  kBlockBlobCapacity,
  kTableTransactions,
  kTableIn,
  kTableOut,
  kBlobTransactions,
  kBlobIn,
  kBlobOut,
  kQueueTransactions,
  kQueueIn,
  kQueueOut,
  kBaseVm,
  kWindowsVm,
  kVmHours,
  kDiskS4,
  kDiskS6,
  kDiskS10,
  kDiskS15,
  kDiskS20,
  kDiskS30,
  kDiskP4,
  kDiskP6,
  kDiskP10,
  kDiskP15,
  kDiskP20,
  kDiskP30,
  kActualStandardDiskSize,
  kActualPremiumDiskSize,
  kSqlDatabase,
  kMySqlDatabase,
  kKeyVault,
  kAdvancedKeys,
  kSmallStandard,
  kMediumStandard,
  kLargeStandard,
  kSmallBasic,
  kMediumBasic,
  kLargeBasic,
  kSmallPremium,
  kMediumPremium,
  kLargePremium,
  kExtraLargePremium,
  kSharedApp,
  kFreeApp,
  kFunctionRequests,
  kFunctionCompute,
  kAppEgress,
  kCount,
};
inline constexpr int kSimMeterCount = static_cast<int>(SimMeter::kCount);
// The catalog spelling of the meter's ID.
const std::string& SimMeterId(SimMeter m);

enum class ResourceKind : uint8_t {
  kVm,
  kDisk,
  kPublicIp,
  kStorageAccount,
  kSqlDatabase,
  kMySqlDatabase,
  kKeyVault,
  kAppServicePlan,
  kWebApp,
  kFunctionApp,
};

inline constexpr uint32_t kNoProperties = 0xffffffff;

// One storage service (blob, page blob, table, queue) of an account.
struct StorageService {
  bool used = false;
  int64_t bytes = 0;              // capacity when the account was created
  int64_t growth_ppm = 0;         // capacity growth per hour, parts per million of `bytes`
  int64_t requests_per_hour = 0;  // at the busiest hour of a weekday
  int64_t in_bytes_per_request = 0;
  int64_t out_bytes_per_request = 0;
};

struct Resource {
  ResourceKind kind = ResourceKind::kVm;
  uint32_t tenant = 0;
  uint32_t tags = kNoProperties;             // index into World::property_sets
  uint32_t additional_info = kNoProperties;  // index into World::property_sets
  int64_t created_hour = 0;                  // for growth; may be before the simulated period
  int64_t first_hour = 0;                    // metered in [first_hour, end_hour)
  int64_t end_hour = 0;
  std::string uri;

  // Virtual machines.
  VmSpec vm;
  VmProfile profile = VmProfile::kAlwaysOn;
  VmState state = VmState::kRunning;
  // Disks, plans, IPs: the meter emitted for each hour alive.
  SimMeter meter = SimMeter::kCount;
  // Disks: provisioned and used size.
  int64_t disk_bytes_used = 0;
  int64_t disk_growth_ppm = 0;
  // Storage accounts: blob, page blob, table, queue.
  StorageService storage[4];
  // Databases: size in MB. Plans: base instance count. Others: unused.
  int64_t size = 0;
  bool autoscale = false;
  // Key vaults, web and function apps: traffic at the busiest hour, and the share of hours
  // without any (parts per million).
  int64_t requests_per_hour = 0;
  int64_t idle_ppm = 0;
  int64_t advanced_ppm = 0;  // key vaults: share of requests on advanced keys
  int64_t memory_steps = 0;  // functions: memory in 128 MB steps (1-12)
  int64_t exec_ms = 0;       // functions: average execution time, >= 100 ms
  int64_t egress_bytes_per_request = 0;
};

struct World {
  std::vector<SimulatedTenant> tenants;
  std::vector<Resource> resources;
  std::vector<domain::Properties> property_sets;
  int64_t first_hour = 0;  // the simulated period, in hours since the epoch: [first, end)
  int64_t end_hour = 0;
};

// The tenants alone (cheap): the first step of BuildWorld.
std::vector<SimulatedTenant> BuildTenants(const SimulationOptions& options);
// The whole world, lifetimes already fitted to options.target_records.
World BuildWorld(const SimulationOptions& options);

// The busy-ness of an hour, in per mille of the busiest weekday hour.
int64_t DiurnalPerMille(int hour_of_day, int weekday);

}  // namespace tally::simulate::internal
