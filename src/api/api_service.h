// ApiService: every route of Tally's HTTP API, as plain request -> response functions over the
// services (ingest, query) and the store. The HTTP server (http_server.h) feeds it requests;
// tests call Handle() directly.
//
// Routes (docs/http-api.md, docs/api.md):
//   GET  /healthz    200 {"status":"ok"} (the store is open: the server starts after it)
//   GET  /readyz     200 {"status":"ready"} while the store accepts writes, else 503 + reason
//   GET  /metrics    Prometheus text: requests, latencies, errors, ingestion, store gauges
//   POST /v1/usage/records   usage ingestion (reporter or operator key)
//   GET  /subscriptions/{subscriptionId}/providers/Microsoft.Commerce/UsageAggregates
//                    the Azure Stack Hub tenant usage API (tenant key of that subscription,
//                    or operator key of its provider or of itself)
//   GET  /subscriptions/{providerId}/providers/Microsoft.Commerce.Admin/subscriberUsageAggregates
//                    the operator usage API (operator key acting for that provider), also
//                    under the legacy path .../Microsoft.Commerce/subscriberUsageAggregates
//   GET  /subscriptions/{subscriptionId}/providers/Microsoft.Commerce/RateCard
//                    the Azure RateCard API (rate_card_api.cc)
//   GET  /v1/customers/{customerId}/subscriptions/{subscriptionId}/utilizations/azure
//                    the Partner Center utilization API (partner_center.cc)
//   GET  /v1/invoices, GET /v1/subscriptions/{subscriptionId}/invoices/{period},
//   POST /v1/invoices/run|finalize, GET /v1/exports/{format}
//                    invoices and streamed billing exports (billing_api.cc)
//
// The referenced services must outlive it. Thread-safe: Handle may run on many threads.
#pragma once

#include <atomic>
#include <functional>
#include <optional>

#include "api/http_message.h"
#include "api/metrics.h"
#include "api/router.h"
#include "common/clock.h"
#include "ingest/ingest_service.h"
#include "query/usage_query.h"
#include "store/usage_store.h"

namespace tally::api {

// The only api-version the tenant usage API accepts (the one Azure Stack Hub documents).
inline constexpr std::string_view kUsageApiVersion = "2015-06-01-preview";
// Aggregates per page of the tenant usage API (Azure's documented page size).
inline constexpr size_t kUsagePageSize = 1000;

struct ApiServiceOptions {
  // Usage queries answered at once; more get 503 ServiceUnavailable with Retry-After.
  int max_concurrent_queries = 64;
};

class QueryString;
struct UsagePageRequest;

class ApiService {
 public:
  ApiService(store::UsageStore& store, ingest::IngestService& ingest,
             query::UsageQueryService& query, const Clock& clock,
             ApiServiceOptions options = {});

  // Answers one request and records it in the metrics. Never throws for bad input; every
  // answer has a body (JSON, except /metrics).
  HttpResponse Handle(const HttpRequest& request) const;

  // Chooses the subscriptions a usage query reads (and checks the parameters that name
  // them); an error answer stops the request.
  using SubscriptionSelector =
      std::function<std::optional<HttpResponse>(const QueryString&, UsagePageRequest&)>;

 private:
  // A bounded number of usage queries run at once (step 8 of docs/api.md); the rest are told
  // to come back.
  class QuerySlot {
   public:
    explicit QuerySlot(const ApiService& service) : service_(service) {
      acquired_ =
          service_.queries_in_flight_.fetch_add(1) < service_.options_.max_concurrent_queries;
    }
    ~QuerySlot() { service_.queries_in_flight_.fetch_sub(1); }
    QuerySlot(const QuerySlot&) = delete;
    QuerySlot& operator=(const QuerySlot&) = delete;
    bool acquired() const { return acquired_; }

   private:
    const ApiService& service_;
    bool acquired_ = false;
  };

  HttpResponse Healthz(const HttpRequest& request) const;
  HttpResponse Readyz(const HttpRequest& request) const;
  HttpResponse Metrics(const HttpRequest& request) const;
  HttpResponse PostUsageRecords(const HttpRequest& request) const;
  HttpResponse GetUsageAggregates(const HttpRequest& request, const PathParams& params) const;
  HttpResponse GetSubscriberUsageAggregates(const HttpRequest& request,
                                            const PathParams& params) const;
  HttpResponse SubscriptionIdMissing(const HttpRequest& request) const;
  HttpResponse GetAzureUtilizations(const HttpRequest& request, const PathParams& params) const;
  HttpResponse GetRateCard(const HttpRequest& request, const PathParams& params) const;
  void AddBillingRoutes();
  HttpResponse ListInvoices(const HttpRequest& request) const;
  HttpResponse GetInvoice(const HttpRequest& request, const PathParams& params) const;
  HttpResponse RunInvoices(const HttpRequest& request, bool finalize) const;
  HttpResponse GetExport(const HttpRequest& request, const PathParams& params) const;
  HttpResponse AnswerUsagePage(const HttpRequest& request, bool operator_api,
                               const SubscriptionSelector& select) const;

  store::UsageStore& store_;
  ingest::IngestService& ingest_;
  query::UsageQueryService& query_;
  const Clock& clock_;
  ApiServiceOptions options_;
  Router router_;
  mutable ApiMetrics metrics_;
  mutable std::atomic<int> queries_in_flight_{0};
};

}  // namespace tally::api
