// Fuzzes tally::Decimal::Parse on arbitrary text. Property: Parse(ToString(d)) == d, and the
// shortest text is stable (formatting the re-parsed value gives the same text).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/decimal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  tally::Result<tally::Decimal> d = tally::Decimal::Parse(text);
  if (!d.ok()) return 0;
  std::string formatted = d->ToString();
  tally::Result<tally::Decimal> again = tally::Decimal::Parse(formatted);
  if (!again.ok() || *again != *d || again->ToString() != formatted) std::abort();
  return 0;
}
