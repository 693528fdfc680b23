#include "common/decimal.h"

#include <algorithm>
#include <charconv>
#include <limits>

namespace tally {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::string Int128ToString(Decimal::Raw v) {
  if (v == 0) return "0";
  bool neg = v < 0;
  // Work on the unsigned magnitude so that the minimum value does not overflow.
  __extension__ typedef unsigned __int128 U128;
  U128 u = neg ? -static_cast<U128>(v) : static_cast<U128>(v);
  char buf[48];
  int pos = 0;
  while (u > 0) {
    buf[pos++] = static_cast<char>('0' + static_cast<int>(u % 10));
    u /= 10;
  }
  std::string out;
  if (neg) out.push_back('-');
  while (pos > 0) out.push_back(buf[--pos]);
  return out;
}

Result<Decimal> Decimal::Parse(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument("'" + std::string(text.substr(0, 64)) + "' is not a valid decimal: " +
                           std::string(why));
  };
  size_t i = 0;
  bool neg = false;
  if (i < text.size() && text[i] == '-') {
    neg = true;
    ++i;
  }
  // Collect the significant digits and where the decimal point sits.
  std::string digits;  // without leading zeros of the integer part
  size_t int_start = i;
  while (i < text.size() && IsDigit(text[i])) ++i;
  size_t int_len = i - int_start;
  if (int_len == 0) return bad("expected a digit");
  if (int_len > 1 && text[int_start] == '0') return bad("leading zeros are not allowed");
  digits.append(text.substr(int_start, int_len));
  long frac_len = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    size_t frac_start = i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    frac_len = static_cast<long>(i - frac_start);
    if (frac_len == 0) return bad("expected a digit after '.'");
    digits.append(text.substr(frac_start, static_cast<size_t>(frac_len)));
  }
  long exponent = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool exp_neg = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
      exp_neg = text[i] == '-';
      ++i;
    }
    size_t exp_start = i;
    while (i < text.size() && IsDigit(text[i])) {
      if (exponent > 10000) return bad("exponent out of range");
      exponent = exponent * 10 + (text[i] - '0');
      ++i;
    }
    if (i == exp_start) return bad("expected a digit in the exponent");
    if (exp_neg) exponent = -exponent;
  }
  if (i != text.size()) return bad("unexpected character");

  // value = digits * 10^(exponent - frac_len); we need raw = value * 10^kScale.
  long shift = exponent - frac_len + kScale;
  // Drop trailing zeros that would fall below the scale.
  while (shift < 0 && !digits.empty() && digits.back() == '0') {
    digits.pop_back();
    ++shift;
  }
  if (shift < 0) return bad("more than 15 fractional digits");
  // Strip leading zeros; what is left must fit below 10^(kMaxIntegerDigits + kScale).
  size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return Decimal(0);
  digits.erase(0, first);
  if (static_cast<long>(digits.size()) + shift > kMaxIntegerDigits + kScale) {
    return bad("magnitude must be below 10^21");
  }
  Raw raw = 0;
  for (char c : digits) raw = raw * 10 + (c - '0');
  for (long k = 0; k < shift; ++k) raw *= 10;
  return Decimal(neg ? -raw : raw);
}

// Divides once by 10^kScale and formats both halves with 64-bit arithmetic: 128-bit division
// by 10 per digit made this the slowest part of writing a usage page.
void Decimal::AppendTo(std::string& out) const {
  __extension__ typedef unsigned __int128 U128;
  const U128 magnitude = raw_ < 0 ? -static_cast<U128>(raw_) : static_cast<U128>(raw_);
  const U128 whole = magnitude / static_cast<uint64_t>(kOne);
  uint64_t fraction = static_cast<uint64_t>(magnitude % static_cast<uint64_t>(kOne));
  if (raw_ < 0) out.push_back('-');
  if (whole <= std::numeric_limits<uint64_t>::max()) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<uint64_t>(whole));
    out.append(buf, end);
  } else {
    out.append(Int128ToString(static_cast<Raw>(whole)));
  }
  if (fraction == 0) return;
  char digits[kScale];
  for (int i = kScale - 1; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + fraction % 10);
    fraction /= 10;
  }
  int len = kScale;
  while (digits[len - 1] == '0') --len;
  out.push_back('.');
  out.append(digits, static_cast<size_t>(len));
}

std::string Decimal::ToString() const {
  std::string out;
  AppendTo(out);
  return out;
}

std::optional<Decimal> Decimal::Add(Decimal a, Decimal b) {
  Raw r;
  if (__builtin_add_overflow(a.raw_, b.raw_, &r)) return std::nullopt;
  return Decimal(r);
}

}  // namespace tally
