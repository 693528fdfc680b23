// UTC time types. Usage time (when a resource was consumed) and reported time (when its record
// entered Tally) are distinct types so they can never be mixed up. All values are UTC.
// Plain value types: copy freely, thread-compatible.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tally {

inline constexpr int64_t kMicrosPerSecond = 1'000'000;
inline constexpr int64_t kMicrosPerHour = 3600 * kMicrosPerSecond;
inline constexpr int64_t kMicrosPerDay = 24 * kMicrosPerHour;

// A UTC instant with microsecond resolution (microseconds since 1970-01-01T00:00:00Z).
struct UtcTime {
  int64_t micros = 0;
  auto operator<=>(const UtcTime&) const = default;
  bool IsHourAligned() const { return micros % kMicrosPerHour == 0; }
  bool IsDayAligned() const { return micros % kMicrosPerDay == 0; }
};

// When a usage record entered Tally (or, for operator imports of history, the time it gives).
class ReportedTime {
 public:
  constexpr ReportedTime() = default;
  constexpr explicit ReportedTime(UtcTime t) : t_(t) {}
  static constexpr ReportedTime FromMicros(int64_t m) { return ReportedTime(UtcTime{m}); }
  constexpr UtcTime utc() const { return t_; }
  constexpr int64_t micros() const { return t_.micros; }
  auto operator<=>(const ReportedTime&) const = default;

 private:
  UtcTime t_;
};

// The start of a usage hour: the unit of metering. Counted in whole hours since the epoch.
class UsageHour {
 public:
  constexpr UsageHour() = default;
  static constexpr UsageHour FromHours(int64_t h) { return UsageHour(h); }
  // Fails unless `t` is exactly on the hour.
  static Result<UsageHour> FromUtc(UtcTime t);
  constexpr int64_t hours() const { return hours_; }
  constexpr UtcTime utc() const { return UtcTime{hours_ * kMicrosPerHour}; }
  constexpr UsageHour Next() const { return UsageHour(hours_ + 1); }
  // The UTC midnight starting this hour's day.
  constexpr UsageHour DayStart() const {
    return UsageHour(hours_ >= 0 ? hours_ / 24 * 24 : (hours_ - 23) / 24 * 24);
  }
  auto operator<=>(const UsageHour&) const = default;

 private:
  constexpr explicit UsageHour(int64_t h) : hours_(h) {}
  int64_t hours_ = 0;
};

// Parses the date-time forms real clients send (contract §5): "2024-05-01T00:00:00Z",
// ".000Z", 0-7 fractional digits, 'T' or ' ' between date and time, offsets "Z", "+hh:mm",
// "-hhmm", " hh:mm" (a '+' that form-decoding turned into a space), no zone (= UTC), and a bare
// date "2024-05-01" (= midnight UTC). Fractional digits beyond microseconds must be zero.
// Returns InvalidArgument with a reason otherwise.
Result<UtcTime> ParseUtcTime(std::string_view text);

enum class ZoneStyle { kZ, kPlusZero };
// RFC 3339 text: "2024-05-01T13:00:00Z" (kZ) or "2024-05-01T13:00:00+00:00" (kPlusZero);
// fractional seconds appear only when non-zero.
std::string FormatUtcTime(UtcTime t, ZoneStyle style = ZoneStyle::kZ);
void AppendUtcTime(std::string& out, UtcTime t, ZoneStyle style = ZoneStyle::kZ);

}  // namespace tally
