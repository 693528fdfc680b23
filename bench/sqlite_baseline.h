// The SQLite baseline: the same records as the Tally store, raw, in one plain SQLite table
// (WAL; indexes on (subscription_id, reported_time) and (reported_time)), aggregated by plain
// GROUP BY. This is what "just put the records in SQLite" would cost. Quantities are REAL
// (sums are not exact: a concession in the baseline's favour).
// One instance per thread.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/time.h"
#include "domain/usage_record.h"

namespace tally::bench {

class SqliteBaseline {
 public:
  // Creates a new, empty database at `path` (replacing any file there).
  static Result<std::unique_ptr<SqliteBaseline>> Create(const std::string& path);
  static Result<std::unique_ptr<SqliteBaseline>> Open(const std::string& path);
  ~SqliteBaseline();

  // Inserts records (each with reported_time set) in one transaction.
  Status Append(const std::vector<domain::UsageRecord>& records);
  // Builds the indexes and statistics once the table is loaded.
  Status FinishLoad();

  struct Answer {
    uint64_t rows = 0;
    double quantity_sum = 0;
    std::string plan;  // EXPLAIN QUERY PLAN, one step per line
  };
  // GROUP BY (usage hour, meter, resourceUri, location, tags, additionalInfo) of one
  // subscription's records reported in [from, to), in that order; `limit` 0 = all rows.
  Result<Answer> SubscriptionHourly(const std::string& subscription, UtcTime from, UtcTime to,
                                    uint64_t limit);
  // GROUP BY (subscription, usage day, meter) of every record reported in [from, to), sorted.
  Result<Answer> StoreDaily(UtcTime from, UtcTime to);
  // GROUP BY (subscription, meter) of every record whose usage hour lies in [from, to): a
  // billing month's subscription x meter totals, the input of its invoices. Unsorted.
  Result<Answer> MonthTotals(UsageHour from, UsageHour to);

 private:
  explicit SqliteBaseline(sqlite3* db) : db_(db) {}
  Status Exec(const char* sql);
  Result<Answer> Run(const std::string& sql, const std::vector<std::string>& text_args,
                     const std::vector<int64_t>& int_args, int sum_column);

  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
};

}  // namespace tally::bench
