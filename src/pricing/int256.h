// Internal to tally_pricing: a signed 256-bit integer, just wide enough to hold the exact
// product of up to three Decimals (each below 2^127) and the sums of such products, so that
// prices are never rounded before the one documented rounding to the currency's minor unit.
// Only what pricing needs: add, subtract, multiply by a 128-bit value, divide by a power of ten
// with half-even rounding, and decimal text. Overflow is reported, never wrapped. A plain value
// type; thread-compatible.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>

#include "common/decimal.h"

namespace tally::pricing::internal {

class Int256 {
 public:
  using Int128 = Decimal::Raw;
  __extension__ typedef unsigned __int128 Uint128;

  constexpr Int256() = default;
  static Int256 FromInt128(Int128 v);

  bool is_negative() const { return negative_; }
  bool is_zero() const { return mag_[0] == 0 && mag_[1] == 0 && mag_[2] == 0 && mag_[3] == 0; }

  // Checked arithmetic: nullopt when the magnitude would reach 2^255.
  static std::optional<Int256> Add(const Int256& a, const Int256& b);
  static std::optional<Int256> Sub(const Int256& a, const Int256& b);
  static std::optional<Int256> Mul(const Int256& a, Int128 b);
  Int256 Negated() const;

  // This value divided by 10^digits, rounded half to even. digits >= 0.
  Int256 DivPow10RoundHalfEven(int digits) const;
  // This value multiplied by 10^digits; nullopt on overflow.
  std::optional<Int256> MulPow10(int digits) const;
  // The value as a 128-bit integer, or nullopt when it does not fit.
  std::optional<Int128> ToInt128() const;
  // Base-10 text, '-' for negative values.
  std::string ToString() const;

  std::strong_ordering operator<=>(const Int256& o) const;
  bool operator==(const Int256& o) const = default;

 private:
  using Limbs = std::array<uint64_t, 4>;  // magnitude, least significant limb first
  static std::strong_ordering CompareMagnitude(const Limbs& a, const Limbs& b);
  // Divides `mag` by `d` in place; returns the remainder.
  static uint64_t DivSmall(Limbs& mag, uint64_t d);
  static Int256 Make(const Limbs& mag, bool negative);

  Limbs mag_{};
  bool negative_ = false;  // never true for zero
};

}  // namespace tally::pricing::internal
