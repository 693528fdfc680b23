// Test helpers for tally_ingest: a valid record's JSON with per-test changes, and an in-memory
// UsageStore fake that records AppendUsage calls. Test-only; not thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/usage_store.h"

namespace tally::ingest::testing {

inline constexpr const char* kSub = "8f1c9a52-3c1e-4a8b-9d2e-0b6f4c7a1e55";
inline constexpr const char* kOtherSub = "11111111-2222-3333-4444-555555555555";

// A record as ordered (key, raw JSON value) pairs; valid unless changed.
class RecordJson {
 public:
  explicit RecordJson(std::string record_id = "r1") {
    Set("recordId", Quote(record_id));
    Set("subscriptionId", Quote(kSub));
    Set("meterId", Quote("6DAB500F-A4FD-49C4-956D-229BB9C8C793"));
    Set("resourceUri",
        Quote(std::string("/subscriptions/") + kSub +
              "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"));
    Set("location", Quote("local"));
    Set("usageStartTime", Quote("2026-10-01T13:00:00Z"));
    Set("usageEndTime", Quote("2026-10-01T14:00:00Z"));
    Set("quantity", "2.5");
  }
  static std::string Quote(const std::string& s) { return "\"" + s + "\""; }

  // Sets (or adds, at the end) a property to raw JSON text.
  RecordJson& Set(const std::string& key, const std::string& raw) {
    for (auto& [k, v] : props_) {
      if (k == key) {
        v = raw;
        return *this;
      }
    }
    props_.emplace_back(key, raw);
    return *this;
  }
  RecordJson& Remove(const std::string& key) {
    std::erase_if(props_, [&](const auto& p) { return p.first == key; });
    return *this;
  }
  std::string ToJson() const {
    std::string out = "{";
    for (size_t i = 0; i < props_.size(); ++i) {
      if (i > 0) out += ",";
      out += "\"" + props_[i].first + "\":" + props_[i].second;
    }
    return out + "}";
  }

 private:
  std::vector<std::pair<std::string, std::string>> props_;
};

inline std::string Batch(const std::vector<RecordJson>& records) {
  std::string out = "{\"records\":[";
  for (size_t i = 0; i < records.size(); ++i) {
    if (i > 0) out += ",";
    out += records[i].ToJson();
  }
  return out + "]}";
}

// Only AppendUsage does anything; the rest is not needed by ingest.
class FakeUsageStore final : public store::UsageStore {
 public:
  struct Call {
    std::vector<domain::UsageRecord> records;
    ReportedTime now;
  };
  std::vector<Call> calls;
  std::optional<Result<store::AppendOutcome>> next_result;  // default: all accepted

  Result<store::AppendOutcome> AppendUsage(const std::vector<domain::UsageRecord>& records,
                                           ReportedTime now) override {
    calls.push_back({records, now});
    if (next_result) return *next_result;
    store::AppendOutcome outcome;
    outcome.accepted = records.size();
    return outcome;
  }
  Result<store::AggregatePage> AggregateUsage(const store::AggregateQuery&) override {
    return Internal("not faked");
  }
  Result<std::vector<store::StoredRecord>> ListRecords(uint64_t, size_t) override {
    return Internal("not faked");
  }
  Result<std::vector<domain::Meter>> ListMeters() override { return Internal("not faked"); }
  Status SaveMeter(const domain::Meter&) override { return Internal("not faked"); }
  Result<std::vector<domain::Subscription>> ListSubscriptions() override {
    return Internal("not faked");
  }
  Result<std::optional<domain::Subscription>> FindSubscription(const std::string&) override {
    return Internal("not faked");
  }
  Status SaveSubscription(const domain::Subscription&) override { return Internal("not faked"); }
  Result<domain::Subscription> DefaultProvider() override { return Internal("not faked"); }
  Result<std::shared_ptr<const std::vector<std::string>>> DirectTenantIds(
      const std::string&) override {
    return Internal("not faked");
  }
  Status SaveCustomer(const domain::Customer&) override { return Internal("not faked"); }
  Result<std::vector<domain::Customer>> ListCustomers() override { return Internal("not faked"); }
  Result<std::optional<domain::Customer>> FindCustomer(const std::string&) override {
    return Internal("not faked");
  }
  Status SaveApiKey(const domain::ApiKey&) override { return Internal("not faked"); }
  Result<std::optional<domain::ApiKey>> FindApiKey(const std::string&) override {
    return Internal("not faked");
  }
  Result<std::vector<domain::ApiKey>> ListApiKeys() override { return Internal("not faked"); }
  Status RevokeApiKey(const std::string&, UtcTime) override { return Internal("not faked"); }
  store::StoreStats GetStats() override { return {}; }
  Status WriteHealth() override { return Status::Ok(); }
};

}  // namespace tally::ingest::testing
