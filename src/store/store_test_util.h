// Test support shared by the store conformance suite and the model test: the list of store
// backends to run against (each a factory), a wrapper that reopens the store before every call,
// temporary data directories and record builders. Test-only; not thread-safe except where noted.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/clock.h"
#include "domain/usage_record.h"
#include "store/usage_store.h"

namespace tally::store::testing {

struct StoreFactory {
  std::string name;
  // Opens the store in `dir`, creating it when missing.
  std::function<Result<std::unique_ptr<UsageStore>>(const std::string& dir, const Clock* clock)>
      open;
  // Makes the next `n` commits of a store made by `open` fail.
  std::function<Status(UsageStore& store, int n)> fail_next_commits;
  // True when `open` returns a store that is closed and reopened before every call.
  bool reopens_between_steps = false;
};

// Opens (creating it when missing) the SQLite store in `dir` as the conformance suite does,
// checkpointing often so that tests exercise checkpoints.
Result<std::unique_ptr<UsageStore>> OpenTestSqliteStore(const std::string& dir, const Clock* clock);

// Every backend the conformance suite covers: "Sqlite" and "SqliteReopenEachStep".
std::vector<StoreFactory> AllStoreFactories();

// A fresh directory under $TEST_TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A fixture over the test SQLite store of a fresh directory, for suites that run each test
// twice: as is (GetParam() false) and closing and reopening the store before every step
// (true), so that what a step checks was read back from disk.
class ReopeningStoreTest : public ::testing::TestWithParam<bool> {
 protected:
  explicit ReopeningStoreTest(UtcTime now) : clock_(now) {}
  void SetUp() override { Open(); }

  // Closes the store (if open) and opens it again.
  void Open() {
    store_.reset();
    auto s = OpenTestSqliteStore(dir_.path(), &clock_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    ASSERT_NE(store_->Billing(), nullptr);
    ASSERT_NE(store_->Webhooks(), nullptr);
  }
  // The store for the next step: reopened first when the test runs in that mode.
  UsageStore& Step() {
    if (GetParam()) Open();
    return *store_;
  }

  TempDir dir_;
  FakeClockForTesting clock_;
  std::unique_ptr<UsageStore> store_;
};

// A GUID-shaped subscription ID derived from n (distinct n give distinct, ordered IDs).
std::string SubId(int n);

// A valid record of subscription `sub`, resource `resource` (a short name), usage hour `hour`
// (hours since the epoch) and quantity text `quantity`.
domain::UsageRecord MakeRecord(const std::string& record_id, const std::string& sub,
                               const std::string& meter_id, int64_t hour,
                               const std::string& quantity, const std::string& resource = "vm1");

// A reported time `hours` after the epoch, plus `micros`.
ReportedTime Reported(int64_t hours, int64_t micros = 0);

}  // namespace tally::store::testing
