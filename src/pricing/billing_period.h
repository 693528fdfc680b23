// Billing periods: a calendar month in the operator's time zone, as a half-open UTC interval
// [start, end). Time zones come from the system's IANA tz database (Debian's tzdata, read
// through Howard Hinnant's date library); "UTC" needs no database. A usage hour belongs to the
// period that contains the hour's start. Plain value types: copy freely, thread-compatible;
// TimeZone::Load is thread-safe (the database is loaded once, on first use, and never changes).
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/time.h"

namespace date {
class time_zone;
}  // namespace date

namespace tally::pricing {

// A calendar month, e.g. 2026-10.
struct BillingMonth {
  int year = 1970;
  int month = 1;  // 1..12

  // "YYYY-MM" with a year from 1970 to 9999; InvalidArgument otherwise.
  static Result<BillingMonth> Parse(std::string_view text);
  std::string ToString() const;  // "2026-10"
  BillingMonth Next() const;
  BillingMonth Previous() const;
  auto operator<=>(const BillingMonth&) const = default;
};

class TimeZone {
 public:
  TimeZone() = default;  // UTC
  static TimeZone Utc() { return TimeZone(); }
  // "UTC" (any case) or an IANA zone name such as "Europe/Berlin" or "America/New_York".
  // InvalidArgument naming the zone when the tz database does not have it (or cannot be read).
  static Result<TimeZone> Load(std::string_view name);

  const std::string& name() const { return name_; }
  bool is_utc() const { return zone_ == nullptr; }

  // The UTC instant at which the local calendar day `year`-`month`-`day` begins: local
  // midnight, or the first instant after a daylight-saving gap that skips midnight.
  UtcTime StartOfLocalDay(int year, int month, int day) const;
  // The local calendar month in which the instant `t` falls.
  BillingMonth LocalMonthOf(UtcTime t) const;

  bool operator==(const TimeZone& o) const { return name_ == o.name_; }

 private:
  const date::time_zone* zone_ = nullptr;  // nullptr: UTC
  std::string name_ = "UTC";
};

class BillingPeriod {
 public:
  BillingPeriod() = default;  // 1970-01 in UTC
  // The month `month` in `zone`: from the start of its first local day to the start of the
  // next month's first local day. InvalidArgument for a year outside 1970..9999.
  static Result<BillingPeriod> Make(BillingMonth month, const TimeZone& zone);
  // The period of `zone` containing the instant `t`.
  static Result<BillingPeriod> Containing(UtcTime t, const TimeZone& zone);

  const BillingMonth& month() const { return month_; }
  const TimeZone& zone() const { return zone_; }
  UtcTime start() const { return start_; }  // inclusive
  UtcTime end() const { return end_; }      // exclusive
  // Whether the hour starting at `h` belongs to this period: start <= h < end.
  bool Contains(UsageHour h) const { return start_ <= h.utc() && h.utc() < end_; }
  Result<BillingPeriod> Next() const { return Make(month_.Next(), zone_); }
  Result<BillingPeriod> Previous() const { return Make(month_.Previous(), zone_); }
  // "2026-10", the form `tally invoices --period` takes.
  std::string ToString() const { return month_.ToString(); }

  bool operator==(const BillingPeriod&) const = default;

 private:
  BillingMonth month_;
  TimeZone zone_;
  UtcTime start_;
  UtcTime end_{31 * kMicrosPerDay};
};

}  // namespace tally::pricing
