#include "store/sqlite/sqlite_store.h"

#include <fcntl.h>
#ifdef __GLIBC__
#endif
#include <openssl/rand.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "common/strings.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/sqlite_store_impl.h"

namespace tally::store {

Result<std::unique_ptr<UsageStore>> OpenSqliteStore(const SqliteStoreOptions& options) {
  TALLY_ASSIGN_OR_RETURN(auto store, sqlite::SqliteStore::Open(options));
  return std::unique_ptr<UsageStore>(std::move(store));
}

Status FailNextCommitsForTesting(UsageStore& store, int n) {
  auto* s = dynamic_cast<sqlite::SqliteStore*>(&store);
  if (s == nullptr) return InvalidArgument("FailNextCommitsForTesting needs a SQLite store");
  s->FailNextCommits(n);
  return Status::Ok();
}

Status HoldPublisherForTesting(UsageStore& store, bool hold) {
  auto* s = dynamic_cast<sqlite::SqliteStore*>(&store);
  if (s == nullptr) return InvalidArgument("HoldPublisherForTesting needs a SQLite store");
  s->HoldPublisher(hold);
  return Status::Ok();
}

namespace sqlite {

namespace {

constexpr std::string_view kDefaultProviderSetting = "default_provider_subscription_id";

Result<std::string> MakeGuidV4() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof(b)) != 1) return Internal("the random number generator failed");
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0xF]);
  }
  return out;
}

std::string JoinIds(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) {
    if (!out.empty()) out.push_back(',');
    out.append(id);
  }
  return out;
}

std::vector<std::string> SplitIds(std::string_view s) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  for (std::string_view part : Split(s, ',')) out.emplace_back(part);
  return out;
}

bool IsMeterIdChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
         c == '_' || c == '.';
}

}  // namespace

SqliteStore::SqliteStore(const SqliteStoreOptions& options)
    : options_(options), clock_(*options.clock) {}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const SqliteStoreOptions& options) {
  if (options.clock == nullptr) return InvalidArgument("SqliteStoreOptions.clock is required");
  if (options.data_dir.empty()) return InvalidArgument("SqliteStoreOptions.data_dir is required");
  if (const uint32_t p = options.new_database_page_size; p < 512 || p > 65536 || (p & (p - 1))) {
    return InvalidArgument(
        "SqliteStoreOptions.new_database_page_size must be a power of two from "
        "512 to 65536, not " +
        std::to_string(p));
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(options));
  TALLY_RETURN_IF_ERROR(store->OpenFiles());
  TALLY_RETURN_IF_ERROR(ApplyMigrations(store->writer_db_, store->clock_.Now()));
  TALLY_RETURN_IF_ERROR(store->EnsureDefaultProvider());
  TALLY_RETURN_IF_ERROR(store->LoadMetadata());
  TALLY_RETURN_IF_ERROR(store->RebuildIndex());

  auto prepare = [&](Statement& stmt, Database& db, std::string_view sql) -> Status {
    TALLY_ASSIGN_OR_RETURN(stmt, db.Prepare(sql));
    return Status::Ok();
  };
  Database& w = store->writer_db_;
  TALLY_RETURN_IF_ERROR(prepare(store->insert_block_, w,
                                "INSERT INTO usage_blocks (first_seq, record_count, data) "
                                "VALUES (?,?,?)"));
  TALLY_RETURN_IF_ERROR(prepare(store->select_block_, w,
                                "SELECT first_seq, record_count, data FROM usage_blocks "
                                "WHERE first_seq <= ? ORDER BY first_seq DESC LIMIT 1"));
  TALLY_RETURN_IF_ERROR(prepare(store->select_record_, w,
                                "SELECT record_id, subscription_id, meter_id, resource_uri, "
                                "location, usage_start_hour, quantity, tags, additional_info, "
                                "reported_time_us FROM usage_records WHERE seq = ?"));
  TALLY_RETURN_IF_ERROR(prepare(store->insert_meter_, w,
                                "INSERT OR REPLACE INTO meters (meter_key, id, name, unit, "
                                "family, notes, deprecated, hourly_level, source) "
                                "VALUES (?,?,?,?,?,?,?,?,?)"));
  TALLY_RETURN_IF_ERROR(prepare(store->insert_subscription_, w,
                                "INSERT OR REPLACE INTO subscriptions (id, kind, provider_id, "
                                "owner, display_name, offer, state, created_us) "
                                "VALUES (?,?,?,?,?,?,?,?)"));

  // The read connection is opened after the writer has set WAL mode and migrated.
  TALLY_ASSIGN_OR_RETURN(store->reader_db_, Database::Open(store->db_path_, SQLITE_OPEN_READONLY));
  TALLY_RETURN_IF_ERROR(store->reader_db_.Exec("PRAGMA busy_timeout = 10000"));
  TALLY_RETURN_IF_ERROR(prepare(store->list_records_, store->reader_db_,
                                "SELECT seq, record_id, subscription_id, meter_id, resource_uri, "
                                "location, usage_start_hour, quantity, tags, additional_info, "
                                "reported_time_us FROM usage_records WHERE seq > ? ORDER BY seq "
                                "LIMIT ?"));
  // From the block that holds seq ?1 (or the first after it) on.
  TALLY_RETURN_IF_ERROR(prepare(store->list_blocks_, store->reader_db_,
                                "SELECT first_seq, record_count, data FROM usage_blocks WHERE "
                                "first_seq >= coalesce((SELECT max(first_seq) FROM usage_blocks "
                                "WHERE first_seq <= ?1), 0) ORDER BY first_seq"));

  store->publisher_ = std::thread([s = store.get()] { s->PublisherLoop(); });
  store->writer_ = std::thread([s = store.get()] { s->WriterLoop(); });
  return store;
}

SqliteStore::~SqliteStore() {
  if (writer_.joinable()) {
    {
      std::lock_guard lock(queue_mu_);
      stopping_ = true;
    }
    queue_cv_.notify_all();
    writer_.join();  // the writer drains the publisher before it returns
  }
  if (publisher_.joinable()) {
    {
      std::lock_guard lock(publish_mu_);
      publish_stop_ = true;
    }
    publish_cv_.notify_all();
    publisher_.join();
  }
  // Close the reader and the checkpointer's guard first so that the writer connection is the
  // last one and checkpoints the WAL into the database (with an fsync) as it closes.
  checkpointer_.reset();
  list_records_ = Statement();
  list_blocks_ = Statement();
  reader_db_ = Database();
  // Closing checkpoints the WAL into the database; with a size limit SQLite would then empty
  // the file it is told to keep.
  (void)writer_db_.Exec("PRAGMA journal_size_limit = -1");
  insert_block_ = Statement();
  select_block_ = Statement();
  select_record_ = Statement();
  insert_meter_ = Statement();
  insert_subscription_ = Statement();
  writer_db_ = Database();
  if (lock_fd_ >= 0) close(lock_fd_);  // releases the flock
}

Status SqliteStore::OpenFiles() {
  namespace fs = std::filesystem;
  const std::string& dir = options_.data_dir;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    if (!options_.create_if_missing) {
      return NotFound("data directory " + dir + " does not exist");
    }
    fs::create_directories(dir, ec);
    if (ec) return Unavailable("cannot create data directory " + dir + ": " + ec.message());
  }

  std::string lock_path = dir + "/LOCK";
  lock_fd_ = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) {
    return Unavailable("cannot open " + lock_path + ": " + std::strerror(errno));
  }
  if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err != EWOULDBLOCK) {
      return Unavailable("cannot lock " + lock_path + ": " + std::strerror(err));
    }
    char buf[32] = {};
    ssize_t n = pread(lock_fd_, buf, sizeof(buf) - 1, 0);
    std::string pid =
        n > 0 ? std::string(TrimSpace(std::string_view(buf, static_cast<size_t>(n)))) : "unknown";
    close(lock_fd_);
    lock_fd_ = -1;
    return Unavailable("data directory " + dir + " is in use by another tally process (pid " + pid +
                       ")");
  }
  std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(lock_fd_, 0) != 0 ||
      pwrite(lock_fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    return Unavailable("cannot write " + lock_path + ": " + std::strerror(errno));
  }

  db_path_ = dir + "/tally.db";
  TALLY_ASSIGN_OR_RETURN(writer_db_,
                         Database::Open(db_path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE));
  // 64 KiB pages for a new database (an existing one keeps its page size). Record blocks are
  // large blobs, written and checkpointed page by page: 16 times fewer pages than SQLite's
  // default 4 KiB make commits and checkpoints several times cheaper (docs/storage.md).
  TALLY_RETURN_IF_ERROR(
      writer_db_.Exec("PRAGMA page_size = " + std::to_string(options_.new_database_page_size)));
  TALLY_ASSIGN_OR_RETURN(Statement mode, writer_db_.Prepare("PRAGMA journal_mode = WAL"));
  TALLY_ASSIGN_OR_RETURN(bool row, mode.Step());
  if (!row || !EqualsIgnoreCase(mode.ColumnText(0), "wal")) {
    return Unavailable("cannot put " + db_path_ + " in WAL mode");
  }
  mode = Statement();
  // The writer checkpoints explicitly (MaybeCheckpoint); no connection checkpoints on its own.
  TALLY_RETURN_IF_ERROR(
      writer_db_.Exec("PRAGMA synchronous = FULL;"
                      "PRAGMA wal_autocheckpoint = 0;"
                      "PRAGMA journal_size_limit = 67108864;"
                      "PRAGMA cache_size = -65536;"
                      "PRAGMA busy_timeout = 10000;"));
  // The WAL's size is followed through its frame count after each commit (the file itself
  // keeps its largest size up to journal_size_limit, so its length says little).
  TALLY_ASSIGN_OR_RETURN(int64_t page_size, writer_db_.QueryInt64("PRAGMA page_size"));
  page_size_ = static_cast<uint64_t>(page_size);
  sqlite3_wal_hook(writer_db_.raw(), &SqliteStore::OnWalCommit, this);
  // The WAL file is kept when the store closes, at its length, and reused from its start: a
  // commit that extends the file costs ext4 a journal commit besides the data (the first
  // ~16 MiB of commits after an open were measured up to 4 times slower, though the warm-up's
  // CPU contention also played a part there). The
  // RESTART copies what the kept log holds (already in the database after a clean close) and
  // makes the next commit write from the log's start instead of after its old frames.
  int persist = 1;
  (void)sqlite3_file_control(writer_db_.raw(), "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
  TALLY_RETURN_IF_ERROR(writer_db_.Exec("PRAGMA wal_checkpoint(RESTART)"));
  TALLY_ASSIGN_OR_RETURN(checkpointer_, WalCheckpointer::Open(db_path_, [this] {
                           std::lock_guard lock(queue_mu_);
                           sync_ended_ = true;
                           queue_cv_.notify_one();
                         }));
  return Status::Ok();
}

Status SqliteStore::EnsureDefaultProvider() {
  TALLY_ASSIGN_OR_RETURN(Statement get,
                         writer_db_.Prepare("SELECT value FROM settings WHERE key = ?"));
  get.BindText(1, kDefaultProviderSetting);
  TALLY_ASSIGN_OR_RETURN(bool found, get.Step());
  if (found) return Status::Ok();
  get = Statement();

  TALLY_ASSIGN_OR_RETURN(std::string id, MakeGuidV4());
  domain::Subscription p;
  p.id = id;
  p.kind = domain::SubscriptionKind::kProvider;
  p.display_name = "Default Provider Subscription";
  p.state = domain::SubscriptionState::kActive;
  p.created = clock_.Now();
  TALLY_RETURN_IF_ERROR(writer_db_.Exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> Status {
    TALLY_ASSIGN_OR_RETURN(Statement set,
                           writer_db_.Prepare("INSERT INTO settings (key, value) VALUES (?, ?)"));
    set.BindText(1, kDefaultProviderSetting);
    set.BindText(2, id);
    TALLY_RETURN_IF_ERROR(set.Run());
    TALLY_ASSIGN_OR_RETURN(Statement sub,
                           writer_db_.Prepare("INSERT INTO subscriptions (id, kind, provider_id, "
                                              "owner, display_name, offer, state, created_us) "
                                              "VALUES (?,?,?,?,?,?,?,?)"));
    sub.BindText(1, p.id);
    sub.BindText(2, domain::SubscriptionKindName(p.kind));
    sub.BindText(3, p.provider_id);
    sub.BindText(4, p.owner);
    sub.BindText(5, p.display_name);
    sub.BindText(6, p.offer);
    sub.BindText(7, domain::SubscriptionStateName(p.state));
    sub.BindInt64(8, p.created.micros);
    return sub.Run();
  };
  Status s = body();
  if (!s.ok()) {
    (void)writer_db_.Exec("ROLLBACK");
    return s;
  }
  return writer_db_.Exec("COMMIT");
}

Status SqliteStore::LoadMetadata() {
  TALLY_ASSIGN_OR_RETURN(Statement setting,
                         writer_db_.Prepare("SELECT value FROM settings WHERE key = ?"));
  setting.BindText(1, kDefaultProviderSetting);
  TALLY_ASSIGN_OR_RETURN(bool found, setting.Step());
  if (!found) return DataLoss("the settings table has no default provider subscription");
  default_provider_id_ = std::string(setting.ColumnText(0));

  TALLY_ASSIGN_OR_RETURN(Statement meters,
                         writer_db_.Prepare("SELECT meter_key, id, name, unit, family, notes, "
                                            "deprecated, hourly_level, source FROM meters"));
  while (true) {
    TALLY_ASSIGN_OR_RETURN(bool row, meters.Step());
    if (!row) break;
    domain::Meter m;
    m.id = std::string(meters.ColumnText(1));
    m.name = std::string(meters.ColumnText(2));
    m.unit = std::string(meters.ColumnText(3));
    m.family = std::string(meters.ColumnText(4));
    m.notes = std::string(meters.ColumnText(5));
    m.deprecated = meters.ColumnInt64(6) != 0;
    m.hourly_level = meters.ColumnInt64(7) != 0;
    TALLY_ASSIGN_OR_RETURN(m.source, domain::ParseMeterSource(meters.ColumnText(8)));
    meters_[std::string(meters.ColumnText(0))] = std::move(m);
  }

  TALLY_ASSIGN_OR_RETURN(Statement subs,
                         writer_db_.Prepare("SELECT id, kind, provider_id, owner, display_name, "
                                            "offer, state, created_us FROM subscriptions"));
  while (true) {
    TALLY_ASSIGN_OR_RETURN(bool row, subs.Step());
    if (!row) break;
    domain::Subscription s;
    s.id = std::string(subs.ColumnText(0));
    TALLY_ASSIGN_OR_RETURN(s.kind, domain::ParseSubscriptionKind(subs.ColumnText(1)));
    s.provider_id = std::string(subs.ColumnText(2));
    s.owner = std::string(subs.ColumnText(3));
    s.display_name = std::string(subs.ColumnText(4));
    s.offer = std::string(subs.ColumnText(5));
    TALLY_ASSIGN_OR_RETURN(s.state, domain::ParseSubscriptionState(subs.ColumnText(6)));
    s.created = UtcTime{subs.ColumnInt64(7)};
    subscriptions_[s.id] = std::move(s);
  }

  TALLY_ASSIGN_OR_RETURN(Statement keys,
                         writer_db_.Prepare("SELECT key_id, role, subscriptions, label, "
                                            "secret_hash, created_us, revoked_us FROM api_keys"));
  while (true) {
    TALLY_ASSIGN_OR_RETURN(bool row, keys.Step());
    if (!row) break;
    domain::ApiKey k;
    k.key_id = std::string(keys.ColumnText(0));
    TALLY_ASSIGN_OR_RETURN(k.role, domain::ParseRole(keys.ColumnText(1)));
    k.subscriptions = SplitIds(keys.ColumnText(2));
    k.label = std::string(keys.ColumnText(3));
    k.secret_hash = std::string(keys.ColumnText(4));
    k.created = UtcTime{keys.ColumnInt64(5)};
    if (!keys.ColumnIsNull(6)) k.revoked = UtcTime{keys.ColumnInt64(6)};
    api_keys_[k.key_id] = std::move(k);
  }

  TALLY_ASSIGN_OR_RETURN(Statement customers,
                         writer_db_.Prepare("SELECT id, name, created_us FROM customers"));
  while (true) {
    TALLY_ASSIGN_OR_RETURN(bool row, customers.Step());
    if (!row) break;
    domain::Customer c;
    c.id = std::string(customers.ColumnText(0));
    c.name = std::string(customers.ColumnText(1));
    c.created = UtcTime{customers.ColumnInt64(2)};
    customers_[c.id] = std::move(c);
  }
  TALLY_ASSIGN_OR_RETURN(Statement members,
                         writer_db_.Prepare("SELECT customer_id, subscription_id FROM "
                                            "customer_subscriptions ORDER BY subscription_id"));
  while (true) {
    TALLY_ASSIGN_OR_RETURN(bool row, members.Step());
    if (!row) break;
    auto it = customers_.find(std::string(members.ColumnText(0)));
    if (it == customers_.end()) {
      return DataLoss("customer_subscriptions names a customer that does not exist: " +
                      std::string(members.ColumnText(0)));
    }
    it->second.subscription_ids.emplace_back(members.ColumnText(1));
  }
  return Status::Ok();
}

const domain::Meter* SqliteStore::FindMeterLocked(const std::string& key) const {
  if (const domain::Meter* m = domain::MeterCatalog::Builtin().Find(key)) return m;
  auto it = meters_.find(key);
  return it == meters_.end() ? nullptr : &it->second;
}

std::string SqliteStore::SpellingOf(const std::string& meter_id) const {
  const domain::Meter* m = FindMeterLocked(domain::MeterKey(meter_id));
  return m != nullptr ? m->id : meter_id;
}

Result<AggregatePage> SqliteStore::AggregateUsage(const AggregateQuery& query) {
  AwaitVisible();
  return index_.Aggregate(query);
}

Result<std::vector<domain::Meter>> SqliteStore::ListMeters() {
  AwaitVisible();
  std::vector<domain::Meter> out = domain::MeterCatalog::Builtin().meters();
  std::shared_lock lock(meta_mu_);
  for (const auto& [key, m] : meters_) {
    if (domain::MeterCatalog::Builtin().Find(key) == nullptr) out.push_back(m);
  }
  return out;
}

Status SqliteStore::SaveMeter(const domain::Meter& meter) {
  std::string problems;
  auto problem = [&](std::string_view p) {
    if (!problems.empty()) problems.append("; ");
    problems.append(p);
  };
  if (meter.id.empty() || meter.id.size() > 64 ||
      !std::all_of(meter.id.begin(), meter.id.end(), IsMeterIdChar)) {
    problem("meter id must be 1 to 64 characters of letters, digits, '-', '_' or '.'");
  } else if (domain::MeterCatalog::Builtin().Find(meter.id) != nullptr) {
    problem("meter " + meter.id + " is built in and cannot be changed");
  }
  if (meter.name.empty()) problem("meter name is required");
  if (!problems.empty()) return InvalidArgument(problems);

  domain::Meter m = meter;
  m.source = domain::MeterSource::kCustom;
  std::string key = domain::MeterKey(m.id);
  return RunMetaWrite([this, m]() -> Status { return InsertMeter(m); },
                      [this, m, key] {
                        meters_[key] = m;
                        index_.SetMeterSpelling(key, m.id);
                      });
}

Result<std::vector<domain::Subscription>> SqliteStore::ListSubscriptions() {
  AwaitVisible();
  std::shared_lock lock(meta_mu_);
  std::vector<domain::Subscription> out;
  out.reserve(subscriptions_.size());
  for (const auto& [id, s] : subscriptions_) out.push_back(s);
  return out;
}

Result<std::optional<domain::Subscription>> SqliteStore::FindSubscription(const std::string& id) {
  AwaitVisible();
  std::shared_lock lock(meta_mu_);
  auto it = subscriptions_.find(AsciiLower(id));
  if (it == subscriptions_.end()) return std::optional<domain::Subscription>();
  return std::optional<domain::Subscription>(it->second);
}

Status SqliteStore::SaveSubscription(const domain::Subscription& subscription) {
  std::string problems;
  if (!IsGuid(subscription.id)) problems = "subscription id must be a GUID";
  if (!subscription.provider_id.empty() && !IsGuid(subscription.provider_id)) {
    if (!problems.empty()) problems.append("; ");
    problems.append("provider id must be empty or a GUID");
  }
  if (!problems.empty()) return InvalidArgument(problems);
  domain::Subscription s = subscription;
  s.id = AsciiLower(s.id);
  s.provider_id = AsciiLower(s.provider_id);
  return RunMetaWrite([this, s]() -> Status { return InsertSubscription(s); },
                      [this, s] {
                        subscriptions_[s.id] = s;
                        ForgetDirectTenants();
                      });
}

Result<std::shared_ptr<const std::vector<std::string>>> SqliteStore::DirectTenantIds(
    const std::string& provider_id) {
  const std::string provider = AsciiLower(provider_id);
  AwaitVisible();
  std::shared_lock lock(meta_mu_);
  std::lock_guard cache_lock(direct_tenants_mu_);
  auto it = direct_tenants_.find(provider);
  if (it != direct_tenants_.end()) return it->second;
  auto ids = std::make_shared<std::vector<std::string>>();
  for (const auto& [id, s] : subscriptions_) {  // a std::map: already in ID order
    if (domain::IsDirectTenantOf(s, provider, default_provider_id_)) ids->push_back(id);
  }
  std::shared_ptr<const std::vector<std::string>> answer = std::move(ids);
  direct_tenants_.emplace(provider, answer);
  return answer;
}

void SqliteStore::ForgetDirectTenants() {
  std::lock_guard cache_lock(direct_tenants_mu_);
  direct_tenants_.clear();
}

Result<domain::Subscription> SqliteStore::DefaultProvider() {
  std::shared_lock lock(meta_mu_);
  auto it = subscriptions_.find(default_provider_id_);
  if (it == subscriptions_.end()) {
    return DataLoss("the default provider subscription " + default_provider_id_ + " is missing");
  }
  return it->second;
}

Status SqliteStore::SaveApiKey(const domain::ApiKey& key) {
  if (key.key_id.empty()) return InvalidArgument("api key id is required");
  if (key.secret_hash.empty()) return InvalidArgument("api key secret hash is required");
  domain::ApiKey k = key;
  return RunMetaWrite(
      [this, k]() -> Status {
        TALLY_ASSIGN_OR_RETURN(
            Statement st,
            writer_db_.Prepare("INSERT OR REPLACE INTO api_keys (key_id, role, subscriptions, "
                               "label, secret_hash, created_us, revoked_us) "
                               "VALUES (?,?,?,?,?,?,?)"));
        std::string subs = JoinIds(k.subscriptions);
        st.BindText(1, k.key_id);
        st.BindText(2, domain::RoleName(k.role));
        st.BindText(3, subs);
        st.BindText(4, k.label);
        st.BindText(5, k.secret_hash);
        st.BindInt64(6, k.created.micros);
        if (k.revoked) {
          st.BindInt64(7, k.revoked->micros);
        } else {
          st.BindNull(7);
        }
        return st.Run();
      },
      [this, k] { api_keys_[k.key_id] = k; });
}

Result<std::optional<domain::ApiKey>> SqliteStore::FindApiKey(const std::string& key_id) {
  std::shared_lock lock(meta_mu_);
  auto it = api_keys_.find(key_id);
  if (it == api_keys_.end()) return std::optional<domain::ApiKey>();
  return std::optional<domain::ApiKey>(it->second);
}

Result<std::vector<domain::ApiKey>> SqliteStore::ListApiKeys() {
  std::shared_lock lock(meta_mu_);
  std::vector<domain::ApiKey> out;
  for (const auto& [id, k] : api_keys_) out.push_back(k);
  return out;
}

Status SqliteStore::RevokeApiKey(const std::string& key_id, UtcTime when) {
  {
    std::shared_lock lock(meta_mu_);
    if (api_keys_.find(key_id) == api_keys_.end()) {
      return NotFound("there is no api key " + key_id);
    }
  }
  return RunMetaWrite(
      [this, key_id, when]() -> Status {
        TALLY_ASSIGN_OR_RETURN(
            Statement st,
            writer_db_.Prepare("UPDATE api_keys SET revoked_us = coalesce(revoked_us, ?) "
                               "WHERE key_id = ?"));
        st.BindInt64(1, when.micros);
        st.BindText(2, key_id);
        return st.Run();
      },
      [this, key_id, when] {
        domain::ApiKey& k = api_keys_[key_id];
        if (!k.revoked) k.revoked = when;
      });
}

Status SqliteStore::SaveCustomer(const domain::Customer& customer) {
  TALLY_ASSIGN_OR_RETURN(domain::Customer c, domain::NormalizeCustomer(customer));
  // Checked on the writer, inside the write's transaction, where every earlier customer change
  // is visible: a refusal changes nothing and the store goes on.
  auto check = [this, c]() -> Status {
    TALLY_ASSIGN_OR_RETURN(Statement owner,
                           writer_db_.Prepare("SELECT customer_id FROM customer_subscriptions "
                                              "WHERE subscription_id = ? AND customer_id <> ?"));
    std::string taken;
    for (const std::string& s : c.subscription_ids) {
      owner.Reset();
      owner.BindText(1, s);
      owner.BindText(2, c.id);
      TALLY_ASSIGN_OR_RETURN(bool found, owner.Step());
      if (!found) continue;
      if (!taken.empty()) taken.append("; ");
      taken.append("subscription " + s + " belongs to customer " +
                   std::string(owner.ColumnText(0)));
    }
    if (!taken.empty()) return InvalidArgument(taken);
    return Status::Ok();
  };
  auto write = [this, c]() -> Status {
    TALLY_ASSIGN_OR_RETURN(Statement upsert,
                           writer_db_.Prepare("INSERT OR REPLACE INTO customers (id, name, "
                                              "created_us) VALUES (?,?,?)"));
    upsert.BindText(1, c.id);
    upsert.BindText(2, c.name);
    upsert.BindInt64(3, c.created.micros);
    TALLY_RETURN_IF_ERROR(upsert.Run());
    TALLY_ASSIGN_OR_RETURN(
        Statement clear,
        writer_db_.Prepare("DELETE FROM customer_subscriptions WHERE customer_id = ?"));
    clear.BindText(1, c.id);
    TALLY_RETURN_IF_ERROR(clear.Run());
    TALLY_ASSIGN_OR_RETURN(Statement add,
                           writer_db_.Prepare("INSERT INTO customer_subscriptions "
                                              "(subscription_id, customer_id) VALUES (?,?)"));
    for (const std::string& s : c.subscription_ids) {
      add.Reset();
      add.BindText(1, s);
      add.BindText(2, c.id);
      TALLY_RETURN_IF_ERROR(add.Run());
    }
    return Status::Ok();
  };
  return RunMetaWrite(
      write, [this, c] { customers_[c.id] = c; }, check);
}

Result<std::vector<domain::Customer>> SqliteStore::ListCustomers() {
  std::shared_lock lock(meta_mu_);
  std::vector<domain::Customer> out;
  out.reserve(customers_.size());
  for (const auto& [id, c] : customers_) out.push_back(c);
  return out;
}

Result<std::optional<domain::Customer>> SqliteStore::FindCustomer(const std::string& id) {
  std::shared_lock lock(meta_mu_);
  auto it = customers_.find(AsciiLower(id));
  if (it == customers_.end()) return std::optional<domain::Customer>();
  return std::optional<domain::Customer>(it->second);
}

StoreStats SqliteStore::GetStats() {
  AwaitVisible();
  IndexStats is = index_.GetStats();
  StoreStats s;
  s.records = is.records;
  s.last_seq = is.last_seq;
  s.instances = is.instances;
  std::shared_lock lock(meta_mu_);
  s.subscriptions = subscriptions_.size();
  s.meters = domain::MeterCatalog::Builtin().meters().size();
  for (const auto& [key, m] : meters_) {
    if (domain::MeterCatalog::Builtin().Find(key) == nullptr) ++s.meters;
  }
  std::lock_guard times_lock(durations_mu_);
  s.usage_commits = commit_times_;
  s.checkpoint_pauses = checkpoint_pauses_;
  s.caller_led_groups = caller_led_groups_.load(std::memory_order_relaxed);
  return s;
}

Status SqliteStore::WriteHealth() {
  std::optional<Status> f = Failure();
  return f ? *f : Status::Ok();
}

Status SqliteStore::InsertMeter(const domain::Meter& m) {
  Statement& s = insert_meter_;
  // Bound without copying (SQLITE_STATIC), so the key must live until Run() returns.
  const std::string key = domain::MeterKey(m.id);
  s.BindText(1, key);
  s.BindText(2, m.id);
  s.BindText(3, m.name);
  s.BindText(4, m.unit);
  s.BindText(5, m.family);
  s.BindText(6, m.notes);
  s.BindInt64(7, m.deprecated ? 1 : 0);
  s.BindInt64(8, m.hourly_level ? 1 : 0);
  s.BindText(9, domain::MeterSourceName(m.source));
  return s.Run();
}

Status SqliteStore::InsertSubscription(const domain::Subscription& sub) {
  Statement& s = insert_subscription_;
  s.BindText(1, sub.id);
  s.BindText(2, domain::SubscriptionKindName(sub.kind));
  s.BindText(3, sub.provider_id);
  s.BindText(4, sub.owner);
  s.BindText(5, sub.display_name);
  s.BindText(6, sub.offer);
  s.BindText(7, domain::SubscriptionStateName(sub.state));
  s.BindInt64(8, sub.created.micros);
  return s.Run();
}

}  // namespace sqlite
}  // namespace tally::store
