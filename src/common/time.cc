#include "common/time.h"

#include <chrono>
#include <cstdio>

namespace tally {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at `pos`; -1 when they are not all digits.
int ReadDigits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return -1;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (!IsDigit(c)) return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

int64_t DaysFromCivil(int y, unsigned m, unsigned d) {
  using namespace std::chrono;
  return sys_days(year{y} / month{m} / day{d}).time_since_epoch().count();
}

}  // namespace

Result<UsageHour> UsageHour::FromUtc(UtcTime t) {
  if (!t.IsHourAligned()) return InvalidArgument("time is not on the hour");
  return UsageHour(t.micros / kMicrosPerHour);
}

Result<UtcTime> ParseUtcTime(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument("'" + std::string(text.substr(0, 64)) +
                           "' is not a valid UTC date-time: " + std::string(why));
  };
  std::string_view s = text;
  int year = ReadDigits(s, 0, 4);
  if (year < 0 || s.size() < 10 || s[4] != '-' || s[7] != '-') return bad("expected YYYY-MM-DD");
  int month = ReadDigits(s, 5, 2);
  int day = ReadDigits(s, 8, 2);
  if (month < 1 || month > 12 || day < 1) return bad("month or day out of range");
  using namespace std::chrono;
  year_month_day ymd{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                     std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return bad("no such date");
  int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  int64_t micros = days * kMicrosPerDay;
  size_t pos = 10;
  if (pos == s.size()) return UtcTime{micros};
  if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return bad("expected 'T' after the date");
  ++pos;
  int hour = ReadDigits(s, pos, 2);
  if (hour < 0 || pos + 2 >= s.size() || s[pos + 2] != ':') return bad("expected hh:mm");
  int minute = ReadDigits(s, pos + 3, 2);
  if (minute < 0) return bad("expected hh:mm");
  pos += 5;
  int second = 0;
  if (pos < s.size() && s[pos] == ':') {
    second = ReadDigits(s, pos + 1, 2);
    if (second < 0) return bad("expected two digits of seconds");
    pos += 3;
  }
  if (hour > 23 || minute > 59 || second > 59) return bad("time of day out of range");
  int64_t frac_micros = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    while (pos < s.size() && IsDigit(s[pos])) ++pos;
    size_t n = pos - start;
    if (n == 0 || n > 9) return bad("expected 1 to 9 fractional digits");
    for (size_t i = 0; i < 6; ++i) {
      frac_micros = frac_micros * 10 + (i < n ? s[start + i] - '0' : 0);
    }
    for (size_t i = 6; i < n; ++i) {
      if (s[start + i] != '0') return bad("finer than a microsecond");
    }
  }
  micros += (hour * 3600LL + minute * 60LL + second) * kMicrosPerSecond + frac_micros;
  if (pos == s.size()) return UtcTime{micros};
  char z = s[pos];
  if ((z == 'Z' || z == 'z') && pos + 1 == s.size()) return UtcTime{micros};
  if (z != '+' && z != '-' && z != ' ') return bad("unexpected text after the time");
  int sign = z == '-' ? -1 : 1;
  ++pos;
  int oh = ReadDigits(s, pos, 2);
  if (oh < 0) return bad("expected an offset +hh:mm");
  pos += 2;
  if (pos < s.size() && s[pos] == ':') ++pos;
  int om = ReadDigits(s, pos, 2);
  if (om < 0) return bad("expected an offset +hh:mm");
  pos += 2;
  // Some clients send both an offset and 'Z' ("...+00:00Z"); accept it for a zero offset only.
  if (pos + 1 == s.size() && (s[pos] == 'Z' || s[pos] == 'z') && oh == 0 && om == 0) ++pos;
  if (pos != s.size()) return bad("unexpected text after the offset");
  if (oh > 23 || om > 59) return bad("offset out of range");
  micros -= sign * (oh * 3600LL + om * 60LL) * kMicrosPerSecond;
  // An offset can carry a time at the edge of the calendar into year -1 or 10000, which RFC 3339
  // cannot write back with four year digits.
  static const int64_t kFirstMicros = DaysFromCivil(0, 1, 1) * kMicrosPerDay;
  static const int64_t kEndMicros = DaysFromCivil(10000, 1, 1) * kMicrosPerDay;
  if (micros < kFirstMicros || micros >= kEndMicros) return bad("not within years 0000-9999 UTC");
  return UtcTime{micros};
}

namespace {

// Writes v (0-99) as two digits.
void PutTwoDigits(char* at, int64_t v) {
  at[0] = static_cast<char>('0' + v / 10);
  at[1] = static_cast<char>('0' + v % 10);
}

}  // namespace

// Written by hand rather than with snprintf: API pages format two times per aggregate.
void AppendUtcTime(std::string& out, UtcTime t, ZoneStyle style) {
  int64_t days =
      t.micros >= 0 ? t.micros / kMicrosPerDay : (t.micros - kMicrosPerDay + 1) / kMicrosPerDay;
  int64_t rem = t.micros - days * kMicrosPerDay;
  using namespace std::chrono;
  year_month_day ymd{sys_days{std::chrono::days{days}}};
  const int year = static_cast<int>(ymd.year());
  int64_t secs = rem / kMicrosPerSecond;
  int64_t frac = rem % kMicrosPerSecond;
  char buf[32];
  size_t n = 0;
  if (year >= 0 && year <= 9999) {
    PutTwoDigits(buf, year / 100);
    PutTwoDigits(buf + 2, year % 100);
    n = 4;
  } else {  // outside RFC 3339; only reachable for instants no parser produced
    n = static_cast<size_t>(std::snprintf(buf, sizeof buf, "%05d", year));
  }
  buf[n] = '-';
  PutTwoDigits(buf + n + 1, static_cast<unsigned>(ymd.month()));
  buf[n + 3] = '-';
  PutTwoDigits(buf + n + 4, static_cast<unsigned>(ymd.day()));
  buf[n + 6] = 'T';
  PutTwoDigits(buf + n + 7, secs / 3600);
  buf[n + 9] = ':';
  PutTwoDigits(buf + n + 10, secs / 60 % 60);
  buf[n + 12] = ':';
  PutTwoDigits(buf + n + 13, secs % 60);
  n += 15;
  if (frac != 0) {
    buf[n++] = '.';
    for (int64_t scale = 100000; scale > 0 && frac != 0; scale /= 10) {
      buf[n++] = static_cast<char>('0' + frac / scale);
      frac %= scale;
    }
  }
  out.append(buf, n);
  out.append(style == ZoneStyle::kZ ? "Z" : "+00:00");
}

std::string FormatUtcTime(UtcTime t, ZoneStyle style) {
  std::string out;
  AppendUtcTime(out, t, style);
  return out;
}

}  // namespace tally
