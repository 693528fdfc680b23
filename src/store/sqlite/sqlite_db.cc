#include "store/sqlite/sqlite_db.h"

#include <utility>

namespace tally::store::sqlite {
namespace {

// SQLITE_BUSY while another process holds the database cannot happen (the LOCK file excludes
// other tally processes), so every error is reported as Unavailable with SQLite's message;
// damaged files are DataLoss.
Status FromCode(int rc, std::string message) {
  int primary = rc & 0xFF;
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) return DataLoss(std::move(message));
  if (primary == SQLITE_MISUSE || primary == SQLITE_RANGE) return Internal(std::move(message));
  return Unavailable(std::move(message));
}

}  // namespace

Statement& Statement::operator=(Statement&& o) noexcept {
  if (this != &o) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(o.stmt_, nullptr);
    bind_error_ = o.bind_error_;
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::BindInt64(int index, int64_t v) {
  int rc = sqlite3_bind_int64(stmt_, index, v);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
}

void Statement::BindText(int index, std::string_view v) {
  // A zero-length view may have a null data pointer, which SQLite would bind as NULL.
  const char* data = v.data() != nullptr ? v.data() : "";
  int rc = sqlite3_bind_text64(stmt_, index, data, v.size(), SQLITE_STATIC, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
}

void Statement::BindBlob(int index, std::string_view bytes) {
  // A null data pointer would bind NULL rather than an empty blob.
  const char* data = bytes.data() != nullptr ? bytes.data() : "";
  int rc = sqlite3_bind_blob64(stmt_, index, data, bytes.size(), SQLITE_STATIC);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
}

void Statement::BindNull(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
}

Status Statement::Error(int rc) const {
  sqlite3* db = sqlite3_db_handle(stmt_);
  std::string sql = sqlite3_sql(stmt_) != nullptr ? sqlite3_sql(stmt_) : "";
  if (sql.size() > 60) sql = sql.substr(0, 60) + "...";
  return FromCode(rc, std::string(sqlite3_errmsg(db)) + " (code " + std::to_string(rc) + ") in \"" +
                          sql + "\"");
}

Result<bool> Statement::Step() {
  if (bind_error_ != SQLITE_OK) return Error(bind_error_);
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Error(rc);
}

Status Statement::Run() {
  auto r = Step();
  Reset();
  if (!r.ok()) return r.status();
  return Status::Ok();
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_error_ = SQLITE_OK;
}

std::string_view Statement::ColumnText(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  if (p == nullptr) return {};
  return {p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))};
}

std::string_view Statement::ColumnBlob(int col) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
  if (p == nullptr) return {};
  return {p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))};
}

Database& Database::operator=(Database&& o) noexcept {
  if (this != &o) {
    sqlite3_close_v2(db_);
    db_ = std::exchange(o.db_, nullptr);
  }
  return *this;
}

Database::~Database() { sqlite3_close_v2(db_); }

Result<Database> Database::Open(const std::string& path, int flags) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return FromCode(rc, "cannot open " + path + ": " + msg);
  }
  sqlite3_extended_result_codes(db, 1);
  return Database(db);
}

Status Database::Error(std::string_view what, int rc) const {
  return FromCode(
      rc, std::string(what) + ": " + sqlite3_errmsg(db_) + " (code " + std::to_string(rc) + ")");
}

Status Database::Exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  std::string head = sql.size() > 60 ? sql.substr(0, 60) + "..." : sql;
  return FromCode(rc, msg + " (code " + std::to_string(rc) + ") in \"" + head + "\"");
}

Result<Statement> Database::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return Error("prepare \"" + std::string(sql.substr(0, 60)) + "\"", rc);
  return Statement(stmt);
}

Result<int64_t> Database::QueryInt64(std::string_view sql) {
  TALLY_ASSIGN_OR_RETURN(Statement stmt, Prepare(sql));
  TALLY_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return Internal("\"" + std::string(sql) + "\" returned no row");
  return stmt.ColumnInt64(0);
}

}  // namespace tally::store::sqlite
