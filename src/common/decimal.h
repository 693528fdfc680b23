// Decimal: an exact fixed-point number with 15 fractional digits, for quantities and money.
//
// The value is held as a signed 128-bit count of 10^-15 units, so every decimal a resource
// provider may send (up to 15 fractional digits, magnitude below 10^21) is kept digit for
// digit and sums of billions of them stay exact. Never converted through double. A plain value
// type: copy freely, thread-compatible.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tally {

class Decimal {
 public:
  __extension__ typedef __int128 Raw;
  static constexpr int kScale = 15;
  // 10^kScale: the raw value of 1.
  static constexpr Raw kOne = static_cast<Raw>(1'000'000'000'000'000LL);
  // Largest magnitude Parse accepts: 10^21 (exclusive), so that 10^17 such values still add up
  // without overflow.
  static constexpr int kMaxIntegerDigits = 21;

  constexpr Decimal() = default;
  static constexpr Decimal FromRaw(Raw raw) { return Decimal(raw); }
  static constexpr Decimal FromInt(int64_t v) { return Decimal(static_cast<Raw>(v) * kOne); }

  // Parses a JSON-style number: optional '-', digits, optional '.' digits, optional exponent
  // (e/E, sign, digits). Fails with InvalidArgument when the text is not a number, has more
  // than 15 significant fractional digits after applying the exponent, or is too large.
  // Trailing zeros beyond the 15th fractional digit are accepted ("1.0000000000000000").
  static Result<Decimal> Parse(std::string_view text);

  constexpr Raw raw() const { return raw_; }
  constexpr bool is_negative() const { return raw_ < 0; }
  constexpr bool is_zero() const { return raw_ == 0; }

  // Shortest exact text: no exponent, no trailing fractional zeros, no '.' for integers
  // ("2.4", "3", "-0.000000000000001"). Valid as a JSON number.
  std::string ToString() const;
  void AppendTo(std::string& out) const;

  // Checked arithmetic: nullopt on overflow.
  static std::optional<Decimal> Add(Decimal a, Decimal b);

  constexpr Decimal operator+(Decimal o) const { return Decimal(raw_ + o.raw_); }
  constexpr Decimal operator-(Decimal o) const { return Decimal(raw_ - o.raw_); }
  constexpr Decimal& operator+=(Decimal o) {
    raw_ += o.raw_;
    return *this;
  }
  constexpr auto operator<=>(const Decimal&) const = default;

 private:
  constexpr explicit Decimal(Raw raw) : raw_(raw) {}
  Raw raw_ = 0;
};

// Formats a raw 128-bit integer in base 10.
std::string Int128ToString(Decimal::Raw v);

}  // namespace tally
