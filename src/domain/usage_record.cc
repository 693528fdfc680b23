#include "domain/usage_record.h"

#include <algorithm>
#include <cstring>

#include "common/hash.h"
#include "common/json_writer.h"
#include "common/strings.h"

namespace tally::domain {
namespace {

constexpr int64_t kClockSkewMicros = 5 * 60 * kMicrosPerSecond;

bool HasControlChars(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

bool IsMeterIdChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
         c == '_' || c == '.';
}

void AppendField(std::string& out, std::string_view s) {
  // Length-prefixed so that no choice of field text can make two records look alike.
  out.append(std::to_string(s.size()));
  out.push_back(':');
  out.append(s);
}

void AppendProps(std::string& out, const OptionalProperties& p) {
  if (!p) {
    out.push_back('-');
    return;
  }
  out.append(std::to_string(p->size()));
  out.push_back('{');
  for (const auto& [k, v] : *p) {
    AppendField(out, k);
    AppendField(out, v);
  }
}

// Sorts by key and checks the limits; appends errors under `property`.
OptionalProperties CheckProperties(const OptionalProperties& in, size_t index,
                                   const char* property, size_t max_entries, size_t max_value,
                                   std::vector<FieldError>& errors) {
  if (!in) return std::nullopt;
  Properties p = *in;
  std::sort(p.begin(), p.end());
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

}  // namespace

std::string CanonicalContent(const UsageRecord& r) {
  std::string out;
  out.reserve(64 + r.record_id.size() + r.resource_uri.size() + r.location.size());
  AppendField(out, r.record_id);
  AppendField(out, r.subscription_id);
  AppendField(out, AsciiUpper(r.meter_id));
  AppendField(out, r.resource_uri);
  AppendField(out, r.location);
  AppendField(out, std::to_string(r.usage_start.hours()));
  AppendField(out, r.quantity.ToString());
  AppendProps(out, r.tags);
  AppendProps(out, r.additional_info);
  return out;
}

uint64_t ContentHash(const UsageRecord& r) { return Hash64(CanonicalContent(r), 0x7a11); }

bool SameContent(const UsageRecord& a, const UsageRecord& b) {
  return a.record_id == b.record_id && a.subscription_id == b.subscription_id &&
         EqualsIgnoreCase(a.meter_id, b.meter_id) && a.resource_uri == b.resource_uri &&
         a.location == b.location && a.usage_start == b.usage_start &&
         a.quantity == b.quantity && a.tags == b.tags && a.additional_info == b.additional_info;
}

std::optional<UsageRecord> MakeUsageRecord(const UsageRecordFields& f, size_t index,
                                           const ValidationContext& ctx,
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
      r.record_id = *f.record_id;
    }
  }
  bool subscription_ok = false;
  if (required(f.subscription_id, "subscriptionId")) {
    if (!IsGuid(*f.subscription_id)) {
      fail("subscriptionId", "must be a GUID such as 8f1c9a52-3c1e-4a8b-9d2e-0b6f4c7a1e55");
    } else {
      r.subscription_id = AsciiLower(*f.subscription_id);
      subscription_ok = true;
    }
  }
  if (required(f.meter_id, "meterId")) {
    const std::string& m = *f.meter_id;
    if (m.size() > 64 || !std::all_of(m.begin(), m.end(), IsMeterIdChar)) {
      fail("meterId", "must be 1 to 64 characters of letters, digits, '-', '_' or '.'");
    } else {
      r.meter_id = m;
    }
  }
  if (required(f.resource_uri, "resourceUri")) {
    const std::string& u = *f.resource_uri;
    if (u.size() > 2048) {
      fail("resourceUri", "is longer than 2048 bytes");
    } else if (HasControlChars(u)) {
      fail("resourceUri", "contains control characters");
    } else if (subscription_ok) {
      std::string prefix = "/subscriptions/" + r.subscription_id + "/";
      if (u.size() <= prefix.size() || !EqualsIgnoreCase(u.substr(0, prefix.size()), prefix)) {
        fail("resourceUri", "must be a resource ID of the record's subscription, starting with '" +
                                prefix + "'");
      } else {
        r.resource_uri = u;
      }
    } else {
      r.resource_uri = u;
    }
  }
  if (required(f.location, "location")) {
    if (f.location->size() > 128) {
      fail("location", "is longer than 128 bytes");
    } else if (HasControlChars(*f.location)) {
      fail("location", "contains control characters");
    } else {
      r.location = *f.location;
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
