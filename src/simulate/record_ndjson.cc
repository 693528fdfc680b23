#include <chrono>
#include <string_view>

#include "common/json_writer.h"
#include "simulate/simulator.h"

namespace tally::simulate {
namespace {

// Simulations write tens of millions of lines, so times and quantities take a fast path that
// skips snprintf and the digit-by-digit 128-bit division of the general formatters; anything
// unusual goes through those.

char* PutDigits(char* p, uint64_t v, int width) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return p + width;
}

// '"2024-05-01T13:00:00Z"' (quotes included) into buf; 0 when the fast path does not apply.
size_t FormatTime(UtcTime t, char* buf) {
  if (t.micros < 0 || t.micros % kMicrosPerSecond != 0) return 0;
  int64_t days = t.micros / kMicrosPerDay;
  int64_t secs = t.micros % kMicrosPerDay / kMicrosPerSecond;
  std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{days}}};
  int year = static_cast<int>(ymd.year());
  if (year > 9999) return 0;
  char* p = buf;
  *p++ = '"';
  p = PutDigits(p, static_cast<uint64_t>(year), 4);
  *p++ = '-';
  p = PutDigits(p, static_cast<unsigned>(ymd.month()), 2);
  *p++ = '-';
  p = PutDigits(p, static_cast<unsigned>(ymd.day()), 2);
  *p++ = 'T';
  p = PutDigits(p, static_cast<uint64_t>(secs / 3600), 2);
  *p++ = ':';
  p = PutDigits(p, static_cast<uint64_t>(secs / 60 % 60), 2);
  *p++ = ':';
  p = PutDigits(p, static_cast<uint64_t>(secs % 60), 2);
  *p++ = 'Z';
  *p++ = '"';
  return static_cast<size_t>(p - buf);
}

void AppendTime(JsonWriter& w, UtcTime t) {
  char buf[32];
  size_t n = FormatTime(t, buf);
  if (n == 0) {
    w.Time(t);
  } else {
    w.Raw(std::string_view(buf, n));
  }
}

void AppendQuantity(JsonWriter& w, Decimal q) {
  constexpr uint64_t kOne = 1'000'000'000'000'000ULL;  // 10^Decimal::kScale
  if (q.is_negative() || q.raw() >= static_cast<Decimal::Raw>(kOne) * kOne) {
    w.Number(q);
    return;
  }
  auto whole = static_cast<uint64_t>(q.raw() / kOne);
  auto frac = static_cast<uint64_t>(q.raw() % kOne);
  char buf[48];
  char* end = buf + sizeof(buf);
  char* p = end;
  if (frac != 0) {
    int digits = Decimal::kScale;
    while (frac % 10 == 0) {
      frac /= 10;
      --digits;
    }
    p -= digits;
    PutDigits(p, frac, digits);
    *--p = '.';
  }
  do {
    *--p = static_cast<char>('0' + whole % 10);
    whole /= 10;
  } while (whole != 0);
  w.Raw(std::string_view(p, static_cast<size_t>(end - p)));
}

}  // namespace

void AppendRecordNdjson(std::string& out, const domain::UsageRecord& record,
                        std::optional<ReportedTime> reported_time) {
  JsonWriter w(out);
  w.BeginObject();
  w.Key("recordId").String(record.record_id);
  w.Key("subscriptionId").String(record.subscription_id);
  w.Key("meterId").String(record.meter_id);
  w.Key("resourceUri").String(record.resource_uri);
  w.Key("location").String(record.location);
  AppendTime(w.Key("usageStartTime"), record.usage_start.utc());
  AppendTime(w.Key("usageEndTime"), record.usage_end().utc());
  AppendQuantity(w.Key("quantity"), record.quantity);
  auto properties = [&](const char* key, const domain::OptionalProperties& p) {
    if (!p) return;
    w.Key(key).BeginObject();
    for (const auto& [k, v] : *p) w.Key(k).String(v);
    w.EndObject();
  };
  properties("tags", record.tags);
  properties("additionalInfo", record.additional_info);
  if (reported_time) AppendTime(w.Key("reportedTime"), reported_time->utc());
  w.EndObject();
  out.push_back('\n');
}

}  // namespace tally::simulate
