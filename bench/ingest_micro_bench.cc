// Google Benchmark micro-benchmarks of the per-record work on the ingest path (docs/benchmarks.md,
// "micro-benchmarks"): parsing a 1,000-record JSON body, validation, the content hash and the
// canonical text it is computed from. Items/s = records/s on one thread.
//
//   build/bench/bench/tally_bench_ingest_micro [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <vector>

#include "dataset.h"
#include "domain/usage_record.h"
#include "ingest/record_parser.h"
#include "simulate/simulator.h"
#include "store/record_block.h"

namespace tally::bench {
namespace {

constexpr size_t kBatch = 1000;

// 1,000 simulated records of a small private cloud (the load run's kind of record).
const std::vector<domain::UsageRecord>& Records() {
  static const std::vector<domain::UsageRecord> records = [] {
    simulate::SimulationOptions o;
    o.start = UsageHour::FromHours(475'000);  // 2024-03-10
    o.days = 2;
    o.tenants = 50;
    o.resources = 2000;
    std::vector<domain::UsageRecord> out;
    simulate::Simulate(o, [&](const simulate::SimulatedRecord& r) {
      if (out.size() < kBatch) out.push_back(r.record);
    });
    return out;
  }();
  return records;
}

const std::string& Body() {
  static const std::string body = JsonBody(Records());
  return body;
}

domain::ValidationContext Context() { return {UtcTime{int64_t{4'000'000'000} * 1'000'000}, false}; }

void BM_ParseJsonBody(benchmark::State& state) {
  for (auto _ : state) {
    auto parsed = ingest::ParseBody(Body(), ingest::BodyFormat::kJson);
    if (!parsed.ok()) std::abort();
    benchmark::DoNotOptimize(parsed->fields.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * Records().size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * Body().size()));
}
BENCHMARK(BM_ParseJsonBody);

// Parse + validation, moving the parsed text into the records (IngestService::Ingest's path).
void BM_ParseAndValidate(benchmark::State& state) {
  const domain::ValidationContext ctx = Context();
  std::vector<domain::FieldError> errors;
  for (auto _ : state) {
    auto parsed = ingest::ParseBody(Body(), ingest::BodyFormat::kJson);
    if (!parsed.ok()) std::abort();
    std::vector<domain::UsageRecord> records;
    records.reserve(parsed->fields.size());
    for (size_t i = 0; i < parsed->fields.size(); ++i) {
      auto r = domain::MakeUsageRecord(std::move(parsed->fields[i]), i, ctx, errors);
      if (!r) std::abort();
      records.push_back(std::move(*r));
    }
    benchmark::DoNotOptimize(records.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * Records().size()));
}
BENCHMARK(BM_ParseAndValidate);

void BM_ContentHash(benchmark::State& state) {
  const auto& records = Records();
  for (auto _ : state) {
    uint64_t h = 0;
    for (const auto& r : records) h ^= domain::ContentHash(r);
    benchmark::DoNotOptimize(h);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * records.size()));
}
BENCHMARK(BM_ContentHash);

void BM_CanonicalContent(benchmark::State& state) {
  const auto& records = Records();
  for (auto _ : state) {
    size_t n = 0;
    for (const auto& r : records) n += domain::CanonicalContent(r).size();
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * records.size()));
}
BENCHMARK(BM_CanonicalContent);

// The store's encoding of a batch on the caller's thread (store/record_block.h), without and with
// its compression; `bytes_per_record` is what the batch adds to the WAL and the database.
void BM_EncodeBatch(benchmark::State& state) {
  const auto& records = Records();
  store::BatchEncoding encoding;
  for (auto _ : state) {
    if (!encoding.Encode(records, ReportedTime::FromMicros(0)).ok()) std::abort();
    benchmark::DoNotOptimize(encoding.content_hash(0));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * records.size()));
}
BENCHMARK(BM_EncodeBatch);

void BM_EncodeAndCompressBatch(benchmark::State& state) {
  const auto& records = Records();
  store::BatchEncoding encoding;
  store::RecordBlockBuilder block;
  for (auto _ : state) {
    if (!encoding.Encode(records, ReportedTime::FromMicros(0)).ok()) std::abort();
    if (!encoding.Compress().ok()) std::abort();
    benchmark::DoNotOptimize(encoding.content_hash(0));
  }
  block.AddBatch(encoding, {});
  state.counters["bytes_per_record"] =
      static_cast<double>(block.bytes().size()) / static_cast<double>(records.size());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * records.size()));
}
BENCHMARK(BM_EncodeAndCompressBatch);

}  // namespace
}  // namespace tally::bench

BENCHMARK_MAIN();
