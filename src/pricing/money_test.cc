#include "pricing/money.h"

#include <gtest/gtest.h>

namespace tally::pricing {
namespace {

Decimal D(std::string_view s) { return *Decimal::Parse(s); }

std::string Round(std::string_view v, int digits) {
  auto r = RoundHalfEven(D(v), digits);
  return r ? r->ToString() : "overflow";
}

TEST(Currency, FindsCodesInAnyCaseWithTheirMinorUnit) {
  EXPECT_EQ(Currency::Find("usd")->code(), "USD");
  EXPECT_EQ(Currency::Find("USD")->minor_unit(), 2);
  EXPECT_EQ(Currency::Find("JPY")->minor_unit(), 0);
  EXPECT_EQ(Currency::Find("KWD")->minor_unit(), 3);
  EXPECT_EQ(Currency::Find("BHD")->minor_unit(), 3);
  EXPECT_EQ(Currency::Find("EUR")->minor_unit(), 2);
  for (const char* code : {"GBP", "CHF", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK", "PLN", "CZK",
                           "INR", "CNY", "BRL", "ZAR", "SGD", "HKD"}) {
    EXPECT_EQ(Currency::Find(code)->minor_unit(), 2) << code;
  }
}

TEST(Currency, UnknownCodeIsRefusedByName) {
  auto c = Currency::Find("XYZ");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("'XYZ'"), std::string::npos);
  EXPECT_FALSE(Currency::Find("").ok());
  EXPECT_FALSE(Currency::Find("US").ok());
}

TEST(Currency, TableIsSortedAndUnique) {
  auto all = Currency::All();
  for (size_t i = 1; i < all.size(); ++i) EXPECT_LT(all[i - 1].code(), all[i].code());
}

TEST(RoundHalfEven, TiesGoToTheEvenDigit) {
  EXPECT_EQ(Round("2.345", 2), "2.34");
  EXPECT_EQ(Round("2.355", 2), "2.36");
  EXPECT_EQ(Round("2.3450000001", 2), "2.35");
  EXPECT_EQ(Round("2.344999999999999", 2), "2.34");
  EXPECT_EQ(Round("0.5", 0), "0");
  EXPECT_EQ(Round("1.5", 0), "2");
  EXPECT_EQ(Round("2.5", 0), "2");
  EXPECT_EQ(Round("-2.5", 0), "-2");
  EXPECT_EQ(Round("-2.355", 2), "-2.36");
  EXPECT_EQ(Round("-0.004", 2), "0");
  EXPECT_EQ(Round("1.0005", 3), "1");
  EXPECT_EQ(Round("1.0015", 3), "1.002");
  EXPECT_EQ(Round("0.000000000000001", 15), "0.000000000000001");
}

TEST(RoundHalfEven, JapaneseYenHasNoMinorUnit) {
  Money m(D("1234.5"), *Currency::Find("JPY"));
  EXPECT_EQ(m.RoundedToMinorUnit()->amount().ToString(), "1234");
  Money n(D("1235.5"), *Currency::Find("JPY"));
  EXPECT_EQ(n.RoundedToMinorUnit()->amount().ToString(), "1236");
  EXPECT_EQ(n.RoundedToMinorUnit()->FormatAmount(), "1236");
}

TEST(RoundHalfEven, KuwaitiDinarHasThreeDigits) {
  Money m(D("10.0125"), *Currency::Find("KWD"));
  EXPECT_EQ(m.RoundedToMinorUnit()->FormatAmount(), "10.012");
  Money n(D("10.0135"), *Currency::Find("KWD"));
  EXPECT_EQ(n.RoundedToMinorUnit()->ToString(), "10.014 KWD");
  EXPECT_EQ(Money(D("7"), *Currency::Find("KWD")).FormatAmount(), "7.000");
}

TEST(Money, FormatKeepsAtLeastTheMinorUnitsDigits) {
  const Currency usd = *Currency::Find("USD");
  EXPECT_EQ(Money(D("12.3"), usd).FormatAmount(), "12.30");
  EXPECT_EQ(Money(D("12"), usd).ToString(), "12.00 USD");
  EXPECT_EQ(Money(D("0.125"), usd).FormatAmount(), "0.125");
  EXPECT_EQ(Money(D("-3.5"), usd).FormatAmount(), "-3.50");
  EXPECT_TRUE(Money(D("0.12"), usd).IsRounded());
  EXPECT_FALSE(Money(D("0.125"), usd).IsRounded());
}

TEST(Money, AddIsCheckedForCurrencyAndOverflow) {
  const Currency usd = *Currency::Find("USD");
  const Currency eur = *Currency::Find("EUR");
  EXPECT_EQ(Money::Add(Money(D("1.10"), usd), Money(D("2.20"), usd))->amount(), D("3.3"));
  EXPECT_FALSE(Money::Add(Money(D("1"), usd), Money(D("1"), eur)).ok());
  const Money huge(Decimal::FromRaw((Decimal::Raw{1} << 126)), usd);
  EXPECT_FALSE(Money::Add(huge, huge).ok());
  // The largest Decimal rounds up beyond itself at 3 digits (raw ...303715884105727 becomes
  // ...304000000000000).
  EXPECT_FALSE(RoundHalfEven(Decimal::FromRaw(~(Decimal::Raw{1} << 127)), 3).has_value());
  EXPECT_TRUE(RoundHalfEven(Decimal::FromRaw(~(Decimal::Raw{1} << 127)), 0).has_value());
}

TEST(ExactAmount, ProductKeepsEveryDigit) {
  // 15 fractional digits times 15 fractional digits: 30, none lost.
  auto p = ExactAmount::Product(D("0.123456789012345"), D("0.000000000000003"));
  EXPECT_EQ(p.ToString(), "0.000000000000000370370367037035");
  EXPECT_EQ(
      ExactAmount::Product(D("99999999999999999999.999999999999999"), D("-99999.999999999999999"))
          .ToString(),
      "-9999999999999999999899999.999999999900000000000000000001");
  EXPECT_EQ(ExactAmount::Product(D("2.5"), D("4")).ToString(), "10");
  EXPECT_EQ(ExactAmount().ToString(), "0");
}

TEST(ExactAmount, RoundsHalfEvenFromAllThirtyDigits) {
  // 0.005 exactly ties to 0.00; a 1 in the 30th digit breaks the tie upwards.
  EXPECT_EQ(ExactAmount::Product(D("0.5"), D("0.01")).RoundHalfEven(2)->ToString(), "0");
  auto above =
      ExactAmount::Add(ExactAmount::Product(D("0.5"), D("0.01")),
                       ExactAmount::Product(D("0.000000000000001"), D("0.000000000000001")));
  EXPECT_EQ(above->RoundHalfEven(2)->ToString(), "0.01");
  auto below =
      ExactAmount::Add(ExactAmount::Product(D("0.5"), D("0.01")),
                       ExactAmount::Product(D("-0.000000000000001"), D("0.000000000000001")));
  EXPECT_EQ(below->RoundHalfEven(2)->ToString(), "0");
  EXPECT_EQ(ExactAmount::Product(D("0.5"), D("0.03")).RoundHalfEven(2)->ToString(), "0.02");
  EXPECT_EQ(ExactAmount::Product(D("-0.5"), D("0.03")).RoundHalfEven(2)->ToString(), "-0.02");
}

TEST(ExactAmount, RoundingThatDoesNotFitADecimalIsReported) {
  auto big = ExactAmount::Product(D("100000000000000000000"), D("100000000000000000000"));
  EXPECT_FALSE(big.RoundHalfEven(2).has_value());
}

TEST(Int256, AddSubtractAndCompareAcrossSigns) {
  using internal::Int256;
  const Int256 a = Int256::FromInt128(5);
  const Int256 b = Int256::FromInt128(-7);
  EXPECT_EQ(Int256::Add(a, b)->ToString(), "-2");
  EXPECT_EQ(Int256::Sub(a, b)->ToString(), "12");
  EXPECT_EQ(Int256::Sub(b, b)->ToString(), "0");
  EXPECT_FALSE(Int256::Sub(b, b)->is_negative());
  EXPECT_LT(b, a);
  EXPECT_LT(Int256::FromInt128(-8), b);
  const Int256 min = Int256::FromInt128(static_cast<Int256::Int128>(Int256::Uint128{1} << 127));
  EXPECT_EQ(min.ToString(), "-170141183460469231731687303715884105728");
  // (2^127)^2 = 2^254 fits; doubling it reaches 2^255, which does not.
  auto square = Int256::Mul(min, static_cast<Int256::Int128>(Int256::Uint128{1} << 127));
  ASSERT_TRUE(square.has_value());
  EXPECT_FALSE(square->is_negative());
  EXPECT_FALSE(Int256::Add(*square, *square).has_value());
  EXPECT_FALSE(Int256::Mul(*square, 2).has_value());
  EXPECT_FALSE(square->ToInt128().has_value());
}

TEST(Int256, DividesByLargePowersOfTenWithHalfEvenRounding) {
  using internal::Int256;
  // 25 × 10^40 / 10^41 = 2.5 -> 2; 35 × 10^40 / 10^41 = 3.5 -> 4.
  EXPECT_EQ(Int256::FromInt128(25).MulPow10(40)->DivPow10RoundHalfEven(41).ToString(), "2");
  EXPECT_EQ(Int256::FromInt128(35).MulPow10(40)->DivPow10RoundHalfEven(41).ToString(), "4");
  auto just_above = Int256::Add(*Int256::FromInt128(25).MulPow10(40), Int256::FromInt128(1));
  EXPECT_EQ(just_above->DivPow10RoundHalfEven(41).ToString(), "3");
  EXPECT_EQ(Int256::FromInt128(-25).MulPow10(40)->DivPow10RoundHalfEven(41).ToString(), "-2");
}

}  // namespace
}  // namespace tally::pricing
