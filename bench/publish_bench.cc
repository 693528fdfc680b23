// The publisher's cost a record (docs/benchmarks.md, "Publishing"): what the store's publisher
// thread spends making committed records visible to queries, in memory, on the data set's own
// records.
//
// The store's publisher calls UsageIndex::PublishRows for every committed group, then
// MergePending; the writer calls AddToDedup. This program streams the first
// TALLY_BENCH_PUBLISH_WARM records (4 M; 40% of a smaller data set) of the data set's NDJSON file
// through the same calls in groups of 1,000, as the store does (untimed: by then the data set's
// resources are known and its partitions large), then publishes the next
// TALLY_BENCH_PUBLISH_RECORDS (500 k; 5% of a smaller data set), kept in memory,
// TALLY_BENCH_PUBLISH_PASSES (7) times under new seqs, timing each pass. Reading and parsing the
// file is not timed.
//
//   build/bench/bench/tally_bench_publish
//
// Prints ns a record of PublishRows (the fastest pass and the median: this machine's speed
// varies from minute to minute), MergePending and AddToDedup, and peak RSS; and, asked every 20
// groups of the timed passes (untimed in those), the first page (1,000 Hourly aggregates) of the
// data set's largest subscription over its whole period: what a query pays for the rows not yet
// merged while records arrive (its tail, up to 1/kMergeRatio of the partition, sorted once per
// snapshot).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <vector>

#include "bench_util.h"
#include "dataset.h"
#include "domain/meter.h"
#include "ingest/record_reader.h"
#include "store/properties_codec.h"
#include "store/usage_index.h"

namespace tally::bench {
namespace {

// The data set's records as the publisher receives them, in groups of kGroup, with the texts
// their views point into.
struct Groups {
  std::vector<std::vector<store::IndexedRecord>> groups;
  std::deque<domain::UsageRecord> records;
  std::deque<std::string> texts;  // meter keys and properties text
};

constexpr size_t kGroup = 1000;

void AddRecord(Groups& out, domain::UsageRecord&& record, uint64_t seq) {
  const domain::UsageRecord& r = out.records.emplace_back(std::move(record));
  store::IndexedRecord x;
  x.seq = seq;
  x.reported_time = r.reported_time.value_or(ReportedTime());
  x.usage_start = r.usage_start;
  x.id_hash = store::RecordIdHash(r.record_id);
  x.content_hash = domain::ContentHash(r);
  x.subscription_id = r.subscription_id;
  x.meter_key = out.texts.emplace_back(domain::MeterKey(r.meter_id));
  x.meter_id = r.meter_id;
  x.resource_uri = r.resource_uri;
  x.location = r.location;
  if (r.tags) {
    store::AppendPropertiesText(out.texts.emplace_back(), *r.tags);
    x.tags_text = out.texts.back();
  }
  if (r.additional_info) {
    store::AppendPropertiesText(out.texts.emplace_back(), *r.additional_info);
    x.additional_info_text = out.texts.back();
  }
  x.quantity = r.quantity;
  if (out.groups.empty() || out.groups.back().size() == kGroup) out.groups.emplace_back();
  out.groups.back().push_back(x);
}

int Run() {
  const Dataset d = LoadDataset();
  auto meta = LoadMeta(d);
  if (!meta.ok()) {
    Note("no data set: " + meta.status().message());
    return 1;
  }
  // A smaller data set (a smoke run) gets proportionally smaller parts.
  const auto records = static_cast<uint64_t>(d.records);
  const auto warm = static_cast<uint64_t>(
      EnvInt("TALLY_BENCH_PUBLISH_WARM",
             static_cast<int64_t>(std::min<uint64_t>(4'000'000, records * 2 / 5))));
  const auto timed = static_cast<uint64_t>(
      EnvInt("TALLY_BENCH_PUBLISH_RECORDS",
             static_cast<int64_t>(std::min<uint64_t>(500'000, records / 20))));
  const auto passes = static_cast<int>(EnvInt("TALLY_BENCH_PUBLISH_PASSES", 7));

  const int fd = ::open(d.ndjson_path().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    Note("cannot open " + d.ndjson_path() + ": build the data set first (aggregate build)");
    return 1;
  }
  ingest::RecordReader reader(fd, ingest::BodyFormat::kNdjson);
  ingest::ParsedRecords parsed;
  const domain::ValidationContext ctx{UtcTime{INT64_MAX / 2}, true};
  std::vector<domain::FieldError> errors;
  store::UsageIndex index;
  index.Reserve(warm + timed * static_cast<uint64_t>(passes) * 5 / 4);
  uint64_t seq = 0;
  auto publish = [&](std::span<const store::IndexedRecord> group) {
    return index.AddToDedup(group).ok() && index.PublishRows(group).ok();
  };

  // The warm-up, streamed; then the timed records, kept in memory.
  Groups kept;
  while (seq < warm + timed) {
    auto more = reader.Next(parsed);
    if (!more.ok()) {
      Note("reading the data set failed: " + more.status().message());
      return 1;
    }
    if (!*more) break;
    Groups batch;
    for (domain::UsageRecordFields& f : parsed.fields) {
      if (seq >= warm + timed) break;
      auto r = domain::MakeUsageRecord(std::move(f), 0, ctx, errors);
      if (!r) {
        Note("a record of the data set is invalid: " + errors.front().reason);
        return 1;
      }
      ++seq;
      AddRecord(seq <= warm ? batch : kept, std::move(*r), seq);
    }
    for (const auto& group : batch.groups) {
      if (!publish(group)) return 1;
      index.MergePending();
    }
  }
  ::close(fd);
  if (kept.groups.empty()) {
    Note("no records after the warm-up: the data set holds " + std::to_string(seq));
    return 1;
  }

  // Each pass publishes the kept records again under new seqs (the instances are known by
  // then, as in a store in steady use) and times the calls, as the store's threads make them.
  const auto count = static_cast<double>(kept.records.size());
  std::vector<double> publish_ns, merge_ns, dedup_ns, first_page_ms;
  store::AggregateQuery first_page;
  first_page.subscription_ids = {meta->largest_subscription};
  first_page.reported_from = ReportedTime(d.period_start);
  first_page.reported_to = ReportedTime::FromMicros(INT64_MAX / 2);
  first_page.granularity = domain::Granularity::kHourly;
  first_page.limit = 1000;
  size_t groups_done = 0;
  uint64_t next_seq = seq;
  for (int pass = 0; pass < passes; ++pass) {
    double publish_s = 0, merge_s = 0, dedup_s = 0;
    for (auto& group : kept.groups) {
      for (store::IndexedRecord& r : group) r.seq = ++next_seq;
      Stopwatch sw;
      if (!index.AddToDedup(group).ok()) return 1;
      dedup_s += sw.Seconds();
      sw.Restart();
      if (!index.PublishRows(group).ok()) return 1;
      publish_s += sw.Seconds();
      sw.Restart();
      index.MergePending();
      merge_s += sw.Seconds();
      if (++groups_done % 20 == 0) {
        Stopwatch q;
        auto page = index.Aggregate(first_page);
        first_page_ms.push_back(q.Millis());
        if (!page.ok() || page->rows.empty()) {
          Note("the first page failed or was empty");
          return 1;
        }
      }
    }
    publish_ns.push_back(publish_s * 1e9 / count);
    merge_ns.push_back(merge_s * 1e9 / count);
    dedup_ns.push_back(dedup_s * 1e9 / count);
  }
  const store::IndexStats stats = index.GetStats();
  Note("published " + std::to_string(stats.records) + " records (" +
       std::to_string(stats.instances) + " instances, " + std::to_string(stats.subscriptions) +
       " subscriptions); timed " + std::to_string(passes) + " passes of " +
       std::to_string(kept.records.size()) + " after a warm-up of " + std::to_string(warm));
  // The fastest pass is the least disturbed by the machine; the median says how typical it is.
  auto min = [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); };
  Report("publish.publish_rows_ns_per_record_min", min(publish_ns), "ns");
  Report("publish.publish_rows_ns_per_record_median", Percentile(publish_ns, 50), "ns");
  Report("publish.merge_ns_per_record_min", min(merge_ns), "ns");
  Report("publish.add_to_dedup_ns_per_record_min", min(dedup_ns), "ns");
  Report("publish.first_page_while_publishing_ms_median", Percentile(first_page_ms, 50), "ms");
  Report("publish.first_page_while_publishing_ms_p99", Percentile(first_page_ms, 99), "ms");
  Report("publish.first_page_while_publishing_ms_max",
         *std::max_element(first_page_ms.begin(), first_page_ms.end()), "ms");
  const MemInfo mem = ReadMemInfo();
  Report("publish.peak_rss_mib", static_cast<double>(mem.peak_rss_bytes) / (1 << 20), "MiB");
  return 0;
}

}  // namespace
}  // namespace tally::bench

int main() { return tally::bench::Run(); }
