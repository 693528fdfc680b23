// Thin RAII wrappers over the SQLite C API: Database (one connection) and Statement (one
// prepared statement). Every call returns Status / Result; nothing throws. SQLite errors carry
// SQLite's own message so operators can look them up.
//
// Thread-safety: a Database and its Statements are thread-compatible: the owner must make sure
// one thread at a time uses a connection (SqliteStore gives the writer connection to whichever
// thread holds its writer's role and guards the read connection with a mutex).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tally::store::sqlite {

class Statement {
 public:
  Statement() = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&& o) noexcept : stmt_(o.stmt_), bind_error_(o.bind_error_) {
    o.stmt_ = nullptr;
  }
  Statement& operator=(Statement&& o) noexcept;
  ~Statement();

  // Bind parameters by 1-based index. Text and blobs are bound without copying: the bytes must
  // stay valid until the statement is reset. A bind failure is reported by the next Step().
  void BindInt64(int index, int64_t v);
  void BindText(int index, std::string_view v);
  void BindBlob(int index, std::string_view bytes);
  void BindNull(int index);

  // true: a row is available; false: the statement is done.
  Result<bool> Step();
  // Runs a statement that returns no rows, then resets it.
  Status Run();
  // Resets for another execution and clears the bindings.
  void Reset();

  int64_t ColumnInt64(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool ColumnIsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  // Valid until the next Step() or Reset().
  std::string_view ColumnText(int col) const;
  std::string_view ColumnBlob(int col) const;

 private:
  friend class Database;
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Status Error(int rc) const;

  sqlite3_stmt* stmt_ = nullptr;
  int bind_error_ = SQLITE_OK;
};

class Database {
 public:
  Database() = default;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  Database(Database&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  Database& operator=(Database&& o) noexcept;
  ~Database();

  // Opens `path` with the given sqlite3_open_v2 flags (SQLITE_OPEN_NOMUTEX is always added:
  // callers serialise use of a connection themselves).
  static Result<Database> Open(const std::string& path, int flags);

  // Runs one or more statements that return no rows.
  Status Exec(const std::string& sql);
  Result<Statement> Prepare(std::string_view sql);
  // The single integer result of a query such as "PRAGMA user_version".
  Result<int64_t> QueryInt64(std::string_view sql);

  // "<what>: <sqlite message> (code N)".
  Status Error(std::string_view what, int rc) const;
  bool is_open() const { return db_ != nullptr; }
  sqlite3* raw() const { return db_; }

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

}  // namespace tally::store::sqlite
