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

namespace {

// `escaped_instance_data`: the instanceData text escaped for a JSON string, without quotes.
void AppendProperties(std::string& out, const UsageAggregate& a,
                      std::string_view escaped_instance_data) {
  JsonWriter w(out);
  w.BeginObject();
  w.Key("subscriptionId").String(a.subscription_id);
  w.Key("usageStartTime").Time(a.usage_start, ZoneStyle::kPlusZero);
  w.Key("usageEndTime").Time(a.usage_end, ZoneStyle::kPlusZero);
  w.Key("instanceData").Raw("\"");
  out.append(escaped_instance_data);
  out.push_back('"');
  w.Key("quantity").Number(a.quantity);
  w.Key("meterId").String(a.meter_id);
  w.EndObject();
}

}  // namespace

void AppendAggregatePropertiesJson(std::string& out, const UsageAggregate& a) {
  std::string escaped;
  AppendJsonEscaped(escaped, a.instance_data);
  AppendProperties(out, a, escaped);
}

void AggregatePropertiesWriter::Append(std::string& out, const UsageAggregate& a) {
  auto [it, inserted] = escaped_.try_emplace(a.instance_data.data());
  Escaped& e = it->second;
  // The same address with another length would be another string only if the page's text
  // were freed and reused, which a writer used within one page never sees; checked anyway.
  if (inserted || e.size != a.instance_data.size()) {
    e.size = a.instance_data.size();
    e.text.clear();
    AppendJsonEscaped(e.text, a.instance_data);
  }
  AppendProperties(out, a, e.text);
}

}  // namespace tally::domain
