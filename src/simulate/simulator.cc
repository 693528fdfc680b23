#include "simulate/simulator.h"

#include <algorithm>
#include <array>
#include <chrono>

#include "simulate/random.h"
#include "simulate/world.h"

namespace tally::simulate {
namespace {

using internal::ResourceKind;
using internal::SimMeter;
__extension__ typedef __int128 I128;

// Reported-hour buckets in flight: the longest delay (48 h) plus the hour being generated.
constexpr int64_t kBuckets = 64;
// Salts that keep the per-hour random values of one resource independent.
enum Salt : uint64_t { kState = 1, kNoise, kNoise2, kIdle, kScale, kDelay, kJitter };

// Exact quantities, built from integers only: `units` x 10^-digits.
Decimal Units(I128 units, int digits) {
  I128 scale = 1;
  for (int i = digits; i < Decimal::kScale; ++i) scale *= 10;
  return Decimal::FromRaw(units * scale);
}

// num / den rounded half up to `digits` fractional digits (num >= 0, den > 0).
Decimal Ratio(I128 num, I128 den, int digits) {
  I128 pow10 = 1;
  for (int i = 0; i < digits; ++i) pow10 *= 10;
  return Units((num * pow10 * 2 + den) / (den * 2), digits);
}

// What every resource shares about one usage hour.
struct HourContext {
  int64_t hour = 0;
  int hour_of_day = 0;
  int weekday = 0;  // 0 = Sunday
  int64_t hours_in_month = 0;
  int64_t diurnal = 0;  // per mille
};

HourContext MakeHourContext(int64_t hour) {
  HourContext c;
  c.hour = hour;
  int64_t day = hour >= 0 ? hour / 24 : (hour - 23) / 24;
  c.hour_of_day = static_cast<int>(hour - day * 24);
  c.weekday = static_cast<int>(((day + 4) % 7 + 7) % 7);  // 1970-01-01 was a Thursday
  std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{day}}};
  auto last =
      std::chrono::year_month_day_last{ymd.year(), std::chrono::month_day_last{ymd.month()}};
  c.hours_in_month = 24 * static_cast<int64_t>(static_cast<unsigned>(last.day()));
  c.diurnal = internal::DiurnalPerMille(c.hour_of_day, c.weekday);
  return c;
}

// A record generated but not yet due: it leaves when the clock passes its reported time.
struct Pending {
  int64_t reported_micros;
  uint64_t key;  // resource (34 bits) | meter (6 bits) | usage hour (24 bits): unique
  Decimal quantity;
};

constexpr uint64_t MakeKey(uint64_t resource, SimMeter meter, int64_t hour) {
  return resource << 30 | static_cast<uint64_t>(meter) << 24 |
         (static_cast<uint64_t>(hour) & 0xffffff);
}

class Generator {
 public:
  Generator(const SimulationOptions& o, const std::function<void(const SimulatedRecord&)>& sink)
      : o_(o), sink_(sink), world_(internal::BuildWorld(o)) {
    id_key0_ = HashOf(o.seed, 0x1d0);
    id_key1_ = HashOf(o.seed, 0x1d1);
    limit_micros_ = o.now ? o.now->micros : INT64_MAX;
    out_.record.location = o.location;
    by_start_.resize(world_.resources.size());
    for (size_t i = 0; i < by_start_.size(); ++i) by_start_[i] = static_cast<uint32_t>(i);
    std::stable_sort(by_start_.begin(), by_start_.end(), [&](uint32_t a, uint32_t b) {
      return world_.resources[a].first_hour < world_.resources[b].first_hour;
    });
  }

  void Run();

 private:
  void GenerateHour(const HourContext& c);
  void EmitResourceHour(uint32_t index, internal::Resource& r, const HourContext& c);
  void EmitStorage(uint32_t index, const internal::Resource& r, const HourContext& c);
  void Add(uint32_t resource, SimMeter meter, int64_t hour, Decimal quantity);
  void Flush(int64_t reported_hour);
  void Deliver(const Pending& p);

  uint64_t Rand(uint32_t resource, int64_t hour, Salt salt) const {
    return HashOf(o_.seed, resource, static_cast<uint64_t>(hour), salt);
  }
  // Traffic this hour: the resource's peak rate shaped by the time of day and +-50 % noise.
  int64_t Traffic(int64_t peak, uint32_t resource, const HourContext& c, Salt salt) const {
    int64_t noise = InRange(Rand(resource, c.hour, salt), 500, 1500);
    return static_cast<int64_t>(static_cast<I128>(peak) * c.diurnal * noise / 1'000'000);
  }

  const SimulationOptions& o_;
  const std::function<void(const SimulatedRecord&)>& sink_;
  internal::World world_;
  std::vector<uint32_t> by_start_;  // resource indices by first_hour
  size_t next_start_ = 0;           // the first of by_start_ not yet alive
  std::vector<uint32_t> alive_;     // resources alive in the hour being generated
  std::array<std::vector<Pending>, kBuckets> buckets_;
  uint64_t id_key0_ = 0;
  uint64_t id_key1_ = 0;
  int64_t limit_micros_ = 0;
  SimulatedRecord out_;
};

void Generator::Run() {
  int64_t last = world_.end_hour;  // exclusive
  if (o_.now) {
    int64_t now_hours = o_.now->micros >= 0
                            ? o_.now->micros / kMicrosPerHour
                            : (o_.now->micros - kMicrosPerHour + 1) / kMicrosPerHour;
    last = std::min(last, now_hours);
  }
  for (int64_t h = world_.first_hour; h < last; ++h) {
    GenerateHour(MakeHourContext(h));
    // Records of later hours are reported after h + 2, so the bucket of h + 1 is complete.
    Flush(h + 1);
  }
  for (int64_t r = std::max(last, world_.first_hour) + 1; r <= last + kBuckets; ++r) Flush(r);
}

void Generator::GenerateHour(const HourContext& c) {
  // Only the resources alive this hour are visited: scanning all of them every hour would
  // cost more than generating the records when most live only briefly.
  auto& resources = world_.resources;
  while (next_start_ < by_start_.size() && resources[by_start_[next_start_]].first_hour <= c.hour) {
    alive_.push_back(by_start_[next_start_++]);
  }
  size_t kept = 0;
  for (uint32_t i : alive_) {
    internal::Resource& r = resources[i];
    if (c.hour >= r.end_hour) continue;
    EmitResourceHour(i, r, c);
    alive_[kept++] = i;
  }
  alive_.resize(kept);
}

void Generator::EmitResourceHour(uint32_t i, internal::Resource& r, const HourContext& c) {
  const int64_t h = c.hour;
  switch (r.kind) {
    case ResourceKind::kVm: {
      if (h > r.first_hour) {
        r.state = NextVmState(r.state, r.profile, c.hour_of_day, c.weekday, Rand(i, h, kState));
      }
      VmHourUsage u = VmUsageForHour(r.state, r.vm);
      if (!u.metered()) return;
      Add(i, SimMeter::kBaseVm, h, Units(u.base_vcore_hours, 0));
      if (u.windows_vcore_hours > 0)
        Add(i, SimMeter::kWindowsVm, h, Units(u.windows_vcore_hours, 0));
      Add(i, SimMeter::kVmHours, h, Units(u.vm_hours, 0));
      return;
    }
    case ResourceKind::kDisk: {
      // Disk meters count in months: each hour is 1/(hours in this month) of a disk-month.
      Add(i, r.meter, h, Ratio(1, c.hours_in_month, 10));
      I128 used = r.disk_bytes_used + static_cast<I128>(r.disk_bytes_used) * r.disk_growth_ppm *
                                          (h - r.created_hour) / 1'000'000;
      used = std::min<I128>(used, static_cast<I128>(r.size) * 1'000'000'000);
      bool premium = r.meter >= SimMeter::kDiskP4;
      Add(i, premium ? SimMeter::kActualPremiumDiskSize : SimMeter::kActualStandardDiskSize, h,
          Ratio(used, static_cast<I128>(1'000'000'000) * c.hours_in_month, 10));
      return;
    }
    case ResourceKind::kPublicIp:
      Add(i, r.meter, h, Units(1, 0));
      return;
    case ResourceKind::kStorageAccount:
      EmitStorage(i, r, c);
      return;
    case ResourceKind::kSqlDatabase:
    case ResourceKind::kMySqlDatabase:
      Add(i, r.meter, h, Units(r.size, 0));
      return;
    case ResourceKind::kKeyVault: {
      if (ChancePpm(Rand(i, h, kIdle), static_cast<uint32_t>(r.idle_ppm))) return;
      int64_t requests = Traffic(r.requests_per_hour, i, c, kNoise);
      if (requests > 0) Add(i, SimMeter::kKeyVault, h, Units(requests, 4));
      int64_t advanced = requests * r.advanced_ppm / 1'000'000;
      if (advanced > 0) Add(i, SimMeter::kAdvancedKeys, h, Units(advanced, 4));
      return;
    }
    case ResourceKind::kAppServicePlan: {
      int64_t instances = r.size;
      if (r.autoscale && c.diurnal >= 800) instances += InRange(Rand(i, h, kScale), 0, 2);
      Add(i, r.meter, h, Units(instances, 0));
      return;
    }
    case ResourceKind::kWebApp: {
      Add(i, r.meter, h, Units(1, 0));
      if (ChancePpm(Rand(i, h, kIdle), static_cast<uint32_t>(r.idle_ppm))) return;
      int64_t requests = Traffic(r.requests_per_hour, i, c, kNoise);
      if (requests > 0) {
        Add(i, SimMeter::kAppEgress, h,
            Units(static_cast<I128>(requests) * r.egress_bytes_per_request, 9));
      }
      return;
    }
    case ResourceKind::kFunctionApp: {
      if (ChancePpm(Rand(i, h, kIdle), static_cast<uint32_t>(r.idle_ppm))) return;
      int64_t executions = Traffic(r.requests_per_hour, i, c, kNoise);
      if (executions <= 0) return;
      Add(i, SimMeter::kFunctionRequests, h, Units(executions, 1));  // in 10s of requests
      // GB-s: executions x memory (steps of 0.125 GB) x time (ms / 1000).
      Add(i, SimMeter::kFunctionCompute, h,
          Units(static_cast<I128>(executions) * r.memory_steps * r.exec_ms * 125, 6));
      Add(i, SimMeter::kAppEgress, h,
          Units(static_cast<I128>(executions) * r.egress_bytes_per_request, 9));
      return;
    }
  }
}

void Generator::EmitStorage(uint32_t i, const internal::Resource& r, const HourContext& c) {
  // Services: blob, page blob, table, queue. Page blob traffic is metered as blob traffic.
  static constexpr SimMeter kCapacity[4] = {SimMeter::kBlockBlobCapacity,
                                            SimMeter::kPageBlobCapacity, SimMeter::kTableCapacity,
                                            SimMeter::kQueueCapacity};
  static constexpr SimMeter kTraffic[4][3] = {
      {SimMeter::kBlobTransactions, SimMeter::kBlobIn, SimMeter::kBlobOut},
      {SimMeter::kCount, SimMeter::kCount, SimMeter::kCount},
      {SimMeter::kTableTransactions, SimMeter::kTableIn, SimMeter::kTableOut},
      {SimMeter::kQueueTransactions, SimMeter::kQueueIn, SimMeter::kQueueOut}};
  const int64_t h = c.hour;
  const bool idle = ChancePpm(Rand(i, h, kIdle), static_cast<uint32_t>(r.idle_ppm));
  for (int s = 0; s < 4; ++s) {
    const internal::StorageService& svc = r.storage[s];
    if (!svc.used) continue;
    // Capacity held this hour, in bytes: steady growth plus a little churn. GB*hours for one
    // hour is the level in GB, exact to the byte (9 fractional digits).
    I128 bytes = svc.bytes +
                 static_cast<I128>(svc.bytes) * svc.growth_ppm * (h - r.created_hour) / 1'000'000;
    bytes += static_cast<I128>(
        Below(HashOf(Rand(i, h, kJitter), s), static_cast<uint64_t>(svc.bytes / 1000 + 1)));
    Add(i, kCapacity[s], h, Units(bytes, 9));
    if (idle || s == 1) continue;
    int64_t requests =
        Traffic(svc.requests_per_hour + (s == 0 ? r.storage[1].requests_per_hour : 0), i, c,
                static_cast<Salt>(kNoise + 16 * s));
    if (requests <= 0) continue;
    Add(i, kTraffic[s][0], h, Units(requests, 4));  // in 10,000s
    int64_t in_bytes = svc.in_bytes_per_request;
    int64_t out_bytes = svc.out_bytes_per_request;
    int64_t skew = InRange(Rand(i, h, static_cast<Salt>(kNoise2 + 16 * s)), 500, 1500);
    Add(i, kTraffic[s][1], h, Units(static_cast<I128>(requests) * in_bytes, 9));
    Add(i, kTraffic[s][2], h, Units(static_cast<I128>(requests) * out_bytes * skew / 1000, 9));
  }
}

void Generator::Add(uint32_t resource, SimMeter meter, int64_t hour, Decimal quantity) {
  const uint64_t key = MakeKey(resource, meter, hour);
  // Most records arrive within the next 90 minutes; ~2 % take a few hours, ~0.2 % up to two
  // days (a provider that was down and caught up).
  uint64_t r = HashOf(o_.seed, key, kDelay);
  uint64_t bucket = Below(r, 1'000'000);
  uint64_t r2 = Mix64(r);
  int64_t delay_seconds = bucket < 2'000    ? InRange(r2, 6 * 3600, 48 * 3600)
                          : bucket < 22'000 ? InRange(r2, 90 * 60 + 1, 6 * 3600)
                                            : InRange(r2, 5 * 60, 90 * 60);
  int64_t reported = (hour + 1) * kMicrosPerHour + delay_seconds * kMicrosPerSecond;
  int64_t reported_hour = reported / kMicrosPerHour;
  buckets_[static_cast<size_t>(reported_hour % kBuckets)].push_back({reported, key, quantity});
}

void Generator::Flush(int64_t reported_hour) {
  auto& bucket = buckets_[static_cast<size_t>(((reported_hour % kBuckets) + kBuckets) % kBuckets)];
  std::sort(bucket.begin(), bucket.end(), [](const Pending& a, const Pending& b) {
    return a.reported_micros != b.reported_micros ? a.reported_micros < b.reported_micros
                                                  : a.key < b.key;
  });
  for (const Pending& p : bucket) {
    if (p.reported_micros > limit_micros_) break;  // not reported yet at `now`
    Deliver(p);
  }
  bucket.clear();
  // Every bucket is the busy one once; without this, all would keep an hour's worth of memory.
  if (bucket.capacity() > 4096) std::vector<Pending>().swap(bucket);
}

void Generator::Deliver(const Pending& p) {
  const uint32_t resource = static_cast<uint32_t>(p.key >> 30);
  const auto meter = static_cast<SimMeter>((p.key >> 24) & 0x3f);
  const internal::Resource& r = world_.resources[resource];
  const int64_t hour = static_cast<int64_t>(p.key & 0xffffff);

  domain::UsageRecord& rec = out_.record;
  // A keyed bijection of the unique key: record IDs stay unique and differ between seeds.
  uint64_t id = Mix64(Mix64(p.key ^ id_key0_) + id_key1_);
  static constexpr char kHex[] = "0123456789abcdef";
  rec.record_id.resize(20);
  rec.record_id[0] = 's';
  rec.record_id[1] = 'i';
  rec.record_id[2] = 'm';
  rec.record_id[3] = '-';
  for (int k = 0; k < 16; ++k) rec.record_id[4 + k] = kHex[(id >> (60 - 4 * k)) & 0xf];
  rec.subscription_id = world_.tenants[r.tenant].subscription_id;
  rec.meter_id = internal::SimMeterId(meter);
  rec.resource_uri = r.uri;
  rec.usage_start = UsageHour::FromHours(hour);
  rec.quantity = p.quantity;
  if (r.tags != internal::kNoProperties) {
    rec.tags = world_.property_sets[r.tags];
  } else {
    rec.tags.reset();
  }
  if (r.additional_info != internal::kNoProperties) {
    rec.additional_info = world_.property_sets[r.additional_info];
  } else {
    rec.additional_info.reset();
  }
  out_.reported_time = ReportedTime::FromMicros(p.reported_micros);
  if (o_.with_reported_time) rec.reported_time = out_.reported_time;
  sink_(out_);
}

}  // namespace

SimulationOptions MakeDefaultSimulationOptions(UtcTime now) {
  SimulationOptions o;
  o.now = now;
  int64_t today = UsageHour::FromHours(now.micros / kMicrosPerHour).DayStart().hours();
  o.start = UsageHour::FromHours(today - int64_t{24} * (o.days - 1));
  return o;
}

Status ValidateSimulationOptions(const SimulationOptions& o) {
  std::vector<std::string> problems;
  if (o.days < 1 || o.days > 3660) problems.push_back("days must be 1 to 3660");
  if (o.tenants < 1 || o.tenants > 1'000'000) problems.push_back("tenants must be 1 to 1000000");
  if (o.resources < 0 || o.resources > 100'000'000) {
    problems.push_back("resources must be 0 to 100000000");
  }
  if (o.target_records < 0) problems.push_back("target_records must not be negative");
  // 1971-3000: keeps every hour within the 24 bits of the record key.
  constexpr int64_t kFirstHour = 365 * 24;
  constexpr int64_t kLastHour = 9'028'776;  // 2999-12-31T00:00Z
  if (o.start.hours() < kFirstHour || o.start.hours() > kLastHour) {
    problems.push_back("start must be between 1971 and 2999");
  }
  if (o.location.empty() || o.location.size() > 128) {
    problems.push_back("location must be 1 to 128 bytes");
  }
  if (problems.empty()) return Status::Ok();
  std::string message = "invalid simulation options: ";
  for (size_t i = 0; i < problems.size(); ++i) {
    if (i > 0) message += "; ";
    message += problems[i];
  }
  return InvalidArgument(message);
}

std::vector<SimulatedTenant> MakeSimulatedTenants(const SimulationOptions& options) {
  return internal::BuildTenants(options);
}

void Simulate(const SimulationOptions& options,
              const std::function<void(const SimulatedRecord&)>& sink) {
  if (!ValidateSimulationOptions(options).ok()) return;
  Generator(options, sink).Run();
}

}  // namespace tally::simulate
