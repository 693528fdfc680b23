#include "query/usage_query.h"

#include <algorithm>
#include <string>

namespace tally::query {
namespace {

std::string Describe(UtcTime t) { return FormatUtcTime(t); }

}  // namespace

std::optional<QueryError> CheckWindow(const UsageQuery& q, UtcTime now) {
  using Kind = QueryError::Kind;
  const bool daily = q.granularity == domain::Granularity::kDaily;
  auto aligned = [&](UtcTime t) { return daily ? t.IsDayAligned() : t.IsHourAligned(); };
  const char* unit = daily ? "at UTC midnight (Daily granularity)" : "on the hour (Hourly granularity)";
  if (!aligned(q.reported_start)) {
    return QueryError{Kind::kInvalidProperty, "reportedStartTime",
                      "reportedStartTime " + Describe(q.reported_start) + " must be " + unit};
  }
  if (!aligned(q.reported_end)) {
    return QueryError{Kind::kInvalidProperty, "reportedEndTime",
                      "reportedEndTime " + Describe(q.reported_end) + " must be " + unit};
  }
  if (q.reported_end <= q.reported_start) {
    return QueryError{Kind::kInvalidProperty, "reportedEndTime",
                      "reportedEndTime must be after reportedStartTime"};
  }
  if (q.reported_end > now) {
    return QueryError{Kind::kEndInFuture, "reportedEndTime",
                      "reportedEndTime " + Describe(q.reported_end) + " is in the future"};
  }
  return std::nullopt;
}

UsageQueryService::UsageQueryService(store::UsageStore& store, const Clock& clock)
    : store_(store), clock_(clock) {}

namespace {

store::AggregateQuery StoreQuery(const UsageQuery& q, size_t page_size) {
  store::AggregateQuery sq;
  sq.subscription_ids = q.subscription_ids;
  sq.reported_from = ReportedTime(q.reported_start);
  sq.reported_to = ReportedTime(q.reported_end);
  sq.granularity = q.granularity;
  sq.limit = page_size;
  return sq;
}

}  // namespace

Result<store::AggregatePage> UsageQueryService::Page(
    const UsageQuery& q, const std::optional<domain::AggregateKey>& after, uint64_t as_of_seq,
    size_t page_size) {
  if (auto error = CheckWindow(q, clock_.Now())) return InvalidArgument(error->message);
  if (page_size == 0) return InvalidArgument("page size must be at least 1");
  store::AggregateQuery sq = StoreQuery(q, page_size);
  sq.after = after;
  sq.as_of_seq = as_of_seq;
  return store_.AggregateUsage(sq);
}

Status UsageQueryService::ForEach(
    const UsageQuery& q, const std::function<void(const domain::UsageAggregate&)>& visit) {
  if (auto error = CheckWindow(q, clock_.Now())) return InvalidArgument(error->message);
  // One store query for every page: the subscription list is copied and sorted once, and the
  // store finds it already sorted on every later page.
  store::AggregateQuery sq = StoreQuery(q, 1000);
  std::sort(sq.subscription_ids.begin(), sq.subscription_ids.end());
  sq.subscription_ids.erase(std::unique(sq.subscription_ids.begin(), sq.subscription_ids.end()),
                            sq.subscription_ids.end());
  while (true) {
    TALLY_ASSIGN_OR_RETURN(store::AggregatePage page, store_.AggregateUsage(sq));
    for (const auto& row : page.rows) visit(row);
    if (!page.has_more || page.rows.empty()) return Status::Ok();
    sq.after = page.rows.back().key.ToKey();
    sq.as_of_seq = page.as_of_seq;
  }
}

}  // namespace tally::query
