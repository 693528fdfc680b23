// The in-memory layout of the usage index's rows, shared by its two halves: usage_index.cc
// (dedup, interning, publishing and merging) and usage_index_query.cc (aggregating pages and
// billing reads). Internal to src/store: nothing outside the index includes it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "common/decimal.h"
#include "domain/aggregate.h"
#include "store/usage_index.h"

namespace tally::store {
namespace index_layout {

constexpr int64_t kHoursPerDay = 24;
// Quantities are packed into 64 bits as mantissa * 10^exponent (58-bit mantissa, 5-bit
// exponent); bit 63 marks a quantity kept in the partition's side table instead.
__extension__ typedef unsigned __int128 U128;
constexpr uint64_t kBigFlag = 1ull << 63;
constexpr int kMantissaBits = 58;
constexpr uint64_t kMantissaLimit = 1ull << kMantissaBits;

constexpr Decimal::Raw Pow10(int e) {
  Decimal::Raw v = 1;
  for (int i = 0; i < e; ++i) v *= 10;
  return v;
}
constexpr Decimal::Raw kPow10[32] = {
    Pow10(0),  Pow10(1),  Pow10(2),  Pow10(3),  Pow10(4),  Pow10(5),  Pow10(6),  Pow10(7),
    Pow10(8),  Pow10(9),  Pow10(10), Pow10(11), Pow10(12), Pow10(13), Pow10(14), Pow10(15),
    Pow10(16), Pow10(17), Pow10(18), Pow10(19), Pow10(20), Pow10(21), Pow10(22), Pow10(23),
    Pow10(24), Pow10(25), Pow10(26), Pow10(27), Pow10(28), Pow10(29), Pow10(30), Pow10(31)};

inline int64_t BucketOf(int64_t hour, domain::Granularity g) {
  if (g == domain::Granularity::kHourly) return hour;
  return UsageHour::FromHours(hour).DayStart().hours();
}

// A tail is merged into the sorted rows once it holds this many rows and 1/kMergeRatio of the
// sorted rows: each row is then copied about kMergeRatio times over its life, and a query sorts
// at most that fraction of a partition.
constexpr size_t kMinTail = 2048;
constexpr size_t kMergeRatio = 32;

// The position of (meter, instance) within a usage bucket: meter key order (the meter's rank),
// then instance ID. Ranks change when a new meter arrives, but only by shifting: the relative
// order of the meters already known never changes, so rows sorted earlier stay sorted.
inline uint64_t InBucketKey(uint32_t rank, uint32_t instance) {
  return (static_cast<uint64_t>(rank) << 32) | instance;
}

// A sort key whose unsigned order is (bucket, meter rank, instance, row).
inline U128 RowKey(int64_t bucket, uint32_t rank, uint32_t instance, uint32_t row) {
  auto biased = static_cast<uint32_t>(static_cast<int32_t>(bucket)) ^ 0x8000'0000u;
  uint64_t hi = (static_cast<uint64_t>(biased) << 32) | rank;
  uint64_t lo = (static_cast<uint64_t>(instance) << 32) | row;
  return (static_cast<U128>(hi) << 64) | lo;
}
inline uint32_t RowOf(U128 key) { return static_cast<uint32_t>(key); }

template <typename T>
size_t CapacityBytes(const std::vector<T>& v) {
  return v.capacity() * sizeof(T);
}

}  // namespace index_layout

using namespace index_layout;  // NOLINT: internal header of the index's two .cc files

// Rows ordered by (usage hour, meter key, instance, seq); the hour of a row is found from the
// directory `hours` / `hour_start` rather than stored per row.
struct UsageIndex::SortedRows {
  std::vector<int32_t> hours;        // distinct usage hours, ascending
  std::vector<uint32_t> hour_start;  // rows of hours[i]: [hour_start[i], hour_start[i + 1])
  std::vector<uint32_t> seq;
  std::vector<int64_t> reported_us;
  std::vector<uint32_t> meter;
  std::vector<uint32_t> instance;
  std::vector<uint64_t> quantity;

  size_t size() const { return seq.size(); }
  size_t MemoryBytes() const {
    return CapacityBytes(hours) + CapacityBytes(hour_start) + CapacityBytes(seq) +
           CapacityBytes(reported_us) + CapacityBytes(meter) + CapacityBytes(instance) +
           CapacityBytes(quantity);
  }
};

struct UsageIndex::Partition {
  std::string_view subscription_id;  // view into text_
  SortedRows sorted;
  // Incremented by every merge: tail row numbers then mean other rows.
  uint64_t generation = 0;
  // The tail: rows published since the last merge, in seq order (all after the sorted rows).
  std::vector<uint32_t> seq;
  std::vector<int64_t> reported_us;
  std::vector<int32_t> hour;
  std::vector<uint32_t> meter;
  std::vector<uint32_t> instance;
  std::vector<uint64_t> quantity;
  std::vector<Decimal::Raw> big_quantities;  // of sorted and tail rows alike

  size_t tail_size() const { return seq.size(); }
  bool NeedsMerge() const { return tail_size() >= std::max(kMinTail, sorted.size() / kMergeRatio); }
  Decimal::Raw Quantity(uint64_t q) const {
    if (q & kBigFlag) return big_quantities[q & ~kBigFlag];
    int e = static_cast<int>(q >> kMantissaBits);
    auto m = static_cast<Decimal::Raw>(q & (kMantissaLimit - 1));
    return e == 0 ? m : m * kPow10[e];
  }
  size_t MemoryBytes() const {
    return sorted.MemoryBytes() + CapacityBytes(seq) + CapacityBytes(reported_us) +
           CapacityBytes(hour) + CapacityBytes(meter) + CapacityBytes(instance) +
           CapacityBytes(quantity) + CapacityBytes(big_quantities) + sizeof(*this);
  }
};

// The tail rows that one query's window and snapshot select, sorted by (bucket, meter key,
// instance, seq). Built once per (query, snapshot, tail generation) and shared by its pages.
struct UsageIndex::TailScan {
  const Partition* partition = nullptr;
  uint64_t generation = 0;
  int64_t from_us = 0;
  int64_t to_us = 0;
  domain::Granularity granularity = domain::Granularity::kDaily;
  size_t tail_limit = 0;  // tail rows [0, tail_limit) are within the snapshot

  std::vector<int64_t> buckets;        // distinct buckets with rows, ascending (hours)
  std::vector<uint32_t> bucket_start;  // rows of buckets[i]: rows[bucket_start[i] .. [i+1])
  std::vector<uint32_t> rows;          // tail row numbers

  bool SameKey(const Partition* p, const AggregateQuery& q, size_t limit) const {
    return partition == p && generation == p->generation && from_us == q.reported_from.micros() &&
           to_us == q.reported_to.micros() && granularity == q.granularity && tail_limit == limit;
  }
};

// Fills one page; scratch space reused across the partitions of the page.
struct UsageIndex::Emitter {
  AggregatePage& page;
  size_t limit;
  struct Sum {
    uint64_t key;  // InBucketKey
    Decimal::Raw total;
  };
  std::vector<Sum> sums;
  std::vector<uint32_t> table;  // 0 = empty, else index into sums + 1
};

}  // namespace tally::store
