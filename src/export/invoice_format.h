// Renderings of a pricing::Invoice for `tally invoices show --format json|csv|html` and the
// HTTP downloads: JSON, CSV (one row per invoice line) and a self-contained printable HTML page.
// Amounts are exact: rounded amounts carry exactly the currency's minor-unit digits ("3.32",
// "1200" in JPY), exact (unrounded) tier amounts and unit prices their shortest exact digits.
// Times are RFC 3339 UTC. The formats are specified in docs/exports.md. Stateless functions;
// thread-safe for distinct outputs.
#pragma once

#include <array>
#include <ostream>
#include <string>
#include <string_view>

#include "common/status.h"
#include "pricing/invoice.h"

namespace tally::exports {

// One JSON object (no trailing newline): subscriptionId, offerDurableId, period ("2026-10"),
// timeZone, periodStart, periodEnd, currency, lines (each with its tier breakdown), usageAmount,
// creditAvailable, creditUsed, hasUnpricedUsage, total. Amounts are JSON numbers.
void AppendInvoiceJson(std::string& out, const pricing::Invoice& invoice);

// The columns of the invoice CSV, in order.
inline constexpr std::array<std::string_view, 18> kInvoiceCsvColumns = {"subscriptionId",
                                                                        "period",
                                                                        "currency",
                                                                        "kind",
                                                                        "meterId",
                                                                        "meterName",
                                                                        "unit",
                                                                        "adjustedPeriod",
                                                                        "quantity",
                                                                        "includedQuantity",
                                                                        "billableQuantity",
                                                                        "unpricedQuantity",
                                                                        "unroundedAmount",
                                                                        "amount",
                                                                        "percent",
                                                                        "adjustment",
                                                                        "commitmentDiscount",
                                                                        "net"};

// The header and one row per invoice line, in the invoice's order; the `amount` column sums
// to the invoice total. Fields that do not apply to a line are empty. RFC 4180, CRLF.
// Unavailable when the stream fails.
Status WriteInvoiceCsv(std::ostream& out, const pricing::Invoice& invoice);

// A complete HTML5 document (UTF-8, inline CSS, no scripts, no external resources) laid out
// for printing: the invoice header, one section per usage or adjustment line with its tier
// breakdown and offer-term shares, the term lines and the total. All text is HTML-escaped.
void AppendInvoiceHtml(std::string& out, const pricing::Invoice& invoice);

// Appends `text` with &, <, >, " and ' replaced by character references.
void AppendHtmlEscaped(std::string& out, std::string_view text);

}  // namespace tally::exports
