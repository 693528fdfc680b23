// Fuzzes tally::ParseUtcTime on arbitrary text. Property: whatever parses formats to text that
// parses back to the same instant, in both zone styles.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/time.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  tally::Result<tally::UtcTime> t = tally::ParseUtcTime(text);
  if (!t.ok()) return 0;
  for (tally::ZoneStyle style : {tally::ZoneStyle::kZ, tally::ZoneStyle::kPlusZero}) {
    std::string formatted = tally::FormatUtcTime(*t, style);
    tally::Result<tally::UtcTime> again = tally::ParseUtcTime(formatted);
    if (!again.ok() || again->micros != t->micros) std::abort();
  }
  return 0;
}
