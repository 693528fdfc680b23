// The Partner Center utilization API (contract §8), for cloud solution providers whose tools
// read Azure usage that way:
//   GET /v1/customers/{customerId}/subscriptions/{subscriptionId}/utilizations/azure
//       ?start_time=&end_time=[&granularity=daily|hourly][&show_details=][&size=1..1000]
//       [&seek_operation=Next + header MS-ContinuationToken]
// The same aggregates as the tenant usage API (selected by reported time, summed by usage
// hour or day, one row per resource instance), in the AzureUtilizationRecord shape, paged by
// `links.next` with the token in a header as the Partner Center SDK follows it. Errors use
// Partner Center's body {"code","description","source"}. Decisions: docs/api.md.
#include <simdjson.h>

#include <algorithm>
#include <map>
#include <string>

#include "api/api_service.h"
#include "api/auth.h"
#include "api/continuation_token.h"
#include "api/errors.h"
#include "api/query_string.h"
#include "common/json_writer.h"
#include "common/strings.h"
#include "domain/meter.h"

namespace tally::api {
namespace {

constexpr size_t kMaxUtilizationPageSize = 1000;

// Partner Center's error body, with the status (and 401/503 headers) ErrorResponse chooses.
HttpResponse PartnerCenterError(const Status& status, std::string_view code = {}) {
  HttpResponse r = ErrorResponse(status, code);
  r.body.clear();
  JsonWriter w(r.body);
  w.BeginObject();
  w.Key("code").String(r.error_code);
  w.Key("description").String(status.message().substr(0, 1024));
  w.Key("source").String("Tally");
  w.EndObject();
  return r;
}

HttpResponse BadInput(std::string message) {
  return PartnerCenterError(InvalidArgument(std::move(message)), "InvalidInput");
}

// Writes the members of a JSON object value (`{...}` or null) without its braces, so more
// members can follow.
void AppendMembers(JsonWriter& w, simdjson::dom::element value) {
  simdjson::dom::object object;
  if (value.get_object().get(object) != simdjson::SUCCESS) return;
  for (auto [key, v] : object) {
    std::string_view text;
    if (v.get_string().get(text) != simdjson::SUCCESS) continue;  // Tally stores strings only
    w.Key(key).String(text);
  }
}

struct MeterInfo {
  std::string name;
  std::string unit;
  std::string family;
};

// "MM/dd/yyyy HH:mm:ss", the form of azureStack.EventDateTime in Partner Center's records.
std::string EventDateTime(UtcTime t) {
  const std::string iso = FormatUtcTime(t);  // yyyy-MM-ddTHH:mm:ss...
  return iso.substr(5, 2) + "/" + iso.substr(8, 2) + "/" + iso.substr(0, 4) + " " +
         iso.substr(11, 8);
}

void WriteUtilizationRecord(JsonWriter& w, const domain::UsageAggregate& a,
                            const std::map<std::string, MeterInfo>& meters,
                            simdjson::dom::parser& parser) {
  auto meter = meters.find(domain::MeterKey(a.meter_id));
  static const MeterInfo kUnknownMeter;
  const MeterInfo& info = meter == meters.end() ? kUnknownMeter : meter->second;
  std::string_view resource_uri;
  std::string_view location;
  simdjson::dom::element resources;
  simdjson::dom::element tags;
  simdjson::dom::element additional;
  const bool parsed =
      parser.parse(a.instance_data.data(), a.instance_data.size())["Microsoft.Resources"].get(
          resources) == simdjson::SUCCESS;
  // What the store wrote is well-formed; a member that is missing stays empty.
  const auto string_member = [&](const char* name, std::string_view& out) {
    if (resources[name].get_string().get(out) != simdjson::SUCCESS) out = {};
  };
  bool has_tags = false;
  bool has_additional = false;
  if (parsed) {
    string_member("resourceUri", resource_uri);
    string_member("location", location);
    has_tags = resources["tags"].get(tags) == simdjson::SUCCESS;
    has_additional = resources["additionalInfo"].get(additional) == simdjson::SUCCESS;
  }
  w.BeginObject();
  w.Key("usageStartTime").Time(a.usage_start, ZoneStyle::kPlusZero);
  w.Key("usageEndTime").Time(a.usage_end, ZoneStyle::kPlusZero);
  w.Key("resource").BeginObject();
  w.Key("id").String(a.meter_id);
  w.Key("name").String(info.name);
  w.Key("category").String(info.family);
  w.Key("subcategory").String("");
  w.Key("region").String("Azure Stack");
  w.EndObject();
  w.Key("quantity").Number(a.quantity);
  w.Key("unit").String(info.unit);
  w.Key("infoFields").BeginObject().EndObject();
  w.Key("instanceData").BeginObject();
  w.Key("resourceUri").String(resource_uri);
  w.Key("location").String(location);
  w.Key("partNumber").String("");
  w.Key("orderNumber").String("");
  w.Key("tags").BeginObject();
  if (has_tags) AppendMembers(w, tags);
  w.EndObject();
  w.Key("additionalInfo").BeginObject();
  if (has_additional) AppendMembers(w, additional);
  w.Key("azureStack.MeterId").String(a.meter_id);
  w.Key("azureStack.SubscriptionId").String(a.subscription_id);
  w.Key("azureStack.Location").String(location);
  w.Key("azureStack.EventDateTime").String(EventDateTime(a.usage_start));
  w.EndObject();
  w.EndObject();
  w.Key("attributes").BeginObject().Key("objectType").String("AzureUtilizationRecord").EndObject();
  w.EndObject();
}

// {"uri": …, "method": "GET", "headers": [{"key": …, "value": …}]}
void WriteLink(JsonWriter& w, std::string_view uri, std::string_view token) {
  w.BeginObject();
  w.Key("uri").String(uri);
  w.Key("method").String("GET");
  w.Key("headers").BeginArray();
  if (!token.empty()) {
    w.BeginObject().Key("key").String("MS-ContinuationToken").Key("value").String(token);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

}  // namespace

HttpResponse ApiService::GetAzureUtilizations(const HttpRequest& request,
                                              const PathParams& params) const {
  Result<domain::ApiKey> key = AuthenticateBearer(store_, request);
  if (!key.ok()) return PartnerCenterError(key.status());
  const std::string customer_id = AsciiLower(params.Get("customerId"));
  const std::string subscription_id = AsciiLower(params.Get("subscriptionId"));
  const auto forbidden = [&] {
    return PartnerCenterError(PermissionDenied(
        "the client is not authorized to read usage of subscription '" + subscription_id + "'"));
  };

  // Who may read: a tenant key its own subscriptions; an operator key the direct tenants of
  // the provider it acts for (as on the operator usage API); a reporter key nothing.
  Result<bool> allowed = MayReadSubscription(store_, *key, subscription_id);
  if (!allowed.ok()) return PartnerCenterError(allowed.status());
  if (!*allowed) return forbidden();
  Result<std::optional<domain::Customer>> customer = store_.FindCustomer(customer_id);
  if (!customer.ok()) return PartnerCenterError(customer.status());
  const bool owned =
      *customer && std::binary_search((*customer)->subscription_ids.begin(),
                                      (*customer)->subscription_ids.end(), subscription_id);
  if (!owned) {
    return PartnerCenterError(
        NotFound("customer '" + customer_id + "' has no subscription '" + subscription_id + "'"));
  }

  // Parameters.
  Result<QueryString> q = QueryString::Parse(request.RawQuery());
  if (!q.ok()) return BadInput(q.status().message());
  for (std::string_view name :
       {"start_time", "end_time", "granularity", "show_details", "size", "seek_operation"}) {
    if (q->IsRepeated(name)) {
      return BadInput("the query parameter " + std::string(name) + " is given more than once");
    }
  }
  Result<UtcTime> start = RequiredTimeParameter(*q, "start_time");
  if (!start.ok()) return BadInput(start.status().message());
  Result<UtcTime> end = RequiredTimeParameter(*q, "end_time");
  if (!end.ok()) return BadInput(end.status().message());
  query::UsageQuery query;
  query.subscription_ids = {subscription_id};
  query.reported_start = *start;
  query.reported_end = *end;
  // Reported times are kept to the hour's precision of the window, whatever the granularity
  // (Partner Center's own example starts at 08:00 UTC for daily records).
  if (!start->IsHourAligned()) {
    return BadInput("start_time " + FormatUtcTime(*start) + " must be on the hour");
  }
  if (!end->IsHourAligned()) {
    return BadInput("end_time " + FormatUtcTime(*end) + " must be on the hour");
  }
  if (*end <= *start) return BadInput("end_time must be after start_time");
  if (*end > clock_.Now()) {
    return BadInput("end_time " + FormatUtcTime(*end) + " is in the future");
  }
  if (std::optional<std::string> g = q->Find("granularity"); g && !TrimSpace(*g).empty()) {
    Result<domain::Granularity> parsed = domain::ParseGranularity(TrimSpace(*g));
    if (!parsed.ok()) {
      return BadInput("granularity '" + *g + "' is not valid: expected daily or hourly");
    }
    query.granularity = *parsed;
  } else {
    query.granularity = domain::Granularity::kDaily;
  }
  if (std::optional<std::string> d = q->Find("show_details"); d) {
    const std::string v = AsciiLower(TrimSpace(*d));
    if (v != "true" && v != "false") {
      return BadInput("show_details '" + *d + "' is not a boolean (true or false)");
    }
  }
  size_t size = kMaxUtilizationPageSize;
  if (std::optional<std::string> s = q->Find("size"); s && !TrimSpace(*s).empty()) {
    const std::string text(TrimSpace(*s));
    const bool digits = text.size() <= 4 && std::all_of(text.begin(), text.end(), [](char c) {
                          return c >= '0' && c <= '9';
                        });
    size = digits ? std::stoul(text) : 0;
    if (size < 1 || size > kMaxUtilizationPageSize) {
      return BadInput("size '" + *s + "' must be a whole number from 1 to 1000");
    }
  }
  std::optional<domain::AggregateKey> after;
  uint64_t as_of_seq = 0;
  if (std::optional<std::string> seek = q->Find("seek_operation"); seek) {
    if (!EqualsIgnoreCase(TrimSpace(*seek), "Next")) {
      return BadInput("seek_operation '" + *seek + "' is not supported: only Next is");
    }
    const std::string* header = request.Header("MS-ContinuationToken");
    if (header == nullptr || TrimSpace(*header).empty()) {
      return BadInput("seek_operation=Next needs the MS-ContinuationToken header of links.next");
    }
    Result<ContinuationToken> token = ParseContinuationToken(TrimSpace(*header), query);
    if (!token.ok()) return BadInput(token.status().message());
    after = token->after;
    as_of_seq = token->as_of_seq;
  }

  QuerySlot slot(*this);
  if (!slot.acquired()) {
    return PartnerCenterError(Unavailable("too many usage queries are running; retry later"));
  }
  store::AggregateQuery sq;
  sq.subscription_ids = query.subscription_ids;
  sq.reported_from = ReportedTime(query.reported_start);
  sq.reported_to = ReportedTime(query.reported_end);
  sq.granularity = query.granularity;
  sq.after = after;
  sq.as_of_seq = as_of_seq;
  sq.limit = size;
  Result<store::AggregatePage> page = store_.AggregateUsage(sq);
  if (!page.ok()) return PartnerCenterError(page.status());
  Result<std::vector<domain::Meter>> meter_list = store_.ListMeters();
  if (!meter_list.ok()) return PartnerCenterError(meter_list.status());
  std::map<std::string, MeterInfo> meters;
  for (const domain::Meter& m : *meter_list) {
    meters[domain::MeterKey(m.id)] = MeterInfo{m.name, m.unit, m.family};
  }

  HttpResponse r;
  JsonWriter w(r.body);
  w.BeginObject();
  w.Key("totalCount").Int(static_cast<int64_t>(page->rows.size()));
  w.Key("items").BeginArray();
  simdjson::dom::parser parser;
  for (const domain::UsageAggregate& a : page->rows) WriteUtilizationRecord(w, a, meters, parser);
  w.EndArray();
  // Links are relative to /v1/, as Partner Center writes them.
  std::string self(request.Path());
  if (self.rfind("/v1/", 0) == 0) self.erase(0, 4);
  const std::string rest = q->RawWithout("seek_operation");
  w.Key("links").BeginObject();
  w.Key("self");
  WriteLink(w, rest.empty() ? self : self + "?" + rest, {});
  if (page->has_more && !page->rows.empty()) {
    const ContinuationToken next{page->rows.back().key.ToKey(), page->as_of_seq};
    w.Key("next");
    WriteLink(w, self + "?" + (rest.empty() ? "" : rest + "&") + "seek_operation=Next",
              FormatContinuationToken(next, query));
  }
  w.EndObject();
  w.Key("attributes").BeginObject().Key("objectType").String("Collection").EndObject();
  w.EndObject();
  return r;
}

}  // namespace tally::api
