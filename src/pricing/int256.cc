#include "pricing/int256.h"

#include <algorithm>
#include <vector>

namespace tally::pricing::internal {
namespace {

constexpr uint64_t kTopBit = uint64_t{1} << 63;

constexpr uint64_t Pow10(int n) {
  uint64_t p = 1;
  for (int i = 0; i < n; ++i) p *= 10;
  return p;
}

}  // namespace

Int256 Int256::Make(const Limbs& mag, bool negative) {
  Int256 r;
  r.mag_ = mag;
  r.negative_ = negative && !r.is_zero();
  return r;
}

Int256 Int256::FromInt128(Int128 v) {
  // The magnitude of the minimum value is computed in unsigned arithmetic, where it exists.
  const Uint128 u = v < 0 ? Uint128{0} - static_cast<Uint128>(v) : static_cast<Uint128>(v);
  return Make({static_cast<uint64_t>(u), static_cast<uint64_t>(u >> 64), 0, 0}, v < 0);
}

std::strong_ordering Int256::CompareMagnitude(const Limbs& a, const Limbs& b) {
  for (int i = 3; i >= 0; --i) {
    if (a[i] != b[i]) return a[i] <=> b[i];
  }
  return std::strong_ordering::equal;
}

std::strong_ordering Int256::operator<=>(const Int256& o) const {
  if (negative_ != o.negative_) {
    return negative_ ? std::strong_ordering::less : std::strong_ordering::greater;
  }
  const std::strong_ordering m = CompareMagnitude(mag_, o.mag_);
  return negative_ ? 0 <=> m : m;
}

Int256 Int256::Negated() const { return Make(mag_, !negative_); }

std::optional<Int256> Int256::Add(const Int256& a, const Int256& b) {
  if (a.negative_ == b.negative_) {
    Limbs sum{};
    uint64_t carry = 0;
    for (int i = 0; i < 4; ++i) {
      const Uint128 s = Uint128{a.mag_[i]} + b.mag_[i] + carry;
      sum[i] = static_cast<uint64_t>(s);
      carry = static_cast<uint64_t>(s >> 64);
    }
    if (carry != 0 || (sum[3] & kTopBit) != 0) return std::nullopt;
    return Make(sum, a.negative_);
  }
  // Opposite signs: the larger magnitude minus the smaller, with the larger one's sign.
  const bool a_larger = CompareMagnitude(a.mag_, b.mag_) >= 0;
  const Limbs& big = a_larger ? a.mag_ : b.mag_;
  const Limbs& small = a_larger ? b.mag_ : a.mag_;
  Limbs diff{};
  uint64_t borrow = 0;
  for (int i = 0; i < 4; ++i) {
    const Uint128 d = Uint128{big[i]} - small[i] - borrow;
    diff[i] = static_cast<uint64_t>(d);
    borrow = (d >> 64) != 0 ? 1 : 0;
  }
  return Make(diff, a_larger ? a.negative_ : b.negative_);
}

std::optional<Int256> Int256::Sub(const Int256& a, const Int256& b) { return Add(a, b.Negated()); }

std::optional<Int256> Int256::Mul(const Int256& a, Int128 b) {
  const Int256 bb = FromInt128(b);
  std::array<uint64_t, 6> prod{};
  for (int i = 0; i < 4; ++i) {
    uint64_t carry = 0;
    for (int j = 0; j < 2; ++j) {
      const Uint128 t = Uint128{a.mag_[i]} * bb.mag_[j] + prod[i + j] + carry;
      prod[i + j] = static_cast<uint64_t>(t);
      carry = static_cast<uint64_t>(t >> 64);
    }
    prod[i + 2] += carry;  // cannot carry further: the limb was still zero
  }
  if (prod[4] != 0 || prod[5] != 0 || (prod[3] & kTopBit) != 0) return std::nullopt;
  return Make({prod[0], prod[1], prod[2], prod[3]}, a.negative_ != bb.negative_);
}

uint64_t Int256::DivSmall(Limbs& mag, uint64_t d) {
  Uint128 rem = 0;
  for (int i = 3; i >= 0; --i) {
    const Uint128 cur = (rem << 64) | mag[i];
    mag[i] = static_cast<uint64_t>(cur / d);
    rem = cur % d;
  }
  return static_cast<uint64_t>(rem);
}

Int256 Int256::DivPow10RoundHalfEven(int digits) const {
  if (digits <= 0) return *this;
  Limbs q = mag_;
  // Everything below the first dropped digit only matters as "zero or not" (the sticky bit).
  bool sticky = false;
  for (int left = digits - 1; left > 0;) {
    const int chunk = std::min(left, 19);
    sticky |= DivSmall(q, Pow10(chunk)) != 0;
    left -= chunk;
  }
  const uint64_t first_dropped = DivSmall(q, 10);
  const bool round_up = first_dropped > 5 || (first_dropped == 5 && (sticky || (q[0] & 1) != 0));
  if (round_up) {
    // q is at most mag_ / 10, so adding one cannot overflow.
    for (int i = 0; i < 4; ++i) {
      if (++q[i] != 0) break;
    }
  }
  return Make(q, negative_);
}

std::optional<Int256> Int256::MulPow10(int digits) const {
  Int256 r = *this;
  for (int left = digits; left > 0;) {
    const int chunk = std::min(left, 19);
    auto m = Mul(r, static_cast<Int128>(Pow10(chunk)));
    if (!m) return std::nullopt;
    r = *m;
    left -= chunk;
  }
  return r;
}

std::optional<Int256::Int128> Int256::ToInt128() const {
  if (mag_[2] != 0 || mag_[3] != 0 || (mag_[1] & kTopBit) != 0) return std::nullopt;
  const Int128 m = static_cast<Int128>((Uint128{mag_[1]} << 64) | mag_[0]);
  return negative_ ? -m : m;
}

std::string Int256::ToString() const {
  if (is_zero()) return "0";
  Limbs q = mag_;
  std::vector<uint64_t> chunks;  // base 10^19, least significant first
  while (q[0] != 0 || q[1] != 0 || q[2] != 0 || q[3] != 0) chunks.push_back(DivSmall(q, Pow10(19)));
  std::string out = negative_ ? "-" : "";
  out += std::to_string(chunks.back());
  for (size_t i = chunks.size() - 1; i-- > 0;) {
    std::string part = std::to_string(chunks[i]);
    out.append(19 - part.size(), '0');
    out += part;
  }
  return out;
}

}  // namespace tally::pricing::internal
