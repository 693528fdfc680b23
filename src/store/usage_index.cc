#include "store/usage_index.h"

#include <algorithm>
#include <functional>

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
  h = r.additional_info_text ? Hash64(*r.additional_info_text, h) : h * 0x9E3779B97F4A7C15ull + 2;
  return h;
}

// Grows a column vector by a quarter instead of doubling, so the columns of a large
// subscription carry at most 25% slack (about 12% on average).
template <typename T>
void Grow(std::vector<T>& v) {
  if (v.size() == v.capacity()) v.reserve(v.capacity() + v.capacity() / 4 + 64);
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

}  // namespace

uint64_t RecordIdHash(std::string_view record_id) { return Hash64(record_id, kIdHashSeed); }

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

bool UsageIndex::Instance::Matches(const IndexedRecord& r) const {
  return resource_uri == r.resource_uri && location == r.location &&
         has_tags == r.tags_text.has_value() && (!has_tags || tags_text == *r.tags_text) &&
         has_info == r.additional_info_text.has_value() &&
         (!has_info || additional_info_text == *r.additional_info_text);
}

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

UsageIndex::UsageIndex() : text_(std::make_shared<TextArena>()) {}
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
  auto it = meter_by_key_.find(key);
  if (it != meter_by_key_.end()) return it->second;
  auto number = static_cast<uint32_t>(meters_.size());
  MeterEntry entry{text_->Add(key), text_->Add(spelling)};
  meters_.push_back(entry);
  meter_by_key_.emplace(entry.key, number);
  // Meters are few and rarely new: recompute the key-order ranks from scratch.
  meter_order_.resize(meters_.size());
  for (uint32_t i = 0; i < meter_order_.size(); ++i) meter_order_[i] = i;
  std::sort(meter_order_.begin(), meter_order_.end(),
            [&](uint32_t a, uint32_t b) { return meters_[a].key < meters_[b].key; });
  meter_rank_.assign(meters_.size(), 0);
  for (uint32_t pos = 0; pos < meter_order_.size(); ++pos) meter_rank_[meter_order_[pos]] = pos;
  return number;
}

UsageIndex::InstanceSlot& UsageIndex::FindInstanceSlot(uint64_t hash) {
  // Kept at most 70% full; grown here, before the slot is handed out.
  if ((instances_.size() + 1) * 10 > instance_slots_.size() * 7) {
    std::vector<InstanceSlot> old(std::max<size_t>(1024, instance_slots_.size() * 2));
    old.swap(instance_slots_);
    for (const InstanceSlot& slot : old) {
      if (slot.id != UINT32_MAX) FindInstanceSlot(slot.hash) = slot;
    }
  }
  const size_t mask = instance_slots_.size() - 1;
  size_t i = (hash * 0x9E3779B97F4A7C15ull >> 16) & mask;
  while (instance_slots_[i].id != UINT32_MAX && instance_slots_[i].hash != hash) {
    i = (i + 1) & mask;
  }
  return instance_slots_[i];
}

Result<uint32_t> UsageIndex::InternInstance(const IndexedRecord& r) {
  uint64_t h = InstanceHash(r);
  InstanceSlot& slot = FindInstanceSlot(h);
  uint32_t last = UINT32_MAX;
  for (uint32_t id = slot.id; id != UINT32_MAX; id = instances_[id].next_same_hash) {
    if (instances_[id].Matches(r)) return id;
    last = id;
  }
  // Parse before adding anything, so that a damaged record leaves the index as it was.
  domain::OptionalProperties tags, info;
  if (r.tags_text) {
    TALLY_ASSIGN_OR_RETURN(tags, ParsePropertiesText(*r.tags_text));
  }
  if (r.additional_info_text) {
    TALLY_ASSIGN_OR_RETURN(info, ParsePropertiesText(*r.additional_info_text));
  }
  Instance inst;
  inst.resource_uri = text_->Add(r.resource_uri);
  inst.location = text_->Add(r.location);
  inst.has_tags = r.tags_text.has_value();
  if (r.tags_text) inst.tags_text = text_->Add(*r.tags_text);
  inst.has_info = r.additional_info_text.has_value();
  if (r.additional_info_text) inst.additional_info_text = text_->Add(*r.additional_info_text);
  auto id = static_cast<uint32_t>(instances_.size());
  Grow(instances_);
  instances_.push_back(inst);
  Grow(instance_data_);
  instance_data_.push_back(
      text_->Add(domain::FormatInstanceData(r.resource_uri, r.location, tags, info)));
  if (last == UINT32_MAX) {
    slot = InstanceSlot{h, id};
  } else {
    instances_[last].next_same_hash = id;
  }
  return id;
}

UsageIndex::Partition& UsageIndex::PartitionFor(std::string_view subscription_id) {
  auto it = partitions_.find(subscription_id);
  if (it != partitions_.end()) return *it->second;
  auto p = std::make_unique<Partition>();
  p->subscription_id = text_->Add(subscription_id);
  Partition& ref = *p;
  partitions_.emplace(p->subscription_id, std::move(p));
  return ref;
}

Status UsageIndex::Publish(std::span<const IndexedRecord> records) {
  TALLY_RETURN_IF_ERROR(PublishWithoutMerging(records));
  MergePending();
  return Status::Ok();
}

Status UsageIndex::PublishWithoutMerging(std::span<const IndexedRecord> records) {
  if (records.empty()) return Status::Ok();
  // Check the whole batch first so that a bad one changes nothing.
  uint64_t prev = dedup_size_;
  for (const IndexedRecord& r : records) {
    if (r.seq <= prev) {
      return Internal("index publish out of order: seq " + std::to_string(r.seq) + " after seq " +
                      std::to_string(prev));
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

  std::vector<Partition*>& touched = merge_candidates_;
  {
    std::unique_lock lock(mu_);
    Partition* p = nullptr;
    for (const IndexedRecord& r : records) {
      if (p == nullptr || p->subscription_id != r.subscription_id) {
        p = &PartitionFor(r.subscription_id);
        if (!loading_) touched.push_back(p);
      }
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
  }
  return Status::Ok();
}

void UsageIndex::MergePending() {
  std::vector<Partition*>& touched = merge_candidates_;
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  for (Partition* p : touched) {
    if (p->NeedsMerge()) MergeTail(*p);
  }
  touched.clear();
}

void UsageIndex::StartLoading() { loading_ = true; }

void UsageIndex::FinishLoading() {
  loading_ = false;
  // Only this thread changes the partition map, so it may walk it without the lock.
  for (auto& [id, p] : partitions_) {
    if (p->tail_size() > 0) MergeTail(*p);
  }
}

void UsageIndex::MergeTail(Partition& p) {
  SortedRows merged;
  {
    // Readers may go on while the merged rows are built: only this thread changes partitions.
    std::shared_lock lock(mu_);
    const SortedRows& old = p.sorted;
    const size_t tail = p.tail_size();
    std::vector<U128> order(tail);
    for (uint32_t r = 0; r < tail; ++r) {
      order[r] = RowKey(p.hour[r], meter_rank_[p.meter[r]], p.instance[r], r);
    }
    std::sort(order.begin(), order.end());

    const size_t total = old.size() + tail;
    merged.seq.reserve(total);
    merged.reported_us.reserve(total);
    merged.meter.reserve(total);
    merged.instance.reserve(total);
    merged.quantity.reserve(total);
    auto from_old = [&](size_t r) {
      merged.seq.push_back(old.seq[r]);
      merged.reported_us.push_back(old.reported_us[r]);
      merged.meter.push_back(old.meter[r]);
      merged.instance.push_back(old.instance[r]);
      merged.quantity.push_back(old.quantity[r]);
    };
    auto from_tail = [&](size_t r) {
      merged.seq.push_back(p.seq[r]);
      merged.reported_us.push_back(p.reported_us[r]);
      merged.meter.push_back(p.meter[r]);
      merged.instance.push_back(p.instance[r]);
      merged.quantity.push_back(p.quantity[r]);
    };
    size_t h = 0, k = 0;
    const size_t old_hours = old.hours.size();
    while (h < old_hours || k < tail) {
      int64_t old_hour = h < old_hours ? old.hours[h] : INT64_MAX;
      int64_t tail_hour = k < tail ? p.hour[RowOf(order[k])] : INT64_MAX;
      int64_t hour = std::min(old_hour, tail_hour);
      merged.hours.push_back(static_cast<int32_t>(hour));
      merged.hour_start.push_back(static_cast<uint32_t>(merged.size()));
      size_t a = 0, b = 0;
      if (old_hour == hour) {
        a = old.hour_start[h];
        b = old.hour_start[h + 1];
        ++h;
      }
      size_t k_end = k;
      while (k_end < tail && p.hour[RowOf(order[k_end])] == hour) ++k_end;
      // Both runs are in (meter key, instance, seq) order and every tail row comes after every
      // old row in seq order, so on equal keys the old row goes first.
      while (a < b && k < k_end) {
        uint32_t r = RowOf(order[k]);
        if (InBucketKey(meter_rank_[old.meter[a]], old.instance[a]) <=
            InBucketKey(meter_rank_[p.meter[r]], p.instance[r])) {
          from_old(a++);
        } else {
          from_tail(r);
          ++k;
        }
      }
      while (a < b) from_old(a++);
      for (; k < k_end; ++k) from_tail(RowOf(order[k]));
    }
    merged.hour_start.push_back(static_cast<uint32_t>(merged.size()));
    merged.hours.shrink_to_fit();
    merged.hour_start.shrink_to_fit();
  }

  // The tail's memory is released, not kept for reuse: kept, it would double the memory of
  // the many partitions that receive nothing more (after a rebuild, all of them).
  std::vector<uint32_t> seq, meter, instance;
  std::vector<int64_t> reported_us;
  std::vector<int32_t> hour;
  std::vector<uint64_t> quantity;
  {
    std::unique_lock lock(mu_);
    std::swap(p.sorted, merged);
    ++p.generation;
    seq.swap(p.seq);
    reported_us.swap(p.reported_us);
    hour.swap(p.hour);
    meter.swap(p.meter);
    instance.swap(p.instance);
    quantity.swap(p.quantity);
  }
  // The old sorted rows (now in `merged`) and the old tail are freed here, outside the lock.
}

void UsageIndex::SetMeterSpelling(std::string_view meter_key, std::string_view meter_id) {
  std::unique_lock lock(mu_);
  auto it = meter_by_key_.find(meter_key);
  if (it == meter_by_key_.end()) return;
  // A new copy, never an overwrite: pages already returned keep viewing the old spelling.
  MeterEntry& m = meters_[it->second];
  if (m.spelling != meter_id) m.spelling = text_->Add(meter_id);
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
  // Hash map nodes and buckets: about 48 bytes an entry.
  for (const auto& [id, p] : partitions_) bytes += p->MemoryBytes() + 48;
  bytes +=
      CapacityBytes(instances_) + CapacityBytes(instance_data_) + CapacityBytes(instance_slots_);
  bytes += text_->bytes();
  s.memory_bytes = bytes;
  return s;
}

std::shared_ptr<const UsageIndex::TailScan> UsageIndex::GetTailScan(const Partition& p,
                                                                    const AggregateQuery& q,
                                                                    uint64_t as_of) const {
  // Tail rows are in seq order, so the snapshot is a prefix of the tail.
  size_t tail_limit = static_cast<size_t>(
      std::upper_bound(p.seq.begin(), p.seq.end(), std::min<uint64_t>(as_of, kMaxSeq)) -
      p.seq.begin());
  if (tail_limit == 0) return nullptr;
  {
    std::lock_guard lock(scan_cache_mu_);
    for (size_t i = 0; i < scan_cache_.size(); ++i) {
      if (scan_cache_[i]->SameKey(&p, q, tail_limit)) {
        std::shared_ptr<const TailScan> hit = scan_cache_[i];
        std::rotate(scan_cache_.begin(), scan_cache_.begin() + static_cast<long>(i),
                    scan_cache_.begin() + static_cast<long>(i) + 1);
        return hit;
      }
    }
  }

  auto scan = std::make_shared<TailScan>();
  scan->partition = &p;
  scan->generation = p.generation;
  scan->from_us = q.reported_from.micros();
  scan->to_us = q.reported_to.micros();
  scan->granularity = q.granularity;
  scan->tail_limit = tail_limit;
  std::vector<U128> order;
  for (uint32_t r = 0; r < tail_limit; ++r) {
    int64_t t = p.reported_us[r];
    if (t < scan->from_us || t >= scan->to_us) continue;
    order.push_back(
        RowKey(BucketOf(p.hour[r], q.granularity), meter_rank_[p.meter[r]], p.instance[r], r));
  }
  std::sort(order.begin(), order.end());
  scan->rows.reserve(order.size());
  for (U128 key : order) {
    uint32_t r = RowOf(key);
    int64_t bucket = BucketOf(p.hour[r], q.granularity);
    if (scan->buckets.empty() || scan->buckets.back() != bucket) {
      scan->buckets.push_back(bucket);
      scan->bucket_start.push_back(static_cast<uint32_t>(scan->rows.size()));
    }
    scan->rows.push_back(r);
  }
  scan->bucket_start.push_back(static_cast<uint32_t>(scan->rows.size()));

  std::shared_ptr<const TailScan> result = scan;
  std::lock_guard lock(scan_cache_mu_);
  constexpr size_t kScanCacheSize = 8;
  scan_cache_.insert(scan_cache_.begin(), result);
  if (scan_cache_.size() > kScanCacheSize) scan_cache_.pop_back();
  return result;
}

Status UsageIndex::EmitPartition(const Partition& p, const AggregateQuery& q, uint64_t as_of,
                                 const domain::AggregateKey* cursor, Emitter& out) const {
  const domain::Granularity g = q.granularity;
  const bool hourly = g == domain::Granularity::kHourly;
  const int64_t bucket_hours = hourly ? 1 : kHoursPerDay;
  const int64_t from_us = q.reported_from.micros(), to_us = q.reported_to.micros();
  const auto max_seq = static_cast<uint32_t>(std::min<uint64_t>(as_of, kMaxSeq));
  const SortedRows& s = p.sorted;
  const std::shared_ptr<const TailScan> tail = GetTailScan(p, q, as_of);
  AggregatePage& page = out.page;

  // Only buckets from the cursor's on; within the cursor's bucket, only keys >= min_key.
  int64_t cursor_bucket = INT64_MIN;
  uint64_t min_key = 0;
  size_t h = 0, t = 0;
  if (cursor != nullptr) {
    cursor_bucket = cursor->usage_start_hours;
    int64_t first_hour = BucketOf(cursor_bucket, g);
    if (first_hour != cursor_bucket) first_hour += bucket_hours;  // not a bucket start
    h = static_cast<size_t>(std::lower_bound(s.hours.begin(), s.hours.end(), first_hour) -
                            s.hours.begin());
    if (tail != nullptr) {
      t = static_cast<size_t>(
          std::lower_bound(tail->buckets.begin(), tail->buckets.end(), cursor_bucket) -
          tail->buckets.begin());
    }
    auto it = std::lower_bound(
        meter_order_.begin(), meter_order_.end(), std::string_view(cursor->meter_key),
        [&](uint32_t m, std::string_view key) { return meters_[m].key < key; });
    const auto rank = static_cast<uint64_t>(it - meter_order_.begin());
    if (it != meter_order_.end() && meters_[*it].key == cursor->meter_key) {
      min_key = cursor->instance_id >= UINT32_MAX ? (rank + 1) << 32
                                                  : ((rank << 32) | cursor->instance_id) + 1;
    } else {
      min_key = rank << 32;  // the first meter after the cursor's
    }
  }

  auto passes = [&](size_t r) {
    int64_t rt = s.reported_us[r];
    return rt >= from_us && rt < to_us && s.seq[r] <= max_seq;
  };
  auto sorted_key = [&](size_t r) { return InBucketKey(meter_rank_[s.meter[r]], s.instance[r]); };
  auto tail_key = [&](uint32_t r) { return InBucketKey(meter_rank_[p.meter[r]], p.instance[r]); };
  // False when the page is already full (and then there is more).
  auto emit = [&](int64_t bucket, uint32_t meter, uint32_t instance, Decimal::Raw total) {
    if (page.rows.size() == out.limit) {
      page.has_more = true;
      return false;
    }
    const MeterEntry& m = meters_[meter];
    const UtcTime start = UsageHour::FromHours(bucket).utc();
    // Built whole, in place: default-constructing a row and then assigning its members costs
    // a zero-fill of every row.
    page.rows.push_back(
        domain::UsageAggregate{{p.subscription_id, bucket, m.key, instance},
                               p.subscription_id,
                               m.spelling,
                               start,
                               UtcTime{start.micros + bucket_hours * kMicrosPerHour},
                               Decimal::FromRaw(total),
                               instance_data_[instance]});
    return true;
  };
  auto overflow = [&] {
    return Internal("the sum of usage of subscription " + std::string(p.subscription_id) +
                    " overflows");
  };

  const size_t sorted_buckets = s.hours.size();
  const size_t tail_buckets = tail != nullptr ? tail->buckets.size() : 0;
  while (h < sorted_buckets || t < tail_buckets) {
    int64_t sb = h < sorted_buckets ? BucketOf(s.hours[h], g) : INT64_MAX;
    int64_t tb = t < tail_buckets ? tail->buckets[t] : INT64_MAX;
    const int64_t bucket = std::min(sb, tb);
    size_t a = 0, b = 0;  // sorted rows of the bucket
    if (sb == bucket) {
      a = s.hour_start[h];
      ++h;
      while (h < sorted_buckets && BucketOf(s.hours[h], g) == bucket) ++h;
      b = s.hour_start[h];
    }
    size_t c = 0, d = 0;  // tail->rows of the bucket
    if (tb == bucket) {
      c = tail->bucket_start[t];
      d = tail->bucket_start[t + 1];
      ++t;
    }
    const uint64_t lo_key = bucket == cursor_bucket ? min_key : 0;

    if (hourly) {
      // Both runs are sorted by key: merge them, summing equal keys.
      if (lo_key != 0) {
        while (a < b && sorted_key(a) < lo_key) ++a;
        while (c < d && tail_key(tail->rows[c]) < lo_key) ++c;
      }
      while (a < b && !passes(a)) ++a;
      while (a < b || c < d) {
        uint64_t key;
        uint32_t meter, instance;
        if (c == d || (a < b && sorted_key(a) <= tail_key(tail->rows[c]))) {
          key = sorted_key(a);
          meter = s.meter[a];
          instance = s.instance[a];
        } else {
          uint32_t r = tail->rows[c];
          key = tail_key(r);
          meter = p.meter[r];
          instance = p.instance[r];
        }
        Decimal::Raw total = 0;
        while (a < b && sorted_key(a) == key) {
          if (__builtin_add_overflow(total, p.Quantity(s.quantity[a]), &total)) return overflow();
          ++a;
          while (a < b && !passes(a)) ++a;
        }
        while (c < d && tail_key(tail->rows[c]) == key) {
          if (__builtin_add_overflow(total, p.Quantity(p.quantity[tail->rows[c]]), &total)) {
            return overflow();
          }
          ++c;
        }
        if (!emit(bucket, meter, instance, total)) return Status::Ok();
      }
      continue;
    }

    // Daily: the day's hours are separate runs; sum by key in a small hash table, then sort.
    size_t cap = 16;
    while (cap < (b - a + d - c) * 2) cap <<= 1;
    out.table.assign(cap, 0);
    out.sums.clear();
    auto add = [&](uint64_t key, Decimal::Raw quantity) {
      size_t i = (key * 0x9E3779B97F4A7C15ull >> 20) & (cap - 1);
      while (out.table[i] != 0 && out.sums[out.table[i] - 1].key != key) i = (i + 1) & (cap - 1);
      if (out.table[i] == 0) {
        out.sums.push_back({key, 0});
        out.table[i] = static_cast<uint32_t>(out.sums.size());
      }
      Decimal::Raw& total = out.sums[out.table[i] - 1].total;
      return !__builtin_add_overflow(total, quantity, &total);
    };
    for (size_t r = a; r < b; ++r) {
      if (!passes(r)) continue;
      uint64_t key = sorted_key(r);
      if (key < lo_key) continue;
      if (!add(key, p.Quantity(s.quantity[r]))) return overflow();
    }
    for (size_t k = c; k < d; ++k) {
      uint32_t r = tail->rows[k];
      uint64_t key = tail_key(r);
      if (key < lo_key) continue;
      if (!add(key, p.Quantity(p.quantity[r]))) return overflow();
    }
    std::sort(out.sums.begin(), out.sums.end(),
              [](const Emitter::Sum& x, const Emitter::Sum& y) { return x.key < y.key; });
    for (const Emitter::Sum& sum : out.sums) {
      uint32_t meter = meter_order_[sum.key >> 32];
      auto instance = static_cast<uint32_t>(sum.key);
      if (!emit(bucket, meter, instance, sum.total)) return Status::Ok();
    }
  }
  return Status::Ok();
}

Result<AggregatePage> UsageIndex::Aggregate(const AggregateQuery& q) const {
  if (q.limit == 0) return InvalidArgument("an aggregate page needs a limit of at least 1");
  std::shared_lock lock(mu_);
  AggregatePage page;
  page.as_of_seq = q.as_of_seq == 0 ? last_seq_ : q.as_of_seq;
  page.text = text_;
  // Callers that page usually pass the same sorted list every time: check before sorting.
  std::vector<std::string_view> subs(q.subscription_ids.begin(), q.subscription_ids.end());
  if (std::adjacent_find(subs.begin(), subs.end(), std::greater_equal<>()) != subs.end()) {
    std::sort(subs.begin(), subs.end());
    subs.erase(std::unique(subs.begin(), subs.end()), subs.end());
  }
  size_t first = 0;
  if (q.after) {
    first = static_cast<size_t>(
        std::lower_bound(subs.begin(), subs.end(), std::string_view(q.after->subscription_id)) -
        subs.begin());
  }
  page.rows.reserve(std::min<size_t>(q.limit, 1024));
  Emitter out{page, q.limit, {}, {}};
  for (size_t i = first; i < subs.size(); ++i) {
    auto pit = partitions_.find(subs[i]);
    if (pit == partitions_.end()) continue;
    const domain::AggregateKey* cursor =
        q.after && subs[i] == q.after->subscription_id ? &*q.after : nullptr;
    TALLY_RETURN_IF_ERROR(EmitPartition(*pit->second, q, page.as_of_seq, cursor, out));
    if (page.has_more) break;
  }
  return page;
}

}  // namespace tally::store

namespace tally::store {

Status UsageIndex::VisitHourly(const HourlyUsageQuery& q,
                               const std::function<void(const HourlyUsageRow&)>& visit) const {
  if (q.to <= q.from || q.up_to_seq <= q.after_seq) return Status::Ok();
  const int64_t from = q.from.hours();
  const int64_t to = q.to.hours();
  std::shared_lock lock(mu_);
  // One partition's sums at a time, reused: a month of one subscription is a few thousand
  // (hour, meter) sums, so nothing here allocates per record.
  struct Sum {
    int64_t hour;
    uint32_t rank;
    uint32_t meter;
    Decimal::Raw total;
  };
  std::vector<Sum> sums;
  std::vector<Sum> tail;
  for (const std::string& sub : q.subscription_ids) {
    auto pit = partitions_.find(std::string_view(sub));
    if (pit == partitions_.end()) continue;
    const Partition& p = *pit->second;
    const SortedRows& s = p.sorted;
    sums.clear();
    tail.clear();
    auto overflow = [&] {
      return Internal("the hourly usage of subscription " + sub + " overflows");
    };
    auto in_range = [&](uint32_t seq) { return seq > q.after_seq && seq <= q.up_to_seq; };

    auto h = static_cast<size_t>(
        std::lower_bound(s.hours.begin(), s.hours.end(), from,
                         [](int32_t a, int64_t b) { return static_cast<int64_t>(a) < b; }) -
        s.hours.begin());
    for (; h < s.hours.size() && s.hours[h] < to; ++h) {
      const int64_t hour = s.hours[h];
      for (uint32_t r = s.hour_start[h], end = s.hour_start[h + 1]; r < end; ++r) {
        if (!in_range(s.seq[r])) continue;
        const uint32_t meter = s.meter[r];
        const Decimal::Raw quantity = p.Quantity(s.quantity[r]);
        if (!sums.empty() && sums.back().hour == hour && sums.back().meter == meter) {
          if (__builtin_add_overflow(sums.back().total, quantity, &sums.back().total)) {
            return overflow();
          }
        } else {
          sums.push_back(Sum{hour, meter_rank_[meter], meter, quantity});
        }
      }
    }
    for (size_t r = 0; r < p.tail_size(); ++r) {
      if (p.hour[r] < from || p.hour[r] >= to || !in_range(p.seq[r])) continue;
      tail.push_back(Sum{p.hour[r], meter_rank_[p.meter[r]], p.meter[r], p.Quantity(p.quantity[r])});
    }
    if (!tail.empty()) {
      // Rare and small (a tail is at most 1/32 of the partition): merge by sorting the lot.
      sums.insert(sums.end(), tail.begin(), tail.end());
      std::sort(sums.begin(), sums.end(), [](const Sum& a, const Sum& b) {
        return a.hour != b.hour ? a.hour < b.hour : a.rank < b.rank;
      });
      size_t w = 0;
      for (size_t i = 0; i < sums.size(); ++i) {
        if (w > 0 && sums[w - 1].hour == sums[i].hour && sums[w - 1].meter == sums[i].meter) {
          if (__builtin_add_overflow(sums[w - 1].total, sums[i].total, &sums[w - 1].total)) {
            return overflow();
          }
        } else {
          sums[w++] = sums[i];
        }
      }
      sums.resize(w);
    }
    for (const Sum& x : sums) {
      visit(HourlyUsageRow{p.subscription_id, meters_[x.meter].spelling,
                           UsageHour::FromHours(x.hour), Decimal::FromRaw(x.total)});
    }
  }
  return Status::Ok();
}

}  // namespace tally::store
