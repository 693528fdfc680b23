// The Azure Stack Hub usage APIs (contract §1-§5):
//   tenant    GET /subscriptions/{subscriptionId}/providers/Microsoft.Commerce/UsageAggregates
//   operator  GET /subscriptions/{providerId}/providers/Microsoft.Commerce.Admin/
//                 subscriberUsageAggregates   (and the legacy Microsoft.Commerce/... path)
//
// Both share one request pipeline; the order of the checks decides which error a request
// with several problems gets, and is part of the contract (docs/api.md):
//   1. authentication (401), 2. authorization of the path subscription (403: the same answer
//   whether or not it exists), 3. query string syntax, 4. api-version, 5. subscriberId
//   (operator API), 6. times, granularity, showDetails, the window rules, 7. the token,
//   8. throttling (503).
// Decisions where the contract leaves a choice (§3, §12) are listed in docs/api.md.
#include <algorithm>
#include <string>
#include <variant>

#include "api/api_service.h"
#include "api/auth.h"
#include "api/continuation_token.h"
#include "api/errors.h"
#include "api/query_string.h"
#include "common/json_writer.h"
#include "common/strings.h"

namespace tally::api {

// What both APIs need to answer a page once the request is checked.
struct UsagePageRequest {
  QueryString query_string;
  query::UsageQuery query;
  std::string token_scope;  // "" = bound to query.subscription_ids
  std::optional<domain::AggregateKey> after;
  uint64_t as_of_seq = 0;
};

namespace {

HttpResponse Forbidden(std::string_view subscription_id) {
  return ErrorResponse(
      PermissionDenied("the client is not authorized to read usage of subscription '" +
                       std::string(subscription_id) + "'"));
}

HttpResponse InvalidProperty(std::string message) {
  return ErrorResponse(InvalidArgument(std::move(message)), "InvalidProperty");
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
  return std::string(request.tls ? "https://" : "http://") +
         (usable ? *host : request.local_authority);
}

// Steps 3, 4, 6 and 7 of the pipeline for the parameters both APIs share. `subscription_ids`
// and `token_scope` are what the caller may read; an error answer or the checked request.
std::variant<HttpResponse, UsagePageRequest> CheckUsageParameters(
    const HttpRequest& request, const Clock& clock,
    const ApiService::SubscriptionSelector& select_subscriptions) {
  UsagePageRequest out;
  Result<QueryString> qs = QueryString::Parse(request.RawQuery());
  if (!qs.ok()) return InvalidProperty(qs.status().message());
  out.query_string = std::move(*qs);
  const QueryString& q = out.query_string;

  const std::optional<std::string> api_version = q.Find("api-version");
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

  if (std::optional<HttpResponse> e = select_subscriptions(q, out)) return std::move(*e);

  Result<UtcTime> start = RequiredTimeParameter(q, "reportedStartTime");
  if (!start.ok()) return InvalidProperty(start.status().message());
  Result<UtcTime> end = RequiredTimeParameter(q, "reportedEndTime");
  if (!end.ok()) return InvalidProperty(end.status().message());
  out.query.reported_start = *start;
  out.query.reported_end = *end;

  if (std::optional<std::string> g = q.Find("aggregationGranularity"); g && !g->empty()) {
    Result<domain::Granularity> granularity = domain::ParseGranularity(*g);
    if (!granularity.ok()) {
      return ErrorResponse(
          InvalidArgument("aggregationGranularity '" + *g + "' is not valid; use Daily or Hourly"),
          "InvalidAggregationGranularity");
    }
    out.query.granularity = *granularity;
  }
  if (std::optional<std::string> d = q.Find("showDetails"); d && !IsBoolean(*d)) {
    return InvalidProperty("showDetails '" + *d + "' is not a boolean (true or false)");
  }

  if (std::optional<query::QueryError> e = query::CheckWindow(out.query, clock.Now())) {
    switch (e->kind) {
      case query::QueryError::Kind::kInvalidProperty:
        return InvalidProperty(e->message);
      case query::QueryError::Kind::kEndInFuture:
        return ErrorResponse(InvalidArgument(e->message), "RequestEndTimeIsInFuture");
      case query::QueryError::Kind::kInvalidGranularity:
        return ErrorResponse(InvalidArgument(e->message), "InvalidAggregationGranularity");
    }
  }

  if (std::optional<std::string> t = q.Find("continuationToken"); t && !t->empty()) {
    Result<ContinuationToken> token = ParseContinuationToken(*t, out.query, out.token_scope);
    if (!token.ok()) return InvalidProperty(token.status().message());
    out.after = token->after;
    out.as_of_seq = token->as_of_seq;
  }
  return out;
}

// Which flavour of the API answers: it decides the aggregates' `id` and `type`.
enum class Api { kTenant, kOperator };

// Appends one aggregate of the `value` array (the comma before it is the caller's), straight
// into the body: a page has a thousand of them.
void AppendAggregate(std::string& out, const domain::UsageAggregate& a, Api api,
                     domain::AggregatePropertiesWriter& properties) {
  const std::string_view ns =
      api == Api::kTenant ? "Microsoft.Commerce" : "Microsoft.Commerce.Admin";
  out.append(R"({"id":"/subscriptions/)");
  AppendJsonEscaped(out, a.subscription_id);
  out.append("/providers/").append(ns).append("/UsageAggregate/");
  const size_t name_at = out.size();
  AppendJsonEscaped(out, a.subscription_id);
  out.push_back('-');
  AppendJsonEscaped(out, a.meter_id);
  const size_t name_size = out.size() - name_at;
  out.append(R"(","name":")");
  out.append(out, name_at, name_size);
  out.append(R"(","type":")").append(ns).append(R"(/UsageAggregate","properties":)");
  properties.Append(out, a);
  out.push_back('}');
}

}  // namespace

HttpResponse ApiService::AnswerUsagePage(const HttpRequest& request, bool operator_api,
                                         const SubscriptionSelector& select) const {
  std::variant<HttpResponse, UsagePageRequest> checked =
      CheckUsageParameters(request, clock_, select);
  if (HttpResponse* error = std::get_if<HttpResponse>(&checked)) return std::move(*error);
  UsagePageRequest& p = std::get<UsagePageRequest>(checked);

  QuerySlot slot(*this);
  if (!slot.acquired()) {
    return ErrorResponse(Unavailable("too many usage queries are running; retry later"),
                         "ServiceUnavailable");
  }
  Result<store::AggregatePage> page = query_.Page(p.query, p.after, p.as_of_seq, kUsagePageSize);
  if (!page.ok()) {
    if (page.status().code() == StatusCode::kInvalidArgument) {
      return InvalidProperty(page.status().message());
    }
    return ErrorResponse(page.status());
  }

  const Api api = operator_api ? Api::kOperator : Api::kTenant;
  HttpResponse r;
  r.body.reserve(page->rows.size() * 600 + 64);
  JsonWriter w(r.body);
  w.BeginObject().Key("value").BeginArray();
  domain::AggregatePropertiesWriter properties;
  for (size_t i = 0; i < page->rows.size(); ++i) {
    if (i > 0) r.body.push_back(',');
    AppendAggregate(r.body, page->rows[i], api, properties);
  }
  w.EndArray();
  if (page->has_more && !page->rows.empty()) {
    const ContinuationToken next{page->rows.back().key.ToKey(), page->as_of_seq};
    // Every original parameter is echoed as received (Azure does the same, casing included);
    // only the token is replaced. base64url needs no escaping.
    std::string link = BaseUrl(request) + std::string(request.Path()) + "?";
    const std::string rest = p.query_string.RawWithout("continuationToken");
    if (!rest.empty()) link.append(rest).push_back('&');
    link.append("continuationToken=").append(FormatContinuationToken(next, p.query, p.token_scope));
    w.Key("nextLink").String(link);
  }
  w.EndObject();
  return r;
}

HttpResponse ApiService::GetUsageAggregates(const HttpRequest& request,
                                            const PathParams& params) const {
  Result<domain::ApiKey> key = AuthenticateBearer(store_, request);
  if (!key.ok()) return ErrorResponse(key.status());
  const std::string subscription_id = AsciiLower(params.Get("subscriptionId"));
  // An operator key reads here only what its provider sees: its own subscription and its
  // direct tenants (an unknown subscription would be one of the Default Provider's).
  Result<bool> allowed = MayReadSubscription(store_, *key, subscription_id);
  if (!allowed.ok()) return ErrorResponse(allowed.status());
  if (!*allowed) return Forbidden(subscription_id);
  return AnswerUsagePage(
      request, /*operator_api=*/false,
      [&](const QueryString&, UsagePageRequest& p) -> std::optional<HttpResponse> {
        if (!IsGuid(subscription_id)) {
          return InvalidProperty("subscriptionId '" + subscription_id + "' is not a GUID");
        }
        p.query.subscription_ids = {subscription_id};
        return std::nullopt;
      });
}

HttpResponse ApiService::GetSubscriberUsageAggregates(const HttpRequest& request,
                                                      const PathParams& params) const {
  Result<domain::ApiKey> key = AuthenticateBearer(store_, request);
  if (!key.ok()) return ErrorResponse(key.status());
  const std::string provider_id = AsciiLower(params.Get("subscriptionId"));
  if (key->role != domain::Role::kOperator) return Forbidden(provider_id);
  Result<domain::Subscription> default_provider = store_.DefaultProvider();
  if (!default_provider.ok()) return ErrorResponse(default_provider.status());
  // An operator key acts for the Default Provider Subscription, or for the one delegated
  // provider it was created for; it reads through no other provider's path.
  const std::string& acting_for =
      key->subscriptions.empty() ? default_provider->id : key->subscriptions.front();
  if (!EqualsIgnoreCase(acting_for, provider_id)) return Forbidden(provider_id);
  Result<std::optional<domain::Subscription>> provider = store_.FindSubscription(provider_id);
  if (!provider.ok()) return ErrorResponse(provider.status());
  if (!*provider || (*provider)->kind != domain::SubscriptionKind::kProvider) {
    return Forbidden(provider_id);
  }

  return AnswerUsagePage(
      request, /*operator_api=*/true,
      [&](const QueryString& q, UsagePageRequest& p) -> std::optional<HttpResponse> {
        std::optional<std::string> subscriber = q.Find("subscriberId");
        if (subscriber && !TrimSpace(*subscriber).empty()) {
          const std::string id = AsciiLower(TrimSpace(*subscriber));
          Result<std::optional<domain::Subscription>> s =
              IsGuid(id) ? store_.FindSubscription(id)
                         : Result<std::optional<domain::Subscription>>(std::nullopt);
          if (!s.ok()) return ErrorResponse(s.status());
          if (!*s || !domain::IsDirectTenantOf(**s, provider_id, default_provider->id)) {
            return ErrorResponse(
                InvalidArgument("subscriberId '" + *subscriber +
                                "' is not a direct tenant of provider subscription '" +
                                provider_id + "'"),
                "SubscriberIdIsNotDirectTenant");
          }
          p.query.subscription_ids = {id};
          return std::nullopt;
        }
        Result<std::shared_ptr<const std::vector<std::string>>> tenants =
            store_.DirectTenantIds(provider_id);
        if (!tenants.ok()) return ErrorResponse(tenants.status());
        p.query.subscription_ids = **tenants;  // sorted
        p.token_scope = "tenants-of:" + provider_id;
        return std::nullopt;
      });
}

HttpResponse ApiService::SubscriptionIdMissing(const HttpRequest& request) const {
  Result<domain::ApiKey> key = AuthenticateBearer(store_, request);
  if (!key.ok()) return ErrorResponse(key.status());
  return ErrorResponse(InvalidArgument("the subscription ID is missing from the request path "
                                       "(/subscriptions/{subscriptionId}/providers/...)"),
                       "SubscriptionIdMissingInRequest");
}

}  // namespace tally::api
