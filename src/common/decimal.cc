#include "common/decimal.h"

#include <algorithm>

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

void Decimal::AppendTo(std::string& out) const {
  std::string s = Int128ToString(raw_ < 0 ? -raw_ : raw_);
  if (raw_ < 0) out.push_back('-');
  if (s.size() <= static_cast<size_t>(kScale)) s.insert(0, kScale + 1 - s.size(), '0');
  size_t int_len = s.size() - kScale;
  out.append(s, 0, int_len);
  size_t end = s.size();
  while (end > int_len && s[end - 1] == '0') --end;
  if (end > int_len) {
    out.push_back('.');
    out.append(s, int_len, end - int_len);
  }
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
