// GET /subscriptions/{subscriptionId}/providers/Microsoft.Commerce/UsageAggregates: the Azure
// Stack Hub tenant usage API (contract §1, §3-§5).
//
// Decisions where the contract leaves a choice (§3, §12):
// - An api-version other than 2015-06-01-preview (compared case-insensitively) is refused with
//   400 InvalidApiVersionParameter, the code public ARM uses: answering some other version
//   with this version's shape could silently mislead a newer client.
// - Missing or unparseable times, a misaligned window, end <= start and a bad
//   continuationToken are 400 InvalidProperty naming the property.
// - showDetails must be a boolean if present (true/false/$true/$false, any case) but is
//   otherwise ignored: Azure Stack Hub does not support it and always answers instance-level.
// - Authorization is checked before parameters, and a subscription the key may not read gets
//   the same 403 whether or not it exists.
#include <algorithm>
#include <string>

#include "api/api_service.h"
#include "api/auth.h"
#include "api/continuation_token.h"
#include "api/errors.h"
#include "api/query_string.h"
#include "common/json_writer.h"
#include "common/strings.h"

namespace tally::api {
namespace {

HttpResponse Forbidden(std::string_view subscription_id) {
  return ErrorResponse(
      PermissionDenied("the client is not authorized to read usage of subscription '" +
                       std::string(subscription_id) + "'"));
}

HttpResponse InvalidProperty(std::string message) {
  return ErrorResponse(InvalidArgument(std::move(message)), "InvalidProperty");
}

Result<UtcTime> RequiredTime(const QueryString& query, std::string_view name) {
  std::optional<std::string> text = query.Find(name);
  if (!text || TrimSpace(*text).empty()) {
    return InvalidArgument("the query parameter " + std::string(name) + " is required");
  }
  Result<UtcTime> t = ParseUtcTime(TrimSpace(*text));
  if (!t.ok()) {
    return InvalidArgument("the query parameter " + std::string(name) + " '" + *text +
                           "' is not a valid date-time: " + t.status().message());
  }
  return t;
}

bool IsBoolean(std::string_view s) {
  if (!s.empty() && s.front() == '$') s.remove_prefix(1);  // PowerShell sends "$True"
  return EqualsIgnoreCase(s, "true") || EqualsIgnoreCase(s, "false");
}

// The scheme://host:port the client called, so that clients that jump to nextLink's host stay
// on this server. A Host header with anything but host-name characters is not trusted.
std::string BaseUrl(const HttpRequest& request) {
  const std::string* host = request.Header("Host");
  bool usable = host != nullptr && !host->empty() && host->size() <= 255;
  if (usable) {
    for (char c : *host) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
      if (!ok) usable = false;
    }
  }
  return "http://" + (usable ? *host : request.local_authority);
}

}  // namespace

HttpResponse ApiService::GetUsageAggregates(const HttpRequest& request,
                                            const PathParams& params) const {
  Result<domain::ApiKey> key = AuthenticateBearer(store_, request);
  if (!key.ok()) return ErrorResponse(key.status());
  const std::string subscription_id = AsciiLower(params.Get("subscriptionId"));
  switch (key->role) {
    case domain::Role::kTenant: {
      const auto& subs = key->subscriptions;
      const bool allowed = std::any_of(subs.begin(), subs.end(), [&](const std::string& s) {
        return EqualsIgnoreCase(s, subscription_id);
      });
      if (!allowed) return Forbidden(subscription_id);
      break;
    }
    case domain::Role::kOperator:
      break;
    case domain::Role::kReporter:
      return Forbidden(subscription_id);
  }

  Result<QueryString> qs = QueryString::Parse(request.RawQuery());
  if (!qs.ok()) return InvalidProperty(qs.status().message());

  const std::optional<std::string> api_version = qs->Find("api-version");
  if (!api_version || api_version->empty()) {
    return ErrorResponse(InvalidArgument("the query parameter api-version is required; use " +
                                         std::string(kUsageApiVersion)),
                         "NoApiVersion");
  }
  if (!EqualsIgnoreCase(*api_version, kUsageApiVersion)) {
    return ErrorResponse(
        InvalidArgument("api-version '" + *api_version + "' is not supported; use " +
                        std::string(kUsageApiVersion)),
        "InvalidApiVersionParameter");
  }
  if (!IsGuid(subscription_id)) {
    return InvalidProperty("subscriptionId '" + subscription_id + "' is not a GUID");
  }

  query::UsageQuery q;
  q.subscription_ids = {subscription_id};
  Result<UtcTime> start = RequiredTime(*qs, "reportedStartTime");
  if (!start.ok()) return InvalidProperty(start.status().message());
  Result<UtcTime> end = RequiredTime(*qs, "reportedEndTime");
  if (!end.ok()) return InvalidProperty(end.status().message());
  q.reported_start = *start;
  q.reported_end = *end;

  if (std::optional<std::string> g = qs->Find("aggregationGranularity"); g && !g->empty()) {
    Result<domain::Granularity> granularity = domain::ParseGranularity(*g);
    if (!granularity.ok()) {
      return ErrorResponse(
          InvalidArgument("aggregationGranularity '" + *g + "' is not valid; use Daily or Hourly"),
          "InvalidAggregationGranularity");
    }
    q.granularity = *granularity;
  }
  if (std::optional<std::string> d = qs->Find("showDetails"); d && !IsBoolean(*d)) {
    return InvalidProperty("showDetails '" + *d + "' is not a boolean (true or false)");
  }

  if (std::optional<query::QueryError> e = query::CheckWindow(q, clock_.Now())) {
    switch (e->kind) {
      case query::QueryError::Kind::kInvalidProperty:
        return InvalidProperty(e->message);
      case query::QueryError::Kind::kEndInFuture:
        return ErrorResponse(InvalidArgument(e->message), "RequestEndTimeIsInFuture");
      case query::QueryError::Kind::kInvalidGranularity:
        return ErrorResponse(InvalidArgument(e->message), "InvalidAggregationGranularity");
    }
  }

  std::optional<domain::AggregateKey> after;
  uint64_t as_of_seq = 0;
  if (std::optional<std::string> t = qs->Find("continuationToken"); t && !t->empty()) {
    Result<ContinuationToken> token = ParseContinuationToken(*t, q);
    if (!token.ok()) return InvalidProperty(token.status().message());
    after = token->after;
    as_of_seq = token->as_of_seq;
  }

  Result<store::AggregatePage> page = query_.Page(q, after, as_of_seq, kUsagePageSize);
  if (!page.ok()) {
    if (page.status().code() == StatusCode::kInvalidArgument) {
      return InvalidProperty(page.status().message());
    }
    return ErrorResponse(page.status());
  }

  HttpResponse r;
  r.body.reserve(page->rows.size() * 600 + 64);
  JsonWriter w(r.body);
  w.BeginObject().Key("value").BeginArray();
  std::string name;
  for (const domain::UsageAggregate& a : page->rows) {
    name = a.subscription_id + "-" + a.meter_id;
    w.BeginObject();
    w.Key("id").String("/subscriptions/" + a.subscription_id +
                       "/providers/Microsoft.Commerce/UsageAggregate/" + name);
    w.Key("name").String(name);
    w.Key("type").String("Microsoft.Commerce/UsageAggregate");
    std::string properties;
    domain::AppendAggregatePropertiesJson(properties, a);
    w.Key("properties").Raw(properties);
    w.EndObject();
  }
  w.EndArray();
  if (page->has_more && !page->rows.empty()) {
    const ContinuationToken next{page->rows.back().key, page->as_of_seq};
    // Every original parameter is echoed as received (Azure does the same, casing included);
    // only the token is replaced. base64url needs no escaping.
    std::string link = BaseUrl(request) + std::string(request.Path()) + "?";
    const std::string rest = qs->RawWithout("continuationToken");
    if (!rest.empty()) link.append(rest).push_back('&');
    link.append("continuationToken=").append(FormatContinuationToken(next, q));
    w.Key("nextLink").String(link);
  }
  w.EndObject();
  return r;
}

}  // namespace tally::api
