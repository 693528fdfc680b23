#include "query/usage_query.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "store/sqlite/sqlite_store.h"

namespace tally::query {
namespace {

constexpr int64_t kDay = kMicrosPerDay;
constexpr int64_t kOct1 = 1790812800LL * kMicrosPerSecond;  // 2026-10-01T00:00:00Z

UsageQuery Window(int64_t from, int64_t to, domain::Granularity g) {
  UsageQuery q;
  q.subscription_ids = {"8f1c9a52-3c1e-4a8b-9d2e-0b6f4c7a1e55"};
  q.reported_start = UtcTime{from};
  q.reported_end = UtcTime{to};
  q.granularity = g;
  return q;
}

TEST(CheckWindow, AcceptsAlignedPastWindows) {
  UtcTime now{kOct1 + 10 * kDay};
  EXPECT_FALSE(CheckWindow(Window(kOct1, kOct1 + kDay, domain::Granularity::kDaily), now));
  EXPECT_FALSE(CheckWindow(
      Window(kOct1 + kMicrosPerHour, kOct1 + 2 * kMicrosPerHour, domain::Granularity::kHourly),
      now));
}

TEST(CheckWindow, NamesThePropertyOfEachProblem) {
  UtcTime now{kOct1 + 10 * kDay};
  auto e = CheckWindow(Window(kOct1 + kMicrosPerHour, kOct1 + kDay, domain::Granularity::kDaily),
                       now);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->property, "reportedStartTime");
  EXPECT_EQ(e->message,
            "reportedStartTime 2026-10-01T01:00:00Z must be at UTC midnight (Daily granularity)");
  e = CheckWindow(Window(kOct1, kOct1 + 1, domain::Granularity::kHourly), now);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->property, "reportedEndTime");
  e = CheckWindow(Window(kOct1, kOct1, domain::Granularity::kDaily), now);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->message, "reportedEndTime must be after reportedStartTime");
  e = CheckWindow(Window(kOct1, kOct1 + 11 * kDay, domain::Granularity::kDaily), now);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, QueryError::Kind::kEndInFuture);
}

TEST(UsageQueryService, ForEachVisitsEveryAggregateAcrossPages) {
  auto dir = std::filesystem::temp_directory_path() /
             ("tally-query-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  FakeClockForTesting clock(UtcTime{kOct1 + 2 * kDay});
  {
    store::SqliteStoreOptions options;
    options.data_dir = dir.string();
    options.create_if_missing = true;
    options.clock = &clock;
    auto opened = store::OpenSqliteStore(options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store::UsageStore& store = **opened;
    std::vector<domain::UsageRecord> batch;
    // 2,500 distinct resources, one hour each: 2,500 hourly aggregates, 3 pages of 1,000.
    for (int i = 0; i < 2500; ++i) {
      domain::UsageRecord r;
      r.record_id = "r" + std::to_string(i);
      r.subscription_id = "8f1c9a52-3c1e-4a8b-9d2e-0b6f4c7a1e55";
      r.meter_id = "F271A8A388C44D93956A063E1D2FA80B";
      r.resource_uri = "/subscriptions/8f1c9a52-3c1e-4a8b-9d2e-0b6f4c7a1e55/resourceGroups/rg/"
                       "providers/Microsoft.Network/publicIPAddresses/ip" + std::to_string(i);
      r.location = "local";
      r.usage_start = UsageHour::FromHours(kOct1 / kMicrosPerHour + i % 24);
      r.quantity = *Decimal::Parse("0.1");
      batch.push_back(r);
    }
    auto outcome = store.AppendUsage(batch, ReportedTime(UtcTime{kOct1 + kDay + 5}));
    ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
    UsageQueryService service(store, clock);
    size_t n = 0;
    Decimal total;
    Status s = service.ForEach(Window(kOct1, kOct1 + 2 * kDay, domain::Granularity::kHourly),
                               [&](const domain::UsageAggregate& a) {
                                 ++n;
                                 total += a.quantity;
                               });
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(n, 2500u);
    EXPECT_EQ(total.ToString(), "250");
    // The window before the records were reported holds nothing.
    n = 0;
    s = service.ForEach(Window(kOct1, kOct1 + kDay, domain::Granularity::kDaily),
                        [&](const domain::UsageAggregate&) { ++n; });
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(n, 0u);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tally::query
