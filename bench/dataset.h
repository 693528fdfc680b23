// The benchmark data set: where its files live, the simulator options that define it (the
// anchors' 10 M-record set by default), and the formats it is written in. Everything derives
// from the environment, so the programs of one run agree:
//   TALLY_BENCH_DIR      working directory (default build/bench/data)
//   TALLY_BENCH_RECORDS  records in the store (default 10,000,000)
// Values only; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/time.h"
#include "domain/usage_record.h"
#include "simulate/simulator.h"

namespace tally::bench {

struct Dataset {
  std::string dir;
  int64_t records = 0;
  simulate::SimulationOptions sim;  // the stored records
  UtcTime period_start;
  // The reported window that covers every stored record: the period plus the longest
  // reporting delay, rounded up to whole days.
  UtcTime window_end;

  std::string store_dir() const { return dir + "/store"; }
  std::string baseline_db() const { return dir + "/baseline.sqlite"; }
  std::string ndjson_path() const { return dir + "/records.ndjson"; }  // with reportedTime
  std::string tsv_path() const { return dir + "/records.tsv"; }        // PostgreSQL COPY text
  std::string meta_path() const { return dir + "/dataset.meta"; }
};

Dataset LoadDataset();

// What the build step learned about the data, for the later steps.
struct DatasetMeta {
  int64_t records = 0;
  std::string largest_subscription;
  int64_t largest_records = 0;
  int64_t subscriptions = 0;
};
Status SaveMeta(const Dataset& d, const DatasetMeta& m);
Result<DatasetMeta> LoadMeta(const Dataset& d);

// New usage for the ingestion runs: the same tenants and resources, in days after the stored
// period (so no recordId repeats a stored one), about `records` records, without reportedTime.
simulate::SimulationOptions IngestSimulation(const Dataset& d, int64_t records);

// {"records":[{...},...]}: the JSON body a reporter posts.
std::string JsonBody(const std::vector<domain::UsageRecord>& records);

// The request bodies of a load run, kept compressed (zstd) and unpacked one at a time into a
// buffer of the sending thread's. A reporter is another machine: the server's holds none of
// its requests. Built whole, an 8 M-record run's bodies (3.6 GB) stood in memory beside the
// server, each read once, and the kernel's memory monitor on the bench machine (DAMON) spent
// three times as long on its rounds as with them packed (420 MiB), the acknowledgements'
// p99 twice as long (docs/benchmarks.md, section (a'''''''''''')). Constructed with pack =
// false, it keeps them whole, to compare with the figures measured before. Thread-safety: Add
// before any Get; Get from any thread.
class RequestBodies {
 public:
  explicit RequestBodies(bool pack) : pack_(pack) {}

  void Add(std::string body);
  size_t size() const { return bodies_.size(); }
  bool packed() const { return pack_; }
  // Bytes held (packed, or whole), and the bodies' whole size.
  size_t held_bytes() const { return held_bytes_; }
  size_t whole_bytes() const { return whole_bytes_; }
  // Body b, unpacked into `buffer` when packed; the view is valid until `buffer` changes.
  std::string_view Get(size_t b, std::string& buffer) const;

 private:
  bool pack_;
  std::vector<std::string> bodies_;  // each packed, or whole
  std::vector<size_t> sizes_;        // whole sizes
  size_t held_bytes_ = 0;
  size_t whole_bytes_ = 0;
};

// One line of PostgreSQL COPY text format for the baseline table: record_id, subscription_id,
// meter_id, resource_uri, location, usage_start, quantity, tags, additional_info,
// reported_time (timestamps as RFC 3339, absent properties as \N).
void AppendCopyRow(std::string& out, const domain::UsageRecord& r, ReportedTime reported);

}  // namespace tally::bench
