#include "store/sqlite/migrations.h"

#include <string>

namespace tally::store::sqlite {
namespace {

// Version 1: the initial schema. usage_records deliberately has no secondary index: dedup is
// answered by the in-memory index, and a B-tree on random record IDs is what limits SQLite's
// insert rate (see docs/storage.md).
constexpr std::string_view kV1 = R"sql(
CREATE TABLE usage_records (
  seq               INTEGER PRIMARY KEY,
  record_id         TEXT NOT NULL,
  subscription_id   TEXT NOT NULL,
  meter_id          TEXT NOT NULL,
  resource_uri      TEXT NOT NULL,
  location          TEXT NOT NULL,
  usage_start_hour  INTEGER NOT NULL,
  quantity          TEXT NOT NULL,
  tags              TEXT,
  additional_info   TEXT,
  reported_time_us  INTEGER NOT NULL,
  content_hash      INTEGER NOT NULL
);
CREATE TABLE meters (
  meter_key     TEXT PRIMARY KEY,
  id            TEXT NOT NULL,
  name          TEXT NOT NULL,
  unit          TEXT NOT NULL,
  family        TEXT NOT NULL,
  notes         TEXT NOT NULL,
  deprecated    INTEGER NOT NULL,
  hourly_level  INTEGER NOT NULL,
  source        TEXT NOT NULL
);
CREATE TABLE subscriptions (
  id            TEXT PRIMARY KEY,
  kind          TEXT NOT NULL,
  provider_id   TEXT NOT NULL,
  owner         TEXT NOT NULL,
  display_name  TEXT NOT NULL,
  offer         TEXT NOT NULL,
  state         TEXT NOT NULL,
  created_us    INTEGER NOT NULL
);
CREATE TABLE api_keys (
  key_id         TEXT PRIMARY KEY,
  role           TEXT NOT NULL,
  subscriptions  TEXT NOT NULL,
  label          TEXT NOT NULL,
  secret_hash    TEXT NOT NULL,
  created_us     INTEGER NOT NULL,
  revoked_us     INTEGER
);
CREATE TABLE settings (
  key    TEXT PRIMARY KEY,
  value  TEXT NOT NULL
);
)sql";

// Customers group tenant subscriptions (Partner Center); a subscription has at most one.
constexpr std::string_view kV2 = R"sql(
CREATE TABLE customers (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  created_us  INTEGER NOT NULL
);
CREATE TABLE customer_subscriptions (
  subscription_id  TEXT PRIMARY KEY,
  customer_id      TEXT NOT NULL REFERENCES customers (id)
);
CREATE INDEX customer_subscriptions_by_customer ON customer_subscriptions (customer_id);
)sql";

// Version 3: pricing and chargeback (BillingStore). Key columns hold the upper-case form of
// the rate card key; the spellings as imported are kept beside them. Triggers refuse any
// change to a final invoice, so immutability does not rest on the application alone.
constexpr std::string_view kV3 = R"sql(
CREATE TABLE rate_cards (
  offer_key         TEXT NOT NULL,
  region_key        TEXT NOT NULL,
  currency_key      TEXT NOT NULL,
  locale_key        TEXT NOT NULL,
  offer_durable_id  TEXT NOT NULL,
  region            TEXT NOT NULL,
  currency          TEXT NOT NULL,
  locale            TEXT NOT NULL,
  document          TEXT NOT NULL,
  imported_us       INTEGER NOT NULL,
  PRIMARY KEY (offer_key, region_key, currency_key, locale_key)
);
CREATE TABLE subscription_pricing (
  subscription_id     TEXT PRIMARY KEY,
  offer_durable_id    TEXT NOT NULL,
  region              TEXT NOT NULL,
  currency            TEXT NOT NULL,
  adjustment_percent  TEXT NOT NULL,
  commitment          TEXT,
  updated_us          INTEGER NOT NULL
);
CREATE TABLE invoices (
  subscription_id   TEXT NOT NULL,
  period            TEXT NOT NULL,
  time_zone         TEXT NOT NULL,
  offer_durable_id  TEXT NOT NULL,
  currency          TEXT NOT NULL,
  total             TEXT NOT NULL,
  status            TEXT NOT NULL,
  watermark_seq     INTEGER NOT NULL,
  coverage          TEXT NOT NULL,
  billed            TEXT NOT NULL,
  json              TEXT NOT NULL,
  csv               TEXT NOT NULL,
  html              TEXT NOT NULL,
  created_us        INTEGER NOT NULL,
  finalized_us      INTEGER,
  PRIMARY KEY (subscription_id, period)
);
CREATE TRIGGER invoices_final_no_update BEFORE UPDATE ON invoices WHEN OLD.status = 'final'
BEGIN SELECT RAISE(ABORT, 'a final invoice cannot be changed'); END;
CREATE TRIGGER invoices_final_no_delete BEFORE DELETE ON invoices WHEN OLD.status = 'final'
BEGIN SELECT RAISE(ABORT, 'a final invoice cannot be deleted'); END;
)sql";

// Version 4: webhooks (WebhookStore). An endpoint's events are a space-separated list; a
// removed endpoint keeps its row so that the delivery log still names it. webhook_events is
// the outbox, written in the transaction of the change it reports; webhook_attempts is the
// delivery log. docs/webhooks.md.
constexpr std::string_view kV4 = R"sql(
CREATE TABLE webhook_endpoints (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  url         TEXT NOT NULL,
  secret      TEXT NOT NULL,
  events      TEXT NOT NULL,
  created_us  INTEGER NOT NULL,
  removed_us  INTEGER
);
CREATE TABLE webhook_events (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  type        TEXT NOT NULL,
  subject     TEXT NOT NULL,
  payload     TEXT NOT NULL,
  created_us  INTEGER NOT NULL
);
CREATE TABLE webhook_deliveries (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id          INTEGER NOT NULL REFERENCES webhook_events (id),
  endpoint_id       INTEGER NOT NULL REFERENCES webhook_endpoints (id),
  status            TEXT NOT NULL,
  attempts          INTEGER NOT NULL,
  round_attempts    INTEGER NOT NULL,
  created_us        INTEGER NOT NULL,
  round_started_us  INTEGER NOT NULL,
  next_attempt_us   INTEGER,
  last_attempt_us   INTEGER,
  last_result       TEXT NOT NULL,
  delivered_us      INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_us);
CREATE TABLE webhook_attempts (
  delivery_id  INTEGER NOT NULL REFERENCES webhook_deliveries (id),
  attempt      INTEGER NOT NULL,
  at_us        INTEGER NOT NULL,
  status_code  INTEGER NOT NULL,
  error        TEXT NOT NULL,
  duration_us  INTEGER NOT NULL,
  PRIMARY KEY (delivery_id, attempt)
);
)sql";

// Version 5: usage is appended as record blocks (store/record_block.h), one row per commit
// group: SQLite's per-row cost, not the bytes, limited the writer. Rows written into
// usage_records by versions 1-4 stay there and are read as before; every seq in usage_blocks
// is greater than every seq in usage_records.
constexpr std::string_view kV5 = R"sql(
CREATE TABLE usage_blocks (
  first_seq     INTEGER PRIMARY KEY,           -- seq of the block's first record
  record_count  INTEGER NOT NULL CHECK (record_count > 0),
  data          BLOB NOT NULL                  -- the records of seq first_seq .. + count - 1
);
)sql";

constexpr Migration kMigrations[] = {
    {1, "initial schema: usage_records, meters, subscriptions, api_keys, settings", kV1},
    {2, "customers and their subscriptions", kV2},
    {3, "pricing and chargeback: rate_cards, subscription_pricing, invoices", kV3},
    {4, "webhooks: webhook_endpoints, webhook_events, webhook_deliveries, webhook_attempts",
     kV4},
    {5, "usage appended as record blocks: usage_blocks", kV5},
};

}  // namespace

std::span<const Migration> AllMigrations() {
  return kMigrations;
}

int LatestSchemaVersion() { return kMigrations[std::size(kMigrations) - 1].version; }

Status ApplyMigrations(Database& db, UtcTime now) {
  TALLY_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> Status {
    TALLY_RETURN_IF_ERROR(
        db.Exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                "description TEXT NOT NULL, applied_us INTEGER NOT NULL)"));
    TALLY_ASSIGN_OR_RETURN(int64_t current,
                           db.QueryInt64("SELECT coalesce(max(version), 0) FROM schema_migrations"));
    if (current > LatestSchemaVersion()) {
      return Unavailable("the database has schema version " + std::to_string(current) +
                         ", newer than this build of tally knows (" +
                         std::to_string(LatestSchemaVersion()) + "); use a newer tally");
    }
    TALLY_ASSIGN_OR_RETURN(
        Statement record,
        db.Prepare("INSERT INTO schema_migrations (version, description, applied_us) "
                   "VALUES (?, ?, ?)"));
    for (const Migration& m : AllMigrations()) {
      if (m.version <= current) continue;
      Status s = db.Exec(std::string(m.sql));
      if (!s.ok()) {
        return Status(s.code(), "migration " + std::to_string(m.version) + " failed: " +
                                    s.message());
      }
      record.BindInt64(1, m.version);
      record.BindText(2, m.description);
      record.BindInt64(3, now.micros);
      TALLY_RETURN_IF_ERROR(record.Run());
    }
    return Status::Ok();
  };
  Status s = body();
  if (!s.ok()) {
    (void)db.Exec("ROLLBACK");
    return s;
  }
  return db.Exec("COMMIT");
}

}  // namespace tally::store::sqlite
