// The PostgreSQL baseline: a private PostgreSQL 15 cluster on loopback, created, started and
// stopped by the benchmark (initdb + pg_ctl in a temporary directory, a free port, run as the
// `postgres` user when the benchmark runs as root), holding the same records in one table
// (text recordId primary key, uuid subscription, numeric quantity, jsonb properties, indexes
// on (subscription_id, reported_time) and (reported_time)), default durability
// (synchronous_commit=on, fsync=on).
// PgCluster: one per process. PgBatch: values. PgConnection: one per thread.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "domain/usage_record.h"

namespace tally::bench {

class PgCluster {
 public:
  // Creates a fresh cluster under `dir` (removing what is there) and starts it.
  static Result<std::unique_ptr<PgCluster>> Start(const std::string& dir);
  ~PgCluster();  // stops the server and removes its directory

  std::string ConnectionString() const;
  std::string dir() const { return dir_; }

 private:
  PgCluster(std::string dir, int port) : dir_(std::move(dir)), port_(port) {}
  std::string dir_;
  int port_;
  bool running_ = false;
};

// One batch as a single multi-row INSERT … ON CONFLICT (record_id) DO NOTHING, reported_time
// = now(); run in autocommit, so one commit per batch.
struct PgBatch {
  std::string sql;
  std::vector<std::string> values;
  std::vector<bool> is_null;
  size_t records = 0;
};
PgBatch MakePgBatch(const std::vector<domain::UsageRecord>& records);

class PgConnection {
 public:
  static Result<std::unique_ptr<PgConnection>> Connect(const std::string& conninfo);
  ~PgConnection();
  Status Exec(const std::string& sql);
  // Creates the baseline table and loads it from a COPY text file, then adds the primary key
  // and indexes and analyses the table.
  Status CreateAndLoad(const std::string& tsv_path);
  // Runs one batch; returns the rows inserted.
  Result<uint64_t> Insert(const PgBatch& batch);
  Result<uint64_t> CountRows();
  // Runs a query with text parameters ($1, $2, …; nullopt = NULL) and returns every row as
  // text (NULL as "").
  Result<std::vector<std::vector<std::string>>> Query(
      const std::string& sql, const std::vector<std::optional<std::string>>& params);

 private:
  explicit PgConnection(PGconn* c) : conn_(c) {}
  PGconn* conn_;
};

}  // namespace tally::bench
