// Deterministic randomness for the usage simulator: a seeded std::mt19937_64 (whose output
// sequence the standard fixes) with hand-written distributions, and a stateless 64-bit mixer
// for values that must not depend on generation order. The standard's distributions are not
// used because their results differ between standard libraries. Rng is not thread-safe (one
// per thread); the free functions are pure.
#pragma once

#include <cstdint>
#include <random>

namespace tally::simulate {

// A bijective 64-bit finaliser: equal outputs mean equal inputs; small input changes flip
// about half the output bits.
constexpr uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// A random-looking value determined by its inputs alone (seed, resource, hour, purpose...).
constexpr uint64_t HashOf(uint64_t a, uint64_t b) {
  return Mix64(Mix64(a + 0x9e3779b97f4a7c15ULL) ^
               (b * 0xc2b2ae3d27d4eb4fULL + 0x165667b19e3779f9ULL));
}
constexpr uint64_t HashOf(uint64_t a, uint64_t b, uint64_t c) { return HashOf(HashOf(a, b), c); }
constexpr uint64_t HashOf(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  return HashOf(HashOf(a, b, c), d);
}

// Maps a uniform 64-bit value onto [0, n) (n > 0) by multiply-and-shift: deterministic, with a
// bias below n / 2^64 that no simulation can notice.
constexpr uint64_t Below(uint64_t random, uint64_t n) {
  __extension__ typedef unsigned __int128 U128;
  return static_cast<uint64_t>((static_cast<U128>(random) * n) >> 64);
}

// [lo, hi], inclusive; lo <= hi.
constexpr int64_t InRange(uint64_t random, int64_t lo, int64_t hi) {
  return lo + static_cast<int64_t>(Below(random, static_cast<uint64_t>(hi - lo) + 1));
}

// True with probability per_million / 1,000,000.
constexpr bool ChancePpm(uint64_t random, uint32_t per_million) {
  return Below(random, 1'000'000) < per_million;
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  uint64_t Next() { return engine_(); }
  uint64_t Below(uint64_t n) { return simulate::Below(Next(), n); }
  int64_t InRange(int64_t lo, int64_t hi) { return simulate::InRange(Next(), lo, hi); }
  bool ChancePpm(uint32_t per_million) { return simulate::ChancePpm(Next(), per_million); }

  // An index into `weights` with probability proportional to its weight (weights >= 0, at
  // least one positive).
  template <typename Container>
  size_t PickWeighted(const Container& weights) {
    uint64_t total = 0;
    for (auto w : weights) total += static_cast<uint64_t>(w);
    uint64_t r = Below(total);
    size_t i = 0;
    for (auto w : weights) {
      if (r < static_cast<uint64_t>(w)) return i;
      r -= static_cast<uint64_t>(w);
      ++i;
    }
    return i - 1;
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace tally::simulate
