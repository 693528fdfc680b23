// Schema migrations of the SQLite store: a numbered list of SQL scripts, applied in order, all
// pending ones in one transaction when a store opens, and recorded in `schema_migrations`.
// Migrations are append-only: a released migration is never edited, only followed by a new
// one. See docs/storage.md for the schema they build. Stateless; the caller owns the
// connection (the store's single writer connection).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/status.h"
#include "common/time.h"
#include "store/sqlite/sqlite_db.h"

namespace tally::store::sqlite {

struct Migration {
  int version;
  std::string_view description;
  std::string_view sql;
};

// Every migration this build knows, in version order (1, 2, ...).
std::span<const Migration> AllMigrations();

// The highest version this build knows.
int LatestSchemaVersion();

// Applies every migration newer than the database's version inside one IMMEDIATE transaction,
// recording each with `now`. Unavailable when the database was written by a newer build
// (a higher version than this build knows); the database is left untouched then.
Status ApplyMigrations(Database& db, UtcTime now);

}  // namespace tally::store::sqlite
