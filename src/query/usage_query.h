// UsageQueryService: the usage read path shared by the HTTP API and `tally usage`. Checks a
// reported-time window the way the Azure usage APIs require (contract §5) and pages through
// the store's aggregates. Thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "domain/aggregate.h"
#include "store/usage_store.h"

namespace tally::query {

struct UsageQuery {
  std::vector<std::string> subscription_ids;  // lower-case GUIDs
  UtcTime reported_start;                     // inclusive
  UtcTime reported_end;                       // exclusive
  domain::Granularity granularity = domain::Granularity::kDaily;
};

// One problem with a query, naming the property (the Azure API maps these to error codes).
struct QueryError {
  enum class Kind { kInvalidProperty, kEndInFuture, kInvalidGranularity };
  Kind kind = Kind::kInvalidProperty;
  std::string property;  // "reportedStartTime", "reportedEndTime", "aggregationGranularity"
  std::string message;
};

// Checks a window: start and end on the hour (Hourly) or at UTC midnight (Daily), end after
// start, end not after `now`. Returns the first problem, or nullopt when the window is valid.
std::optional<QueryError> CheckWindow(const UsageQuery& q, UtcTime now);

class UsageQueryService {
 public:
  UsageQueryService(store::UsageStore& store, const Clock& clock);

  // One page strictly after `after` (nullopt = the first page). `as_of_seq` = 0 for a new
  // query; pass the returned page's as_of_seq for later pages so every page sees one snapshot.
  // InvalidArgument when the window is invalid (see CheckWindow).
  Result<store::AggregatePage> Page(const UsageQuery& q,
                                    const std::optional<domain::AggregateKey>& after,
                                    uint64_t as_of_seq, size_t page_size = 1000);

  // Every aggregate of the query, in order, page by page (constant memory).
  Status ForEach(const UsageQuery& q,
                 const std::function<void(const domain::UsageAggregate&)>& visit);

 private:
  store::UsageStore& store_;
  const Clock& clock_;
};

}  // namespace tally::query
