#include "simulate/world.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <string_view>
#include <utility>

#include "common/strings.h"
#include "simulate/random.h"

namespace tally::simulate::internal {
namespace {

// Independent random streams, so that e.g. adding resources never changes the tenants.
constexpr uint64_t kTenantStream = 0x7e4a47;
constexpr uint64_t kResourceStream = 0x7e5047;
constexpr uint64_t kLifetimeStream = 0x11fe;

constexpr std::array<std::string_view, 24> kCompanies = {
    "Contoso",   "Fabrikam",   "Northwind",     "Tailspin",     "Woodgrove",    "Litware",
    "Proseware", "Adatum",     "Relecloud",     "Fourthcoffee", "Lamna",        "Trey",
    "Alpineski", "Cohowinery", "Wingtip",       "Margies",      "Lucerne",      "Humongous",
    "Bellows",   "Blueyonder", "Graphicdesign", "Southridge",   "Consolidated", "Worldwide"};
constexpr std::array<std::string_view, 12> kDepartments = {
    "Finance", "Engineering", "Research", "Marketing", "Operations", "Sales",
    "Legal",   "Analytics",   "Platform", "Support",   "Logistics",  "Manufacturing"};
constexpr std::array<std::string_view, 16> kFirstNames = {
    "alex",  "maria", "wei",   "fatima", "john", "priya", "lars",  "sofia",
    "kenji", "amara", "diego", "olga",   "noah", "leila", "tomas", "chloe"};
constexpr std::array<std::string_view, 16> kLastNames = {
    "meyer",  "garcia", "chen",  "haddad",  "smith", "patel",  "berg",  "rossi",
    "tanaka", "okafor", "lopez", "ivanova", "brown", "karimi", "novak", "martin"};
constexpr std::array<std::string_view, 10> kResourceGroups = {
    "rg-web-prod",   "rg-web-test",        "rg-data-platform", "rg-analytics",
    "rg-devtest",    "rg-shared-services", "rg-identity",      "rg-backup-vault",
    "rg-batch-jobs", "rg-line-of-business"};
constexpr std::array<std::string_view, 10> kRoles = {"web", "app",   "api",    "build",   "jump",
                                                     "etl", "cache", "orders", "reports", "portal"};

// The Azure Stack Hub VM sizes tenants pick, with vcores and how common each is.
struct VmSize {
  std::string_view name;
  int vcores;
  int weight;
};
constexpr std::array<VmSize, 13> kVmSizes = {{{"Standard_A1_v2", 1, 8},
                                              {"Standard_A2_v2", 2, 10},
                                              {"Standard_A4_v2", 4, 5},
                                              {"Standard_D1_v2", 1, 6},
                                              {"Standard_D2_v2", 2, 14},
                                              {"Standard_D3_v2", 4, 9},
                                              {"Standard_D4_v2", 8, 4},
                                              {"Standard_D5_v2", 16, 1},
                                              {"Standard_DS2_v2", 2, 8},
                                              {"Standard_DS3_v2", 4, 5},
                                              {"Standard_F2s_v2", 2, 4},
                                              {"Standard_F4s_v2", 4, 3},
                                              {"Standard_F8s_v2", 8, 2}}};
constexpr std::array<std::string_view, 3> kWindowsImages = {"Windows Server 2022 Datacenter",
                                                            "Windows Server 2019 Datacenter",
                                                            "Windows Server 2016 Datacenter"};
constexpr std::array<std::string_view, 5> kLinuxImages = {
    "Ubuntu Server 22.04 LTS", "Ubuntu Server 20.04 LTS", "Red Hat Enterprise Linux 8.6",
    "SUSE Linux Enterprise Server 15 SP4", "Debian 12"};

// Disk tiers with their sizes in GB and how common they are.
struct DiskTier {
  SimMeter meter;
  int64_t gb;
  int weight;
};
constexpr std::array<DiskTier, 12> kDiskTiers = {{{SimMeter::kDiskS4, 32, 5},
                                                  {SimMeter::kDiskS6, 64, 8},
                                                  {SimMeter::kDiskS10, 128, 20},
                                                  {SimMeter::kDiskS15, 256, 10},
                                                  {SimMeter::kDiskS20, 512, 8},
                                                  {SimMeter::kDiskS30, 1024, 6},
                                                  {SimMeter::kDiskP4, 32, 3},
                                                  {SimMeter::kDiskP6, 64, 4},
                                                  {SimMeter::kDiskP10, 128, 12},
                                                  {SimMeter::kDiskP15, 256, 8},
                                                  {SimMeter::kDiskP20, 512, 6},
                                                  {SimMeter::kDiskP30, 1024, 5}}};

constexpr std::array<SimMeter, 10> kPlanMeters = {
    SimMeter::kSmallStandard,    SimMeter::kMediumStandard, SimMeter::kLargeStandard,
    SimMeter::kSmallBasic,       SimMeter::kMediumBasic,    SimMeter::kLargeBasic,
    SimMeter::kSmallPremium,     SimMeter::kMediumPremium,  SimMeter::kLargePremium,
    SimMeter::kExtraLargePremium};
constexpr std::array<int, 10> kPlanWeights = {30, 25, 10, 8, 6, 3, 6, 5, 4, 3};

// Share of each kind among resources, in percent (ResourceKind order).
constexpr std::array<int, 10> kKindWeights = {26, 22, 12, 12, 6, 4, 5, 4, 5, 4};

// A value spread evenly over orders of magnitude in [10^lo_exp, 10^hi_exp).
int64_t LogUniform(Rng& rng, int lo_exp, int hi_exp) {
  int64_t v = 1;
  for (int e = static_cast<int>(rng.InRange(lo_exp, hi_exp - 1)); e > 0; --e) v *= 10;
  return v * rng.InRange(1, 9);
}

std::string MakeGuid(Rng& rng) {
  uint64_t hi = rng.Next();
  uint64_t lo = rng.Next();
  hi = (hi & ~0xf000ULL) | 0x4000ULL;              // version 4
  lo = (lo & ~(0xc0ULL << 56)) | (0x80ULL << 56);  // RFC 4122 variant
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

int64_t ResourceCount(const SimulationOptions& o) {
  int64_t n = o.resources > 0 ? o.resources : int64_t{8} * o.tenants;
  return std::max<int64_t>(n, o.tenants);
}

// Records a resource reports in an average hour alive, in per mille (used to fit lifetimes to
// options.target_records).
int64_t ExpectedRecordsPerHourPerMille(const Resource& r) {
  auto active = [&](int64_t idle_ppm) { return (1'000'000 - idle_ppm) / 1000; };
  switch (r.kind) {
    case ResourceKind::kVm: {
      int64_t meters = 2 + (r.vm.windows && !r.vm.hybrid_benefit ? 1 : 0);
      int64_t duty = r.profile == VmProfile::kAlwaysOn      ? 990
                     : r.profile == VmProfile::kOfficeHours ? 450
                                                            : 200;
      return meters * duty;
    }
    case ResourceKind::kDisk:
      return 2000;
    case ResourceKind::kStorageAccount: {
      int64_t n = 0;
      // Page blob traffic is metered with the blob service's, so it adds a capacity meter only.
      for (int s = 0; s < 4; ++s) {
        if (r.storage[s].used) n += 1000 + (s == 1 ? 0 : 3 * active(r.idle_ppm));
      }
      return n;
    }
    case ResourceKind::kKeyVault:
      return active(r.idle_ppm) * (r.advanced_ppm > 0 ? 2 : 1);
    case ResourceKind::kWebApp:
      return 1000 + active(r.idle_ppm);
    case ResourceKind::kFunctionApp:
      return 3 * active(r.idle_ppm);
    case ResourceKind::kPublicIp:
    case ResourceKind::kSqlDatabase:
    case ResourceKind::kMySqlDatabase:
    case ResourceKind::kAppServicePlan:
      return 1000;
  }
  return 1000;
}

class WorldBuilder {
 public:
  WorldBuilder(const SimulationOptions& o, World& w)
      : o_(o), w_(w), rng_(HashOf(o.seed, kResourceStream)) {}

  void AddResource(uint32_t tenant, int64_t index);
  void FitToTarget();

 private:
  void SetLifetime(Resource& r);
  uint32_t AddProperties(domain::Properties p) {
    w_.property_sets.push_back(std::move(p));
    return static_cast<uint32_t>(w_.property_sets.size() - 1);
  }
  uint32_t AddVmInfo(std::string_view size, std::string_view image);
  void MakeUri(Resource& r, std::string_view type, std::string_view name);

  const SimulationOptions& o_;
  World& w_;
  Rng rng_;
  // Property sets are shared by the resources that carry the same one: index + 1 by key.
  std::map<std::pair<uint32_t, uint32_t>, uint32_t> tag_sets_;
  std::map<std::pair<std::string_view, std::string_view>, uint32_t> vm_infos_;
};

uint32_t WorldBuilder::AddVmInfo(std::string_view size, std::string_view image) {
  auto& index = vm_infos_[std::make_pair(size, image)];
  if (index == 0) {
    index =
        1 + AddProperties({{"ImageType", std::string(image)}, {"ServiceType", std::string(size)}});
  }
  return index - 1;
}

void WorldBuilder::SetLifetime(Resource& r) {
  const int64_t period = w_.end_hour - w_.first_hour;
  // Most resources predate the period; the rest appear during it, and many of those are
  // short-lived (test VMs, build agents, scratch storage).
  if (rng_.ChancePpm(800'000)) {
    r.created_hour = w_.first_hour - rng_.InRange(24, 24 * 400);
    r.first_hour = w_.first_hour;
    r.end_hour = rng_.ChancePpm(80'000) ? w_.first_hour + rng_.InRange(1, period) : w_.end_hour;
  } else {
    r.created_hour = r.first_hour = w_.first_hour + rng_.InRange(0, period - 1);
    int64_t life = w_.end_hour;
    if (rng_.ChancePpm(400'000)) {
      life = rng_.ChancePpm(600'000) ? rng_.InRange(2, 72) : rng_.InRange(72, period);
      life += r.first_hour;
    }
    r.end_hour = std::min(life, w_.end_hour);
  }
}

void WorldBuilder::MakeUri(Resource& r, std::string_view type, std::string_view name) {
  const SimulatedTenant& t = w_.tenants[r.tenant];
  // Tenants keep their resources in a few groups; which ones depends on the tenant.
  uint64_t groups = 1 + HashOf(o_.seed, r.tenant, 0x96) % 5;
  uint64_t first_group = HashOf(o_.seed, r.tenant, 0x97) % kResourceGroups.size();
  std::string_view rg =
      kResourceGroups[(first_group + rng_.Below(groups)) % kResourceGroups.size()];
  r.uri.reserve(160);
  r.uri.append("/subscriptions/").append(t.subscription_id).append("/resourceGroups/");
  r.uri.append(rg).append("/providers/").append(type).append("/").append(name);
}

void WorldBuilder::AddResource(uint32_t tenant, int64_t index) {
  Resource r;
  r.tenant = tenant;
  r.kind = static_cast<ResourceKind>(rng_.PickWeighted(kKindWeights));
  SetLifetime(r);
  char serial[24];
  std::snprintf(serial, sizeof(serial), "%06lld", static_cast<long long>(index));
  std::string role(kRoles[rng_.Below(kRoles.size())]);
  auto name = [&](std::string_view prefix) { return std::string(prefix) + role + "-" + serial; };

  if (rng_.ChancePpm(550'000)) {
    // Two tag sets per tenant (one department each), built the first time they are used.
    uint32_t set = static_cast<uint32_t>(rng_.Below(2));
    auto& tag_index = tag_sets_[std::make_pair(tenant, set)];
    if (tag_index == 0) {
      char cost_center[16];
      uint64_t h = HashOf(o_.seed, tenant, set, 0x7a9);
      std::snprintf(cost_center, sizeof(cost_center), "CC-%04u",
                    static_cast<unsigned>(1000 + h % 9000));
      tag_index = 1 + AddProperties({{"CostCenter", cost_center},
                                     {"Department",
                                      std::string(kDepartments[(h >> 20) % kDepartments.size()])}});
    }
    r.tags = tag_index - 1;
  }

  switch (r.kind) {
    case ResourceKind::kVm: {
      std::array<int, kVmSizes.size()> weights;
      for (size_t i = 0; i < kVmSizes.size(); ++i) weights[i] = kVmSizes[i].weight;
      const VmSize& size = kVmSizes[rng_.PickWeighted(weights)];
      r.vm.vcores = size.vcores;
      r.vm.windows = rng_.ChancePpm(500'000);
      r.vm.hybrid_benefit = r.vm.windows && rng_.ChancePpm(300'000);
      std::string_view image = r.vm.windows ? kWindowsImages[rng_.Below(kWindowsImages.size())]
                                            : kLinuxImages[rng_.Below(kLinuxImages.size())];
      r.additional_info = AddVmInfo(size.name, image);
      r.profile = static_cast<VmProfile>(rng_.PickWeighted(std::array<int, 3>{65, 25, 10}));
      // A new VM starts running; an older dev box or batch VM is most likely deallocated when
      // the period begins (at midnight).
      r.state = r.first_hour == r.created_hour || r.profile == VmProfile::kAlwaysOn
                    ? VmState::kRunning
                    : VmState::kDeallocated;
      MakeUri(r, "Microsoft.Compute/virtualMachines", name("vm-"));
      break;
    }
    case ResourceKind::kDisk: {
      std::array<int, kDiskTiers.size()> weights;
      for (size_t i = 0; i < kDiskTiers.size(); ++i) weights[i] = kDiskTiers[i].weight;
      const DiskTier& tier = kDiskTiers[rng_.PickWeighted(weights)];
      r.meter = tier.meter;
      r.size = tier.gb;
      r.disk_bytes_used = tier.gb * 1'000'000'000 / 1000 * rng_.InRange(150, 900);
      r.disk_growth_ppm = rng_.InRange(0, 60);
      MakeUri(r, "Microsoft.Compute/disks", name("disk-"));
      break;
    }
    case ResourceKind::kPublicIp:
      r.meter = rng_.ChancePpm(550'000) ? SimMeter::kStaticIp : SimMeter::kDynamicIp;
      MakeUri(r, "Microsoft.Network/publicIPAddresses", name("pip-"));
      break;
    case ResourceKind::kStorageAccount: {
      // Blob, page blob, table, queue: how often used, capacity and traffic ranges.
      const uint32_t used_ppm[4] = {1'000'000, 400'000, 350'000, 250'000};
      const int cap_exp[4][2] = {{8, 12}, {9, 12}, {6, 10}, {4, 8}};
      const int req_exp[4][2] = {{2, 6}, {1, 4}, {2, 5}, {2, 5}};
      const int64_t in_bytes[4][2] = {{1024, 262'144}, {4096, 65'536}, {512, 4096}, {256, 65'536}};
      for (int s = 0; s < 4; ++s) {
        StorageService& svc = r.storage[s];
        svc.used = rng_.ChancePpm(used_ppm[s]);
        if (!svc.used) continue;
        svc.bytes = LogUniform(rng_, cap_exp[s][0], cap_exp[s][1]) + rng_.InRange(0, 999'999);
        svc.growth_ppm = rng_.InRange(0, 400);
        svc.requests_per_hour = LogUniform(rng_, req_exp[s][0], req_exp[s][1]);
        svc.in_bytes_per_request = rng_.InRange(in_bytes[s][0], in_bytes[s][1]);
        svc.out_bytes_per_request = svc.in_bytes_per_request * rng_.InRange(50, 300) / 100;
      }
      r.idle_ppm = rng_.InRange(0, 500'000);
      std::string account =
          "st" + AsciiLower(kCompanies[r.tenant % kCompanies.size()]).substr(0, 10) + serial;
      MakeUri(r, "Microsoft.Storage/storageAccounts", account);
      break;
    }
    case ResourceKind::kSqlDatabase:
    case ResourceKind::kMySqlDatabase: {
      const int64_t sizes_mb[] = {100, 250, 500, 1024, 2048, 5120, 10240, 51200};
      r.size = sizes_mb[rng_.Below(std::size(sizes_mb))];
      bool sql = r.kind == ResourceKind::kSqlDatabase;
      r.meter = sql ? SimMeter::kSqlDatabase : SimMeter::kMySqlDatabase;
      MakeUri(r, sql ? "Microsoft.SQLAdapter/databases" : "Microsoft.MySQLAdapter/databases",
              name(sql ? "sqldb-" : "mysqldb-"));
      break;
    }
    case ResourceKind::kKeyVault:
      r.requests_per_hour = LogUniform(rng_, 1, 5);
      r.idle_ppm = rng_.InRange(0, 600'000);
      r.advanced_ppm = rng_.ChancePpm(120'000) ? rng_.InRange(50'000, 200'000) : 0;
      MakeUri(r, "Microsoft.KeyVault/vaults", name("kv-"));
      break;
    case ResourceKind::kAppServicePlan:
      r.meter = kPlanMeters[rng_.PickWeighted(kPlanWeights)];
      r.size = rng_.InRange(1, 3);
      r.autoscale = rng_.ChancePpm(400'000);
      MakeUri(r, "Microsoft.Web/serverFarms", name("plan-"));
      break;
    case ResourceKind::kWebApp:
      r.meter = rng_.ChancePpm(550'000) ? SimMeter::kSharedApp : SimMeter::kFreeApp;
      r.requests_per_hour = LogUniform(rng_, 1, 5);
      r.egress_bytes_per_request = rng_.InRange(2'000, 400'000);
      r.idle_ppm = rng_.InRange(0, 500'000);
      MakeUri(r, "Microsoft.Web/sites", name("app-"));
      break;
    case ResourceKind::kFunctionApp:
      r.requests_per_hour = LogUniform(rng_, 1, 6);
      r.memory_steps = rng_.InRange(1, 12);
      r.exec_ms = rng_.InRange(100, 5000);
      r.egress_bytes_per_request = rng_.InRange(200, 20'000);
      r.idle_ppm = rng_.InRange(0, 600'000);
      MakeUri(r, "Microsoft.Web/sites", name("func-"));
      break;
  }
  w_.resources.push_back(std::move(r));
}

void WorldBuilder::FitToTarget() {
  if (o_.target_records <= 0) return;
  __extension__ typedef __int128 I128;
  I128 expected = 0;  // per mille of records
  for (const Resource& r : w_.resources) {
    expected += static_cast<I128>(ExpectedRecordsPerHourPerMille(r)) * (r.end_hour - r.first_hour);
  }
  const I128 target = static_cast<I128>(o_.target_records) * 1000;
  if (expected <= target) return;
  // Each lifetime shrinks by the common factor times a random 0-2 (mean 1), and moves to a
  // random place inside its old span, so the usage still covers the whole period.
  const I128 factor_ppm = target * 1'000'000 / expected;
  Rng rng(HashOf(o_.seed, kLifetimeStream));
  for (Resource& r : w_.resources) {
    int64_t span = r.end_hour - r.first_hour;
    I128 spread_ppm = rng.InRange(0, 2'000'000);
    int64_t life = static_cast<int64_t>(span * factor_ppm * spread_ppm / 1'000'000'000'000);
    life = std::clamp<int64_t>(life, 1, span);
    int64_t offset = rng.InRange(0, span - life);
    r.first_hour += offset;
    r.end_hour = r.first_hour + life;
    if (r.kind == ResourceKind::kVm && offset > 0 && r.profile != VmProfile::kAlwaysOn) {
      r.state = VmState::kRunning;  // it was just started, or it would not be metered at all
    }
  }
}

}  // namespace

const std::string& SimMeterId(SimMeter m) {
  static const std::array<std::string, kSimMeterCount> kIds = {
      "F271A8A388C44D93956A063E1D2FA80B",     "9E2739BA86744796B465F64674B822BA",
      "B4438D5D-453B-4EE1-B42A-DC72E377F1E4", "B5C15376-6C94-4FDD-B655-1A69D138ACA3",
      "B03C6AE7-B080-4BFA-84A3-22C800F315C6", "09F8879E-87E9-4305-A572-4B7BE209F857",
      "B9FF3CD0-28AA-4762-84BB-FF8FBAEA6A90", "50A1AEAF-8ECA-48A0-8973-A5B3077FEE0D",
      "1B8C1DEC-EE42-414B-AA36-6229CF199370", "43DAF82B-4618-444A-B994-40C23F7CD438",
      "9764F92C-E44A-498E-8DC1-AAD66587A810", "3023FEF4-ECA5-4D7B-87B3-CFBC061931E8",
      "EB43DD12-1AA6-4C4B-872C-FAF15A6785EA", "E518E809-E369-4A45-9274-2017B29FFF25",
      "DD0A10BA-A5D6-4CB6-88C0-7D585CEF9FC2", "FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5",
      "9CD92D4C-BAFD-4492-B278-BEDC2DE8232A", "6DAB500F-A4FD-49C4-956D-229BB9C8C793",
      "380874f9-300c-48e0-95a0-d2d9a21ade8f", "1b77d90f-427b-4435-b4f1-d78adec53222",
      "d5f7731b-f639-404a-89d0-e46186e22c8d", "ff85ef31-da5b-4eac-95dd-a69d6f97b18a",
      "88ea9228-457a-4091-adc9-ad5194f30b6e", "5b1db88a-8596-4002-8052-347947c26940",
      "7660b45b-b29d-49cb-b816-59f30fbab011", "817007fd-a077-477f-bc01-b876f27205fd",
      "e554b6bc-96cd-4938-a5b5-0da990278519", "cdc0f53a-62a9-4472-a06c-e99a23b02907",
      "b9cb2d1a-84c2-4275-aa8b-70d2145d59aa", "06bde724-9f94-43c0-84c3-d0fc54538369",
      "7ba084ec-ef9c-4d64-a179-7732c6cb5e28", "daef389a-06e5-4684-a7f7-8813d9f792d5",
      "CBCFEF9A-B91F-4597-A4D3-01FE334BED82", "E6D8CFCD-7734-495E-B1CC-5AB0B9C24BD3",
      "EBF13B9F-B3EA-46FE-BF54-396E93D48AB4", "2C354225-B2FE-42E5-AD89-14F0EA302C87",
      "88039D51-A206-3A89-E9DE-C5117E2D10A6", "83A2A13E-4788-78DD-5D55-2831B68ED825",
      "1083B9DB-E9BB-24BE-A5E9-D6FDD0DDEFE6", "db658d61-ef2d-4888-9843-72f5c774fd3c",
      "27b01104-e0df-4f30-a171-f1b00ecb76b3", "50db6a92-5dff-4c9b-8238-8ea5fb1be107",
      "26bd6580-c3bd-4e7e-8092-58b28eb1bb94", "a1cba406-e83e-45c3-bd36-485191c215d9",
      "a2104a9d-5a78-4f8f-a2df-034bd43d602d", "a91eed6c-dbbc-4532-859c-86de776433a4",
      "957E9F36-2C14-45A1-B6A1-1723EF71A01D", "539CDEC7-B4F5-49F6-AAC4-1F15CFF0EDA9",
      "67CC4AFC-0691-48E1-A4B8-D744D1FEDBDE", "D1D04836-075C-4F27-BF65-0A1130EC60ED",
      "5887D39B-0253-4E12-83C7-03E1A93DFFD9",
  };
  return kIds[static_cast<size_t>(m)];
}

int64_t DiurnalPerMille(int hour_of_day, int weekday) {
  static constexpr std::array<int64_t, 24> kWeekday = {250, 200, 180,  170,  180, 220,  350,  550,
                                                       800, 950, 1000, 1000, 950, 1000, 1000, 950,
                                                       900, 800, 650,  500,  420, 380,  330,  280};
  int64_t v = kWeekday[static_cast<size_t>(hour_of_day)];
  return weekday == 0 || weekday == 6 ? v * 45 / 100 : v;
}

std::vector<SimulatedTenant> BuildTenants(const SimulationOptions& o) {
  const int n = std::max(o.tenants, 1);
  Rng rng(HashOf(o.seed, kTenantStream));
  // Sizes follow 1/rank^0.7 (the benchmark's shape). std::pow is only used on this path and
  // glibc's is correctly rounded; the shares are then fixed in integers.
  std::vector<double> weight(static_cast<size_t>(n));
  double total = 0;
  for (int i = 0; i < n; ++i) total += weight[static_cast<size_t>(i)] = std::pow(i + 1, -0.7);
  const int64_t resources = ResourceCount(o);
  const int64_t spare = resources - n;  // every tenant owns at least one
  std::vector<SimulatedTenant> tenants(static_cast<size_t>(n));
  std::vector<std::pair<int64_t, int>> remainders;  // largest-remainder apportionment
  int64_t given = 0;
  for (int i = 0; i < n; ++i) {
    auto& t = tenants[static_cast<size_t>(i)];
    double exact = static_cast<double>(spare) * weight[static_cast<size_t>(i)] / total;
    int64_t whole = static_cast<int64_t>(exact);
    t.resources = 1 + whole;
    given += whole;
    remainders.emplace_back(static_cast<int64_t>((exact - static_cast<double>(whole)) * 1e9), i);
  }
  std::sort(remainders.begin(), remainders.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  for (int64_t k = 0; given < spare; ++k, ++given) {
    ++tenants[static_cast<size_t>(remainders[static_cast<size_t>(k)].second)].resources;
  }
  for (int i = 0; i < n; ++i) {
    auto& t = tenants[static_cast<size_t>(i)];
    t.subscription_id = MakeGuid(rng);
    std::string_view company = kCompanies[static_cast<size_t>(i) % kCompanies.size()];
    std::string_view dept = kDepartments[rng.Below(kDepartments.size())];
    t.display_name = std::string(company) + " " + std::string(dept);
    if (i >= static_cast<int>(kCompanies.size())) {
      t.display_name += " " + std::to_string(i / static_cast<int>(kCompanies.size()) + 1);
    }
    t.owner = std::string(kFirstNames[rng.Below(kFirstNames.size())]) + "." +
              std::string(kLastNames[rng.Below(kLastNames.size())]) + "@" + AsciiLower(company) +
              ".example";
  }
  return tenants;
}

World BuildWorld(const SimulationOptions& o) {
  World w;
  w.tenants = BuildTenants(o);
  w.first_hour = o.start.DayStart().hours();
  w.end_hour = w.first_hour + int64_t{24} * std::max(o.days, 1);
  WorldBuilder builder(o, w);
  int64_t index = 0;
  w.resources.reserve(static_cast<size_t>(ResourceCount(o)));
  for (size_t t = 0; t < w.tenants.size(); ++t) {
    for (int64_t i = 0; i < w.tenants[t].resources; ++i) {
      builder.AddResource(static_cast<uint32_t>(t), index++);
    }
  }
  builder.FitToTarget();
  return w;
}

}  // namespace tally::simulate::internal
