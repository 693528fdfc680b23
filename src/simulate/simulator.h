// The usage simulator: a deterministic, realistic private cloud (tenants of skewed sizes with
// VMs, managed disks, storage accounts, public IPs, SQL/MySQL databases, key vaults and App
// Service) that produces the hourly usage records its resource providers would report, each
// with a reporting delay. For demos (`make run`), tests and benchmarks.
//
// Everything produced is a function of the options alone: the same options give the same
// tenants and the same records, in the same order, on every machine. Records of one usage hour
// do not depend on `now`, so a later `now` yields a superset (with the same record IDs) of an
// earlier one's records. Functions are reentrant and may run on several threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/time.h"
#include "domain/usage_record.h"

namespace tally::simulate {

struct SimulationOptions {
  uint64_t seed = 1;
  // The first simulated day: a UTC midnight (a later hour is floored to its midnight).
  UsageHour start;
  int days = 30;
  // Tenant subscriptions; their sizes follow weights 1/rank^0.7.
  int tenants = 20;
  // Resources over the whole period (those alive at the start plus those created later); 0
  // means 8 per tenant. At least one per tenant.
  int64_t resources = 0;
  // When non-zero and the resources would naturally report more records than this, their
  // lifetimes are shortened (at random offsets within the period, so usage stays spread over
  // all days) until the expected number of records is about this. Never adds records.
  int64_t target_records = 0;
  // Only usage hours that ended by `now` are simulated, and only records whose simulated
  // reported time is not after `now` are produced (the others "arrive later"). nullopt: the
  // whole period, every record.
  std::optional<UtcTime> now;
  // Also set domain::UsageRecord::reported_time (for operator imports of history).
  bool with_reported_time = false;
  std::string location = "local";
};

// Defaults for a demo ending at `now`: 20 tenants, 30 days ending with today, about 100k-300k
// records.
SimulationOptions MakeDefaultSimulationOptions(UtcTime now);

// InvalidArgument naming every problem: days 1-3660, tenants 1-1,000,000, resources
// 0-100,000,000, target_records >= 0, start between 1971 and 2999, location 1-128 bytes.
Status ValidateSimulationOptions(const SimulationOptions& options);

// A simulated tenant, for registering it as a subscription before its usage arrives.
struct SimulatedTenant {
  std::string subscription_id;  // lower-case GUID
  std::string owner;            // e-mail address
  std::string display_name;
  int64_t resources = 0;  // how many of the simulated resources it owns
};

// The tenants of `options`, largest first. Depends only on seed, tenants and resources.
std::vector<SimulatedTenant> MakeSimulatedTenants(const SimulationOptions& options);

struct SimulatedRecord {
  // A valid record (domain::MakeUsageRecord accepts it at `reported_time`); its reported_time
  // is set only when options.with_reported_time.
  domain::UsageRecord record;
  // When the record reaches the usage service: usage end + 5-90 minutes for most records, a
  // few hours for ~2 %, up to 2 days for ~0.2 %.
  ReportedTime reported_time;
};

// Produces every record of `options`, calling `sink` once per record in ascending reported
// time (ties in a fixed order). Memory stays bounded by a few hours of records whatever the
// period, so tens of millions of records can be streamed. The record passed to `sink` is valid
// only during the call. Options must pass ValidateSimulationOptions; otherwise nothing is
// produced.
void Simulate(const SimulationOptions& options,
              const std::function<void(const SimulatedRecord&)>& sink);

// Appends one line of the NDJSON ingest format for `record`, ending with '\n':
// {"recordId":…,"subscriptionId":…,"meterId":…,"resourceUri":…,"location":…,
//  "usageStartTime":"2024-05-01T13:00:00Z","usageEndTime":…,"quantity":<exact JSON number>,
//  "tags":{…},"additionalInfo":{…},"reportedTime":…}; tags and additionalInfo only when
// present, reportedTime only when `reported_time` is given.
void AppendRecordNdjson(std::string& out, const domain::UsageRecord& record,
                        std::optional<ReportedTime> reported_time = std::nullopt);

}  // namespace tally::simulate
