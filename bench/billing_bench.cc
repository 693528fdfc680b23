// Billing benchmark (docs/benchmarks.md, "Billing (issue 5)").
//
//   tally_bench_billing   on a copy of the benchmark store: puts the N largest subscriptions
//                         (TALLY_BENCH_BILLING_SUBS, default 1,000) on one offer with a tiered
//                         rate card covering every meter, then measures
//                         - every invoice of the month through BillingService::RunInvoices
//                           (first run after open, then best of TALLY_BENCH_REPS, default 3),
//                         - the billing read alone (BillingStore::VisitHourlyUsage),
//                         - rating throughput: every usage record of the month (one per
//                           instance-hour) through pricing::RateMeterUsage,
//                         - the Usagesummary CSV export (rows/s, peak RSS) over a short window
//                           and over the whole month, to show memory independent of rows,
//                         - and, in the same run, the SQLite baseline: the month's subscription
//                           x meter totals by plain GROUP BY.
//
// The store is copied (cp --reflink=auto) to TALLY_BENCH_BILLING_STORE (default
// <TALLY_BENCH_DIR>/billing-store) on first use, because the run writes cards, pricing and
// draft invoices. TALLY_BENCH_BASELINE_DB overrides the SQLite baseline path;
// TALLY_BENCH_SKIP_BASELINE=1 runs only Tally's side (for profiling); TALLY_BENCH_EXPORT_DAYS
// sets the short export window (default 3 days).
#include <malloc.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench_util.h"
#include "billing/billing_export.h"
#include "billing/billing_service.h"
#include "common/clock.h"
#include "dataset.h"
#include "domain/meter.h"
#include "export/usage_summary_csv.h"
#include "pricing/billing_period.h"
#include "pricing/rate_card.h"
#include "pricing/rate_card_json.h"
#include "pricing/rating.h"
#include "sqlite_baseline.h"
#include "store/sqlite/sqlite_store.h"

namespace tally::bench {
namespace {

constexpr const char* kOffer = "BENCH-PAYG";

[[noreturn]] void Die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "tally_bench_billing: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// This process's CPU time (user + system, every thread) so far: moves less than wall time when
// other work shares the machine.
double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

Decimal Units(int64_t ten_thousandths) {
  return Decimal::FromRaw(static_cast<Decimal::Raw>(ten_thousandths) * (Decimal::kOne / 10'000));
}

// A pay-as-you-go card over every meter of the store: three graduated tiers, an included
// quantity, and a price rise in the middle of the month for every third meter (so part of the
// month is rated with a second entry), plus a credit, a commitment and a recurring charge.
pricing::RateCard MakeCard(const std::vector<domain::Meter>& meters, UtcTime period_start) {
  pricing::RateCard card;
  card.offer_durable_id = kOffer;
  const UtcTime long_ago = *ParseUtcTime("2020-01-01T00:00:00Z");
  const UtcTime mid_month{period_start.micros + 15 * kMicrosPerDay};
  for (size_t i = 0; i < meters.size(); ++i) {
    const domain::Meter& m = meters[i];
    pricing::RateCardMeter e;
    e.meter_id = m.id;
    e.meter_name = m.name.empty() ? m.id : m.name;
    e.meter_category = m.family;
    e.unit = m.unit;
    e.meter_region = "local";
    e.meter_status = "Active";
    const int64_t price = 25 + static_cast<int64_t>(i % 17) * 13;  // 0.0025 .. 0.0233
    e.meter_rates = {{Decimal(), Units(price)},
                     {Decimal::FromInt(500), Units(price * 9 / 10)},
                     {Decimal::FromInt(5'000), Units(price * 3 / 4)}};
    e.included_quantity = Decimal::FromInt(static_cast<int64_t>(i % 5) * 10);
    e.effective_date = long_ago;
    card.meters.push_back(e);
    if (i % 3 == 0) {
      for (pricing::MeterRate& r : e.meter_rates) r.unit_price = Units(price * 21 / 20 + 1);
      e.effective_date = mid_month;
      card.meters.push_back(std::move(e));
    }
  }
  card.offer_terms.push_back(pricing::MonetaryCredit{Decimal::FromInt(50), {}, long_ago});
  card.offer_terms.push_back(
      pricing::MonetaryCommitment{{{Decimal(), Decimal()},
                                   {Decimal::FromInt(1'000), Decimal::FromInt(5)},
                                   {Decimal::FromInt(10'000), Decimal::FromInt(12)}},
                                  {},
                                  long_ago});
  card.offer_terms.push_back(pricing::RecurringCharge{Decimal::FromInt(20), long_ago});
  return card;
}

// One meter of one subscription: its usage records of the month (one per instance-hour).
struct RecordGroup {
  uint32_t subscription = 0;  // index into the subscription list
  std::string meter_id;
  std::vector<pricing::HourlyQuantity> hours;
};

struct ExportFigures {
  uint64_t rows = 0;
  double seconds = 0;
  double cpu_seconds = 0;
  uint64_t rss_before = 0;
  uint64_t peak = 0;
};

// The Usagesummary CSV of every subscription's Hourly usage reported in [from, to), through
// the export `tally export` and GET /v1/exports/usage-summary run (billing::ExportJob),
// written to /dev/null.
ExportFigures ExportUsageSummary(store::UsageStore& store, const billing::BillingService& service,
                                 UtcTime from, UtcTime to) {
  malloc_trim(0);
  ExportFigures f;
  ResetPeakRss();
  f.rss_before = ReadMemInfo().rss_bytes;
  const double cpu = CpuSeconds();
  Stopwatch sw;
  std::ofstream out("/dev/null", std::ios::binary);
  billing::ExportRequest request;
  request.format = billing::ExportFormat::kUsageSummary;
  request.from = from;
  request.to = to;
  request.granularity = domain::Granularity::kHourly;
  auto job = billing::ExportJob::Prepare(store, service, std::move(request));
  if (!job.ok()) Die("export", job.status());
  if (Status s = job->Write(out); !s.ok()) Die("export", s);
  f.seconds = sw.Seconds();
  f.cpu_seconds = CpuSeconds() - cpu;
  f.rows = job->rows_written();
  f.peak = ReadMemInfo().peak_rss_bytes;
  return f;
}

double MiB(uint64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

int Run(const Dataset& d) {
  auto meta = LoadMeta(d);
  if (!meta.ok()) Die("data set", meta.status());
  const int reps = static_cast<int>(EnvInt("TALLY_BENCH_REPS", 3));
  const size_t want_subs = static_cast<size_t>(EnvInt("TALLY_BENCH_BILLING_SUBS", 1000));
  const std::string store_dir = EnvString("TALLY_BENCH_BILLING_STORE", d.dir + "/billing-store");
  const std::string baseline_db = EnvString("TALLY_BENCH_BASELINE_DB", d.baseline_db());
  const bool skip_baseline = EnvInt("TALLY_BENCH_SKIP_BASELINE", 0) != 0;
  const int export_days = static_cast<int>(EnvInt("TALLY_BENCH_EXPORT_DAYS", 3));
  Note("data set: " + std::to_string(meta->records) + " records, " +
       std::to_string(meta->subscriptions) + " subscriptions");

  if (!Exists(store_dir)) {
    Note("copying " + d.store_dir() + " to " + store_dir);
    std::string cmd = "cp -r --reflink=auto '" + d.store_dir() + "' '" + store_dir + "'";
    if (std::system(cmd.c_str()) != 0) Die("copy", Unavailable("cannot run: " + cmd));
  }

  SystemClock clock;
  store::SqliteStoreOptions so;
  so.data_dir = store_dir;
  so.clock = &clock;
  Stopwatch sw;
  auto opened = store::OpenSqliteStore(so);
  if (!opened.ok()) Die("open store", opened.status());
  std::unique_ptr<store::UsageStore> store = std::move(*opened);
  Report("billing.open_s", sw.Seconds(), "s");
  const store::StoreStats stats = store->GetStats();
  Note("store: " + std::to_string(stats.records) + " records, " + std::to_string(stats.meters) +
       " meters, " + std::to_string(stats.subscriptions) + " subscriptions");

  auto month = pricing::BillingMonth::Parse(FormatUtcTime(d.period_start).substr(0, 7));
  if (!month.ok()) Die("month", month.status());
  const pricing::TimeZone zone = pricing::TimeZone::Utc();
  auto period = pricing::BillingPeriod::Make(*month, zone);
  if (!period.ok()) Die("period", period.status());
  const UsageHour month_from = *UsageHour::FromUtc(period->start());
  const UsageHour month_to = *UsageHour::FromUtc(period->end());
  Note("billing month " + month->ToString() + " (UTC)");

  auto subs = store->ListSubscriptions();
  if (!subs.ok()) Die("subscriptions", subs.status());
  std::sort(
      subs->begin(), subs->end(),
      [](const domain::Subscription& a, const domain::Subscription& b) { return a.id < b.id; });

  // The month's usage records, per subscription and meter: the rating benchmark's input, and
  // the sizes that pick the subscriptions to invoice. Each per-instance Hourly aggregate is one
  // record of the data set (one record per instance, meter and hour).
  std::vector<RecordGroup> groups;
  std::vector<uint64_t> sub_records(subs->size());
  uint64_t month_records = 0;
  {
    sw.Restart();
    std::unordered_map<std::string_view, uint32_t> sub_index;
    for (uint32_t i = 0; i < subs->size(); ++i) sub_index[(*subs)[i].id] = i;
    store::AggregateQuery q;
    for (const domain::Subscription& s : *subs) q.subscription_ids.push_back(s.id);
    q.reported_from = ReportedTime(d.period_start);
    q.reported_to = ReportedTime(d.window_end);
    q.granularity = domain::Granularity::kHourly;
    q.limit = 10'000;
    std::map<std::string, size_t> open;  // meter -> group of the current subscription
    uint32_t current = UINT32_MAX;
    for (;;) {
      auto page = store->AggregateUsage(q);
      if (!page.ok()) Die("read month", page.status());
      for (const domain::UsageAggregate& a : page->rows) {
        auto hour = UsageHour::FromUtc(a.usage_start);
        if (!hour.ok() || *hour < month_from || !(*hour < month_to)) continue;
        const uint32_t sub = sub_index.at(a.subscription_id);
        if (sub != current) {
          open.clear();
          current = sub;
        }
        auto [it, added] = open.try_emplace(std::string(a.meter_id), groups.size());
        if (added) groups.push_back(RecordGroup{sub, std::string(a.meter_id), {}});
        groups[it->second].hours.push_back({*hour, a.quantity});
        ++sub_records[sub];
        ++month_records;
      }
      if (!page->has_more) break;
      q.after = page->rows.back().key.ToKey();
      q.as_of_seq = page->as_of_seq;
    }
    Note("read the month's " + std::to_string(month_records) + " records (" +
         std::to_string(groups.size()) + " subscription x meter groups) in " +
         std::to_string(sw.Seconds()) + " s");
  }

  // The N subscriptions with the most records of the month.
  std::vector<uint32_t> order(subs->size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return sub_records[a] > sub_records[b]; });
  order.resize(std::min(want_subs, order.size()));
  std::sort(order.begin(), order.end());
  uint64_t priced_records = 0;
  for (uint32_t i : order) priced_records += sub_records[i];
  Note("invoicing " + std::to_string(order.size()) + " subscriptions holding " +
       std::to_string(priced_records) + " of the month's records");

  // The offer, its card and the subscriptions' pricing (idempotent: a rerun replaces them).
  auto service = billing::BillingService::Make(*store, clock);
  if (!service.ok()) Die("billing", service.status());
  auto meters = store->ListMeters();
  if (!meters.ok()) Die("meters", meters.status());
  pricing::RateCard card = MakeCard(*meters, d.period_start);
  {
    sw.Restart();
    auto imported =
        service->ImportRateCard(pricing::FormatRateCardJson(card), kOffer, std::string());
    if (!imported.ok()) Die("import card", imported.status());
    Note("rate card: " + std::to_string(imported->meter_entries) + " meter entries over " +
         std::to_string(meters->size()) + " meters, " + std::to_string(imported->offer_terms) +
         " offer terms");
    for (size_t k = 0; k < order.size(); ++k) {
      billing::SubscriptionPricingRequest r;
      r.subscription_id = (*subs)[order[k]].id;
      r.offer_durable_id = kOffer;
      if (k % 4 == 1) r.adjustment_percent = Decimal::FromInt(-10);
      if (k % 4 == 2) r.adjustment_percent = Decimal::FromInt(15);
      if (k % 4 == 3) r.commitment = Decimal::FromInt(k % 8 == 3 ? 1'000 : 20'000);
      auto saved = service->SetSubscriptionPricing(r);
      if (!saved.ok()) Die("pricing " + r.subscription_id, saved.status());
    }
    Note("pricing set up in " + std::to_string(sw.Seconds()) + " s");
  }
  auto prices = pricing::PriceList::Make(card);
  if (!prices.ok()) Die("price list", prices.status());

  // The billing read alone: the month's hourly sums of the invoiced subscriptions.
  {
    store::HourlyUsageQuery q;
    for (uint32_t i : order) q.subscription_ids.push_back((*subs)[i].id);
    q.from = month_from;
    q.to = month_to;
    q.up_to_seq = stats.last_seq;
    std::vector<double> read_s;
    uint64_t sums = 0;
    for (int k = 0; k <= reps; ++k) {
      sums = 0;
      sw.Restart();
      Status s =
          store->Billing()->VisitHourlyUsage(q, [&](const store::HourlyUsageRow&) { ++sums; });
      read_s.push_back(sw.Seconds());
      if (!s.ok()) Die("visit hourly", s);
    }
    Note("billing read: " + std::to_string(sums) + " (subscription, meter, hour) sums");
    Report("billing.read_month_first_s", read_s.front(), "s");
    Report("billing.read_month_s", *std::min_element(read_s.begin(), read_s.end()), "s");
  }

  // (1) Every invoice of the month: first run after open, then the best of `reps`.
  std::vector<double> run_s, run_cpu_s;
  billing::RunReport last;
  for (int k = 0; k <= reps; ++k) {
    const double cpu = CpuSeconds();
    sw.Restart();
    auto report = service->RunInvoices(*month, zone);
    run_s.push_back(sw.Seconds());
    run_cpu_s.push_back(CpuSeconds() - cpu);
    if (!report.ok()) Die("run invoices", report.status());
    last = std::move(*report);
  }
  if (last.drafted.size() != order.size() || !last.failed.empty()) {
    Die("run invoices", Internal(std::to_string(last.drafted.size()) + " drafted, " +
                                 std::to_string(last.failed.size()) + " failed"));
  }
  Decimal grand_total;
  size_t unpriced = 0;
  for (const billing::InvoiceSummary& s : last.drafted) {
    grand_total += *Decimal::Parse(s.total);
    unpriced += s.has_unpriced_usage;
  }
  Note("drafted " + std::to_string(last.drafted.size()) + " invoices, totals summing to " +
       grand_total.ToString() + " USD; " + std::to_string(unpriced) + " with unpriced usage");
  const double invoices_first = run_s.front();
  const double invoices_best = *std::min_element(run_s.begin() + 1, run_s.end());
  Report("billing.invoices_month_first_s", invoices_first, "s");
  Report("billing.invoices_month_s", invoices_best, "s", Goal::kAtMost, 3);
  Report("billing.invoices_month_first_cpu_s", run_cpu_s.front(), "CPU-s");
  Report("billing.invoices_month_cpu_s", *std::min_element(run_cpu_s.begin() + 1, run_cpu_s.end()),
         "CPU-s");

  // (2) Rating throughput: every record of the month priced against the card, per
  // subscription x meter, with the tier breakdown. Checked: the rated quantities add up to
  // the records' quantities.
  {
    Decimal expected;
    for (const RecordGroup& g : groups) {
      for (const pricing::HourlyQuantity& h : g.hours) expected += h.quantity;
    }
    std::vector<double> rate_s, rate_cpu_s;
    for (int k = 0; k < reps; ++k) {
      Decimal rated;
      pricing::ExactAmount amount;
      const double cpu = CpuSeconds();
      sw.Restart();
      for (const RecordGroup& g : groups) {
        auto r = pricing::RateMeterUsage(*prices, g.meter_id, g.hours);
        if (!r.ok()) Die("rate", r.status());
        rated += r->quantity;
        amount = *pricing::ExactAmount::Add(amount, r->amount);
      }
      rate_s.push_back(sw.Seconds());
      rate_cpu_s.push_back(CpuSeconds() - cpu);
      if (rated != expected) {
        Die("rate", Internal("rated " + rated.ToString() + ", expected " + expected.ToString()));
      }
      if (k == 0)
        Note("rated amount of the month (all subscriptions, list prices): " + amount.ToString());
    }
    const double best = *std::min_element(rate_s.begin(), rate_s.end());
    Note("rating: " + std::to_string(month_records) + " records in " + std::to_string(best) + " s");
    Report("rating.records_per_s", static_cast<double>(month_records) / best, "records/s",
           Goal::kAtLeast, 2'000'000);
    Report("rating.records_per_cpu_s",
           static_cast<double>(month_records) /
               *std::min_element(rate_cpu_s.begin(), rate_cpu_s.end()),
           "records/CPU-s");
  }
  const size_t group_count = groups.size();
  std::vector<RecordGroup>().swap(groups);

  // (3) Export: Usagesummary CSV of a short window and of the whole month.
  {
    const UtcTime short_end{d.period_start.micros + export_days * kMicrosPerDay};
    ExportFigures small = ExportUsageSummary(*store, *service, d.period_start, short_end);
    ExportFigures full = ExportUsageSummary(*store, *service, d.period_start, d.window_end);
    for (const auto& [name, f] : {std::pair{"short", small}, std::pair{"month", full}}) {
      Note(std::string("export ") + name + ": " + std::to_string(f.rows) + " rows in " +
           std::to_string(f.seconds) + " s; RSS before " + HumanBytes(f.rss_before) + ", peak " +
           HumanBytes(f.peak));
      Report(std::string("export.") + name + "_rows", static_cast<double>(f.rows), "rows");
      Report(std::string("export.") + name + "_rss_growth_mib",
             MiB(f.peak > f.rss_before ? f.peak - f.rss_before : 0), "MiB");
    }
    Report("export.rows_per_s", static_cast<double>(full.rows) / full.seconds, "rows/s",
           Goal::kAtLeast, 500'000);
    Report("export.rows_per_cpu_s", static_cast<double>(full.rows) / full.cpu_seconds,
           "rows/CPU-s");
    Report("export.peak_rss_mib", MiB(full.peak), "MiB");
  }

  // (4) The SQLite baseline in the same run: the month's subscription x meter totals.
  if (!skip_baseline) {
    auto baseline = SqliteBaseline::Open(baseline_db);
    if (!baseline.ok()) Die("open baseline", baseline.status());
    const double cpu = CpuSeconds();
    sw.Restart();
    auto answer = (*baseline)->MonthTotals(month_from, month_to);
    const double b_s = sw.Seconds();
    Report("billing.sqlite.month_totals_cpu_s", CpuSeconds() - cpu, "CPU-s");
    if (!answer.ok()) Die("baseline", answer.status());
    Note("SQLite plan: " + answer->plan);
    Note("SQLite: " + std::to_string(answer->rows) + " subscription x meter totals (Tally: " +
         std::to_string(group_count) + "), quantity sum " + std::to_string(answer->quantity_sum));
    Report("billing.sqlite.month_totals_s", b_s, "s");
    Report("billing.ratio.invoices_vs_sqlite", b_s / invoices_best, "x", Goal::kAtLeast, 20);
    Report("billing.ratio.first_invoices_vs_sqlite", b_s / invoices_first, "x");
  }
  return 0;
}

}  // namespace
}  // namespace tally::bench

int main() {
  const tally::bench::Dataset d = tally::bench::LoadDataset();
  return tally::bench::Run(d);
}
