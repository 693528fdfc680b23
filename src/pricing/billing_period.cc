#include "pricing/billing_period.h"

#include <date/date.h>
#include <date/tz.h>

#include <chrono>
#include <exception>

#include "common/strings.h"

namespace tally::pricing {
namespace {

constexpr int kMinYear = 1970;
constexpr int kMaxYear = 9999;

int64_t DaysFromCivil(int year, int month, int day) {
  return date::sys_days(date::year(year) / date::month(static_cast<unsigned>(month)) /
                        date::day(static_cast<unsigned>(day)))
      .time_since_epoch()
      .count();
}

}  // namespace

Result<BillingMonth> BillingMonth::Parse(std::string_view text) {
  auto bad = [&] {
    return InvalidArgument("'" + std::string(text.substr(0, 32)) +
                           "' is not a billing period; expected YYYY-MM, e.g. 2026-10");
  };
  if (text.size() != 7 || text[4] != '-') return bad();
  int year = 0;
  int month = 0;
  for (size_t i = 0; i < 7; ++i) {
    if (i == 4) continue;
    if (text[i] < '0' || text[i] > '9') return bad();
    if (i < 4) {
      year = year * 10 + (text[i] - '0');
    } else {
      month = month * 10 + (text[i] - '0');
    }
  }
  if (month < 1 || month > 12 || year < kMinYear) return bad();
  return BillingMonth{year, month};
}

std::string BillingMonth::ToString() const {
  std::string y = std::to_string(year);
  std::string m = std::to_string(month);
  return std::string(y.size() < 4 ? 4 - y.size() : 0, '0') + y + "-" + (month < 10 ? "0" : "") + m;
}

BillingMonth BillingMonth::Next() const {
  return month == 12 ? BillingMonth{year + 1, 1} : BillingMonth{year, month + 1};
}

BillingMonth BillingMonth::Previous() const {
  return month == 1 ? BillingMonth{year - 1, 12} : BillingMonth{year, month - 1};
}

Result<TimeZone> TimeZone::Load(std::string_view name) {
  if (EqualsIgnoreCase(name, "UTC")) return TimeZone();
  TimeZone tz;
  try {
    // The database is read once per process; later lookups are searches in memory.
    tz.zone_ = date::locate_zone(std::string(name));
  } catch (const std::exception& e) {
    return InvalidArgument("unknown time zone '" + std::string(name.substr(0, 64)) +
                           "': use UTC or an IANA name such as Europe/Berlin (" + e.what() + ")");
  }
  tz.name_ = std::string(tz.zone_->name());
  return tz;
}

UtcTime TimeZone::StartOfLocalDay(int year, int month, int day) const {
  const int64_t days = DaysFromCivil(year, month, day);
  if (zone_ == nullptr) return UtcTime{days * kMicrosPerDay};
  const date::local_seconds midnight{std::chrono::seconds(days * 86400)};
  const date::local_info info = zone_->get_info(midnight);
  std::chrono::seconds utc;
  if (info.result == date::local_info::nonexistent) {
    // Midnight falls in a gap: the day begins when the clocks jump.
    utc = info.first.end.time_since_epoch();
  } else {
    // Unique, or ambiguous (midnight happens twice): the first occurrence.
    utc = midnight.time_since_epoch() - info.first.offset;
  }
  return UtcTime{utc.count() * kMicrosPerSecond};
}

BillingMonth TimeZone::LocalMonthOf(UtcTime t) const {
  int64_t seconds = t.micros / kMicrosPerSecond;
  if (t.micros % kMicrosPerSecond < 0) --seconds;  // floor for instants before 1970
  if (zone_ != nullptr) {
    const date::sys_seconds sys{std::chrono::seconds(seconds)};
    seconds += zone_->get_info(sys).offset.count();
  }
  const date::year_month_day ymd{
      date::sys_days(date::floor<date::days>(date::sys_seconds(std::chrono::seconds(seconds))))};
  return BillingMonth{static_cast<int>(ymd.year()), static_cast<int>(unsigned(ymd.month()))};
}

Result<BillingPeriod> BillingPeriod::Make(BillingMonth month, const TimeZone& zone) {
  if (month.year < kMinYear || month.year > kMaxYear || month.month < 1 || month.month > 12) {
    return InvalidArgument("billing period " + month.ToString() +
                           " is out of range (years 1970 to 9999, months 1 to 12)");
  }
  BillingPeriod p;
  p.month_ = month;
  p.zone_ = zone;
  p.start_ = zone.StartOfLocalDay(month.year, month.month, 1);
  const BillingMonth next = month.Next();
  p.end_ = zone.StartOfLocalDay(next.year, next.month, 1);
  return p;
}

Result<BillingPeriod> BillingPeriod::Containing(UtcTime t, const TimeZone& zone) {
  return Make(zone.LocalMonthOf(t), zone);
}

}  // namespace tally::pricing
