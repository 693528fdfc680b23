// Listing invoices, shared by `tally invoices list` and GET /v1/invoices: the filter checked
// from its text parameters, and one invoice's header as a JSON object (the jsonl line of the
// CLI and an element of the HTTP answer's "value"). Stateless functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "store/billing_store.h"

namespace tally::billing {

struct InvoiceFilterText {
  std::string period;        // "" = every period, else YYYY-MM
  std::string subscription;  // "" = every subscription, else a GUID (any case)
  std::string status;        // "", "draft" or "final"
};

// Checks every parameter and returns the filter (subscription lower-cased). Messages name the
// parameters `flag_prefix` + "period", `subscription_name` and `flag_prefix` + "status".
// InvalidArgument listing every problem.
Result<store::InvoiceFilter> MakeInvoiceFilter(const InvoiceFilterText& text,
                                               std::string_view flag_prefix,
                                               std::string_view subscription_name);

// {"subscriptionId","period","timeZone","offerDurableId","status","currency","total" (a JSON
// number), "watermarkSeq","created","finalized" (null for a draft)}: no renderings.
void AppendInvoiceHeaderJson(std::string& out, const store::StoredInvoice& invoice);

}  // namespace tally::billing
