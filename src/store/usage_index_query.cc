// The read half of the usage index: pages of aggregates (tail scans shared by a query's pages,
// the sorted rows walked from the cursor) and the billing read of hourly sums.
#include <algorithm>
#include <functional>

#include "store/usage_index.h"
#include "store/usage_index_layout.h"

namespace tally::store {

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
      tail.push_back(
          Sum{p.hour[r], meter_rank_[p.meter[r]], p.meter[r], p.Quantity(p.quantity[r])});
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
