// Meters: what a usage quantity measures. The built-in catalog (every Azure Stack Hub meter of
// the contract's §6) is compiled into the binary from data/meters.tsv; operators add custom
// meters and name unknown ones in the store. Meter IDs match case-insensitively and are always
// emitted as the catalog spells them. MeterCatalog is immutable after construction and safe to
// share between threads.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"

namespace tally::domain {

enum class MeterSource {
  kBuiltin,  // from the Azure Stack Hub catalog
  kCustom,   // added by an operator
  kUnknown,  // first seen in usage, not yet named by an operator
};
std::string_view MeterSourceName(MeterSource s);
Result<MeterSource> ParseMeterSource(std::string_view s);

struct Meter {
  std::string id;      // as emitted, e.g. "F271A8A388C44D93956A063E1D2FA80B"
  std::string name;    // e.g. "Static IP Address Usage"
  std::string unit;    // e.g. "IP addresses"
  std::string family;  // resource-provider family: Network, Storage, Compute, ...
  std::string notes;
  bool deprecated = false;
  // True when an hour's quantity is a level held for the hour (IPs, GB, vcores), so a daily
  // aggregate is the level multiplied by the hours (the sum of the hourly counts); false for
  // event counts (transactions, egress), whose daily aggregate is simply their total.
  bool hourly_level = true;
  MeterSource source = MeterSource::kBuiltin;

  bool operator==(const Meter&) const = default;
};

// The key under which a meter ID is matched: its upper-case form.
std::string MeterKey(std::string_view meter_id);

class MeterCatalog {
 public:
  // The built-in Azure Stack Hub catalog.
  static const MeterCatalog& Builtin();
  // Parses the tab-separated catalog format of data/meters.tsv (see docs/storage.md).
  static Result<MeterCatalog> Parse(std::string_view tsv);

  const std::vector<Meter>& meters() const { return meters_; }
  // Case-insensitive lookup; nullptr when the ID is not in the catalog.
  const Meter* Find(std::string_view meter_id) const;

 private:
  std::vector<Meter> meters_;
  std::unordered_map<std::string, size_t> by_key_;
};

}  // namespace tally::domain
