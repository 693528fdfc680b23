// Reading back the invoice JSON that AppendInvoiceJson (invoice_format.h) writes, so that a
// stored invoice document can be rendered again (CSV, HTML, FOCUS) without recomputing it: a
// final invoice is only ever re-read, never re-rated. Stateless; thread-safe.
#pragma once

#include <string_view>

#include "common/status.h"
#include "pricing/invoice.h"

namespace tally::exports {

// Parses one invoice object as AppendInvoiceJson writes it: every number from its digits
// (rounded amounts, quantities, exact 30-digit amounts), the period from "period" and
// "timeZone" (which, like "currency", must come before "lines", as written). Derived values
// are restored: each meter line's rating.meter_id, rating.amount (= unroundedAmount) and
// rating.end_position (= startPosition + quantity - unpricedQuantity); a term line's
// unrounded_amount (= amount). So AppendInvoiceJson(ParseInvoiceJson(j)) == j for any j it
// wrote. InvalidArgument naming the property when the text is not such an invoice.
Result<pricing::Invoice> ParseInvoiceJson(std::string_view json);

}  // namespace tally::exports
