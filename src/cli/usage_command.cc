#include <simdjson.h>

#include <string>
#include <unordered_map>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/table.h"
#include "common/strings.h"
#include "domain/aggregate.h"
#include "domain/meter.h"
#include "query/usage_query.h"

namespace tally::cli {
namespace {

// The resourceUri inside an aggregate's instanceData JSON ("" if it has none).
std::string ResourceUri(simdjson::ondemand::parser& parser, const std::string& instance_data) {
  simdjson::padded_string padded(instance_data);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) return {};
  std::string_view uri;
  if (doc["Microsoft.Resources"]["resourceUri"].get_string().get(uri) != simdjson::SUCCESS) {
    return {};
  }
  return std::string(uri);
}

void AppendCsvCell(std::string& out, std::string_view cell) {
  if (cell.find_first_of(",\"\r\n") == std::string_view::npos) {
    out.append(cell);
    return;
  }
  out.push_back('"');
  for (char c : cell) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

// Fixed widths, so the table streams in constant memory however many rows there are; longer
// values push their row out of line rather than being cut.
constexpr size_t kTimeWidth = 20;     // 2024-05-01T13:00:00Z
constexpr size_t kMeterIdWidth = 36;  // a GUID with hyphens
constexpr size_t kNameWidth = 32;
constexpr size_t kQuantityWidth = 22;

void AppendTableRow(std::string& line, std::string_view start, std::string_view end,
                    std::string_view meter_id, std::string_view name, std::string_view quantity,
                    std::string_view uri) {
  AppendPadded(line, start, kTimeWidth);
  line.append("  ");
  AppendPadded(line, end, kTimeWidth);
  line.append("  ");
  AppendPadded(line, meter_id, kMeterIdWidth);
  line.append("  ");
  AppendPadded(line, name, kNameWidth);
  line.append("  ");
  AppendPadded(line, quantity, kQuantityWidth, /*right=*/true);
  line.append("  ");
  line.append(uri);
  line.push_back('\n');
}

}  // namespace

int RunUsage(const UsageArgs& args, CliEnv& env) {
  if (args.format != "table" && args.format != "csv" && args.format != "jsonl") {
    return Fail(env, kExitUsage, "--format must be table, csv or jsonl");
  }
  if (!IsGuid(args.subscription)) {
    return Fail(env, kExitUsage, "--subscription '" + args.subscription + "' is not a GUID");
  }
  query::UsageQuery q;
  q.subscription_ids = {AsciiLower(args.subscription)};
  Result<UtcTime> from = ParseUtcTime(args.from);
  if (!from.ok()) return Fail(env, kExitUsage, "--from: " + from.status().message());
  Result<UtcTime> to = ParseUtcTime(args.to);
  if (!to.ok()) return Fail(env, kExitUsage, "--to: " + to.status().message());
  Result<domain::Granularity> granularity = domain::ParseGranularity(args.granularity);
  if (!granularity.ok()) {
    return Fail(env, kExitUsage, "--granularity must be Hourly or Daily");
  }
  q.reported_start = *from;
  q.reported_end = *to;
  q.granularity = *granularity;
  if (std::optional<query::QueryError> e = query::CheckWindow(q, env.clock.Now())) {
    return Fail(env, kExitUsage, e->message);
  }

  Result<std::unique_ptr<store::UsageStore>> store = OpenStore(args.data_dir, false, env.clock);
  if (!store.ok()) return Fail(env, kExitFailure, store.status().message());

  std::unordered_map<std::string, std::string> meter_names;
  if (args.format != "jsonl") {
    Result<std::vector<domain::Meter>> meters = (*store)->ListMeters();
    if (!meters.ok()) return Fail(env, kExitFailure, meters.status().message());
    for (const domain::Meter& m : *meters) meter_names[domain::MeterKey(m.id)] = m.name;
  }
  const auto name_of = [&](const std::string& meter_id) -> std::string_view {
    auto it = meter_names.find(domain::MeterKey(meter_id));
    return it == meter_names.end() ? std::string_view() : std::string_view(it->second);
  };

  std::string line;
  if (args.format == "table") {
    AppendTableRow(line, "USAGE START", "USAGE END", "METER ID", "METER NAME", "QUANTITY",
                   "RESOURCE URI");
  } else if (args.format == "csv") {
    line = "subscriptionId,usageStartTime,usageEndTime,meterId,meterName,quantity,resourceUri\n";
  }
  env.out << line;

  simdjson::ondemand::parser parser;
  query::UsageQueryService service(**store, env.clock);
  const Status status = service.ForEach(q, [&](const domain::UsageAggregate& a) {
    line.clear();
    if (args.format == "jsonl") {
      domain::AppendAggregatePropertiesJson(line, a);
      line.push_back('\n');
    } else if (args.format == "table") {
      AppendTableRow(line, FormatUtcTime(a.usage_start), FormatUtcTime(a.usage_end), a.meter_id,
                     name_of(a.meter_id), a.quantity.ToString(),
                     ResourceUri(parser, a.instance_data));
    } else {
      const std::string start = FormatUtcTime(a.usage_start);
      const std::string end = FormatUtcTime(a.usage_end);
      for (std::string_view cell : {std::string_view(a.subscription_id), std::string_view(start),
                                    std::string_view(end), std::string_view(a.meter_id)}) {
        AppendCsvCell(line, cell);
        line.push_back(',');
      }
      AppendCsvCell(line, name_of(a.meter_id));
      line.push_back(',');
      line.append(a.quantity.ToString());
      line.push_back(',');
      AppendCsvCell(line, ResourceUri(parser, a.instance_data));
      line.push_back('\n');
    }
    env.out << line;
  });
  env.out.flush();
  if (!status.ok()) return FailStatus(env, status);
  return kExitOk;
}

}  // namespace tally::cli
