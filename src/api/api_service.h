// ApiService: every route of Tally's HTTP API, as plain request -> response functions over the
// services (ingest, query) and the store. The HTTP server (http_server.h) feeds it requests;
// tests call Handle() directly.
//
// Routes:
//   GET  /healthz    200 {"status":"ok"} (the store is open: the server starts after it)
//   GET  /readyz     200 {"status":"ready"} while the store accepts writes, else 503 + reason
//   POST /v1/usage/records   usage ingestion (reporter or operator key)
//   GET  /subscriptions/{subscriptionId}/providers/Microsoft.Commerce/UsageAggregates
//                    the Azure Stack Hub tenant usage API (tenant key of that subscription,
//                    or operator key)
//
// The referenced services must outlive it. Thread-safe: Handle may run on many threads.
#pragma once

#include "api/http_message.h"
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

class ApiService {
 public:
  ApiService(store::UsageStore& store, ingest::IngestService& ingest,
             query::UsageQueryService& query, const Clock& clock);

  // Answers one request. Never throws for bad input; every answer has a JSON body.
  HttpResponse Handle(const HttpRequest& request) const;

 private:
  HttpResponse Healthz(const HttpRequest& request) const;
  HttpResponse Readyz(const HttpRequest& request) const;
  HttpResponse PostUsageRecords(const HttpRequest& request) const;
  HttpResponse GetUsageAggregates(const HttpRequest& request, const PathParams& params) const;

  store::UsageStore& store_;
  ingest::IngestService& ingest_;
  query::UsageQueryService& query_;
  const Clock& clock_;
  Router router_;
};

}  // namespace tally::api
