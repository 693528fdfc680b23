#include "store/usage_index.h"

#include <algorithm>
#include <cassert>

#include "common/hash.h"
#include "domain/aggregate.h"
#include "store/properties_codec.h"

namespace tally::store {
namespace {

constexpr uint64_t kIdHashSeed = 0x1d5eed;
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

// nullopt when the value needs the side table.
std::optional<uint64_t> PackQuantity(Decimal::Raw raw) {
  if (raw < 0) return std::nullopt;
  U128 u = static_cast<U128>(raw);
  int e = 0;
  // Quantities below 288 units fit as they are; larger ones usually end in zeros.
  if (u >= kMantissaLimit) {
    if (u <= UINT64_MAX) {
      uint64_t v = static_cast<uint64_t>(u);
      while (v >= kMantissaLimit && v % 10 == 0) {
        v /= 10;
        ++e;
      }
      u = v;
    } else {
      while (u >= kMantissaLimit && u % 10 == 0) {
        u /= 10;
        ++e;
      }
    }
    if (u >= kMantissaLimit) return std::nullopt;
  }
  return (static_cast<uint64_t>(e) << kMantissaBits) | static_cast<uint64_t>(u);
}

int64_t BucketOf(int64_t hour, domain::Granularity g) {
  if (g == domain::Granularity::kHourly) return hour;
  return UsageHour::FromHours(hour).DayStart().hours();
}

// Hash of an instance's identity; absent and empty properties hash differently.
uint64_t InstanceHash(const IndexedRecord& r) {
  uint64_t h = Hash64(r.resource_uri, 0x1357);
  h = Hash64(r.location, h);
  h = r.tags_text ? Hash64(*r.tags_text, h) : h * 0x9E3779B97F4A7C15ull + 1;
  h = r.additional_info_text ? Hash64(*r.additional_info_text, h)
                             : h * 0x9E3779B97F4A7C15ull + 2;
  return h;
}

// Grows a column vector by a quarter instead of doubling, so the columns of a large
// subscription carry at most 25% slack (about 12% on average).
template <typename T>
void Grow(std::vector<T>& v) {
  if (v.size() == v.capacity()) v.reserve(v.capacity() + v.capacity() / 4 + 64);
}

}  // namespace

uint64_t RecordIdHash(std::string_view record_id) { return Hash64(record_id, kIdHashSeed); }

struct UsageIndex::Partition {
  std::string subscription_id;
  std::vector<uint32_t> seq;
  std::vector<int64_t> reported_us;
  std::vector<int32_t> hour;
  std::vector<uint32_t> meter;
  std::vector<uint32_t> instance;
  std::vector<uint64_t> quantity;
  std::vector<Decimal::Raw> big_quantities;

  size_t size() const { return seq.size(); }
  Decimal::Raw Quantity(size_t row) const {
    uint64_t q = quantity[row];
    if (q & kBigFlag) return big_quantities[q & ~kBigFlag];
    int e = static_cast<int>(q >> kMantissaBits);
    auto m = static_cast<Decimal::Raw>(q & (kMantissaLimit - 1));
    return e == 0 ? m : m * kPow10[e];
  }
  size_t MemoryBytes() const {
    return seq.capacity() * 4 + reported_us.capacity() * 8 + hour.capacity() * 4 +
           meter.capacity() * 4 + instance.capacity() * 4 + quantity.capacity() * 8 +
           big_quantities.capacity() * 16 + sizeof(*this) + subscription_id.capacity();
  }
};

struct UsageIndex::Instance {
  std::string resource_uri;
  std::string location;
  std::optional<std::string> tags_text;
  std::optional<std::string> additional_info_text;
  std::string instance_data;  // domain::FormatInstanceData
  uint32_t next_same_hash = UINT32_MAX;

  bool Matches(const IndexedRecord& r) const {
    auto same = [](const std::optional<std::string>& a, const std::optional<std::string_view>& b) {
      return a.has_value() == b.has_value() && (!a || *a == *b);
    };
    return resource_uri == r.resource_uri && location == r.location && same(tags_text, r.tags_text) &&
           same(additional_info_text, r.additional_info_text);
  }
};

// The rows of one subscription that a query's window and snapshot select, grouped by usage
// bucket (hour or day). Built once per (query, snapshot) and shared by the query's pages.
struct UsageIndex::Scan {
  const Partition* partition = nullptr;
  int64_t from_us = 0;
  int64_t to_us = 0;
  domain::Granularity granularity = domain::Granularity::kDaily;
  size_t row_limit = 0;  // rows [0, row_limit) of the partition are within the snapshot

  std::vector<int64_t> buckets;        // distinct buckets with rows, ascending (hours)
  std::vector<uint32_t> bucket_start;  // rows of buckets[i]: rows[bucket_start[i] .. [i+1])
  std::vector<uint32_t> rows;          // row numbers grouped by bucket

  bool SameKey(const Partition* p, const AggregateQuery& q, size_t limit) const {
    return partition == p && from_us == q.reported_from.micros() &&
           to_us == q.reported_to.micros() && granularity == q.granularity && row_limit == limit;
  }
};

UsageIndex::UsageIndex() = default;
UsageIndex::~UsageIndex() = default;

void UsageIndex::Reserve(uint64_t records) {
  size_t want = 16;
  while (want * 7 / 10 < records) want <<= 1;
  if (want > slots_.size()) DedupGrow(want);
}

void UsageIndex::DedupGrow(size_t min_slots) {
  size_t n = std::max<size_t>(16, slots_.size());
  while (n < min_slots) n <<= 1;
  slots_.assign(n, 0);
  slot_mask_ = n - 1;
  slot_count_ = 0;
  for (uint64_t ordinal = 0; ordinal < dedup_size_; ++ordinal) {
    const DedupEntry& e = dedup_chunks_[ordinal >> kChunkBits][ordinal & ((1u << kChunkBits) - 1)];
    // Gaps in the seq range are kept as {0, 0} placeholders and not filed.
    if (e.id_hash == 0 && e.content_hash == 0) continue;
    FileSlot(static_cast<uint32_t>(ordinal), e.id_hash);
  }
}

void UsageIndex::DedupInsert(uint32_t ordinal, uint64_t id_hash) {
  // Growing re-files every ordinal below dedup_size_; callers insert `ordinal` before counting
  // it in dedup_size_, so it is not filed twice.
  if ((slot_count_ + 1) * 10 > slots_.size() * 7) DedupGrow(slots_.size() * 2);
  FileSlot(ordinal, id_hash);
}

void UsageIndex::FileSlot(uint32_t ordinal, uint64_t id_hash) {
  size_t i = id_hash & slot_mask_;
  while (slots_[i] != 0) i = (i + 1) & slot_mask_;
  slots_[i] = ordinal + 1;
  ++slot_count_;
}

uint32_t UsageIndex::InternMeter(std::string_view key, std::string_view spelling) {
  auto it = meter_by_key_.find(std::string(key));
  if (it != meter_by_key_.end()) return it->second;
  auto number = static_cast<uint32_t>(meters_.size());
  meters_.push_back({std::string(key), std::string(spelling)});
  meter_by_key_.emplace(std::string(key), number);
  // Meters are few and rarely new: recompute the key-order ranks from scratch.
  std::vector<uint32_t> order(meters_.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return meters_[a].key < meters_[b].key; });
  meter_rank_.assign(meters_.size(), 0);
  for (uint32_t pos = 0; pos < order.size(); ++pos) meter_rank_[order[pos]] = pos;
  return number;
}

Result<uint32_t> UsageIndex::InternInstance(const IndexedRecord& r) {
  uint64_t h = InstanceHash(r);
  auto it = instance_by_hash_.find(h);
  uint32_t last = UINT32_MAX;
  if (it != instance_by_hash_.end()) {
    for (uint32_t id = it->second; id != UINT32_MAX; id = instances_[id]->next_same_hash) {
      if (instances_[id]->Matches(r)) return id;
      last = id;
    }
  }
  auto inst = std::make_unique<Instance>();
  inst->resource_uri = r.resource_uri;
  inst->location = r.location;
  domain::OptionalProperties tags, info;
  if (r.tags_text) {
    inst->tags_text = std::string(*r.tags_text);
    TALLY_ASSIGN_OR_RETURN(tags, ParsePropertiesText(*r.tags_text));
  }
  if (r.additional_info_text) {
    inst->additional_info_text = std::string(*r.additional_info_text);
    TALLY_ASSIGN_OR_RETURN(info, ParsePropertiesText(*r.additional_info_text));
  }
  inst->instance_data = domain::FormatInstanceData(r.resource_uri, r.location, tags, info);
  auto id = static_cast<uint32_t>(instances_.size());
  instances_.push_back(std::move(inst));
  if (last == UINT32_MAX) {
    instance_by_hash_.emplace(h, id);
  } else {
    instances_[last]->next_same_hash = id;
  }
  return id;
}

UsageIndex::Partition& UsageIndex::PartitionFor(std::string_view subscription_id) {
  auto it = partitions_.find(subscription_id);
  if (it != partitions_.end()) return *it->second;
  auto p = std::make_unique<Partition>();
  p->subscription_id = std::string(subscription_id);
  Partition& ref = *p;
  partitions_.emplace(std::string(subscription_id), std::move(p));
  return ref;
}

Status UsageIndex::Publish(std::span<const IndexedRecord> records) {
  if (records.empty()) return Status::Ok();
  // Check the whole batch first so that a bad one changes nothing.
  uint64_t prev = dedup_size_;
  for (const IndexedRecord& r : records) {
    if (r.seq <= prev) {
      return Internal("index publish out of order: seq " + std::to_string(r.seq) +
                      " after seq " + std::to_string(prev));
    }
    if (r.seq > kMaxSeq) {
      return Unavailable("the in-memory usage index holds at most " + std::to_string(kMaxSeq) +
                         " records");
    }
    prev = r.seq;
  }

  // The dedup arrays are read only by this (the writer) thread, so they need no lock.
  for (const IndexedRecord& r : records) {
    while (dedup_size_ < r.seq) {
      uint64_t ordinal = dedup_size_;
      if ((ordinal >> kChunkBits) >= dedup_chunks_.size()) {
        dedup_chunks_.push_back(std::make_unique<DedupEntry[]>(size_t{1} << kChunkBits));
      }
      DedupEntry& e = dedup_chunks_[ordinal >> kChunkBits][ordinal & ((1u << kChunkBits) - 1)];
      bool is_record = ordinal + 1 == r.seq;
      e = is_record ? DedupEntry{r.id_hash, r.content_hash} : DedupEntry{0, 0};
      if (is_record) DedupInsert(static_cast<uint32_t>(ordinal), r.id_hash);
      ++dedup_size_;
    }
  }

  std::unique_lock lock(mu_);
  Partition* p = nullptr;
  for (const IndexedRecord& r : records) {
    if (p == nullptr || p->subscription_id != r.subscription_id) p = &PartitionFor(r.subscription_id);
    uint32_t meter = InternMeter(r.meter_key, r.meter_id);
    TALLY_ASSIGN_OR_RETURN(uint32_t instance, InternInstance(r));
    Grow(p->seq);
    Grow(p->reported_us);
    Grow(p->hour);
    Grow(p->meter);
    Grow(p->instance);
    Grow(p->quantity);
    p->seq.push_back(static_cast<uint32_t>(r.seq));
    p->reported_us.push_back(r.reported_time.micros());
    p->hour.push_back(static_cast<int32_t>(r.usage_start.hours()));
    p->meter.push_back(meter);
    p->instance.push_back(instance);
    if (auto packed = PackQuantity(r.quantity.raw())) {
      p->quantity.push_back(*packed);
    } else {
      p->quantity.push_back(kBigFlag | p->big_quantities.size());
      p->big_quantities.push_back(r.quantity.raw());
    }
    last_seq_ = r.seq;
    ++records_;
  }
  return Status::Ok();
}

void UsageIndex::SetMeterSpelling(std::string_view meter_key, std::string_view meter_id) {
  std::unique_lock lock(mu_);
  auto it = meter_by_key_.find(std::string(meter_key));
  if (it != meter_by_key_.end()) meters_[it->second].spelling = std::string(meter_id);
}

uint64_t UsageIndex::last_seq() const {
  std::shared_lock lock(mu_);
  return last_seq_;
}

IndexStats UsageIndex::GetStats() const {
  std::shared_lock lock(mu_);
  IndexStats s;
  s.records = records_;
  s.last_seq = last_seq_;
  s.subscriptions = partitions_.size();
  s.instances = instances_.size();
  s.meters = meters_.size();
  uint64_t bytes = dedup_chunks_.size() * (sizeof(DedupEntry) << kChunkBits) + slots_.size() * 4;
  for (const auto& [id, p] : partitions_) bytes += p->MemoryBytes() + id.capacity() + 64;
  for (const auto& inst : instances_) {
    bytes += sizeof(Instance) + inst->resource_uri.capacity() + inst->location.capacity() +
             inst->instance_data.capacity() + (inst->tags_text ? inst->tags_text->capacity() : 0) +
             (inst->additional_info_text ? inst->additional_info_text->capacity() : 0) + 32;
  }
  s.memory_bytes = bytes;
  return s;
}

std::shared_ptr<const UsageIndex::Scan> UsageIndex::GetScan(const Partition& p,
                                                            const AggregateQuery& q,
                                                            uint64_t as_of) const {
  // Rows are in seq order, so the snapshot is a prefix of the partition.
  size_t row_limit = static_cast<size_t>(
      std::upper_bound(p.seq.begin(), p.seq.end(), std::min<uint64_t>(as_of, kMaxSeq)) -
      p.seq.begin());
  {
    std::lock_guard lock(scan_cache_mu_);
    for (size_t i = 0; i < scan_cache_.size(); ++i) {
      if (scan_cache_[i]->SameKey(&p, q, row_limit)) {
        std::shared_ptr<const Scan> hit = scan_cache_[i];
        std::rotate(scan_cache_.begin(), scan_cache_.begin() + static_cast<long>(i),
                    scan_cache_.begin() + static_cast<long>(i) + 1);
        return hit;
      }
    }
  }

  auto scan = std::make_shared<Scan>();
  scan->partition = &p;
  scan->from_us = q.reported_from.micros();
  scan->to_us = q.reported_to.micros();
  scan->granularity = q.granularity;
  scan->row_limit = row_limit;

  // One pass over two columns selects the rows; a counting sort groups them by bucket (usage
  // hours of a reporting window span a narrow range, so the counts fit a small array).
  std::vector<uint32_t> selected;
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (size_t i = 0; i < row_limit; ++i) {
    int64_t t = p.reported_us[i];
    if (t < scan->from_us || t >= scan->to_us) continue;
    selected.push_back(static_cast<uint32_t>(i));
    lo = std::min<int64_t>(lo, p.hour[i]);
    hi = std::max<int64_t>(hi, p.hour[i]);
  }
  if (!selected.empty()) {
    int64_t b_lo = BucketOf(lo, q.granularity);
    int64_t step = q.granularity == domain::Granularity::kHourly ? 1 : kHoursPerDay;
    auto slot = [&](int64_t hour) {
      return static_cast<size_t>((BucketOf(hour, q.granularity) - b_lo) / step);
    };
    size_t span = slot(hi) + 1;
    if (span <= selected.size() * 4 + 4096) {
      std::vector<uint32_t> counts(span + 1, 0);
      for (uint32_t row : selected) ++counts[slot(p.hour[row]) + 1];
      for (size_t b = 0; b < span; ++b) {
        if (counts[b + 1] == 0) continue;
        scan->buckets.push_back(b_lo + static_cast<int64_t>(b) * step);
      }
      for (size_t b = 1; b <= span; ++b) counts[b] += counts[b - 1];
      scan->rows.resize(selected.size());
      for (uint32_t row : selected) scan->rows[counts[slot(p.hour[row])]++] = row;
      // counts[b] is now the end of bucket b; bucket starts follow from the sizes.
      uint32_t prev_end = 0;
      for (size_t b = 0; b < span; ++b) {
        if (counts[b] == prev_end) continue;
        scan->bucket_start.push_back(prev_end);
        prev_end = counts[b];
      }
    } else {
      // Widely spread usage hours (years of history in one window): sort instead.
      std::stable_sort(selected.begin(), selected.end(), [&](uint32_t a, uint32_t b) {
        return BucketOf(p.hour[a], q.granularity) < BucketOf(p.hour[b], q.granularity);
      });
      scan->rows = std::move(selected);
      for (uint32_t k = 0; k < scan->rows.size(); ++k) {
        int64_t b = BucketOf(p.hour[scan->rows[k]], q.granularity);
        if (scan->buckets.empty() || scan->buckets.back() != b) {
          scan->buckets.push_back(b);
          scan->bucket_start.push_back(k);
        }
      }
    }
    scan->bucket_start.push_back(static_cast<uint32_t>(scan->rows.size()));
  }

  std::shared_ptr<const Scan> result = scan;
  std::lock_guard lock(scan_cache_mu_);
  constexpr size_t kScanCacheSize = 8;
  scan_cache_.insert(scan_cache_.begin(), result);
  if (scan_cache_.size() > kScanCacheSize) scan_cache_.pop_back();
  return result;
}

Result<AggregatePage> UsageIndex::Aggregate(const AggregateQuery& q) const {
  if (q.limit == 0) return InvalidArgument("an aggregate page needs a limit of at least 1");
  std::shared_lock lock(mu_);
  AggregatePage page;
  page.as_of_seq = q.as_of_seq == 0 ? last_seq_ : q.as_of_seq;
  std::vector<std::string> subs = q.subscription_ids;
  std::sort(subs.begin(), subs.end());
  subs.erase(std::unique(subs.begin(), subs.end()), subs.end());
  const bool hourly = q.granularity == domain::Granularity::kHourly;

  // Per-bucket aggregation: an open-addressing map from (meter, instance) to a sum slot.
  struct Sum {
    uint32_t meter;
    uint32_t instance;
    Decimal::Raw total;
  };
  std::vector<Sum> sums;
  std::vector<uint32_t> table;  // 0 = empty, else index into sums + 1
  std::vector<uint32_t> order;

  for (const std::string& sub : subs) {
    const domain::AggregateKey* cursor = nullptr;
    if (q.after) {
      if (sub < q.after->subscription_id) continue;
      if (sub == q.after->subscription_id) cursor = &*q.after;
    }
    auto pit = partitions_.find(sub);
    if (pit == partitions_.end()) continue;
    const Partition& p = *pit->second;
    std::shared_ptr<const Scan> scan = GetScan(p, q, page.as_of_seq);

    size_t first_bucket = 0;
    if (cursor != nullptr) {
      first_bucket = static_cast<size_t>(
          std::lower_bound(scan->buckets.begin(), scan->buckets.end(), cursor->usage_start_hours) -
          scan->buckets.begin());
    }
    for (size_t b = first_bucket; b < scan->buckets.size(); ++b) {
      if (page.rows.size() == q.limit) {
        // A non-empty bucket always yields at least one aggregate.
        page.has_more = true;
        return page;
      }
      const int64_t bucket = scan->buckets[b];
      const uint32_t begin = scan->bucket_start[b], end = scan->bucket_start[b + 1];
      size_t cap = 16;
      while (cap < static_cast<size_t>(end - begin) * 2) cap <<= 1;
      table.assign(cap, 0);
      sums.clear();
      for (uint32_t k = begin; k < end; ++k) {
        uint32_t row = scan->rows[k];
        uint32_t m = p.meter[row], inst = p.instance[row];
        uint64_t key = (static_cast<uint64_t>(m) << 32) | inst;
        size_t i = (key * 0x9E3779B97F4A7C15ull >> 20) & (cap - 1);
        while (table[i] != 0 && (sums[table[i] - 1].meter != m || sums[table[i] - 1].instance != inst)) {
          i = (i + 1) & (cap - 1);
        }
        if (table[i] == 0) {
          sums.push_back({m, inst, 0});
          table[i] = static_cast<uint32_t>(sums.size());
        }
        Decimal::Raw& total = sums[table[i] - 1].total;
        if (__builtin_add_overflow(total, p.Quantity(row), &total)) {
          return Internal("the sum of usage of subscription " + sub + " overflows");
        }
      }
      order.resize(sums.size());
      for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
      std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t c) {
        uint32_t ra = meter_rank_[sums[a].meter], rc = meter_rank_[sums[c].meter];
        return ra != rc ? ra < rc : sums[a].instance < sums[c].instance;
      });
      for (uint32_t i : order) {
        const Sum& s = sums[i];
        const MeterEntry& meter = meters_[s.meter];
        if (cursor != nullptr && bucket == cursor->usage_start_hours) {
          int c = meter.key.compare(cursor->meter_key);
          if (c < 0 || (c == 0 && s.instance <= cursor->instance_id)) continue;
        }
        if (page.rows.size() == q.limit) {
          page.has_more = true;
          return page;
        }
        domain::UsageAggregate a;
        a.key = {sub, bucket, meter.key, s.instance};
        a.subscription_id = sub;
        a.meter_id = meter.spelling;
        a.usage_start = UsageHour::FromHours(bucket).utc();
        a.usage_end = UtcTime{a.usage_start.micros + (hourly ? 1 : kHoursPerDay) * kMicrosPerHour};
        a.quantity = Decimal::FromRaw(s.total);
        a.instance_data = instances_[s.instance]->instance_data;
        page.rows.push_back(std::move(a));
      }
    }
  }
  return page;
}

}  // namespace tally::store
