// Money: an exact amount in an ISO 4217 currency, and the one rounding rule of pricing.
//
// Currency is a code from Tally's table of common currencies with its minor unit (the number
// of fractional digits a payable amount has: 2 for USD, 0 for JPY, 3 for KWD). Money pairs a
// Decimal amount with its currency; it may hold more digits than the minor unit (a unit price
// of 0.0123 USD), and RoundedToMinorUnit() rounds half to even ("banker's rounding") to it.
// ExactAmount holds the exact product of two Decimals (30 fractional digits) so that a
// quantity times a price is never rounded before the invoice line is. Plain value types: copy
// freely, thread-compatible. See docs/pricing.md for where rounding happens.
#pragma once

#include <compare>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/decimal.h"
#include "common/status.h"
#include "pricing/int256.h"

namespace tally::pricing {

class Currency {
 public:
  // US dollar, the default currency of a rate card without one.
  constexpr Currency() = default;
  // The currency with this ISO 4217 code (three letters, any case). InvalidArgument naming the
  // code when Tally's table does not have it.
  static Result<Currency> Find(std::string_view code);
  // Every currency of the table, in code order.
  static std::span<const Currency> All();

  std::string_view code() const { return code_; }  // upper case, e.g. "EUR"
  int minor_unit() const { return minor_unit_; }   // fractional digits: 0, 2 or 3
  bool operator==(const Currency& o) const { return code() == o.code(); }

 private:
  constexpr Currency(const char* code, int minor_unit) : code_(code), minor_unit_(minor_unit) {}

  const char* code_ = "USD";
  int minor_unit_ = 2;
};

// `value` rounded half to even at `fractional_digits` (0..15) fractional digits:
// 2.345 -> 2.34, 2.355 -> 2.36, -0.5 -> 0 (at 0 digits). nullopt only on overflow.
std::optional<Decimal> RoundHalfEven(Decimal value, int fractional_digits);

class Money {
 public:
  Money() = default;
  Money(Decimal amount, Currency currency) : amount_(amount), currency_(currency) {}
  static Money Zero(Currency currency) { return Money(Decimal(), currency); }

  Decimal amount() const { return amount_; }
  Currency currency() const { return currency_; }

  // Half-even rounding to the currency's minor unit. InvalidArgument on overflow.
  Result<Money> RoundedToMinorUnit() const;
  // True when the amount has no digits below the minor unit.
  bool IsRounded() const;

  // Checked sum; InvalidArgument when the currencies differ or the sum overflows.
  static Result<Money> Add(const Money& a, const Money& b);
  Money Negated() const { return Money(Decimal() - amount_, currency_); }

  // The amount with at least the minor unit's fractional digits: "12.30", "1200", "0.125".
  std::string FormatAmount() const;
  // FormatAmount() followed by the code: "12.30 USD".
  std::string ToString() const;

  bool operator==(const Money&) const = default;

 private:
  Decimal amount_;
  Currency currency_;
};

// An exact money amount with 30 fractional digits, 256 bits wide: the exact product of two
// Decimals (a quantity and a unit price) and sums of such products. Rounded only by
// RoundHalfEven.
class ExactAmount {
 public:
  static constexpr int kScale = 30;

  ExactAmount() = default;
  static ExactAmount FromDecimal(Decimal d);
  // a × b, exactly. Never overflows.
  static ExactAmount Product(Decimal a, Decimal b);
  // Checked sum; nullopt on overflow (beyond about 10^46).
  static std::optional<ExactAmount> Add(const ExactAmount& a, const ExactAmount& b);

  bool is_zero() const { return v_.is_zero(); }
  bool is_negative() const { return v_.is_negative(); }
  // Rounded half to even at `fractional_digits` (0..15); nullopt when that does not fit a
  // Decimal.
  std::optional<Decimal> RoundHalfEven(int fractional_digits) const;
  // Shortest exact text, like Decimal::ToString ("12.3456", "-0.000000000000000000000000000001").
  std::string ToString() const;

  auto operator<=>(const ExactAmount&) const = default;
  bool operator==(const ExactAmount&) const = default;

  // The raw count of 10^-30 units, for pricing's own arithmetic.
  const internal::Int256& raw() const { return v_; }
  static ExactAmount FromRaw(const internal::Int256& raw) {
    ExactAmount a;
    a.v_ = raw;
    return a;
  }

 private:
  internal::Int256 v_;
};

namespace internal {
// A value held as a count of 10^-`scale` units, rounded half to even to a Decimal with
// `fractional_digits` (0..15) fractional digits; nullopt when it does not fit. scale >= 15.
std::optional<Decimal> RoundScaled(const Int256& value, int scale, int fractional_digits);
// The shortest exact decimal text of a value held as a count of 10^-`scale` units ("12.5",
// "-0.001"). scale >= 0.
std::string FormatScaled(const Int256& value, int scale);
}  // namespace internal

// round(amount × percent / 100) at the amount's currency's minor unit, from the exact product
// (a discount or markup, a commitment discount: docs/pricing.md). InvalidArgument when the
// result does not fit an amount.
Result<Money> PercentOf(const Money& amount, Decimal percent);

}  // namespace tally::pricing
