#include "domain/aggregate.h"

#include "common/json_writer.h"
#include "common/strings.h"

namespace tally::domain {

std::string_view GranularityName(Granularity g) {
  return g == Granularity::kHourly ? "Hourly" : "Daily";
}

Result<Granularity> ParseGranularity(std::string_view s) {
  if (EqualsIgnoreCase(s, "hourly")) return Granularity::kHourly;
  if (EqualsIgnoreCase(s, "daily")) return Granularity::kDaily;
  return InvalidArgument("granularity must be Hourly or Daily, not '" +
                         std::string(s.substr(0, 32)) + "'");
}

AggregateKey AggregateKeyView::ToKey() const {
  return AggregateKey{std::string(subscription_id), usage_start_hours, std::string(meter_key),
                      instance_id};
}

std::string FormatInstanceData(std::string_view resource_uri, std::string_view location,
                               const OptionalProperties& tags,
                               const OptionalProperties& additional_info) {
  std::string out;
  out.reserve(64 + resource_uri.size());
  JsonWriter w(out);
  w.BeginObject().Key("Microsoft.Resources").BeginObject();
  w.Key("resourceUri").String(resource_uri);
  w.Key("location").String(location);
  std::string props;
  AppendPropertiesJson(props, tags);
  w.Key("tags").Raw(props);
  props.clear();
  AppendPropertiesJson(props, additional_info);
  w.Key("additionalInfo").Raw(props);
  w.EndObject().EndObject();
  return out;
}

void AppendAggregatePropertiesJson(std::string& out, const UsageAggregate& a) {
  JsonWriter w(out);
  w.BeginObject();
  w.Key("subscriptionId").String(a.subscription_id);
  w.Key("usageStartTime").Time(a.usage_start, ZoneStyle::kPlusZero);
  w.Key("usageEndTime").Time(a.usage_end, ZoneStyle::kPlusZero);
  w.Key("instanceData").String(a.instance_data);
  w.Key("quantity").Number(a.quantity);
  w.Key("meterId").String(a.meter_id);
  w.EndObject();
}

}  // namespace tally::domain
