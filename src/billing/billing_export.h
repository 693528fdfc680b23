// The billing adapters' exports (docs/exports.md), shared by `tally export` and the HTTP
// downloads (GET /v1/exports/...): the Usagesummary.ps1 CSV and JSON lines of the usage
// aggregates reported in a window, and the FOCUS 1.2 CSV of a billing period's final invoices.
// Rows are read a page (or an invoice) at a time and written to a std::ostream as they come, so
// memory does not grow with the size of the export.
//
// Parameters arrive as text under the same names on both adapters (CLI flags "--period",
// query parameters "period"); MakeExportRequest checks them all and reports every problem in
// one InvalidArgument.
//
// Ownership: an ExportJob keeps a pointer to the store, which must outlive it, and a copy of
// the BillingService. Not thread-safe: one job is written by one thread, once.
#pragma once

#include <cstddef>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "billing/billing_service.h"
#include "common/status.h"
#include "common/time.h"
#include "domain/aggregate.h"
#include "export/focus_csv.h"
#include "pricing/billing_period.h"
#include "store/usage_store.h"

namespace tally::billing {

enum class ExportFormat { kUsageSummary, kFocus, kJsonLines };
// "usage-summary", "focus", "jsonl".
std::string_view ExportFormatName(ExportFormat format);

// The export's parameters as text, named like the CLI flags (without "--").
struct ExportParameters {
  std::string format;     // usage-summary, focus or jsonl
  std::string period;     // YYYY-MM; or from + to
  std::string from;       // reported-time window, any form ParseUtcTime accepts
  std::string to;
  std::string time_zone;  // of period; "" = DefaultTimeZoneName()
  std::string granularity = "Daily";
  // FOCUS: who runs the cloud.
  std::string provider_name;
  std::string billing_account_id;
  std::string billing_account_name;
  std::string region_id;
  std::string region_name;
};

struct ExportRequest {
  ExportFormat format = ExportFormat::kJsonLines;
  // The billing period (always set for FOCUS): its invoices, or its usage by reported time.
  std::optional<pricing::BillingMonth> month;
  // The reported-time window [from, to) of the usage exports (UTC).
  UtcTime from;
  UtcTime to;
  domain::Granularity granularity = domain::Granularity::kDaily;
  exports::FocusOptions focus;
  // The subscriptions exported (lower-case IDs); nullopt = every subscription of the store.
  std::optional<std::vector<std::string>> subscription_ids;
};

// $TALLY_TIME_ZONE when set and not empty, else "UTC": the billing time zone of this process.
std::string DefaultTimeZoneName();

// Loads `name` ("" = DefaultTimeZoneName()). InvalidArgument naming `flag_prefix` + "time-zone".
Result<pricing::TimeZone> LoadBillingTimeZone(std::string_view name, std::string_view flag_prefix);

// Parses a billing month "YYYY-MM". InvalidArgument "<prefix>period '…' is not a month YYYY-MM".
Result<pricing::BillingMonth> ParseBillingMonth(std::string_view text,
                                                std::string_view flag_prefix);

// Checks every parameter: a known format; either a period or both from and to (to after
// from); FOCUS needs a period, provider-name and billing-account-id; granularity Hourly or
// Daily; a period resolves in the time zone. A period's window is the period's start and end
// in its time zone. Parameter names in messages are prefixed with `flag_prefix` ("--" for the
// CLI, "" for HTTP). InvalidArgument listing every problem ("; "-separated).
Result<ExportRequest> MakeExportRequest(const ExportParameters& parameters,
                                        std::string_view flag_prefix);

// One export, prepared and then written once.
class ExportJob {
 public:
  // Reads what must be known before the first byte: the subscriptions (owners and names)
  // and, for FOCUS, the period's invoice list. The store's error when a read fails.
  static Result<ExportJob> Prepare(store::UsageStore& store, const BillingService& billing,
                                   ExportRequest request);

  // FOCUS: the period's draft invoices among the exported subscriptions, which are not
  // exported (only final invoices are). 0 for the usage exports.
  size_t drafts_skipped() const { return drafts_skipped_; }

  // Writes the whole export to `out` (a CSV header even when there are no rows), flushing it
  // at the end. Unavailable when `out` fails (e.g. the client went away); DataLoss when a
  // stored invoice or aggregate is damaged; the store's error when a read fails. After a
  // failure `out` holds a truncated export.
  Status Write(std::ostream& out);
  // Usage rows written so far (FOCUS: invoices written).
  size_t rows_written() const { return rows_written_; }

 private:
  ExportJob(store::UsageStore& store, const BillingService& billing, ExportRequest request)
      : store_(&store), billing_(billing), request_(std::move(request)) {}
  Status WriteFocus(std::ostream& out);
  Status WriteUsage(std::ostream& out);

  store::UsageStore* store_;
  BillingService billing_;
  ExportRequest request_;
  std::vector<domain::Subscription> subscriptions_;  // exported, sorted by id
  std::vector<store::StoredInvoice> final_invoices_;  // FOCUS
  size_t drafts_skipped_ = 0;
  size_t rows_written_ = 0;
};

}  // namespace tally::billing
