#include "store/store_test_util.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "store/sqlite/sqlite_store.h"

namespace tally::store::testing {
namespace {

// Closes and reopens the wrapped store before every call, so every step of a test runs against
// state that came back from disk (the index rebuilt, caches reloaded).
class ReopeningStore final : public UsageStore {
 public:
  ReopeningStore(std::string dir, const Clock* clock, std::unique_ptr<UsageStore> inner)
      : dir_(std::move(dir)), clock_(clock), inner_(std::move(inner)) {}

  void FailNextCommits(int n) { pending_failures_ = n; }

  Result<AppendOutcome> AppendUsage(const std::vector<domain::UsageRecord>& records,
                                    ReportedTime now) override {
    TALLY_RETURN_IF_ERROR(Reopen());
    return inner_->AppendUsage(records, now);
  }
  Result<AggregatePage> AggregateUsage(const AggregateQuery& query) override {
    TALLY_RETURN_IF_ERROR(Reopen());
    return inner_->AggregateUsage(query);
  }
  Result<std::vector<StoredRecord>> ListRecords(uint64_t after_seq, size_t limit) override {
    TALLY_RETURN_IF_ERROR(Reopen());
    return inner_->ListRecords(after_seq, limit);
  }
  Result<std::vector<domain::Meter>> ListMeters() override {
    TALLY_RETURN_IF_ERROR(Reopen());
    return inner_->ListMeters();
  }
  Status SaveMeter(const domain::Meter& meter) override {
    TALLY_RETURN_IF_ERROR(Reopen());
    return inner_->SaveMeter(meter);
  }
  Result<std::vector<domain::Subscription>> ListSubscriptions() override {
    TALLY_RETURN_IF_ERROR(Reopen());
    return inner_->ListSubscriptions();
  }
  Result<std::optional<domain::Subscription>> FindSubscription(const std::string& id) override {
    TALLY_RETURN_IF_ERROR(Reopen());
    return inner_->FindSubscription(id);
  }
  Status SaveSubscription(const domain::Subscription& subscription) override {
    TALLY_RETURN_IF_ERROR(Reopen());
    return inner_->SaveSubscription(subscription);
  }
  Result<domain::Subscription> DefaultProvider() override {
    TALLY_RETURN_IF_ERROR(Reopen());
    return inner_->DefaultProvider();
  }
  Result<std::shared_ptr<const std::vector<std::string>>> DirectTenantIds(
      const std::string& provider_id) override {
    TALLY_RETURN_IF_ERROR(Reopen());
    return inner_->DirectTenantIds(provider_id);
  }
  Status SaveCustomer(const domain::Customer& customer) override {
    TALLY_RETURN_IF_ERROR(Reopen());
    return inner_->SaveCustomer(customer);
  }
  Result<std::vector<domain::Customer>> ListCustomers() override {
    TALLY_RETURN_IF_ERROR(Reopen());
    return inner_->ListCustomers();
  }
  Result<std::optional<domain::Customer>> FindCustomer(const std::string& id) override {
    TALLY_RETURN_IF_ERROR(Reopen());
    return inner_->FindCustomer(id);
  }
  Status SaveApiKey(const domain::ApiKey& key) override {
    TALLY_RETURN_IF_ERROR(Reopen());
    return inner_->SaveApiKey(key);
  }
  Result<std::optional<domain::ApiKey>> FindApiKey(const std::string& key_id) override {
    TALLY_RETURN_IF_ERROR(Reopen());
    return inner_->FindApiKey(key_id);
  }
  Result<std::vector<domain::ApiKey>> ListApiKeys() override {
    TALLY_RETURN_IF_ERROR(Reopen());
    return inner_->ListApiKeys();
  }
  Status RevokeApiKey(const std::string& key_id, UtcTime when) override {
    TALLY_RETURN_IF_ERROR(Reopen());
    return inner_->RevokeApiKey(key_id, when);
  }
  StoreStats GetStats() override {
    if (!Reopen().ok()) return {};
    return inner_->GetStats();
  }
  // Not reopened: health is about the store as it is now, and reopening is what clears it.
  Status WriteHealth() override { return inner_->WriteHealth(); }

 private:
  Status Reopen() {
    inner_.reset();
    SqliteStoreOptions o;
    o.data_dir = dir_;
    o.clock = clock_;
    TALLY_ASSIGN_OR_RETURN(inner_, OpenSqliteStore(o));
    if (pending_failures_ > 0) {
      TALLY_RETURN_IF_ERROR(FailNextCommitsForTesting(*inner_, pending_failures_));
      pending_failures_ = 0;
    }
    return Status::Ok();
  }

  std::string dir_;
  const Clock* clock_;
  std::unique_ptr<UsageStore> inner_;
  int pending_failures_ = 0;
};

}  // namespace

Result<std::unique_ptr<UsageStore>> OpenTestSqliteStore(const std::string& dir,
                                                        const Clock* clock) {
  SqliteStoreOptions o;
  o.data_dir = dir;
  o.create_if_missing = true;
  o.clock = clock;
  // Checkpoint often so tests exercise it.
  o.checkpoint_every_commits = 7;
  return OpenSqliteStore(o);
}

std::vector<StoreFactory> AllStoreFactories() {
  std::vector<StoreFactory> out;
  out.push_back({"Sqlite", OpenTestSqliteStore,
                 [](UsageStore& s, int n) { return FailNextCommitsForTesting(s, n); }, false});
  out.push_back(
      {"SqliteReopenEachStep",
       [](const std::string& dir, const Clock* clock) -> Result<std::unique_ptr<UsageStore>> {
         TALLY_ASSIGN_OR_RETURN(auto inner, OpenTestSqliteStore(dir, clock));
         return std::unique_ptr<UsageStore>(new ReopeningStore(dir, clock, std::move(inner)));
       },
       [](UsageStore& s, int n) -> Status {
         auto* r = dynamic_cast<ReopeningStore*>(&s);
         if (r == nullptr) return InvalidArgument("not a ReopeningStore");
         r->FailNextCommits(n);
         return Status::Ok();
       },
       true});
  return out;
}

TempDir::TempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/tally-store-XXXXXX";
  char* made = mkdtemp(tmpl.data());
  if (made == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string SubId(int n) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-0000-4000-8000-000000000000", n);
  return buf;
}

domain::UsageRecord MakeRecord(const std::string& record_id, const std::string& sub,
                               const std::string& meter_id, int64_t hour,
                               const std::string& quantity, const std::string& resource) {
  domain::UsageRecord r;
  r.record_id = record_id;
  r.subscription_id = sub;
  r.meter_id = meter_id;
  r.resource_uri = "/subscriptions/" + sub +
                   "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/" + resource;
  r.location = "local";
  r.usage_start = UsageHour::FromHours(hour);
  auto q = Decimal::Parse(quantity);
  if (!q.ok()) {
    std::fprintf(stderr, "bad test quantity %s\n", quantity.c_str());
    std::abort();
  }
  r.quantity = *q;
  return r;
}

ReportedTime Reported(int64_t hours, int64_t micros) {
  return ReportedTime::FromMicros(hours * kMicrosPerHour + micros);
}

}  // namespace tally::store::testing
