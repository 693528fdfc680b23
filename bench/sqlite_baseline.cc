#include "sqlite_baseline.h"

#include <unistd.h>

namespace tally::bench {
namespace {

Status SqliteError(sqlite3* db, const std::string& what) {
  return Internal(what + ": " + sqlite3_errmsg(db));
}

constexpr const char* kGroupColumns =
    "usage_start, meter_id, resource_uri, location, tags, additional_info";

}  // namespace

Result<std::unique_ptr<SqliteBaseline>> SqliteBaseline::Create(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) unlink((path + suffix).c_str());
  TALLY_ASSIGN_OR_RETURN(auto b, Open(path));
  TALLY_RETURN_IF_ERROR(b->Exec(
      "CREATE TABLE usage(record_id TEXT NOT NULL, subscription_id TEXT NOT NULL, "
      "meter_id TEXT NOT NULL, resource_uri TEXT NOT NULL, location TEXT NOT NULL, "
      "usage_start INTEGER NOT NULL, quantity REAL NOT NULL, tags TEXT, additional_info TEXT, "
      "reported_time INTEGER NOT NULL)"));
  return b;
}

Result<std::unique_ptr<SqliteBaseline>> SqliteBaseline::Open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    Status s = SqliteError(db, "open " + path);
    sqlite3_close(db);
    return s;
  }
  std::unique_ptr<SqliteBaseline> b(new SqliteBaseline(db));
  TALLY_RETURN_IF_ERROR(b->Exec("PRAGMA journal_mode=WAL"));
  TALLY_RETURN_IF_ERROR(b->Exec("PRAGMA synchronous=NORMAL"));
  return b;
}

SqliteBaseline::~SqliteBaseline() {
  sqlite3_finalize(insert_);
  sqlite3_close(db_);
}

Status SqliteBaseline::Exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    return Internal(std::string(sql) + ": " + message);
  }
  return Status::Ok();
}

Status SqliteBaseline::Append(const std::vector<domain::UsageRecord>& records) {
  if (insert_ == nullptr &&
      sqlite3_prepare_v2(db_, "INSERT INTO usage VALUES(?,?,?,?,?,?,?,?,?,?)", -1, &insert_,
                         nullptr) != SQLITE_OK) {
    return SqliteError(db_, "prepare insert");
  }
  TALLY_RETURN_IF_ERROR(Exec("BEGIN"));
  std::string tags, info;
  for (const domain::UsageRecord& r : records) {
    sqlite3_bind_text(insert_, 1, r.record_id.data(), static_cast<int>(r.record_id.size()),
                      SQLITE_STATIC);
    sqlite3_bind_text(insert_, 2, r.subscription_id.data(),
                      static_cast<int>(r.subscription_id.size()), SQLITE_STATIC);
    sqlite3_bind_text(insert_, 3, r.meter_id.data(), static_cast<int>(r.meter_id.size()),
                      SQLITE_STATIC);
    sqlite3_bind_text(insert_, 4, r.resource_uri.data(), static_cast<int>(r.resource_uri.size()),
                      SQLITE_STATIC);
    sqlite3_bind_text(insert_, 5, r.location.data(), static_cast<int>(r.location.size()),
                      SQLITE_STATIC);
    sqlite3_bind_int64(insert_, 6, r.usage_start.hours());
    sqlite3_bind_double(insert_, 7,
                        static_cast<double>(r.quantity.raw()) /
                            static_cast<double>(Decimal::kOne));
    tags.clear();
    info.clear();
    if (r.tags) {
      domain::AppendPropertiesJson(tags, r.tags);
      sqlite3_bind_text(insert_, 8, tags.data(), static_cast<int>(tags.size()), SQLITE_STATIC);
    } else {
      sqlite3_bind_null(insert_, 8);
    }
    if (r.additional_info) {
      domain::AppendPropertiesJson(info, r.additional_info);
      sqlite3_bind_text(insert_, 9, info.data(), static_cast<int>(info.size()), SQLITE_STATIC);
    } else {
      sqlite3_bind_null(insert_, 9);
    }
    sqlite3_bind_int64(insert_, 10, r.reported_time ? r.reported_time->micros() : 0);
    if (sqlite3_step(insert_) != SQLITE_DONE) {
      Status s = SqliteError(db_, "insert");
      (void)Exec("ROLLBACK");
      return s;
    }
    sqlite3_reset(insert_);
  }
  return Exec("COMMIT");
}

Status SqliteBaseline::FinishLoad() {
  TALLY_RETURN_IF_ERROR(
      Exec("CREATE INDEX usage_by_subscription ON usage(subscription_id, reported_time)"));
  TALLY_RETURN_IF_ERROR(Exec("CREATE INDEX usage_by_reported ON usage(reported_time)"));
  TALLY_RETURN_IF_ERROR(Exec("ANALYZE"));
  return Exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

Result<SqliteBaseline::Answer> SqliteBaseline::Run(const std::string& sql,
                                                   const std::vector<std::string>& text_args,
                                                   const std::vector<int64_t>& int_args,
                                                   int sum_column) {
  Answer answer;
  for (bool explain : {true, false}) {
    std::string text = explain ? "EXPLAIN QUERY PLAN " + sql : sql;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, text.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      return SqliteError(db_, "prepare " + sql);
    }
    int i = 1;
    for (const std::string& a : text_args) {
      sqlite3_bind_text(st, i++, a.data(), static_cast<int>(a.size()), SQLITE_TRANSIENT);
    }
    for (int64_t a : int_args) sqlite3_bind_int64(st, i++, a);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      if (explain) {
        answer.plan += reinterpret_cast<const char*>(sqlite3_column_text(st, 3));
        answer.plan += "; ";
      } else {
        ++answer.rows;
        answer.quantity_sum += sqlite3_column_double(st, sum_column);
      }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return SqliteError(db_, "run " + sql);
  }
  return answer;
}

Result<SqliteBaseline::Answer> SqliteBaseline::SubscriptionHourly(const std::string& subscription,
                                                                  UtcTime from, UtcTime to,
                                                                  uint64_t limit) {
  std::string sql = std::string("SELECT ") + kGroupColumns +
                    ", sum(quantity) FROM usage WHERE subscription_id = ?1 AND "
                    "reported_time >= ?2 AND reported_time < ?3 GROUP BY " +
                    kGroupColumns + " ORDER BY " + kGroupColumns;
  if (limit > 0) sql += " LIMIT " + std::to_string(limit);
  return Run(sql, {subscription}, {from.micros, to.micros}, 6);
}

Result<SqliteBaseline::Answer> SqliteBaseline::StoreDaily(UtcTime from, UtcTime to) {
  return Run(
      "SELECT subscription_id, usage_start / 24 AS day, meter_id, sum(quantity) FROM usage "
      "WHERE reported_time >= ?1 AND reported_time < ?2 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
      {}, {from.micros, to.micros}, 3);
}

Result<SqliteBaseline::Answer> SqliteBaseline::MonthTotals(UsageHour from, UsageHour to) {
  return Run(
      "SELECT subscription_id, meter_id, sum(quantity), count(*) FROM usage "
      "WHERE usage_start >= ?1 AND usage_start < ?2 GROUP BY 1, 2",
      {}, {from.hours(), to.hours()}, 2);
}

}  // namespace tally::bench
