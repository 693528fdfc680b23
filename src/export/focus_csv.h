// The FinOps FOCUS 1.2 cost-and-usage CSV: one row per charge of a rated invoice, so the file
// reconciles to the invoices (the BilledCost of an invoice's rows sums to its total). Every
// mandatory FOCUS 1.2 column and the conditional and recommended ones that apply to a private
// cloud; the mapping from invoices is in docs/exports.md. Nulls are empty fields, strings are
// quoted only when they need it, decimals are exact, date-times "YYYY-MM-DDTHH:mm:ssZ".
//
// FocusCsvWriter writes each invoice's rows as soon as it is given (memory independent of the
// number of invoices); the caller owns the stream and the catalog, which must outlive the
// writer. Not thread-safe.
#pragma once

#include <array>
#include <ostream>
#include <string>
#include <string_view>

#include "common/status.h"
#include "domain/meter.h"
#include "export/csv.h"
#include "pricing/invoice.h"

namespace tally::exports {

// The 21 columns FOCUS 1.2 makes mandatory.
inline constexpr std::array<std::string_view, 21> kFocusMandatoryColumns = {
    "BilledCost",        "BillingAccountId",   "BillingAccountName", "BillingCurrency",
    "BillingPeriodEnd",  "BillingPeriodStart", "ChargeCategory",     "ChargeClass",
    "ChargeDescription", "ChargePeriodEnd",    "ChargePeriodStart",  "ContractedCost",
    "EffectiveCost",     "InvoiceIssuerName",  "ListCost",           "PricingQuantity",
    "PricingUnit",       "ProviderName",       "PublisherName",      "ServiceCategory",
    "ServiceName"};

// Every column written: the mandatory ones, then recommended and conditional ones, then
// Tally's own (prefixed x_), in this order.
inline constexpr std::array<std::string_view, 38> kFocusColumns = {
    "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd",
    "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodEnd",
    "ChargePeriodStart", "ContractedCost", "EffectiveCost", "InvoiceIssuerName", "ListCost",
    "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "ServiceCategory",
    "ServiceName",
    // recommended and conditional
    "ChargeFrequency", "ConsumedQuantity", "ConsumedUnit", "ContractedUnitPrice", "InvoiceId",
    "ListUnitPrice", "PricingCategory", "RegionId", "RegionName", "SkuId", "SkuMeter",
    "SkuPriceId", "SubAccountId", "SubAccountName",
    // Tally's own
    "x_InvoiceLineKind", "x_AdjustedBillingPeriod", "x_UnpricedQuantity"};

// Who runs the cloud: the same for every row of an export.
struct FocusOptions {
  // ProviderName, PublisherName and InvoiceIssuerName: the operator, e.g. "Contoso Private Cloud".
  std::string provider_name;
  std::string billing_account_id;    // the operator's billing account (not null)
  std::string billing_account_name;  // "" = null
  std::string region_id;             // the Azure Stack Hub region, e.g. "local"; "" = null
  std::string region_name;           // "" = null
};

// The invoice-specific values the invoice itself does not hold.
struct FocusInvoiceInfo {
  std::string_view invoice_id;        // InvoiceId; "" = "<subscription>/<period>"
  std::string_view sub_account_name;  // the subscription's display name; "" = null
};

class FocusCsvWriter {
 public:
  // Meter families (ServiceName, ServiceCategory) come from `catalog`.
  FocusCsvWriter(std::ostream& out, FocusOptions options, const domain::MeterCatalog& catalog);

  // Writes the header before the first invoice, then one row per usage or adjustment line
  // (its discount, markup and commitment shares included in its billed cost), one for the
  // credit and one for the recurring charge, if any. InvalidArgument when the options leave a
  // non-null column empty; Unavailable when the stream fails.
  Status WriteInvoice(const pricing::Invoice& invoice, const FocusInvoiceInfo& info = {});
  // Writes the header if nothing was written and flushes.
  Status Finish();

 private:
  Status WriteHeader();

  std::ostream& out_;
  FocusOptions options_;
  const domain::MeterCatalog& catalog_;
  CsvRecord record_{CsvQuoting::kAsNeeded};
  bool header_written_ = false;
};

// The FOCUS ServiceCategory of a meter family of the catalog ("Compute" -> "Compute",
// "Network" -> "Networking", "Managed Disks" -> "Storage", "SQL" -> "Databases", ...);
// "Other" for anything else.
std::string_view FocusServiceCategory(std::string_view meter_family);

}  // namespace tally::exports
