// Helpers of the export tests: invoices computed by pricing::MakeInvoice (never built by hand),
// so the renderings are tested on what Tally actually produces, and a strict RFC 4180 reader
// that checks the writers' output independently of them. Test-only.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pricing/invoice.h"

namespace tally::exports::testing {

// The worked example of docs/pricing.md: October 2026, USD, -10% discount, commitment 1000,
// two usage lines, one adjustment for 2026-09, discount, commitment, credit and recurring
// charge; total 18.58.
pricing::Invoice MakeDocumentedExampleInvoice();

// One usage line of `quantity` units at `price`, for a meter whose name, unit and the
// subscription ID are `meter_name`, `unit` and `subscription_id` (hostile text welcome), in
// `currency`.
pricing::Invoice MakeOneLineInvoice(std::string_view subscription_id, std::string_view meter_name,
                                    std::string_view unit, std::string_view quantity,
                                    std::string_view price, std::string_view currency = "USD");

// A CSV field as read back: nullopt for an empty unquoted field (a null), else its text.
using CsvField = std::optional<std::string>;
using CsvRows = std::vector<std::vector<CsvField>>;

// Reads RFC 4180 text whose records all end with CRLF. Fails the current test (and returns
// what it read so far) on a stray quote, a bare CR or LF outside quotes, or a missing final
// CRLF.
CsvRows ReadCsv(std::string_view text);

}  // namespace tally::exports::testing
