#include "api/api_service.h"

#include <chrono>
#include <string>

#include "api/auth.h"
#include "api/errors.h"
#include "common/json_writer.h"

namespace tally::api {

ApiService::ApiService(store::UsageStore& store, ingest::IngestService& ingest,
                       query::UsageQueryService& query, const Clock& clock,
                       ApiServiceOptions options)
    : store_(store), ingest_(ingest), query_(query), clock_(clock), options_(options) {
  router_.Add(Method::kGet, "/healthz",
              [this](const HttpRequest& r, const PathParams&) { return Healthz(r); });
  router_.Add(Method::kGet, "/readyz",
              [this](const HttpRequest& r, const PathParams&) { return Readyz(r); });
  router_.Add(Method::kGet, "/metrics",
              [this](const HttpRequest& r, const PathParams&) { return Metrics(r); });
  router_.Add(Method::kPost, "/v1/usage/records",
              [this](const HttpRequest& r, const PathParams&) { return PostUsageRecords(r); });
  // Azure clients disagree on the case of "UsageAggregates" and "providers" (contract §1).
  router_.Add(
      Method::kGet, "/subscriptions/{subscriptionId}/providers/Microsoft.Commerce/UsageAggregates",
      [this](const HttpRequest& r, const PathParams& p) { return GetUsageAggregates(r, p); },
      Router::Case::kInsensitive);
  const auto subscriber_usage = [this](const HttpRequest& r, const PathParams& p) {
    return GetSubscriberUsageAggregates(r, p);
  };
  router_.Add(Method::kGet,
              "/subscriptions/{subscriptionId}/providers/Microsoft.Commerce.Admin/"
              "subscriberUsageAggregates",
              subscriber_usage, Router::Case::kInsensitive);
  // The legacy path of 2017-era scripts (contract §2).
  router_.Add(Method::kGet,
              "/subscriptions/{subscriptionId}/providers/Microsoft.Commerce/"
              "subscriberUsageAggregates",
              subscriber_usage, Router::Case::kInsensitive);
  router_.Add(
      Method::kGet, "/subscriptions/{subscriptionId}/providers/Microsoft.Commerce/RateCard",
      [this](const HttpRequest& r, const PathParams& p) { return GetRateCard(r, p); },
      Router::Case::kInsensitive);
  router_.Add(
      Method::kGet, "/v1/customers/{customerId}/subscriptions/{subscriptionId}/utilizations/azure",
      [this](const HttpRequest& r, const PathParams& p) { return GetAzureUtilizations(r, p); },
      Router::Case::kInsensitive);
  AddBillingRoutes();
  // The same paths without a subscription: SubscriptionIdMissingInRequest, not 404.
  const auto missing = [this](const HttpRequest& r, const PathParams&) {
    return SubscriptionIdMissing(r);
  };
  for (std::string_view path :
       {"/subscriptions//providers/Microsoft.Commerce/UsageAggregates",
        "/providers/Microsoft.Commerce/UsageAggregates",
        "/subscriptions//providers/Microsoft.Commerce.Admin/subscriberUsageAggregates",
        "/providers/Microsoft.Commerce.Admin/subscriberUsageAggregates",
        "/subscriptions//providers/Microsoft.Commerce/subscriberUsageAggregates",
        "/providers/Microsoft.Commerce/subscriberUsageAggregates"}) {
    router_.Add(Method::kGet, path, missing, Router::Case::kInsensitive);
  }
}

HttpResponse ApiService::Handle(const HttpRequest& request) const {
  const auto started = std::chrono::steady_clock::now();
  std::string_view route;
  HttpResponse response = router_.Dispatch(request, &route);
  metrics_.RecordRequest(route, MethodName(request.method), response.status, response.error_code,
                         std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::steady_clock::now() - started));
  return response;
}

namespace {

// A store's durations as the histogram `<base>_seconds` and the gauge `<base>_max_seconds`.
std::string RenderDurations(std::string_view base, std::string_view help, std::string_view max_help,
                            const store::DurationHistogram& d) {
  const std::string histogram = std::string(base) + "_seconds";
  const std::string max = std::string(base) + "_max_seconds";
  return RenderHistogram(histogram, help, store::DurationHistogram::kBucketsSeconds, d.buckets,
                         d.sum_seconds) +
         "# HELP " + max + " " + std::string(max_help) + "\n# TYPE " + max + " gauge\n" + max +
         " " + std::to_string(d.max_seconds) + "\n";
}

}  // namespace

HttpResponse ApiService::Metrics(const HttpRequest&) const {
  const store::StoreStats stats = store_.GetStats();
  const bool writable = store_.WriteHealth().ok();
  std::string gauges =
      "# HELP tally_store_records Usage records in the store.\n"
      "# TYPE tally_store_records gauge\n"
      "tally_store_records " +
      std::to_string(stats.records) +
      "\n"
      "# HELP tally_store_subscriptions Subscriptions known to the store.\n"
      "# TYPE tally_store_subscriptions gauge\n"
      "tally_store_subscriptions " +
      std::to_string(stats.subscriptions) +
      "\n"
      "# HELP tally_store_last_seq Sequence number of the last committed record.\n"
      "# TYPE tally_store_last_seq gauge\n"
      "tally_store_last_seq " +
      std::to_string(stats.last_seq) +
      "\n"
      "# HELP tally_store_writable 1 while the store accepts writes.\n"
      "# TYPE tally_store_writable gauge\n"
      "tally_store_writable " +
      (writable ? "1" : "0") + "\n";
  gauges +=
      RenderDurations("tally_store_commit_duration",
                      "Durable commits of usage since the store opened, each to its flush to disk.",
                      "The longest of those commits.", stats.usage_commits);
  gauges += RenderDurations(
      "tally_store_checkpoint_pause",
      "Checkpoint steps that held up the store's writer since it opened (copying the log into "
      "the database, finishing after the background flush).",
      "The longest of those steps.", stats.checkpoint_pauses);
  gauges +=
      "# HELP tally_store_caller_led_groups_total Groups of usage written by the caller that "
      "found the store's writer idle, with no hand-off to the writer thread.\n"
      "# TYPE tally_store_caller_led_groups_total counter\n"
      "tally_store_caller_led_groups_total " +
      std::to_string(stats.caller_led_groups) + "\n";
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = metrics_.Render(gauges);
  return r;
}

HttpResponse ApiService::Healthz(const HttpRequest&) const {
  HttpResponse r;
  r.body = R"({"status":"ok"})";
  return r;
}

HttpResponse ApiService::Readyz(const HttpRequest&) const {
  const Status health = store_.WriteHealth();
  if (!health.ok()) {
    // Whatever the store's code, "not ready" is a 503 for load balancers.
    return ErrorResponse(Unavailable("the store does not accept writes: " + health.message()));
  }
  HttpResponse r;
  r.body = R"({"status":"ready"})";
  return r;
}

HttpResponse ApiService::PostUsageRecords(const HttpRequest& request) const {
  Result<domain::ApiKey> key = AuthenticateBearer(store_, request);
  if (!key.ok()) return ErrorResponse(key.status());
  if (key->role == domain::Role::kTenant) {
    return ErrorResponse(
        PermissionDenied("tenant keys cannot report usage; use a reporter or operator key"));
  }

  const std::string* content_type = request.Header("Content-Type");
  if (content_type == nullptr) {
    return ProtocolErrorResponse(
        ProtocolError::kUnsupportedMediaType,
        "Content-Type is required: application/json, application/x-ndjson or text/csv");
  }
  Result<ingest::BodyFormat> format = ingest::BodyFormatFromContentType(*content_type);
  if (!format.ok()) {
    return ProtocolErrorResponse(ProtocolError::kUnsupportedMediaType, format.status().message());
  }

  const ingest::Sender sender =
      key->role == domain::Role::kOperator ? ingest::Sender::kOperator : ingest::Sender::kReporter;
  const ingest::IngestOutcome outcome = ingest_.Ingest(request.body, *format, sender);

  if (outcome.status.ok() || outcome.status.code() == StatusCode::kAlreadyExists) {
    metrics_.RecordIngest(outcome.accepted, outcome.duplicates, outcome.conflicts.size());
  }
  if (outcome.status.ok()) {
    HttpResponse r;
    JsonWriter w(r.body);
    w.BeginObject();
    w.Key("accepted").Int(static_cast<int64_t>(outcome.accepted));
    w.Key("duplicates").Int(static_cast<int64_t>(outcome.duplicates));
    w.EndObject();
    return r;
  }
  switch (outcome.status.code()) {
    case StatusCode::kInvalidArgument: {
      if (outcome.errors.empty()) return ErrorResponse(outcome.status, "InvalidRequestBody");
      std::string details;
      JsonWriter w(details);
      w.BeginArray();
      for (const domain::FieldError& e : outcome.errors) {
        w.BeginObject();
        w.Key("index").Int(static_cast<int64_t>(e.index));
        w.Key("property").String(e.property);
        w.Key("reason").String(e.reason);
        w.EndObject();
      }
      w.EndArray();
      return ErrorResponse(outcome.status, "InvalidRecords", details);
    }
    case StatusCode::kAlreadyExists: {
      std::string details;
      JsonWriter w(details);
      w.BeginArray();
      for (const store::RecordConflict& c : outcome.conflicts) {
        w.BeginObject();
        w.Key("index").Int(static_cast<int64_t>(c.index));
        w.Key("recordId").String(c.record_id);
        w.EndObject();
      }
      w.EndArray();
      return ErrorResponse(outcome.status, "RecordConflict", details);
    }
    default:
      return ErrorResponse(outcome.status);
  }
}

}  // namespace tally::api
