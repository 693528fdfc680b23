#include "billing/invoice_listing.h"

#include "billing/billing_export.h"
#include "common/json_writer.h"
#include "common/strings.h"

namespace tally::billing {

Result<store::InvoiceFilter> MakeInvoiceFilter(const InvoiceFilterText& text,
                                               std::string_view flag_prefix,
                                               std::string_view subscription_name) {
  std::string problems;
  auto problem = [&](std::string_view p) {
    if (!problems.empty()) problems.append("; ");
    problems.append(p);
  };
  store::InvoiceFilter filter;
  if (!text.period.empty()) {
    Result<pricing::BillingMonth> month = ParseBillingMonth(text.period, flag_prefix);
    if (month.ok()) {
      filter.period = month->ToString();
    } else {
      problem(month.status().message());
    }
  }
  if (!text.subscription.empty()) {
    if (IsGuid(text.subscription)) {
      filter.subscription_id = AsciiLower(text.subscription);
    } else {
      problem(std::string(subscription_name) + " '" + text.subscription + "' is not a GUID");
    }
  }
  if (text.status == "draft") {
    filter.status = store::InvoiceStatus::kDraft;
  } else if (text.status == "final") {
    filter.status = store::InvoiceStatus::kFinal;
  } else if (!text.status.empty()) {
    problem(std::string(flag_prefix) + "status must be draft or final");
  }
  if (!problems.empty()) return InvalidArgument(problems);
  return filter;
}

void AppendInvoiceHeaderJson(std::string& out, const store::StoredInvoice& inv) {
  JsonWriter w(out);
  w.BeginObject();
  w.Key("subscriptionId").String(inv.subscription_id);
  w.Key("period").String(inv.period);
  w.Key("timeZone").String(inv.time_zone);
  w.Key("offerDurableId").String(inv.offer_durable_id);
  w.Key("status").String(store::InvoiceStatusName(inv.status));
  w.Key("currency").String(inv.currency);
  w.Key("total").Raw(inv.total);
  w.Key("watermarkSeq").Raw(std::to_string(inv.watermark_seq));
  w.Key("created").Time(inv.created);
  w.Key("finalized");
  if (inv.finalized) {
    w.Time(*inv.finalized);
  } else {
    w.Null();
  }
  w.EndObject();
}

}  // namespace tally::billing
