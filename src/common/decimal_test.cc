#include "common/decimal.h"

#include <gtest/gtest.h>

#include <limits>

namespace tally {
namespace {

std::string RoundTrip(std::string_view s) {
  auto d = Decimal::Parse(s);
  EXPECT_TRUE(d.ok()) << s << ": " << d.status().ToString();
  return d.ok() ? d->ToString() : "";
}

TEST(Decimal, KeepsEveryFractionalDigit) {
  EXPECT_EQ(RoundTrip("0.217790327034891"), "0.217790327034891");
  EXPECT_EQ(RoundTrip("2.4000000000"), "2.4");
}

TEST(Decimal, FormatsShortestExactText) {
  EXPECT_EQ(RoundTrip("0"), "0");
  EXPECT_EQ(RoundTrip("3"), "3");
  EXPECT_EQ(RoundTrip("-0.000000000000001"), "-0.000000000000001");
  EXPECT_EQ(RoundTrip("1e3"), "1000");
  EXPECT_EQ(RoundTrip("1.5E-3"), "0.0015");
  EXPECT_EQ(RoundTrip("1.0000000000000000000"), "1");
  EXPECT_EQ(RoundTrip("99999999999999999999.999999999999999"),
            "99999999999999999999.999999999999999");
  EXPECT_EQ(RoundTrip("18446744073709551616.5"), "18446744073709551616.5");  // 2^64 + 0.5
  EXPECT_EQ(RoundTrip("-18446744073709551615.000000000000001"),
            "-18446744073709551615.000000000000001");
  // Sums may exceed what Parse accepts; the extremes of the raw range still format exactly.
  EXPECT_EQ(Decimal::FromRaw(std::numeric_limits<Decimal::Raw>::min()).ToString(),
            "-170141183460469231731687.303715884105728");
  EXPECT_EQ(Decimal::FromRaw(std::numeric_limits<Decimal::Raw>::max()).ToString(),
            "170141183460469231731687.303715884105727");
}

TEST(Decimal, RejectsWhatIsNotAnExactDecimal) {
  for (std::string_view bad : {"", "-", "1.", ".5", "01", "1e", "1x", "0.0000000000000001",
                               "1e-16", "NaN", "Infinity", "+1", "1 ", "100000000000000000000000"}) {
    EXPECT_FALSE(Decimal::Parse(bad).ok()) << bad;
  }
}

TEST(Decimal, AddsExactlyWhereDoubleWouldNot) {
  Decimal a = *Decimal::Parse("0.1");
  Decimal b = *Decimal::Parse("0.2");
  EXPECT_EQ((a + b).ToString(), "0.3");
  Decimal sum;
  for (int i = 0; i < 1000; ++i) sum += *Decimal::Parse("0.000000000000001");
  EXPECT_EQ(sum.ToString(), "0.000000000001");
}

TEST(Decimal, CheckedAddDetectsOverflow) {
  __extension__ typedef unsigned __int128 U128;
  Decimal big = Decimal::FromRaw(static_cast<Decimal::Raw>(~static_cast<U128>(0) >> 1));
  EXPECT_FALSE(Decimal::Add(big, Decimal::FromInt(1)).has_value());
  EXPECT_TRUE(Decimal::Add(Decimal::FromInt(1), Decimal::FromInt(2)).has_value());
}

}  // namespace
}  // namespace tally
