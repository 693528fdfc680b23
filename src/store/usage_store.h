// UsageStore: the one interface between Tally's services and durable storage.
//
// It is deliberately semantic (idempotent durable append, windowed aggregation, metadata) so
// that the embedded SQLite store, a PostgreSQL store and a distributed engine can sit behind it
// without ingest or query code changing. Implementations are thread-safe: any number of
// threads may call any method at once. See docs/storage.md for the schema and invariants.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/time.h"
#include "domain/aggregate.h"
#include "domain/api_key.h"
#include "domain/customer.h"
#include "domain/meter.h"
#include "domain/subscription.h"
#include "domain/usage_record.h"
#include "store/billing_store.h"
#include "store/webhook_store.h"

namespace tally::store {

// A record of the batch whose recordId was stored before with different content.
struct RecordConflict {
  size_t index = 0;  // position in the batch
  std::string record_id;
};

struct AppendOutcome {
  size_t accepted = 0;    // records stored by this call
  size_t duplicates = 0;  // records already stored with the same content (or repeated in batch)
  // Non-empty means the batch was refused whole: nothing was written.
  std::vector<RecordConflict> conflicts;
};

// A record as stored: its sequence number (strictly increasing in commit order) and reported
// time.
struct StoredRecord {
  uint64_t seq = 0;
  ReportedTime reported_time;
  domain::UsageRecord record;  // meter_id in the catalog's spelling when known
};

struct AggregateQuery {
  // The subscriptions whose usage to aggregate (lower-case GUIDs). Empty selects nothing.
  std::vector<std::string> subscription_ids;
  ReportedTime reported_from;  // inclusive
  ReportedTime reported_to;    // exclusive
  domain::Granularity granularity = domain::Granularity::kDaily;
  // Resume strictly after this key (from a previous page).
  std::optional<domain::AggregateKey> after;
  // Only records with seq <= as_of_seq count, so that every page of one query sees the same
  // records even while new ones arrive. 0 = the latest committed sequence number.
  uint64_t as_of_seq = 0;
  size_t limit = 1000;  // rows per page, >= 1
};

struct AggregatePage {
  std::vector<domain::UsageAggregate> rows;  // in AggregateKey order
  bool has_more = false;                     // rows after the last one exist
  uint64_t as_of_seq = 0;                    // the snapshot used; pass it back for later pages
  // Keeps the text the rows view (subscription and meter IDs, instanceData) alive for as long
  // as the page, or a copy of this pointer, exists, even after the store is closed.
  std::shared_ptr<const void> text;
};

// How long something a store does took, each time: a histogram (the Prometheus kind) plus the
// longest.
struct DurationHistogram {
  // Upper bounds (seconds) of the buckets; a last, implicit one holds longer durations.
  static constexpr std::array<double, 9> kBucketsSeconds = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                                            0.05,  0.1,    0.25,  1};
  std::array<uint64_t, kBucketsSeconds.size() + 1> buckets{};  // non-cumulative counts
  uint64_t count = 0;
  double sum_seconds = 0;
  double max_seconds = 0;

  void Add(double seconds) {
    size_t i = 0;
    while (i < kBucketsSeconds.size() && seconds > kBucketsSeconds[i]) ++i;
    ++buckets[i];
    ++count;
    sum_seconds += seconds;
    if (seconds > max_seconds) max_seconds = seconds;
  }
};

struct StoreStats {
  uint64_t records = 0;
  uint64_t last_seq = 0;
  uint64_t subscriptions = 0;
  uint64_t instances = 0;
  uint64_t meters = 0;
  // Since the store was opened. The durable commits of usage, each from the start of the
  // commit to its flush to disk (none for a batch of duplicates): every acknowledgement waits
  // for one, so a slow disk shows here first.
  DurationHistogram usage_commits;
  // The steps of checkpoints that held up the store's writer (copying the log into the
  // database, finishing after the background flush), in stores that checkpoint; a commit that
  // waits for one waits this long more.
  DurationHistogram checkpoint_pauses;
  // Groups of usage written by a caller that found the writer idle and led its own group, in
  // stores where the writer is a role (the others were written by a writer thread, a hand-off
  // to it and back for each of their batches).
  uint64_t caller_led_groups = 0;
};

// Consistency: every read sees what every write that returned before it began stored (the
// records of an answered AppendUsage, with the subscriptions and meters it registered,
// included), even where a store makes writes visible to queries asynchronously.
class UsageStore {
 public:
  virtual ~UsageStore() = default;

  // Stores a batch of valid records, all or nothing, and returns only once they are durable
  // (committed and fsync'd). Records without a reported_time get `now`. A recordId already
  // stored with the same content, or repeated within the batch with the same content, counts
  // as a duplicate and changes nothing. If any recordId exists with different content, nothing
  // is written and the conflicts are returned. Unknown subscriptions are registered as
  // kUnregistered tenants and unknown meter IDs as kUnknown meters in the same commit.
  // Concurrent calls may share one commit. Fails with Unavailable once a commit has failed:
  // after that the store refuses every write until it is reopened.
  virtual Result<AppendOutcome> AppendUsage(const std::vector<domain::UsageRecord>& records,
                                            ReportedTime now) = 0;

  // One page of aggregates of the query's reported window, by usage time, in AggregateKey
  // order. Quantities are exact sums.
  virtual Result<AggregatePage> AggregateUsage(const AggregateQuery& query) = 0;

  // Raw records with seq > after_seq, in seq order, at most `limit`.
  virtual Result<std::vector<StoredRecord>> ListRecords(uint64_t after_seq, size_t limit) = 0;

  // Meters: the built-in catalog, custom meters and meters first seen in usage.
  virtual Result<std::vector<domain::Meter>> ListMeters() = 0;
  // Adds a custom meter, or names a kUnknown one (the ID keeps its first-seen spelling unless
  // the operator gives another case). Built-in meters cannot be changed: InvalidArgument.
  virtual Status SaveMeter(const domain::Meter& meter) = 0;

  virtual Result<std::vector<domain::Subscription>> ListSubscriptions() = 0;
  virtual Result<std::optional<domain::Subscription>> FindSubscription(const std::string& id) = 0;
  // Inserts or replaces by id.
  virtual Status SaveSubscription(const domain::Subscription& subscription) = 0;
  // The data directory's Default Provider Subscription (created when the store is created).
  virtual Result<domain::Subscription> DefaultProvider() = 0;
  // The IDs of the direct tenants of `provider_id` (lower case; domain::IsDirectTenantOf),
  // sorted. The operator API asks on every page, so stores keep the answer until a
  // subscription changes; the list returned never changes.
  virtual Result<std::shared_ptr<const std::vector<std::string>>> DirectTenantIds(
      const std::string& provider_id) = 0;

  // Customers (Partner Center). SaveCustomer inserts or replaces by id, its subscription list
  // included; InvalidArgument when an ID is not a GUID or a subscription belongs to another
  // customer (nothing changes then).
  virtual Status SaveCustomer(const domain::Customer& customer) = 0;
  virtual Result<std::vector<domain::Customer>> ListCustomers() = 0;  // by id
  virtual Result<std::optional<domain::Customer>> FindCustomer(const std::string& id) = 0;

  virtual Status SaveApiKey(const domain::ApiKey& key) = 0;
  virtual Result<std::optional<domain::ApiKey>> FindApiKey(const std::string& key_id) = 0;
  virtual Result<std::vector<domain::ApiKey>> ListApiKeys() = 0;
  // NotFound when there is no such key.
  virtual Status RevokeApiKey(const std::string& key_id, UtcTime when) = 0;

  virtual StoreStats GetStats() = 0;
  // The pricing and chargeback side of the same store (same data directory, same writer), or
  // nullptr when the backend has none. Owned by this store.
  virtual BillingStore* Billing() { return nullptr; }
  // The webhook endpoints, outbox and delivery log of the same store, or nullptr when the
  // backend has none. Owned by this store.
  virtual WebhookStore* Webhooks() { return nullptr; }
  // OK while the store accepts writes; the failure that stopped them otherwise.
  virtual Status WriteHealth() = 0;
};

}  // namespace tally::store
