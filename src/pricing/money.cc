#include "pricing/money.h"

#include <algorithm>
#include <array>

#include "common/strings.h"

namespace tally::pricing {
Result<Currency> Currency::Find(std::string_view code) {
  const std::string upper = AsciiUpper(code);
  const std::span<const Currency> all = All();
  auto it = std::lower_bound(all.begin(), all.end(), upper,
                             [](const Currency& c, const std::string& k) { return c.code() < k; });
  if (it == all.end() || it->code() != upper) {
    return InvalidArgument("'" + std::string(code.substr(0, 16)) +
                           "' is not a currency Tally knows (an ISO 4217 code such as USD, EUR, "
                           "JPY)");
  }
  return *it;
}

std::span<const Currency> Currency::All() {
  // ISO 4217 codes and minor units of the currencies operators bill in. Sorted by code.
  static constexpr std::array kCurrencies = {
      Currency("AED", 2), Currency("ARS", 2), Currency("AUD", 2), Currency("BGN", 2),
      Currency("BHD", 3), Currency("BRL", 2), Currency("CAD", 2), Currency("CHF", 2),
      Currency("CLP", 0), Currency("CNY", 2), Currency("COP", 2), Currency("CZK", 2),
      Currency("DKK", 2), Currency("EGP", 2), Currency("EUR", 2), Currency("GBP", 2),
      Currency("HKD", 2), Currency("HUF", 2), Currency("IDR", 2), Currency("ILS", 2),
      Currency("INR", 2), Currency("IQD", 3), Currency("ISK", 0), Currency("JOD", 3),
      Currency("JPY", 0), Currency("KES", 2), Currency("KRW", 0), Currency("KWD", 3),
      Currency("LYD", 3), Currency("MXN", 2), Currency("MYR", 2), Currency("NGN", 2),
      Currency("NOK", 2), Currency("NZD", 2), Currency("OMR", 3), Currency("PHP", 2),
      Currency("PKR", 2), Currency("PLN", 2), Currency("QAR", 2), Currency("RON", 2),
      Currency("RSD", 2), Currency("RUB", 2), Currency("SAR", 2), Currency("SEK", 2),
      Currency("SGD", 2), Currency("THB", 2), Currency("TND", 3), Currency("TRY", 2),
      Currency("TWD", 2), Currency("UAH", 2), Currency("USD", 2), Currency("UYU", 2),
      Currency("VND", 0), Currency("ZAR", 2),
  };
  return kCurrencies;
}

namespace internal {

std::optional<Decimal> RoundScaled(const Int256& value, int scale, int fractional_digits) {
  const Int256 units = value.DivPow10RoundHalfEven(scale - fractional_digits);
  auto raw = units.MulPow10(Decimal::kScale - fractional_digits);
  if (!raw) return std::nullopt;
  auto r = raw->ToInt128();
  if (!r) return std::nullopt;
  return Decimal::FromRaw(*r);
}

}  // namespace internal

std::optional<Decimal> RoundHalfEven(Decimal value, int fractional_digits) {
  return internal::RoundScaled(internal::Int256::FromInt128(value.raw()), Decimal::kScale,
                               fractional_digits);
}

Result<Money> Money::RoundedToMinorUnit() const {
  auto r = RoundHalfEven(amount_, currency_.minor_unit());
  if (!r) return InvalidArgument("amount too large to round: " + amount_.ToString());
  return Money(*r, currency_);
}

bool Money::IsRounded() const {
  auto r = RoundHalfEven(amount_, currency_.minor_unit());
  return r && *r == amount_;
}

Result<Money> Money::Add(const Money& a, const Money& b) {
  if (!(a.currency_ == b.currency_)) {
    return InvalidArgument("cannot add " + std::string(a.currency_.code()) + " and " +
                           std::string(b.currency_.code()) + " amounts");
  }
  auto sum = Decimal::Add(a.amount_, b.amount_);
  if (!sum) return InvalidArgument("money amount overflow");
  return Money(*sum, a.currency_);
}

std::string Money::FormatAmount() const {
  std::string s = amount_.ToString();
  const size_t dot = s.find('.');
  const size_t have = dot == std::string::npos ? 0 : s.size() - dot - 1;
  const size_t want = static_cast<size_t>(currency_.minor_unit());
  if (have < want) {
    if (dot == std::string::npos) s.push_back('.');
    s.append(want - have, '0');
  }
  return s;
}

std::string Money::ToString() const { return FormatAmount() + " " + std::string(currency_.code()); }

ExactAmount ExactAmount::FromDecimal(Decimal d) {
  // 15 more fractional digits: |raw| < 2^127, times 10^15 < 2^177, so this cannot overflow.
  return FromRaw(*internal::Int256::FromInt128(d.raw()).MulPow10(kScale - Decimal::kScale));
}

ExactAmount ExactAmount::Product(Decimal a, Decimal b) {
  // Two counts of 10^-15 multiply into a count of 10^-30; |product| < 2^254, so it fits.
  return FromRaw(*internal::Int256::Mul(internal::Int256::FromInt128(a.raw()), b.raw()));
}

std::optional<ExactAmount> ExactAmount::Add(const ExactAmount& a, const ExactAmount& b) {
  auto sum = internal::Int256::Add(a.v_, b.v_);
  if (!sum) return std::nullopt;
  return FromRaw(*sum);
}

std::optional<Decimal> ExactAmount::RoundHalfEven(int fractional_digits) const {
  return internal::RoundScaled(v_, kScale, fractional_digits);
}

std::string ExactAmount::ToString() const { return internal::FormatScaled(v_, kScale); }

namespace internal {

std::string FormatScaled(const Int256& value, int scale) {
  std::string digits = value.ToString();
  const bool neg = !digits.empty() && digits[0] == '-';
  if (neg) digits.erase(0, 1);
  const size_t frac = static_cast<size_t>(scale);
  if (digits.size() <= frac) digits.insert(0, frac + 1 - digits.size(), '0');
  const size_t int_len = digits.size() - frac;
  size_t end = digits.size();
  while (end > int_len && digits[end - 1] == '0') --end;
  std::string out = neg ? "-" : "";
  out.append(digits, 0, int_len);
  if (end > int_len) {
    out.push_back('.');
    out.append(digits, int_len, end - int_len);
  }
  return out;
}

}  // namespace internal

Result<Money> PercentOf(const Money& amount, Decimal percent) {
  // amount and percent are counts of 10^-15: their product is a count of 10^-30, and dividing
  // by 100 makes it a count of 10^-32. |product| < 2^254, so the product cannot overflow.
  const internal::Int256 exact =
      *internal::Int256::Mul(internal::Int256::FromInt128(amount.amount().raw()), percent.raw());
  auto r = internal::RoundScaled(exact, 2 * Decimal::kScale + 2, amount.currency().minor_unit());
  if (!r)
    return InvalidArgument("amount too large: " + amount.ToString() + " × " + percent.ToString() +
                           " %");
  return Money(*r, amount.currency());
}

}  // namespace tally::pricing
