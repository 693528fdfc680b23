// Aggregation benchmark (docs/benchmarks.md, part b).
//
//   tally_bench_aggregate build   simulates the data set once and writes it into a Tally store,
//                                 the SQLite baseline table, an NDJSON file (for the bulk
//                                 import) and a COPY file (for the PostgreSQL baseline)
//   tally_bench_aggregate query   reopens the store (timed), measures memory, runs the three
//                                 queries through UsageQueryService, then the same three on
//                                 the SQLite baseline, and prints every figure and ratio
//
// Sizes come from the environment (dataset.h); TALLY_BENCH_REPS sets the repetitions of the
// small queries (default 9), TALLY_BENCH_DAILY_REPS those of the whole-store query (default 2);
// TALLY_BENCH_SKIP_BASELINE=1 runs only Tally's side (for profiling).
#include <sys/stat.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "bench_util.h"
#include "common/clock.h"
#include "dataset.h"
#include "query/usage_query.h"
#include "simulate/simulator.h"
#include "sqlite_baseline.h"
#include "store/sqlite/sqlite_store.h"

namespace tally::bench {
namespace {

constexpr size_t kBuildBatch = 20'000;

[[noreturn]] void Die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "tally_bench_aggregate: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// Feeds batches to the SQLite baseline on its own thread so that it loads while the store does.
class BaselineLoader {
 public:
  explicit BaselineLoader(std::unique_ptr<SqliteBaseline> db)
      : db_(std::move(db)), thread_([this] { Loop(); }) {}
  void Push(std::shared_ptr<const std::vector<domain::UsageRecord>> batch) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return queue_.size() < 4; });
    queue_.push_back(std::move(batch));
    cv_.notify_all();
  }
  Status Finish() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
      cv_.notify_all();
    }
    thread_.join();
    if (!status_.ok()) return status_;
    return db_->FinishLoad();
  }

 private:
  void Loop() {
    while (true) {
      std::shared_ptr<const std::vector<domain::UsageRecord>> batch;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return done_ || !queue_.empty(); });
        if (queue_.empty()) return;
        batch = std::move(queue_.front());
        queue_.pop_front();
        cv_.notify_all();
      }
      if (status_.ok()) status_ = db_->Append(*batch);
    }
  }

  std::unique_ptr<SqliteBaseline> db_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<const std::vector<domain::UsageRecord>>> queue_;
  bool done_ = false;
  Status status_;
  std::thread thread_;
};

int Build(const Dataset& d) {
  if (EnvString("TALLY_BENCH_REBUILD", "0") != "1" && LoadMeta(d).ok() &&
      Exists(d.store_dir() + "/tally.db") && Exists(d.baseline_db())) {
    Note("data set at " + d.dir + " already built for " + std::to_string(d.records) +
         " records (TALLY_BENCH_REBUILD=1 rebuilds it)");
    return 0;
  }
  std::system(("mkdir -p '" + d.dir + "' && rm -rf '" + d.store_dir() + "' '" + d.meta_path() + "'")
                  .c_str());
  SystemClock clock;
  store::SqliteStoreOptions so;
  so.data_dir = d.store_dir();
  so.create_if_missing = true;
  so.clock = &clock;
  so.new_database_page_size =
      static_cast<uint32_t>(EnvInt("TALLY_BENCH_PAGE_KIB", so.new_database_page_size >> 10) << 10);
  auto opened = store::OpenSqliteStore(so);
  if (!opened.ok()) Die("open store", opened.status());
  std::unique_ptr<store::UsageStore> store = std::move(*opened);
  auto baseline = SqliteBaseline::Create(d.baseline_db());
  if (!baseline.ok()) Die("create baseline", baseline.status());
  BaselineLoader loader(std::move(*baseline));

  FILE* ndjson = std::fopen(d.ndjson_path().c_str(), "w");
  FILE* tsv = std::fopen(d.tsv_path().c_str(), "w");
  if (ndjson == nullptr || tsv == nullptr) Die("create data files", Unavailable(d.dir));
  std::string ndjson_buf, tsv_buf;
  std::unordered_map<std::string, int64_t> per_subscription;
  auto batch = std::make_shared<std::vector<domain::UsageRecord>>();
  batch->reserve(kBuildBatch);
  int64_t total = 0;
  double append_seconds = 0;

  auto flush_batch = [&] {
    if (batch->empty()) return;
    loader.Push(batch);
    Stopwatch sw;
    auto out = store->AppendUsage(*batch, ReportedTime(clock.Now()));
    append_seconds += sw.Seconds();
    if (!out.ok()) Die("append", out.status());
    if (out->accepted != batch->size()) {
      Die("append", Internal("accepted " + std::to_string(out->accepted) + " of " +
                             std::to_string(batch->size())));
    }
    batch = std::make_shared<std::vector<domain::UsageRecord>>();
    batch->reserve(kBuildBatch);
  };

  Stopwatch sw;
  simulate::Simulate(d.sim, [&](const simulate::SimulatedRecord& r) {
    batch->push_back(r.record);
    simulate::AppendRecordNdjson(ndjson_buf, r.record, r.reported_time);
    AppendCopyRow(tsv_buf, r.record, r.reported_time);
    ++per_subscription[r.record.subscription_id];
    ++total;
    if (ndjson_buf.size() > (4u << 20)) {
      std::fwrite(ndjson_buf.data(), 1, ndjson_buf.size(), ndjson);
      ndjson_buf.clear();
    }
    if (tsv_buf.size() > (4u << 20)) {
      std::fwrite(tsv_buf.data(), 1, tsv_buf.size(), tsv);
      tsv_buf.clear();
    }
    if (batch->size() == kBuildBatch) flush_batch();
    if (total % 1'000'000 == 0) {
      Note("built " + std::to_string(total) + " records in " + std::to_string(sw.Seconds()) + " s");
    }
  });
  flush_batch();
  std::fwrite(ndjson_buf.data(), 1, ndjson_buf.size(), ndjson);
  std::fwrite(tsv_buf.data(), 1, tsv_buf.size(), tsv);
  std::fclose(ndjson);
  std::fclose(tsv);
  double produce_s = sw.Seconds();
  Status s = loader.Finish();
  if (!s.ok()) Die("baseline load", s);
  store.reset();
  Note("build: " + std::to_string(total) + " records; simulate + store append " +
       std::to_string(produce_s) + " s (AppendUsage alone " + std::to_string(append_seconds) +
       " s, " + std::to_string(static_cast<int64_t>(static_cast<double>(total) / append_seconds)) +
       " records/s in batches of 20k); with baseline indexes " + std::to_string(sw.Seconds()) +
       " s");

  DatasetMeta m;
  m.records = total;
  m.subscriptions = static_cast<int64_t>(per_subscription.size());
  for (const auto& [sub, n] : per_subscription) {
    if (n > m.largest_records || (n == m.largest_records && sub < m.largest_subscription)) {
      m.largest_records = n;
      m.largest_subscription = sub;
    }
  }
  s = SaveMeta(d, m);
  if (!s.ok()) Die("save meta", s);
  return 0;
}

// A window end `k` hours (Hourly) or days (Daily) after the data set's window: the same
// records, but a distinct query, so that no run is served by the index's scan cache.
UtcTime WindowEnd(const Dataset& d, domain::Granularity g, int k) {
  int64_t step = g == domain::Granularity::kHourly ? kMicrosPerHour : kMicrosPerDay;
  return UtcTime{d.window_end.micros + k * step};
}

double ToDouble(Decimal::Raw raw) {
  return static_cast<double>(raw) / static_cast<double>(Decimal::kOne);
}

int Query(const Dataset& d) {
  auto meta = LoadMeta(d);
  if (!meta.ok()) Die("data set", meta.status());
  const int reps = static_cast<int>(EnvInt("TALLY_BENCH_REPS", 9));
  Note("data set: " + std::to_string(meta->records) + " records, " +
       std::to_string(meta->subscriptions) + " subscriptions; largest " +
       meta->largest_subscription + " with " + std::to_string(meta->largest_records) + " records");

  SystemClock clock;
  store::SqliteStoreOptions so;
  so.data_dir = d.store_dir();
  so.clock = &clock;
  Stopwatch sw;
  auto opened = store::OpenSqliteStore(so);
  if (!opened.ok()) Die("open store", opened.status());
  std::unique_ptr<store::UsageStore> store = std::move(*opened);
  Report("agg.reopen_s", sw.Seconds(), "s");
  MemInfo mem = ReadMemInfo();
  Report("agg.rss_open_mib", static_cast<double>(mem.rss_bytes) / (1 << 20), "MiB", Goal::kAtMost,
         1024);
  store::StoreStats stats = store->GetStats();
  Note("store: " + std::to_string(stats.records) + " records, " + std::to_string(stats.instances) +
       " instances, " + std::to_string(stats.meters) + " meters, " +
       std::to_string(stats.subscriptions) + " subscriptions");

  query::UsageQueryService service(*store, clock);
  query::UsageQuery hourly;
  hourly.subscription_ids = {meta->largest_subscription};
  hourly.reported_start = d.period_start;
  hourly.granularity = domain::Granularity::kHourly;

  // (1) first page of the subscription-month, a new query each time.
  std::vector<double> first_ms;
  for (int k = 0; k < reps; ++k) {
    hourly.reported_end = WindowEnd(d, hourly.granularity, k);
    sw.Restart();
    auto page = service.Page(hourly, std::nullopt, 0, 1000);
    first_ms.push_back(sw.Millis());
    if (!page.ok()) Die("first page", page.status());
    if (k == 0) Note("first page: " + std::to_string(page->rows.size()) + " aggregates");
  }
  Note("first page, cold (first query after open): " + std::to_string(first_ms[0]) + " ms");
  double tally_first = Median(first_ms);
  Report("agg.first_page_ms", tally_first, "ms", Goal::kAtMost, 5);

  // (2) the whole subscription-month, page by page.
  std::vector<double> whole_ms;
  uint64_t whole_rows = 0;
  Decimal::Raw whole_sum = 0;
  for (int k = 0; k < reps; ++k) {
    hourly.reported_end = WindowEnd(d, hourly.granularity, 100 + k);
    whole_rows = 0;
    whole_sum = 0;
    sw.Restart();
    Status s = service.ForEach(hourly, [&](const domain::UsageAggregate& a) {
      ++whole_rows;
      whole_sum += a.quantity.raw();
    });
    whole_ms.push_back(sw.Millis());
    if (!s.ok()) Die("whole subscription-month", s);
  }
  double tally_whole = Median(whole_ms);
  Note("subscription-month Hourly: " + std::to_string(whole_rows) + " aggregates in " +
       std::to_string((whole_rows + 999) / 1000) + " pages");
  Report("agg.subscription_month_ms", tally_whole, "ms", Goal::kAtMost, 20);

  // (3) whole-store Daily: every subscription in one query, streamed page by page, rolled up
  // to subscription x meter x day on the fly (pages arrive in (subscription, day, meter,
  // instance) order, so equal keys are adjacent).
  auto subs = store->ListSubscriptions();
  if (!subs.ok()) Die("list subscriptions", subs.status());
  query::UsageQuery daily;
  for (const auto& s : *subs) daily.subscription_ids.push_back(s.id);
  daily.reported_start = d.period_start;
  daily.granularity = domain::Granularity::kDaily;
  std::vector<double> daily_s;
  uint64_t daily_aggregates = 0, rollup_rows = 0;
  Decimal::Raw daily_sum = 0;
  const int daily_reps = static_cast<int>(EnvInt("TALLY_BENCH_DAILY_REPS", 2));
  for (int k = 0; k < daily_reps; ++k) {
    daily.reported_end = WindowEnd(d, daily.granularity, k);
    daily_aggregates = rollup_rows = 0;
    daily_sum = 0;
    std::string last_sub, last_meter;
    int64_t last_day = -1;
    Decimal::Raw current = 0;
    sw.Restart();
    Status s = service.ForEach(daily, [&](const domain::UsageAggregate& a) {
      ++daily_aggregates;
      if (a.key.usage_start_hours != last_day || a.key.meter_key != last_meter ||
          a.key.subscription_id != last_sub) {
        if (last_day >= 0) ++rollup_rows;
        daily_sum += current;
        current = 0;
        last_day = a.key.usage_start_hours;
        last_meter = a.key.meter_key;
        last_sub = a.key.subscription_id;
      }
      current += a.quantity.raw();
    });
    if (last_day >= 0) ++rollup_rows;
    daily_sum += current;
    daily_s.push_back(sw.Seconds());
    if (!s.ok()) Die("whole-store Daily", s);
  }
  double tally_daily = Median(daily_s);
  Note("whole-store Daily: " + std::to_string(daily_aggregates) +
       " per-instance aggregates, rolled up to " + std::to_string(rollup_rows) +
       " subscription x meter x day rows");
  Report("agg.store_daily_s", tally_daily, "s");
  mem = ReadMemInfo();
  Report("agg.rss_after_queries_mib", static_cast<double>(mem.rss_bytes) / (1 << 20), "MiB",
         Goal::kAtMost, 1024);
  Report("agg.peak_rss_mib", static_cast<double>(mem.peak_rss_bytes) / (1 << 20), "MiB",
         Goal::kAtMost, 1024);

  if (EnvString("TALLY_BENCH_SKIP_BASELINE", "0") == "1") return 0;
  // The same three on the SQLite baseline.
  auto baseline = SqliteBaseline::Open(d.baseline_db());
  if (!baseline.ok()) Die("open baseline", baseline.status());
  const int baseline_reps = static_cast<int>(EnvInt("TALLY_BENCH_BASELINE_REPS", 3));
  std::vector<double> b_first, b_whole;
  SqliteBaseline::Answer answer;
  for (int k = 0; k < baseline_reps; ++k) {
    sw.Restart();
    auto a = (*baseline)->SubscriptionHourly(meta->largest_subscription, d.period_start,
                                             d.window_end, 1000);
    b_first.push_back(sw.Millis());
    if (!a.ok()) Die("baseline first page", a.status());
    if (k == 0) Note("SQLite plan, first page: " + a->plan);
  }
  Report("agg.sqlite.first_page_ms", Median(b_first), "ms");
  Report("agg.ratio.first_page", Median(b_first) / tally_first, "x");
  for (int k = 0; k < baseline_reps; ++k) {
    sw.Restart();
    auto a = (*baseline)->SubscriptionHourly(meta->largest_subscription, d.period_start,
                                             d.window_end, 0);
    b_whole.push_back(sw.Millis());
    if (!a.ok()) Die("baseline subscription-month", a.status());
    answer = *a;
  }
  Note("SQLite subscription-month: " + std::to_string(answer.rows) + " rows (Tally " +
       std::to_string(whole_rows) + "), quantity sum " + std::to_string(answer.quantity_sum) +
       " (Tally " + std::to_string(ToDouble(whole_sum)) + ")");
  Report("agg.sqlite.subscription_month_ms", Median(b_whole), "ms");
  Report("agg.ratio.subscription_month", Median(b_whole) / tally_whole, "x");
  sw.Restart();
  auto a = (*baseline)->StoreDaily(d.period_start, d.window_end);
  double b_daily = sw.Seconds();
  if (!a.ok()) Die("baseline whole-store Daily", a.status());
  Note("SQLite plan, whole-store Daily: " + a->plan);
  Note("SQLite whole-store Daily: " + std::to_string(a->rows) + " rows (Tally roll-up " +
       std::to_string(rollup_rows) + "), quantity sum " + std::to_string(a->quantity_sum) +
       " (Tally " + std::to_string(ToDouble(daily_sum)) + ")");
  Report("agg.sqlite.store_daily_s", b_daily, "s");
  Report("agg.ratio.store_daily", b_daily / tally_daily, "x", Goal::kAtLeast, 30);
  return 0;
}

}  // namespace
}  // namespace tally::bench

int main(int argc, char** argv) {
  using namespace tally::bench;
  std::string mode = argc > 1 ? argv[1] : "";
  Dataset d = LoadDataset();
  if (mode == "build") return Build(d);
  if (mode == "query") return Query(d);
  std::fprintf(stderr, "usage: tally_bench_aggregate build|query (see bench/run-all)\n");
  return 2;
}
