#include <simdjson.h>

#include <functional>
#include <ostream>
#include <string>
#include <unordered_map>

#include "api/http_client.h"
#include "api/query_string.h"
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

// One aggregate as the printer needs it, whether it came from the store or from a server.
struct UsageRow {
  std::string_view subscription_id;
  std::string_view usage_start;  // formatted UTC times
  std::string_view usage_end;
  std::string_view meter_id;
  std::string_view quantity;       // the exact decimal text
  std::string_view instance_data;  // the instanceData JSON string
  std::string_view properties;     // the API's properties object (JSON), for jsonl
};

// Writes the chosen format: jsonl = exactly the API's properties object per line.
class UsagePrinter {
 public:
  UsagePrinter(std::string format, std::ostream& out,
               std::function<std::string_view(std::string_view)> meter_name)
      : format_(std::move(format)), out_(out), meter_name_(std::move(meter_name)) {}

  void Header() {
    line_.clear();
    if (format_ == "table") {
      AppendTableRow(line_, "USAGE START", "USAGE END", "METER ID", "METER NAME", "QUANTITY",
                     "RESOURCE URI");
    } else if (format_ == "csv") {
      line_ = "subscriptionId,usageStartTime,usageEndTime,meterId,meterName,quantity,resourceUri\n";
    }
    out_ << line_;
  }

  void Row(const UsageRow& r) {
    line_.clear();
    if (format_ == "jsonl") {
      line_.append(r.properties).push_back('\n');
    } else if (format_ == "table") {
      AppendTableRow(line_, r.usage_start, r.usage_end, r.meter_id, meter_name_(r.meter_id),
                     r.quantity, ResourceUri(parser_, std::string(r.instance_data)));
    } else {
      for (std::string_view cell : {r.subscription_id, r.usage_start, r.usage_end, r.meter_id,
                                    meter_name_(r.meter_id)}) {
        AppendCsvCell(line_, cell);
        line_.push_back(',');
      }
      line_.append(r.quantity).push_back(',');
      AppendCsvCell(line_, ResourceUri(parser_, std::string(r.instance_data)));
      line_.push_back('\n');
    }
    out_ << line_;
  }

 private:
  std::string format_;
  std::ostream& out_;
  std::function<std::string_view(std::string_view)> meter_name_;
  simdjson::ondemand::parser parser_;
  std::string line_;
};

std::string ErrorOfAnswer(const api::ClientResponse& response) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string body(response.body);
  simdjson::ondemand::document doc;
  std::string_view code;
  std::string_view message;
  if (parser.iterate(body).get(doc) == simdjson::SUCCESS) {
    simdjson::ondemand::object error;
    if (doc["error"].get_object().get(error) == simdjson::SUCCESS) {
      if (error["code"].get_string().get(code) != simdjson::SUCCESS) code = "";
      if (error["message"].get_string().get(message) != simdjson::SUCCESS) message = "";
      return "the server answered " + std::to_string(response.status) + " " + std::string(code) +
             ": " + std::string(message);
    }
  }
  return "the server answered " + std::to_string(response.status);
}

// `tally usage --server`: reads the tenant API (or, with --provider, the operator API) page by
// page, following nextLink the way Get-UsageAggregates does.
int RunUsageRemote(const UsageArgs& args, const query::UsageQuery& q, CliEnv& env) {
  if (args.token.empty()) return Fail(env, kExitUsage, "--server needs --token");
  api::HttpClientOptions options;
  options.ca_file = args.ca_cert;
  Result<std::unique_ptr<api::HttpClient>> client = api::HttpClient::Make(args.server, options);
  if (!client.ok()) return FailStatus(env, client.status());

  std::string target;
  std::string query = "api-version=2015-06-01-preview&reportedStartTime=" +
                      api::PercentEncode(FormatUtcTime(q.reported_start)) +
                      "&reportedEndTime=" + api::PercentEncode(FormatUtcTime(q.reported_end)) +
                      "&aggregationGranularity=" +
                      std::string(domain::GranularityName(q.granularity));
  if (args.provider.empty()) {
    target = "/subscriptions/" + AsciiLower(args.subscription) +
             "/providers/Microsoft.Commerce/UsageAggregates?" + query;
  } else {
    if (!args.subscription.empty()) query += "&subscriberId=" + AsciiLower(args.subscription);
    target = "/subscriptions/" + AsciiLower(args.provider) +
             "/providers/Microsoft.Commerce.Admin/subscriberUsageAggregates?" + query;
  }
  const api::HeaderList headers = {{"Authorization", "Bearer " + args.token},
                                   {"Accept", "application/json"}};

  const domain::MeterCatalog& catalog = domain::MeterCatalog::Builtin();
  UsagePrinter printer(args.format, env.out, [&](std::string_view id) -> std::string_view {
    const domain::Meter* m = catalog.Find(id);
    return m == nullptr ? std::string_view() : std::string_view(m->name);
  });
  printer.Header();

  simdjson::ondemand::parser parser;
  std::string origin = (*client)->Origin();
  for (int page = 0; !target.empty(); ++page) {
    Result<api::ClientResponse> answer = (*client)->Send(api::Method::kGet, target, headers, {});
    if (!answer.ok()) return FailStatus(env, answer.status());
    if (answer->status != 200) return Fail(env, kExitFailure, ErrorOfAnswer(*answer));
    simdjson::padded_string body(answer->body);
    simdjson::ondemand::document doc;
    simdjson::ondemand::array values;
    if (parser.iterate(body).get(doc) != simdjson::SUCCESS ||
        doc["value"].get_array().get(values) != simdjson::SUCCESS) {
      return Fail(env, kExitFailure, "page " + std::to_string(page + 1) +
                                         " of the answer has no 'value' array");
    }
    for (simdjson::ondemand::value item : values) {
      simdjson::ondemand::object properties;
      if (item["properties"].get_object().get(properties) != simdjson::SUCCESS) {
        return Fail(env, kExitFailure, "an aggregate without properties");
      }
      std::string_view raw;
      if (properties.raw_json().get(raw) != simdjson::SUCCESS) {
        return Fail(env, kExitFailure, "an unreadable aggregate");
      }
      properties.reset();
      UsageRow row;
      row.properties = TrimSpace(raw);
      std::string_view start;
      std::string_view end;
      bool ok = properties["subscriptionId"].get_string().get(row.subscription_id) ==
                    simdjson::SUCCESS &&
                properties["usageStartTime"].get_string().get(start) == simdjson::SUCCESS &&
                properties["usageEndTime"].get_string().get(end) == simdjson::SUCCESS;
      std::string start_text(start);
      std::string end_text(end);
      ok = ok && properties["instanceData"].get_string().get(row.instance_data) ==
                     simdjson::SUCCESS;
      if (ok) {
        simdjson::ondemand::value quantity;
        ok = properties["quantity"].get(quantity) == simdjson::SUCCESS;
        if (ok) row.quantity = TrimSpace(quantity.raw_json_token());
      }
      ok = ok && properties["meterId"].get_string().get(row.meter_id) == simdjson::SUCCESS;
      if (!ok) return Fail(env, kExitFailure, "an aggregate lacks a documented property");
      Result<UtcTime> s = ParseUtcTime(start_text);
      Result<UtcTime> e = ParseUtcTime(end_text);
      if (s.ok()) start_text = FormatUtcTime(*s);
      if (e.ok()) end_text = FormatUtcTime(*e);
      row.usage_start = start_text;
      row.usage_end = end_text;
      printer.Row(row);
    }
    std::string_view next;
    target.clear();
    if (doc["nextLink"].get_string().get(next) == simdjson::SUCCESS && !next.empty()) {
      // nextLink is absolute; follow it verbatim, to another origin if it says so.
      const size_t scheme_end = next.find("://");
      const size_t path = scheme_end == std::string_view::npos
                              ? std::string_view::npos
                              : next.find('/', scheme_end + 3);
      if (path == std::string_view::npos) {
        return Fail(env, kExitFailure, "nextLink '" + std::string(next) + "' is not absolute");
      }
      if (next.substr(0, path) != origin) {
        Result<std::unique_ptr<api::HttpClient>> other = api::HttpClient::Make(next, options);
        if (!other.ok()) return FailStatus(env, other.status());
        if ((*other)->Origin() != origin) {
          *client = std::move(*other);
          origin = (*client)->Origin();
        }
      }
      target = std::string(next.substr(path));
    }
  }
  env.out.flush();
  return kExitOk;
}

}  // namespace

int RunUsage(const UsageArgs& args, CliEnv& env) {
  if (args.format != "table" && args.format != "csv" && args.format != "jsonl") {
    return Fail(env, kExitUsage, "--format must be table, csv or jsonl");
  }
  const bool remote_operator = !args.server.empty() && !args.provider.empty();
  if (!(remote_operator && args.subscription.empty()) && !IsGuid(args.subscription)) {
    return Fail(env, kExitUsage, "--subscription '" + args.subscription + "' is not a GUID");
  }
  if (!args.provider.empty() && args.server.empty()) {
    return Fail(env, kExitUsage, "--provider reads the operator API of a server: give --server");
  }
  if (!args.provider.empty() && !IsGuid(args.provider)) {
    return Fail(env, kExitUsage, "--provider '" + args.provider + "' is not a GUID");
  }
  query::UsageQuery q;
  if (!args.subscription.empty()) q.subscription_ids = {AsciiLower(args.subscription)};
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
  if (!args.server.empty()) return RunUsageRemote(args, q, env);

  Result<std::unique_ptr<store::UsageStore>> store = OpenStore(args.data_dir, false, env.clock);
  if (!store.ok()) return Fail(env, kExitFailure, store.status().message());

  std::unordered_map<std::string, std::string> meter_names;
  if (args.format != "jsonl") {
    Result<std::vector<domain::Meter>> meters = (*store)->ListMeters();
    if (!meters.ok()) return Fail(env, kExitFailure, meters.status().message());
    for (const domain::Meter& m : *meters) meter_names[domain::MeterKey(m.id)] = m.name;
  }
  UsagePrinter printer(args.format, env.out, [&](std::string_view meter_id) -> std::string_view {
    auto it = meter_names.find(domain::MeterKey(meter_id));
    return it == meter_names.end() ? std::string_view() : std::string_view(it->second);
  });
  printer.Header();

  query::UsageQueryService service(**store, env.clock);
  std::string properties;
  const Status status = service.ForEach(q, [&](const domain::UsageAggregate& a) {
    properties.clear();
    domain::AppendAggregatePropertiesJson(properties, a);
    const std::string start = FormatUtcTime(a.usage_start);
    const std::string end = FormatUtcTime(a.usage_end);
    const std::string quantity = a.quantity.ToString();
    printer.Row(UsageRow{a.subscription_id, start, end, a.meter_id, quantity, a.instance_data,
                         properties});
  });
  env.out.flush();
  if (!status.ok()) return FailStatus(env, status);
  return kExitOk;
}

}  // namespace tally::cli
