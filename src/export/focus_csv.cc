#include "export/focus_csv.h"

#include <functional>
#include <utility>

#include "common/time.h"
#include "pricing/line_parts.h"

namespace tally::exports {
namespace {

using pricing::Invoice;
using pricing::InvoiceLine;
using pricing::LineKind;

// The values of one row, by column; nullopt-like empty views are written as null.
struct FocusRow {
  std::string billed_cost;
  std::string_view charge_category;
  std::string_view charge_class;  // "" = null
  std::string charge_description;
  UtcTime charge_period_start;
  UtcTime charge_period_end;
  std::string contracted_cost;
  std::string effective_cost;
  std::string list_cost;
  std::string pricing_quantity;  // "" = null
  std::string pricing_unit;      // "" = null
  std::string service_category;
  std::string service_name;
  std::string_view charge_frequency;
  std::string consumed_quantity;      // "" = null
  std::string consumed_unit;          // "" = null
  std::string contracted_unit_price;  // "" = null
  std::string list_unit_price;        // "" = null
  std::string_view pricing_category;  // "" = null
  std::string sku_id;                 // "" = null
  std::string sku_meter;              // "" = null
  std::string sku_price_id;           // "" = null
  std::string_view line_kind;
  std::string adjusted_period;    // "" = null
  std::string unpriced_quantity;  // "" = null
};

void FieldOrNull(CsvRecord& rec, std::string_view value) {
  if (value.empty()) {
    rec.Null();
  } else {
    rec.Field(value);
  }
}

using RowWriter = std::function<Status(const FocusRow&)>;

// The rows of a usage or adjustment line: one per part with one unit price (the included
// quantity, each tier charge, the unpriced quantity: pricing/line_parts.h), so that
// ListUnitPrice × PricingQuantity = ListCost and ContractedUnitPrice × PricingQuantity =
// ContractedCost on every row. The subscription's discount or markup is negotiated, so it is in
// the contracted figures; the commitment discount is not, so it is only in EffectiveCost and
// BilledCost, which carry each part's share of the line's rounded net amount.
Status WriteUsageRows(const domain::MeterCatalog& catalog, const Invoice& invoice,
                      const InvoiceLine& line, const pricing::TermPercents& percents,
                      const RowWriter& write) {
  TALLY_ASSIGN_OR_RETURN(std::vector<pricing::LinePart> parts, pricing::SplitLine(line, percents));
  const domain::Meter* meter = catalog.Find(line.meter_id);
  const std::string family = meter != nullptr ? meter->family : std::string();
  const std::string unit =
      !line.unit.empty() ? line.unit : (meter != nullptr ? meter->unit : std::string());
  const std::string name =
      !line.meter_name.empty() ? line.meter_name : (meter != nullptr ? meter->name : std::string());

  FocusRow r;
  r.line_kind = pricing::LineKindName(line.kind);
  r.charge_category = "Usage";
  r.charge_frequency = "Usage-Based";
  r.pricing_unit = unit;
  r.consumed_unit = unit;
  r.service_category = std::string(FocusServiceCategory(family));
  r.service_name = family.empty() ? "Other" : family;
  r.sku_id = line.meter_id;
  r.sku_meter = name;
  std::string description = name.empty() ? line.meter_id : name;
  r.charge_period_start = invoice.period.start();
  r.charge_period_end = invoice.period.end();
  if (line.adjusted_period) {
    // Late usage of a finalized period corrects that period's charges.
    r.charge_class = "Correction";
    r.adjusted_period = line.adjusted_period->ToString();
    r.charge_period_start = line.adjusted_period->start();
    r.charge_period_end = line.adjusted_period->end();
    description = "Late usage of " + r.adjusted_period + ": " + description;
  }
  // When the card changed within the period a tier appears once per price: its rows then say
  // from which date their price applied.
  bool prices_changed = false;
  for (const pricing::TierCharge& t : line.rating.tiers) {
    prices_changed |= t.effective_date != line.rating.tiers.front().effective_date;
  }
  for (const pricing::LinePart& part : parts) {
    r.billed_cost = part.net.FormatAmount();
    r.effective_cost = r.billed_cost;
    r.consumed_quantity = part.quantity.ToString();
    r.unpriced_quantity.clear();
    switch (part.kind) {
      case pricing::LinePartKind::kIncluded:
      case pricing::LinePartKind::kTier: {
        const bool included = part.kind == pricing::LinePartKind::kIncluded;
        r.pricing_category = "Standard";
        r.pricing_quantity = part.quantity.ToString();
        r.list_unit_price = part.list_unit_price.ToString();
        r.list_cost = part.list_cost.ToString();
        r.contracted_unit_price = part.contracted_unit_price;
        r.contracted_cost = part.contracted_cost;
        const std::string threshold = included ? "" : part.tier->threshold.ToString();
        std::string tier = included ? "included" : "from " + threshold;
        if (prices_changed && !included) {
          tier += ", price of " + FormatUtcTime(part.tier->effective_date).substr(0, 10);
        }
        r.sku_price_id = line.meter_id + (included ? "/included" : "/tier/" + threshold);
        r.charge_description = parts.size() > 1 ? description + " (" + tier + ")" : description;
        break;
      }
      case pricing::LinePartKind::kUnpriced:
        // No card entry was in force: there is no price to state, and nothing is charged.
        r.pricing_category = "";
        r.pricing_quantity.clear();
        r.list_unit_price.clear();
        r.contracted_unit_price.clear();
        r.sku_price_id.clear();
        r.list_cost = "0";
        r.contracted_cost = "0";
        r.unpriced_quantity = part.quantity.ToString();
        r.charge_description = description + " (unpriced: no rate card entry in force)";
        break;
    }
    TALLY_RETURN_IF_ERROR(write(r));
  }
  return Status::Ok();
}

}  // namespace

std::string_view FocusServiceCategory(std::string_view meter_family) {
  static constexpr std::pair<std::string_view, std::string_view> kMap[] = {
      {"Compute", "Compute"},       {"Network", "Networking"}, {"Storage", "Storage"},
      {"Managed Disks", "Storage"}, {"SQL", "Databases"},      {"MySQL", "Databases"},
      {"Key Vault", "Security"},    {"App Service", "Web"},
  };
  for (const auto& [family, category] : kMap) {
    if (family == meter_family) return category;
  }
  return "Other";
}

FocusCsvWriter::FocusCsvWriter(std::ostream& out, FocusOptions options,
                               const domain::MeterCatalog& catalog)
    : out_(out), options_(std::move(options)), catalog_(catalog) {}

Status FocusCsvWriter::WriteHeader() {
  record_.Clear();
  for (std::string_view column : kFocusColumns) record_.Field(column);
  record_.End();
  header_written_ = true;
  return WriteText(out_, record_.text());
}

Status FocusCsvWriter::WriteInvoice(const Invoice& invoice, const FocusInvoiceInfo& info) {
  if (options_.provider_name.empty() || options_.billing_account_id.empty()) {
    return InvalidArgument(
        "a FOCUS export needs a provider name and a billing account ID (both are never null)");
  }
  if (!header_written_) TALLY_RETURN_IF_ERROR(WriteHeader());

  const std::string period_start = FormatUtcTime(invoice.period.start());
  const std::string period_end = FormatUtcTime(invoice.period.end());
  const std::string invoice_id = info.invoice_id.empty()
                                     ? invoice.subscription_id + "/" + invoice.period.ToString()
                                     : std::string(info.invoice_id);
  const std::string term_service =
      invoice.offer_durable_id.empty() ? "Offer" : "Offer " + invoice.offer_durable_id;

  const RowWriter write = [&](const FocusRow& r) -> Status {
    CsvRecord& rec = record_;
    rec.Clear();
    rec.Field(r.billed_cost);
    rec.Field(options_.billing_account_id);
    FieldOrNull(rec, options_.billing_account_name);
    rec.Field(invoice.currency.code());
    rec.Field(period_end);
    rec.Field(period_start);
    rec.Field(r.charge_category);
    FieldOrNull(rec, r.charge_class);
    FieldOrNull(rec, r.charge_description);
    rec.Field(FormatUtcTime(r.charge_period_end));
    rec.Field(FormatUtcTime(r.charge_period_start));
    rec.Field(r.contracted_cost);
    rec.Field(r.effective_cost);
    rec.Field(options_.provider_name);  // InvoiceIssuerName
    rec.Field(r.list_cost);
    FieldOrNull(rec, r.pricing_quantity);
    FieldOrNull(rec, r.pricing_unit);
    rec.Field(options_.provider_name);  // ProviderName
    rec.Field(options_.provider_name);  // PublisherName
    rec.Field(r.service_category);
    rec.Field(r.service_name);
    rec.Field(r.charge_frequency);
    FieldOrNull(rec, r.consumed_quantity);
    FieldOrNull(rec, r.consumed_unit);
    FieldOrNull(rec, r.contracted_unit_price);
    rec.Field(invoice_id);
    FieldOrNull(rec, r.list_unit_price);
    FieldOrNull(rec, r.pricing_category);
    FieldOrNull(rec, options_.region_id);
    FieldOrNull(rec, options_.region_name);
    FieldOrNull(rec, r.sku_id);
    FieldOrNull(rec, r.sku_meter);
    FieldOrNull(rec, r.sku_price_id);
    rec.Field(invoice.subscription_id);
    FieldOrNull(rec, info.sub_account_name);
    rec.Field(r.line_kind);
    FieldOrNull(rec, r.adjusted_period);
    FieldOrNull(rec, r.unpriced_quantity);
    rec.End();
    return WriteText(out_, rec.text());
  };

  const pricing::TermPercents percents = pricing::TermPercentsOf(invoice);
  for (const InvoiceLine& line : invoice.lines) {
    FocusRow r;
    r.line_kind = pricing::LineKindName(line.kind);
    switch (line.kind) {
      case LineKind::kUsage:
      case LineKind::kAdjustment:
        TALLY_RETURN_IF_ERROR(WriteUsageRows(catalog_, invoice, line, percents, write));
        continue;
      case LineKind::kDiscount:
      case LineKind::kMarkup:
      case LineKind::kCommitmentDiscount:
        continue;  // folded into the usage and adjustment rows above
      case LineKind::kCredit:
        r.billed_cost = line.amount.FormatAmount();
        r.contracted_cost = r.effective_cost = r.list_cost = r.billed_cost;
        r.charge_category = "Credit";
        r.charge_frequency = "Recurring";
        r.charge_description = "Monetary credit: " + invoice.credit_used.FormatAmount() +
                               " used of " + invoice.credit_available.FormatAmount();
        r.service_category = "Other";
        r.service_name = term_service;
        r.charge_period_start = invoice.period.start();
        r.charge_period_end = invoice.period.end();
        break;
      case LineKind::kRecurringCharge:
        r.billed_cost = line.amount.FormatAmount();
        r.contracted_cost = r.effective_cost = r.list_cost = r.billed_cost;
        r.charge_category = "Purchase";
        r.charge_frequency = "Recurring";
        r.pricing_category = "Standard";
        r.pricing_quantity = "1";
        r.pricing_unit = "Month";
        // A purchase of one month at the offer's price: the offer term is the SKU.
        r.list_unit_price = r.contracted_unit_price = r.billed_cost;
        r.sku_id = r.sku_price_id = term_service + "/RecurringCharge";
        r.charge_description = "Recurring charge";
        r.service_category = "Other";
        r.service_name = term_service;
        r.charge_period_start = invoice.period.start();
        r.charge_period_end = invoice.period.end();
        break;
    }
    TALLY_RETURN_IF_ERROR(write(r));
  }
  return Status::Ok();
}

Status FocusCsvWriter::Finish() {
  if (!header_written_) TALLY_RETURN_IF_ERROR(WriteHeader());
  out_.flush();
  if (!out_) return Unavailable("writing the export failed (the output stream reported an error)");
  return Status::Ok();
}

}  // namespace tally::exports
