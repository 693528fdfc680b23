// Usage aggregates: the hourly or daily sum of one meter of one resource instance of one
// subscription, by usage time, over the records reported in a window. Values only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/decimal.h"
#include "common/status.h"
#include "common/time.h"
#include "domain/usage_record.h"

namespace tally::domain {

enum class Granularity { kHourly, kDaily };
std::string_view GranularityName(Granularity g);  // "Hourly" | "Daily"
// Case-insensitive "hourly" / "daily".
Result<Granularity> ParseGranularity(std::string_view s);

// Where an aggregate sits in the order every query returns: subscription ID, usage start,
// meter key (upper-case meter ID), instance ID (a store-assigned number for one
// (resourceUri, location, tags, additionalInfo)). Continuation cursors are these keys.
struct AggregateKey {
  std::string subscription_id;
  int64_t usage_start_hours = 0;
  std::string meter_key;
  uint64_t instance_id = 0;

  auto operator<=>(const AggregateKey&) const = default;
};

// The same position as views, as each aggregate row carries it (see UsageAggregate for how
// long the views live). ToKey() makes the owning AggregateKey that a cursor needs.
struct AggregateKeyView {
  std::string_view subscription_id;
  int64_t usage_start_hours = 0;
  std::string_view meter_key;
  uint64_t instance_id = 0;

  AggregateKey ToKey() const;
  auto operator<=>(const AggregateKeyView&) const = default;
};

// One aggregate. Its text members are views, not copies: a store returns them pointing into
// text that the page carrying the rows keeps alive (store::AggregatePage::text), so a row is
// a small fixed-size value however long its instanceData is. Copy the text (or keep the page)
// to use a row after its page is gone.
struct UsageAggregate {
  AggregateKeyView key;
  std::string_view subscription_id;
  std::string_view meter_id;  // as the catalog spells it
  UtcTime usage_start;
  UtcTime usage_end;
  Decimal quantity;
  std::string_view instance_data;  // JSON text, see FormatInstanceData
};

// {"Microsoft.Resources":{"resourceUri":…,"location":…,"tags":…,"additionalInfo":…}}
std::string FormatInstanceData(std::string_view resource_uri, std::string_view location,
                               const OptionalProperties& tags,
                               const OptionalProperties& additional_info);

// The `properties` object of the API's UsageAggregate (contract §1), as one line of JSON:
// subscriptionId, usageStartTime, usageEndTime, instanceData, quantity, meterId.
void AppendAggregatePropertiesJson(std::string& out, const UsageAggregate& a);

// The same for many rows of one page, faster: instanceData is a JSON text inside a JSON string,
// so escaping it is most of the work, and an instance recurs on many rows. Each distinct
// instanceData (by address: the rows' views into their page's text) is escaped once. Use one
// writer per page: it must not outlive the text the rows view. Not thread-safe.
class AggregatePropertiesWriter {
 public:
  void Append(std::string& out, const UsageAggregate& a);

 private:
  struct Escaped {
    size_t size = 0;  // of the instanceData text
    std::string text;
  };
  std::unordered_map<const char*, Escaped> escaped_;  // by instance_data.data()
};

}  // namespace tally::domain
