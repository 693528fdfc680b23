#include "store/usage_index.h"

#include <algorithm>
#include <functional>

#include "common/hash.h"
#include "domain/aggregate.h"
#include "store/properties_codec.h"
#include "store/usage_index_layout.h"

namespace tally::store {
namespace {

constexpr uint64_t kIdHashSeed = 0x1d5eed;

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

// Hash of an instance's identity; absent and empty properties hash differently.
uint64_t InstanceHash(const IndexedRecord& r) {
  uint64_t h = Hash64(r.resource_uri, 0x1357);
  h = Hash64(r.location, h);
  h = r.tags_text ? Hash64(*r.tags_text, h) : h * 0x9E3779B97F4A7C15ull + 1;
  h = r.additional_info_text ? Hash64(*r.additional_info_text, h) : h * 0x9E3779B97F4A7C15ull + 2;
  return h;
}

// Where a probe for `hash` starts in an open-addressing table of `slots` (a power of two)
// slots: the product's middle bits, so that hashes differing only in high or low bits spread.
size_t ProbeStart(uint64_t hash, size_t slots) {
  return (hash * 0x9E3779B97F4A7C15ull >> 16) & (slots - 1);
}

uint64_t SubscriptionHash(std::string_view subscription_id) {
  return Hash64(subscription_id, 0x2468);
}

// Grows a column vector by a quarter instead of doubling, so the columns of a large
// subscription carry at most 25% slack (about 12% on average).
template <typename T>
void Grow(std::vector<T>& v) {
  if (v.size() == v.capacity()) v.reserve(v.capacity() + v.capacity() / 4 + 64);
}

}  // namespace

uint64_t RecordIdHash(std::string_view record_id) { return Hash64(record_id, kIdHashSeed); }

bool UsageIndex::Instance::Matches(const IndexedRecord& r) const {
  return resource_uri == r.resource_uri && location == r.location &&
         has_tags == r.tags_text.has_value() && (!has_tags || tags_text == *r.tags_text) &&
         has_info == r.additional_info_text.has_value() &&
         (!has_info || additional_info_text == *r.additional_info_text);
}

UsageIndex::UsageIndex() : text_(std::make_shared<TextArena>()) {}
UsageIndex::~UsageIndex() = default;

void UsageIndex::Reserve(uint64_t records) { dedup_.Reserve(records); }

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

size_t UsageIndex::InstanceSlotIndex(uint64_t hash) const {
  return ProbeStart(hash, instance_slots_.size());
}

void UsageIndex::PrefetchInstance(uint64_t hash, InstanceLoad load) const {
  // Hints only: a slot or an instance read here may change before it is used, and prefetching
  // a stale address does nothing.
  if (instance_slots_.empty()) return;
  const InstanceSlot* slot = &instance_slots_[InstanceSlotIndex(hash)];
  if (load == InstanceLoad::kSlot) {
    __builtin_prefetch(slot);
    return;
  }
  if (slot->hash != hash || slot->id >= instances_.size()) return;
  const Instance* instance = &instances_[slot->id];
  if (load == InstanceLoad::kInstance) {
    __builtin_prefetch(instance);
    return;
  }
  // The texts were added one after the other (InternInstance): a few hundred bytes, each line
  // of which Matches() compares. Up to 8 lines.
  const char* first = instance->resource_uri.data();
  std::string_view last = instance->has_info   ? instance->additional_info_text
                          : instance->has_tags ? instance->tags_text
                                               : instance->location;
  const char* end = last.data() + last.size();
  if (end < first || end - first > 8 * 64) end = first + 8 * 64;
  for (const char* line = first; line < end; line += 64) __builtin_prefetch(line);
}

size_t UsageIndex::PartitionSlotIndex(uint64_t hash) const {
  return ProbeStart(hash, partition_slots_.size());
}

void UsageIndex::PrefetchPartition(uint64_t hash, PartitionLoad load) const {
  // Hints only, like PrefetchInstance. A probe that does not end at its first slot (a
  // collision) is left to the lookup.
  if (partition_slots_.empty()) return;
  const PartitionSlot* slot = &partition_slots_[PartitionSlotIndex(hash)];
  if (load == PartitionLoad::kSlot) {
    __builtin_prefetch(slot);
    return;
  }
  if (slot->hash != hash || slot->partition == nullptr) return;
  const Partition* p = slot->partition;
  if (load == PartitionLoad::kPartition) {
    // The subscription's view, and the six tail columns' headers (144 bytes: three lines).
    __builtin_prefetch(&p->subscription_id);
    __builtin_prefetch(&p->seq);
    __builtin_prefetch(&p->hour);
    __builtin_prefetch(&p->quantity);
    return;
  }
  __builtin_prefetch(p->subscription_id.data());
  __builtin_prefetch(p->seq.data() + p->seq.size(), 1);
  __builtin_prefetch(p->reported_us.data() + p->reported_us.size(), 1);
  __builtin_prefetch(p->hour.data() + p->hour.size(), 1);
  __builtin_prefetch(p->meter.data() + p->meter.size(), 1);
  __builtin_prefetch(p->instance.data() + p->instance.size(), 1);
  __builtin_prefetch(p->quantity.data() + p->quantity.size(), 1);
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
  size_t i = InstanceSlotIndex(hash);
  while (instance_slots_[i].id != UINT32_MAX && instance_slots_[i].hash != hash) {
    i = (i + 1) & mask;
  }
  return instance_slots_[i];
}

Result<uint32_t> UsageIndex::InternInstance(const IndexedRecord& r, uint64_t h) {
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

UsageIndex::Partition& UsageIndex::PartitionFor(std::string_view subscription_id,
                                                uint64_t hash) {
  // Kept at most half full; grown here, before a slot is taken.
  if ((partition_slots_used_ + 1) * 2 > partition_slots_.size()) {
    std::vector<PartitionSlot> old(std::max<size_t>(256, partition_slots_.size() * 2));
    old.swap(partition_slots_);
    const size_t mask = partition_slots_.size() - 1;
    for (const PartitionSlot& slot : old) {
      if (slot.partition == nullptr) continue;
      size_t i = PartitionSlotIndex(slot.hash);
      while (partition_slots_[i].partition != nullptr) i = (i + 1) & mask;
      partition_slots_[i] = slot;
    }
  }
  const size_t mask = partition_slots_.size() - 1;
  size_t i = PartitionSlotIndex(hash);
  for (; partition_slots_[i].partition != nullptr; i = (i + 1) & mask) {
    const PartitionSlot& slot = partition_slots_[i];
    if (slot.hash == hash && slot.partition->subscription_id == subscription_id) {
      return *slot.partition;
    }
  }
  Partition& p = PartitionFor(subscription_id);
  partition_slots_[i] = PartitionSlot{hash, &p};
  ++partition_slots_used_;
  return p;
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
  TALLY_RETURN_IF_ERROR(AddToDedup(records));
  TALLY_RETURN_IF_ERROR(PublishRows(records));
  MergePending();
  return Status::Ok();
}

Status UsageIndex::AddToDedup(std::span<const IndexedRecord> records) {
  if (records.empty()) return Status::Ok();
  // Check the whole batch first so that a bad one changes nothing.
  uint64_t prev = dedup_.size();
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

  // The dedup table is read only by this (the dedup) thread, so it needs no lock. Seqs are
  // dense but for gaps (rolled-back inserts), which the table keeps as empty ordinals.
  for (const IndexedRecord& r : records) {
    while (dedup_.size() + 1 < r.seq) dedup_.AppendGap();
    dedup_.Append(r.id_hash, r.content_hash);
  }
  return Status::Ok();
}

Status UsageIndex::PublishRows(std::span<const IndexedRecord> records) {
  if (records.empty()) return Status::Ok();
  std::vector<Partition*>& touched = merge_candidates_;
  // Interning a known instance costs three dependent cache misses: its slot, the instance, its
  // text (200,000 instances are far larger than the caches). The group's instance hashes are
  // computed first, so that each of the three can be prefetched some records ahead.
  // The partitions likewise: slot, partition, then its subscription's text and tail ends.
  std::vector<uint64_t>& hashes = instance_hashes_;
  std::vector<uint64_t>& sub_hashes = subscription_hashes_;
  hashes.resize(records.size());
  sub_hashes.resize(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    hashes[i] = InstanceHash(records[i]);
    sub_hashes[i] = SubscriptionHash(records[i].subscription_id);
  }
  constexpr size_t kSlotAhead = 12, kInstanceAhead = 6, kTextAhead = 3;
  {
    std::unique_lock lock(mu_);
    Partition* p = nullptr;
    for (size_t i = 0; i < records.size(); ++i) {
      const IndexedRecord& r = records[i];
      if (i + kSlotAhead < records.size()) {
        PrefetchInstance(hashes[i + kSlotAhead], InstanceLoad::kSlot);
        PrefetchPartition(sub_hashes[i + kSlotAhead], PartitionLoad::kSlot);
      }
      if (i + kInstanceAhead < records.size()) {
        PrefetchInstance(hashes[i + kInstanceAhead], InstanceLoad::kInstance);
        PrefetchPartition(sub_hashes[i + kInstanceAhead], PartitionLoad::kPartition);
      }
      if (i + kTextAhead < records.size()) {
        PrefetchInstance(hashes[i + kTextAhead], InstanceLoad::kText);
        PrefetchPartition(sub_hashes[i + kTextAhead], PartitionLoad::kTail);
      }
      if (p == nullptr || (i > 0 && sub_hashes[i] != sub_hashes[i - 1]) ||
          p->subscription_id != r.subscription_id) {
        p = &PartitionFor(r.subscription_id, sub_hashes[i]);
        if (!loading_) touched.push_back(p);
      }
      uint32_t meter = InternMeter(r.meter_key, r.meter_id);
      TALLY_ASSIGN_OR_RETURN(uint32_t instance, InternInstance(r, hashes[i]));
      if (p->seq.size() == p->seq.capacity()) ReserveTail(*p);
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

void UsageIndex::ReserveTail(Partition& p) {
  const size_t size = p.tail_size();
  size_t capacity = size + size / 4 + 64;
  if (!loading_) {
    // Between merges the tail is short-lived (each merge releases it), so it doubles, from 256
    // rows, up to about the size at which it is merged: a handful of reallocations where
    // growing by a quarter took a dozen. While loading, tails hold whole partitions and grow by
    // a quarter like the sorted columns. A tail past its merge size (a large group) still grows
    // by a quarter at least.
    const size_t merge_at = std::max(kMinTail, p.sorted.size() / kMergeRatio);
    capacity = std::max(capacity, std::min(std::max<size_t>(256, 2 * size), merge_at + 1024));
  }
  p.seq.reserve(capacity);
  p.reported_us.reserve(capacity);
  p.hour.reserve(capacity);
  p.meter.reserve(capacity);
  p.instance.reserve(capacity);
  p.quantity.reserve(capacity);
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
  uint64_t bytes = dedup_.memory_bytes();
  // Hash map nodes and buckets: about 48 bytes an entry.
  for (const auto& [id, p] : partitions_) bytes += p->MemoryBytes() + 48;
  bytes += CapacityBytes(instances_) + CapacityBytes(instance_data_) +
           CapacityBytes(instance_slots_) + CapacityBytes(partition_slots_);
  bytes += text_->bytes();
  s.memory_bytes = bytes;
  return s;
}

}  // namespace tally::store
