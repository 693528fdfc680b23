#include "domain/usage_record.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "common/hash.h"
#include "common/json_writer.h"
#include "common/strings.h"

namespace tally::domain {
namespace {

constexpr int64_t kClockSkewMicros = 5 * 60 * kMicrosPerSecond;

bool IsMeterId(std::string_view s) {
  static constexpr std::array<bool, 256> kMeterIdChar = [] {
    std::array<bool, 256> t{};
    for (char c = '0'; c <= '9'; ++c) t[static_cast<unsigned char>(c)] = true;
    for (char c = 'a'; c <= 'z'; ++c) t[static_cast<unsigned char>(c)] = true;
    for (char c = 'A'; c <= 'Z'; ++c) t[static_cast<unsigned char>(c)] = true;
    for (char c : std::string_view("-_.")) t[static_cast<unsigned char>(c)] = true;
    return t;
  }();
  bool ok = true;
  for (char c : s) ok &= kMeterIdChar[static_cast<unsigned char>(c)];
  return ok;
}

void AppendCount(std::string& out, uint64_t n) {
  char digits[20];
  char* end = digits + sizeof digits;
  char* p = end;
  do {
    *--p = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  out.append(p, static_cast<size_t>(end - p));
}

void AppendField(std::string& out, std::string_view s) {
  // Length-prefixed so that no choice of field text can make two records look alike.
  AppendCount(out, s.size());
  out.push_back(':');
  out.append(s);
}

void AppendUpperField(std::string& out, std::string_view s) {
  AppendCount(out, s.size());
  out.push_back(':');
  const size_t at = out.size();
  out.append(s);
  for (size_t i = at; i < out.size(); ++i) {
    if (out[i] >= 'a' && out[i] <= 'z') out[i] = static_cast<char>(out[i] - 'a' + 'A');
  }
}

void AppendProps(std::string& out, const OptionalProperties& p) {
  if (!p) {
    out.push_back('-');
    return;
  }
  AppendCount(out, p->size());
  out.push_back('{');
  for (const auto& [k, v] : *p) {
    AppendField(out, k);
    AppendField(out, v);
  }
}

// `v`'s value, moved out when the fields are the caller's to give (an rvalue batch), else
// copied.
template <typename T>
T Take(const std::optional<T>& v) {
  return *v;
}
template <typename T>
T Take(std::optional<T>& v) {
  return std::move(*v);
}

// Sorts by key and checks the limits; appends errors under `property`.
template <typename In>
OptionalProperties CheckProperties(In& in, size_t index, const char* property,
                                   size_t max_entries, size_t max_value,
                                   std::vector<FieldError>& errors) {
  if (!in) return std::nullopt;
  Properties p = Take(in);
  if (!std::is_sorted(p.begin(), p.end())) std::sort(p.begin(), p.end());
  bool ok = true;
  auto fail = [&](std::string reason) {
    errors.push_back({index, property, std::move(reason)});
    ok = false;
  };
  if (p.size() > max_entries) {
    fail("has " + std::to_string(p.size()) + " entries; at most " + std::to_string(max_entries) +
         " are allowed");
  }
  for (size_t i = 0; i < p.size(); ++i) {
    const auto& [k, v] = p[i];
    if (k.empty() || k.size() > 512) {
      fail("keys must be 1 to 512 bytes long");
    } else if (HasControlChars(k)) {
      fail("key '" + k.substr(0, 64) + "' contains control characters");
    }
    if (v.size() > max_value) {
      fail("the value of '" + k.substr(0, 64) + "' is longer than " + std::to_string(max_value) +
           " bytes");
    }
    if (i > 0 && p[i - 1].first == k) fail("key '" + k.substr(0, 64) + "' appears twice");
  }
  if (!ok) return std::nullopt;
  return p;
}

void AppendCanonicalContent(std::string& out, const UsageRecord& r) {
  AppendField(out, r.record_id);
  AppendField(out, r.subscription_id);
  AppendUpperField(out, r.meter_id);
  AppendField(out, r.resource_uri);
  AppendField(out, r.location);
  const std::string hours = std::to_string(r.usage_start.hours());  // short: no allocation
  AppendField(out, hours);
  // The quantity's text goes to the end first, then is moved behind its length prefix.
  const size_t at = out.size();
  r.quantity.AppendTo(out);
  const std::string_view text(out.data() + at, out.size() - at);
  char quantity[48];
  const size_t n = std::min(text.size(), sizeof quantity);
  std::memcpy(quantity, text.data(), n);
  out.resize(at);
  AppendField(out, std::string_view(quantity, n));
  AppendProps(out, r.tags);
  AppendProps(out, r.additional_info);
}

}  // namespace

std::string CanonicalContent(const UsageRecord& r) {
  std::string out;
  out.reserve(64 + r.record_id.size() + r.resource_uri.size() + r.location.size());
  AppendCanonicalContent(out, r);
  return out;
}

uint64_t ContentHash(const UsageRecord& r) {
  // Hashed from a buffer reused by the thread: this runs for every record ingested.
  thread_local std::string buffer;
  buffer.clear();
  AppendCanonicalContent(buffer, r);
  return Hash64(buffer, 0x7a11);
}

bool SameContent(const UsageRecord& a, const UsageRecord& b) {
  return a.record_id == b.record_id && a.subscription_id == b.subscription_id &&
         EqualsIgnoreCase(a.meter_id, b.meter_id) && a.resource_uri == b.resource_uri &&
         a.location == b.location && a.usage_start == b.usage_start &&
         a.quantity == b.quantity && a.tags == b.tags && a.additional_info == b.additional_info;
}

namespace {

// "/subscriptions/{subscription_id}/" followed by at least one byte, ignoring case.
bool IsResourceOfSubscription(std::string_view uri, std::string_view subscription_id) {
  constexpr std::string_view kPrefix = "/subscriptions/";
  const size_t prefix = kPrefix.size() + subscription_id.size() + 1;
  return uri.size() > prefix && EqualsIgnoreCase(uri.substr(0, kPrefix.size()), kPrefix) &&
         EqualsIgnoreCase(uri.substr(kPrefix.size(), subscription_id.size()), subscription_id) &&
         uri[prefix - 1] == '/';
}

// Fields is `const UsageRecordFields` (values are copied) or `UsageRecordFields` (moved out).
template <typename Fields>
std::optional<UsageRecord> MakeRecord(Fields& f, size_t index, const ValidationContext& ctx,
                                      std::vector<FieldError>& errors) {
  const size_t errors_before = errors.size();
  auto fail = [&](const char* property, std::string reason) {
    errors.push_back({index, property, std::move(reason)});
  };
  auto required = [&](const std::optional<std::string>& v, const char* property) {
    if (!v) {
      fail(property, "is required");
      return false;
    }
    if (v->empty()) {
      fail(property, "must not be empty");
      return false;
    }
    return true;
  };

  UsageRecord r;
  if (required(f.record_id, "recordId")) {
    if (f.record_id->size() > 256) {
      fail("recordId", "is longer than 256 bytes");
    } else if (HasControlChars(*f.record_id)) {
      fail("recordId", "contains control characters");
    } else {
      r.record_id = Take(f.record_id);
    }
  }
  bool subscription_ok = false;
  if (required(f.subscription_id, "subscriptionId")) {
    if (!IsGuid(*f.subscription_id)) {
      fail("subscriptionId", "must be a GUID such as 8f1c9a52-3c1e-4a8b-9d2e-0b6f4c7a1e55");
    } else {
      r.subscription_id = Take(f.subscription_id);
      for (char& c : r.subscription_id) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      }
      subscription_ok = true;
    }
  }
  if (required(f.meter_id, "meterId")) {
    const std::string& m = *f.meter_id;
    if (m.size() > 64 || !IsMeterId(m)) {
      fail("meterId", "must be 1 to 64 characters of letters, digits, '-', '_' or '.'");
    } else {
      r.meter_id = Take(f.meter_id);
    }
  }
  if (required(f.resource_uri, "resourceUri")) {
    const std::string& u = *f.resource_uri;
    if (u.size() > 2048) {
      fail("resourceUri", "is longer than 2048 bytes");
    } else if (HasControlChars(u)) {
      fail("resourceUri", "contains control characters");
    } else if (subscription_ok) {
      if (!IsResourceOfSubscription(u, r.subscription_id)) {
        fail("resourceUri",
             "must be a resource ID of the record's subscription, starting with '/subscriptions/" +
                 r.subscription_id + "/'");
      } else {
        r.resource_uri = Take(f.resource_uri);
      }
    } else {
      r.resource_uri = Take(f.resource_uri);
    }
  }
  if (required(f.location, "location")) {
    if (f.location->size() > 128) {
      fail("location", "is longer than 128 bytes");
    } else if (HasControlChars(*f.location)) {
      fail("location", "contains control characters");
    } else {
      r.location = Take(f.location);
    }
  }
  std::optional<UtcTime> start;
  if (required(f.usage_start_time, "usageStartTime")) {
    auto t = ParseUtcTime(*f.usage_start_time);
    if (!t.ok()) {
      fail("usageStartTime", t.status().message());
    } else if (!t->IsHourAligned()) {
      fail("usageStartTime", "must be on the hour (UTC), e.g. 2026-10-01T13:00:00Z");
    } else if (t->micros + kMicrosPerHour > ctx.now.micros + kClockSkewMicros) {
      fail("usageStartTime", "the usage hour has not ended yet");
    } else {
      start = *t;
      r.usage_start = UsageHour::FromHours(t->micros / kMicrosPerHour);
    }
  }
  if (required(f.usage_end_time, "usageEndTime")) {
    auto t = ParseUtcTime(*f.usage_end_time);
    if (!t.ok()) {
      fail("usageEndTime", t.status().message());
    } else if (start && t->micros != start->micros + kMicrosPerHour) {
      fail("usageEndTime", "must be exactly one hour after usageStartTime");
    }
  }
  if (required(f.quantity, "quantity")) {
    auto q = Decimal::Parse(*f.quantity);
    if (!q.ok()) {
      fail("quantity", q.status().message());
    } else if (q->is_negative()) {
      fail("quantity", "must not be negative");
    } else {
      r.quantity = *q;
    }
  }
  r.tags = CheckProperties(f.tags, index, "tags", 50, 256, errors);
  r.additional_info = CheckProperties(f.additional_info, index, "additionalInfo", 64, 4096, errors);
  if (f.reported_time) {
    if (!ctx.allow_reported_time) {
      fail("reportedTime", "only an operator may set reportedTime; Tally assigns it");
    } else {
      auto t = ParseUtcTime(*f.reported_time);
      if (!t.ok()) {
        fail("reportedTime", t.status().message());
      } else if (t->micros > ctx.now.micros) {
        fail("reportedTime", "must not be in the future");
      } else if (start && t->micros < start->micros) {
        fail("reportedTime", "must not be before usageStartTime");
      } else {
        r.reported_time = ReportedTime(*t);
      }
    }
  }
  if (errors.size() != errors_before) return std::nullopt;
  return r;
}

}  // namespace

std::optional<UsageRecord> MakeUsageRecord(const UsageRecordFields& fields, size_t index,
                                           const ValidationContext& ctx,
                                           std::vector<FieldError>& errors) {
  return MakeRecord(fields, index, ctx, errors);
}

std::optional<UsageRecord> MakeUsageRecord(UsageRecordFields&& fields, size_t index,
                                           const ValidationContext& ctx,
                                           std::vector<FieldError>& errors) {
  return MakeRecord(fields, index, ctx, errors);
}

void AppendPropertiesJson(std::string& out, const OptionalProperties& p) {
  if (!p) {
    out.append("null");
    return;
  }
  JsonWriter w(out);
  w.BeginObject();
  for (const auto& [k, v] : *p) w.Key(k).String(v);
  w.EndObject();
}

}  // namespace tally::domain
