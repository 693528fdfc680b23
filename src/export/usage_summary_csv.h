// The Usagesummary.ps1 CSV (contract §9): the file operators already feed their billing and
// chargeback tools, written row by row. Columns, exactly in the script's order:
//   UsageStartTime, UsageEndTime, MeterName, Quantity, resourceType, location, resourceGroup,
//   resourceName, subowner, tags, MeterId, additionalInfo, subscription, resourceUri
// Every field is double-quoted, as Export-Csv -NoTypeInformation writes it. Times are RFC 3339
// UTC ("2026-10-01T00:00:00Z"), quantities the exact decimal digits; docs/exports.md gives every
// formatting decision and where it departs from what the script prints.
//
// UsageSummaryCsvWriter writes each row as soon as it is given (constant memory); the caller
// owns the stream and the catalog, which must outlive the writer. Not thread-safe.
#pragma once

#include <array>
#include <ostream>
#include <string_view>

#include "common/decimal.h"
#include "common/status.h"
#include "common/time.h"
#include "domain/meter.h"
#include "export/csv.h"

namespace tally::exports {

// The column names, in order.
inline constexpr std::array<std::string_view, 14> kUsageSummaryColumns = {
    "UsageStartTime", "UsageEndTime",   "MeterName",    "Quantity",   "resourceType",
    "location",       "resourceGroup",  "resourceName", "subowner",   "tags",
    "MeterId",        "additionalInfo", "subscription", "resourceUri"};

// One usage aggregate, as the export reads it. Views: they must stay valid only for the call
// that writes the row.
struct UsageSummaryRow {
  std::string_view subscription_id;
  std::string_view subscription_owner;  // the subscription's Owner ("subowner"); "" if none
  UtcTime usage_start;
  UtcTime usage_end;
  std::string_view meter_id;  // written as given
  Decimal quantity;
  std::string_view resource_uri;
  std::string_view location;
  // JSON object text of the instanceData's tags / additionalInfo, written unchanged; "" or
  // "null" (absent) give an empty field.
  std::string_view tags_json;
  std::string_view additional_info_json;
};

// The '/'-separated segment `index` of `resource_uri`, as PowerShell's Split('/')[index]
// gives it ("" when there are fewer segments). Segments 4, 7 and 8 of
// "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/VM" are the
// resource group, the resource type and the resource name.
std::string_view ResourceUriSegment(std::string_view resource_uri, size_t index);

class UsageSummaryCsvWriter {
 public:
  // MeterName is looked up in `catalog` (case-insensitively); blank when it is not there.
  UsageSummaryCsvWriter(std::ostream& out, const domain::MeterCatalog& catalog);

  // Writes the header before the first row, then the row. Unavailable when the stream fails.
  Status WriteRow(const UsageSummaryRow& row);
  // Writes the header if no row was written (so an empty export is a valid CSV with its
  // columns) and flushes. Unavailable when the stream fails.
  Status Finish();

  size_t rows_written() const { return rows_written_; }

 private:
  Status WriteHeader();

  std::ostream& out_;
  const domain::MeterCatalog& catalog_;
  CsvRecord record_{CsvQuoting::kAlways};
  std::string scratch_;
  // The last meter looked up: consecutive rows mostly repeat a meter, and a catalog lookup
  // upper-cases its key into a new string.
  std::string last_meter_id_;
  const domain::Meter* last_meter_ = nullptr;
  bool header_written_ = false;
  size_t rows_written_ = 0;
};

}  // namespace tally::exports
