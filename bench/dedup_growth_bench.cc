// The writer's stall when the dedup table grows (docs/benchmarks.md, "Dedup table growth").
//
// The store's writer files every new record in UsageIndex's dedup table (AddToDedup) before it
// answers the next group. This program does what the writer does after opening a store of
// TALLY_BENCH_RECORDS records (10 M): the table is sized as on open (Reserve, 25% headroom),
// then groups of 1,000 new records are filed, TALLY_BENCH_GROWTH_RECORDS (28 M) of them: the
// table (33.5 M slots) reaches the 70% load at which it doubles at 23.5 M records, and the
// doubling, spread over the appends that follow, ends near 37 M. Each AddToDedup call is timed.
//
//   build/bench/bench/tally_bench_dedup_growth
//
// Prints the longest call (what one group of acknowledgements waits for, at worst), the 99.9th
// percentile, how many calls took over 5 ms, and the mean cost a record.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "bench_util.h"
#include "store/usage_index.h"

namespace tally::bench {
namespace {

uint64_t SplitMix(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

int Run() {
  const auto existing = static_cast<uint64_t>(EnvInt("TALLY_BENCH_RECORDS", 10'000'000));
  const auto added = static_cast<uint64_t>(EnvInt("TALLY_BENCH_GROWTH_RECORDS", 28'000'000));
  constexpr size_t kGroup = 1000;

  store::UsageIndex index;
  uint64_t hash_state = 1;
  std::vector<store::IndexedRecord> group(kGroup);
  uint64_t seq = 0;
  auto fill = [&](size_t n) {
    group.resize(n);
    for (store::IndexedRecord& r : group) {
      r.seq = ++seq;
      r.id_hash = SplitMix(hash_state);
      r.content_hash = SplitMix(hash_state);
    }
  };

  // The store's open: reserve as SqliteStore does, then load the existing records.
  index.Reserve(existing + existing / 4);
  for (uint64_t done = 0; done < existing; done += kGroup) {
    fill(std::min<uint64_t>(kGroup, existing - done));
    if (!index.AddToDedup(group).ok()) return 1;
  }
  Note("loaded " + std::to_string(existing) + " records; filing " + std::to_string(added) +
       " more in groups of " + std::to_string(kGroup));

  std::vector<double> call_ms;
  call_ms.reserve(added / kGroup + 1);
  Stopwatch total;
  for (uint64_t done = 0; done < added; done += kGroup) {
    fill(std::min<uint64_t>(kGroup, added - done));
    Stopwatch sw;
    if (!index.AddToDedup(group).ok()) return 1;
    call_ms.push_back(sw.Millis());
    if (call_ms.back() > 5)
      Note("slow call at " + std::to_string(existing + done) + ": " +
           std::to_string(call_ms.back()));
  }
  const double seconds = total.Seconds();
  const auto slow = std::count_if(call_ms.begin(), call_ms.end(), [](double ms) { return ms > 5; });
  Report("dedup_growth.longest_call_ms", *std::max_element(call_ms.begin(), call_ms.end()), "ms",
         Goal::kAtMost, 5);
  Report("dedup_growth.p999_call_ms", Percentile(call_ms, 99.9), "ms");
  Report("dedup_growth.calls_over_5ms", static_cast<double>(slow), "");
  Report("dedup_growth.ns_per_record", seconds * 1e9 / static_cast<double>(added), "ns");
  const MemInfo mem = ReadMemInfo();
  Report("dedup_growth.peak_rss_mib", static_cast<double>(mem.peak_rss_bytes) / (1 << 20), "MiB");
  return 0;
}

}  // namespace
}  // namespace tally::bench

int main() { return tally::bench::Run(); }
