// Model test: random sequences of appends (new records, duplicates, conflicts, repeats within a
// batch, late reports with an explicit reported time) and random paged aggregate queries, run
// against every store backend and checked against a trivial in-memory reference. The seed is
// fixed and printed; set TALLY_MODEL_SEED to replay another.
#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <tuple>

#include <gtest/gtest.h>

#include "domain/aggregate.h"
#include "domain/meter.h"
#include "store/store_test_util.h"

namespace tally::store::testing {
namespace {

constexpr int64_t kDay0 = 20000 * 24;

// The reference: a list of stored records and nothing clever.
class Reference {
 public:
  struct Stored {
    domain::UsageRecord record;
    int64_t reported_us;
    uint64_t seq;
  };

  AppendOutcome Append(const std::vector<domain::UsageRecord>& batch, ReportedTime now) {
    AppendOutcome out;
    std::vector<const domain::UsageRecord*> fresh;
    for (size_t i = 0; i < batch.size(); ++i) {
      const domain::UsageRecord& r = batch[i];
      const domain::UsageRecord* before = nullptr;
      for (const auto* f : fresh) {
        if (f->record_id == r.record_id) before = f;
      }
      if (auto it = by_id_.find(r.record_id); it != by_id_.end()) before = &records_[it->second].record;
      if (before == nullptr) {
        fresh.push_back(&r);
      } else if (domain::SameContent(*before, r)) {
        ++out.duplicates;
      } else {
        out.conflicts.push_back({i, r.record_id});
      }
    }
    if (!out.conflicts.empty()) {
      out.duplicates = 0;
      return out;
    }
    for (const auto* f : fresh) {
      uint64_t seq = records_.size() + 1;
      by_id_[f->record_id] = records_.size();
      int64_t reported = f->reported_time ? f->reported_time->micros() : now.micros();
      records_.push_back({*f, reported, seq});
      std::string key = domain::MeterKey(f->meter_id);
      if (!spelling_.count(key)) {
        const domain::Meter* m = domain::MeterCatalog::Builtin().Find(key);
        spelling_[key] = m != nullptr ? m->id : f->meter_id;
      }
    }
    out.accepted = fresh.size();
    return out;
  }

  using Key = std::tuple<std::string, int64_t, std::string, std::string>;  // sub, bucket, meter key, instance data
  struct Row {
    Decimal quantity;
    std::string meter_id;
  };
  std::map<Key, Row> Aggregate(const AggregateQuery& q, uint64_t as_of) const {
    std::map<Key, Row> out;
    for (const Stored& s : records_) {
      const domain::UsageRecord& r = s.record;
      if (s.seq > as_of || s.reported_us < q.reported_from.micros() ||
          s.reported_us >= q.reported_to.micros()) {
        continue;
      }
      if (std::find(q.subscription_ids.begin(), q.subscription_ids.end(), r.subscription_id) ==
          q.subscription_ids.end()) {
        continue;
      }
      int64_t bucket = q.granularity == domain::Granularity::kHourly
                           ? r.usage_start.hours()
                           : r.usage_start.DayStart().hours();
      std::string key = domain::MeterKey(r.meter_id);
      Row& row = out[{r.subscription_id, bucket, key,
                      domain::FormatInstanceData(r.resource_uri, r.location, r.tags,
                                                 r.additional_info)}];
      row.quantity += r.quantity;
      row.meter_id = spelling_.at(key);
    }
    return out;
  }

  uint64_t last_seq() const { return records_.size(); }

 private:
  std::vector<Stored> records_;
  std::map<std::string, size_t> by_id_;
  std::map<std::string, std::string> spelling_;
};

class StoreModel : public ::testing::TestWithParam<StoreFactory> {};

TEST_P(StoreModel, RandomAppendsAndQueriesMatchReference) {
  uint32_t seed = 20240501;
  if (const char* env = std::getenv("TALLY_MODEL_SEED")) seed = static_cast<uint32_t>(std::atoi(env));
  std::cout << "model test seed " << seed << " (set TALLY_MODEL_SEED to replay)" << std::endl;
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };

  TempDir dir;
  FakeClockForTesting clock(UtcTime{(kDay0 + 48) * kMicrosPerHour});
  auto opened = GetParam().open(dir.path(), &clock);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<UsageStore> store = std::move(opened).value();
  Reference ref;

  const std::vector<std::string> subs = {SubId(3), SubId(1), SubId(2)};
  const std::vector<std::string> meters = {"F271A8A388C44D93956A063E1D2FA80B",
                                           "f271a8a388c44d93956a063e1d2fa80b", "m1", "M1", "m2"};
  const std::vector<std::string> quantities = {"1", "0.1", "0.2", "2.5", "0.000000000000001",
                                               "1000000", "123456789.123456789012345", "0"};
  // Each recordId has one "true" content; conflicts alter its quantity.
  std::map<int, domain::UsageRecord> truth;
  auto record_for = [&](int id) {
    auto it = truth.find(id);
    if (it != truth.end()) return it->second;
    auto r = MakeRecord("rec-" + std::to_string(id), subs[pick(3)], meters[pick(5)],
                        kDay0 + pick(48), quantities[pick(8)], "vm" + std::to_string(pick(3)));
    if (pick(4) == 0) r.tags = domain::Properties{{"team", "t" + std::to_string(pick(2))}};
    truth[id] = r;
    return r;
  };

  const int steps = GetParam().reopens_between_steps ? 40 : 250;
  int next_id = 0;
  for (int step = 0; step < steps; ++step) {
    clock.Advance(10 * 60 * kMicrosPerSecond);
    const ReportedTime now(clock.Now());
    if (pick(3) != 0) {
      std::vector<domain::UsageRecord> batch;
      int n = 1 + pick(8);
      for (int i = 0; i < n; ++i) {
        int id = (next_id > 0 && pick(3) == 0) ? pick(next_id) : next_id++;
        domain::UsageRecord r = record_for(id);
        if (pick(25) == 0) r.quantity = r.quantity + Decimal::FromInt(1);  // a conflict
        if (pick(8) == 0) {
          // A late report: an operator import with an explicit reported time in the past.
          r.reported_time = ReportedTime::FromMicros(
              (kDay0 + 48) * kMicrosPerHour + pick(step + 1) * 10 * 60 * kMicrosPerSecond);
        }
        batch.push_back(r);
        if (pick(10) == 0) batch.push_back(r);  // repeated within the batch
      }
      AppendOutcome want = ref.Append(batch, now);
      auto got = store->AppendUsage(batch, now);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      ASSERT_EQ(got->accepted, want.accepted) << "step " << step;
      ASSERT_EQ(got->duplicates, want.duplicates) << "step " << step;
      ASSERT_EQ(got->conflicts.size(), want.conflicts.size()) << "step " << step;
      for (size_t i = 0; i < want.conflicts.size(); ++i) {
        EXPECT_EQ(got->conflicts[i].index, want.conflicts[i].index);
      }
      continue;
    }

    AggregateQuery q;
    for (const auto& s : subs) {
      if (pick(2) == 0) q.subscription_ids.push_back(s);
    }
    int64_t lo = (kDay0 + 48) * kMicrosPerHour;
    int64_t hi = clock.Now().micros + kMicrosPerHour;
    int64_t a = lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo));
    int64_t b = lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo));
    if (pick(3) == 0) a = lo;
    q.reported_from = ReportedTime::FromMicros(std::min(a, b));
    q.reported_to = ReportedTime::FromMicros(std::max(a, b) + 1);
    q.granularity = pick(2) == 0 ? domain::Granularity::kHourly : domain::Granularity::kDaily;
    q.limit = static_cast<size_t>(1 + pick(12));

    std::map<Reference::Key, Reference::Row> got;
    std::optional<domain::AggregateKey> prev;
    uint64_t as_of = 0;
    for (int page_no = 0; page_no < 10000; ++page_no) {
      auto page = store->AggregateUsage(q);
      ASSERT_TRUE(page.ok()) << page.status().ToString();
      if (page_no == 0) {
        as_of = page->as_of_seq;
        ASSERT_EQ(as_of, ref.last_seq());
      }
      ASSERT_LE(page->rows.size(), q.limit);
      for (const auto& row : page->rows) {
        if (prev) {
          ASSERT_LT(*prev, row.key.ToKey()) << "step " << step;
        }
        prev = row.key.ToKey();
        EXPECT_EQ(row.usage_start.micros, row.key.usage_start_hours * kMicrosPerHour);
        EXPECT_EQ(row.usage_end.micros - row.usage_start.micros,
                  q.granularity == domain::Granularity::kHourly ? kMicrosPerHour : kMicrosPerDay);
        got[{std::string(row.subscription_id), row.key.usage_start_hours,
             std::string(row.key.meter_key), std::string(row.instance_data)}] = {
            row.quantity, std::string(row.meter_id)};
      }
      if (!page->has_more) break;
      ASSERT_FALSE(page->rows.empty());
      q.after = page->rows.back().key.ToKey();
      q.as_of_seq = as_of;
      if (pick(4) == 0) {
        // Appends between pages must not show up in this query's snapshot.
        int id = next_id++;
        domain::UsageRecord r = record_for(id);
        ASSERT_EQ(ref.Append({r}, now).accepted, 1u);
        ASSERT_TRUE(store->AppendUsage({r}, now).ok());
      }
    }
    auto want = ref.Aggregate(q, as_of);
    ASSERT_EQ(got.size(), want.size()) << "step " << step;
    for (const auto& [key, row] : want) {
      auto it = got.find(key);
      ASSERT_NE(it, got.end()) << "step " << step << " missing bucket " << std::get<1>(key);
      EXPECT_EQ(it->second.quantity, row.quantity) << "step " << step;
      EXPECT_EQ(it->second.meter_id, row.meter_id) << "step " << step;
    }
  }
  EXPECT_EQ(store->GetStats().records, ref.last_seq());
}

INSTANTIATE_TEST_SUITE_P(AllBackends, StoreModel, ::testing::ValuesIn(AllStoreFactories()),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace tally::store::testing
