// Fuzzes tally::pricing::ParseRateCardJson (rate cards operators import) on arbitrary bytes.
// Properties: no crash, leak or undefined behaviour; a card that parses is valid, and
// formatting it gives a body that parses back to the same card and formats to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pricing/rate_card.h"
#include "pricing/rate_card_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  tally::Result<tally::pricing::RateCard> card =
      tally::pricing::ParseRateCardJson(text, "MS-AZR-0003P", "US");
  if (!card.ok()) {
    if (card.status().message().empty()) std::abort();  // every refusal says why
    return 0;
  }
  if (!tally::pricing::ValidateRateCard(*card).ok()) std::abort();
  const std::string formatted = tally::pricing::FormatRateCardJson(*card);
  tally::Result<tally::pricing::RateCard> again =
      tally::pricing::ParseRateCardJson(formatted, "MS-AZR-0003P", "US");
  if (!again.ok() || !(*again == *card)) std::abort();
  if (tally::pricing::FormatRateCardJson(*again) != formatted) std::abort();
  return 0;
}
