#include "export/invoice_format.h"

#include "common/json_writer.h"
#include "common/time.h"
#include "export/csv.h"

namespace tally::exports {
namespace {

using pricing::Invoice;
using pricing::InvoiceLine;
using pricing::LineKind;

bool IsMeterLine(const InvoiceLine& line) {
  return line.kind == LineKind::kUsage || line.kind == LineKind::kAdjustment;
}

bool HasPercent(const InvoiceLine& line) {
  return line.kind == LineKind::kDiscount || line.kind == LineKind::kMarkup ||
         line.kind == LineKind::kCommitmentDiscount;
}

// Money already rounded by the invoice prints exactly its minor-unit digits; FormatAmount
// never drops digits, so an unrounded amount (a bug upstream) would show, not hide.
std::string Amount(const pricing::Money& m) { return m.FormatAmount(); }

void AppendTierJson(JsonWriter& w, const pricing::TierCharge& t) {
  w.BeginObject();
  w.Key("effectiveDate").Time(t.effective_date);
  w.Key("threshold").Number(t.threshold);
  w.Key("nextThreshold");
  if (t.next_threshold) {
    w.Number(*t.next_threshold);
  } else {
    w.Null();
  }
  w.Key("from").Number(t.from);
  w.Key("to").Number(t.to);
  w.Key("quantity").Number(t.quantity);
  w.Key("unitPrice").Number(t.unit_price);
  w.Key("amount").Raw(t.amount.ToString());
  w.EndObject();
}

void AppendLineJson(JsonWriter& w, const InvoiceLine& line) {
  w.BeginObject();
  w.Key("kind").String(pricing::LineKindName(line.kind));
  if (IsMeterLine(line)) {
    w.Key("meterId").String(line.meter_id);
    w.Key("meterName").String(line.meter_name);
    w.Key("unit").String(line.unit);
    if (line.adjusted_period) w.Key("adjustedPeriod").String(line.adjusted_period->ToString());
    const pricing::MeterRating& r = line.rating;
    w.Key("quantity").Number(r.quantity);
    w.Key("includedQuantity").Number(r.included_quantity);
    w.Key("billableQuantity").Number(r.billable_quantity);
    w.Key("unpricedQuantity").Number(r.unpriced_quantity);
    w.Key("startPosition").Number(r.start_position);
    w.Key("tiers").BeginArray();
    for (const pricing::TierCharge& t : r.tiers) AppendTierJson(w, t);
    w.EndArray();
    w.Key("unroundedAmount").Raw(line.unrounded_amount.ToString());
    w.Key("amount").Raw(Amount(line.amount));
    w.Key("adjustment").Raw(Amount(line.adjustment));
    w.Key("commitmentDiscount").Raw(Amount(line.commitment_discount));
    w.Key("net").Raw(Amount(line.net));
    w.Key("commitmentEligible").Bool(line.commitment_eligible);
    w.Key("creditEligible").Bool(line.credit_eligible);
  } else {
    if (HasPercent(line)) w.Key("percent").Number(line.percent);
    w.Key("amount").Raw(Amount(line.amount));
  }
  w.EndObject();
}

}  // namespace

void AppendInvoiceJson(std::string& out, const Invoice& invoice) {
  JsonWriter w(out);
  w.BeginObject();
  w.Key("subscriptionId").String(invoice.subscription_id);
  w.Key("offerDurableId").String(invoice.offer_durable_id);
  w.Key("period").String(invoice.period.ToString());
  w.Key("timeZone").String(invoice.period.zone().name());
  w.Key("periodStart").Time(invoice.period.start());
  w.Key("periodEnd").Time(invoice.period.end());
  w.Key("currency").String(invoice.currency.code());
  w.Key("lines").BeginArray();
  for (const InvoiceLine& line : invoice.lines) AppendLineJson(w, line);
  w.EndArray();
  w.Key("usageAmount").Raw(Amount(invoice.usage_amount));
  w.Key("creditAvailable").Raw(Amount(invoice.credit_available));
  w.Key("creditUsed").Raw(Amount(invoice.credit_used));
  w.Key("hasUnpricedUsage").Bool(invoice.HasUnpricedUsage());
  w.Key("total").Raw(Amount(invoice.total));
  w.EndObject();
}

Status WriteInvoiceCsv(std::ostream& out, const Invoice& invoice) {
  CsvRecord rec(CsvQuoting::kAsNeeded);
  for (std::string_view column : kInvoiceCsvColumns) rec.Field(column);
  rec.End();
  TALLY_RETURN_IF_ERROR(WriteText(out, rec.text()));
  const std::string period = invoice.period.ToString();
  for (const InvoiceLine& line : invoice.lines) {
    rec.Clear();
    rec.Field(invoice.subscription_id).Field(period).Field(invoice.currency.code());
    rec.Field(pricing::LineKindName(line.kind));
    const bool meter_line = IsMeterLine(line);
    if (meter_line) {
      rec.Field(line.meter_id).Field(line.meter_name).Field(line.unit);
      if (line.adjusted_period) {
        rec.Field(line.adjusted_period->ToString());
      } else {
        rec.Null();
      }
      rec.Field(line.rating.quantity.ToString())
          .Field(line.rating.included_quantity.ToString())
          .Field(line.rating.billable_quantity.ToString())
          .Field(line.rating.unpriced_quantity.ToString())
          .Field(line.unrounded_amount.ToString());
    } else {
      for (int i = 0; i < 9; ++i) rec.Null();
    }
    rec.Field(Amount(line.amount));
    if (HasPercent(line)) {
      rec.Field(line.percent.ToString());
    } else {
      rec.Null();
    }
    if (meter_line) {
      rec.Field(Amount(line.adjustment))
          .Field(Amount(line.commitment_discount))
          .Field(Amount(line.net));
    } else {
      rec.Null().Null().Null();
    }
    rec.End();
    TALLY_RETURN_IF_ERROR(WriteText(out, rec.text()));
  }
  out.flush();
  if (!out) return Unavailable("writing the export failed (the output stream reported an error)");
  return Status::Ok();
}

void AppendHtmlEscaped(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '&':
        out.append("&amp;");
        break;
      case '<':
        out.append("&lt;");
        break;
      case '>':
        out.append("&gt;");
        break;
      case '"':
        out.append("&quot;");
        break;
      case '\'':
        out.append("&#39;");
        break;
      default:
        out.push_back(c);
    }
  }
}

namespace {

class Html {
 public:
  explicit Html(std::string& out) : out_(out) {}
  Html& Raw(std::string_view markup) {
    out_.append(markup);
    return *this;
  }
  Html& Text(std::string_view text) {
    AppendHtmlEscaped(out_, text);
    return *this;
  }
  // <tag class="cls">text</tag>
  Html& Cell(std::string_view tag, std::string_view cls, std::string_view text) {
    out_.append("<").append(tag);
    if (!cls.empty()) out_.append(" class=\"").append(cls).append("\"");
    out_.append(">");
    Text(text);
    out_.append("</").append(tag).append(">");
    return *this;
  }

 private:
  std::string& out_;
};

constexpr std::string_view kStyle =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;"
    "color:#222;margin:2em auto;max-width:60em;padding:0 1em;font-size:11pt}"
    "h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.1em;margin:1.5em 0 .3em}"
    "table{border-collapse:collapse;width:100%;margin:.3em 0}"
    "th,td{padding:.25em .5em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}"
    "th{background:#f4f4f4}.num{text-align:right;font-variant-numeric:tabular-nums;"
    "white-space:nowrap}dl{display:grid;grid-template-columns:max-content auto;gap:.1em 1em}"
    "dt{font-weight:600}dd{margin:0}tr.total td{font-weight:700;border-top:2px solid #222}"
    ".note{color:#666;font-size:.9em}"
    "@media print{body{margin:0;max-width:none}section{break-inside:avoid}"
    "th{background:none}}";

std::string LineTitle(const InvoiceLine& line) {
  std::string title(pricing::LineKindName(line.kind));
  if (line.adjusted_period) title += " for " + line.adjusted_period->ToString();
  if (IsMeterLine(line)) {
    title += ": ";
    title += line.meter_name.empty() ? line.meter_id : line.meter_name + " (" + line.meter_id + ")";
  } else if (HasPercent(line)) {
    title += " " + line.percent.ToString() + "%";
  }
  return title;
}

void AppendMeterSection(Html& h, const InvoiceLine& line, std::string_view currency) {
  h.Raw("<section>").Cell("h2", "", LineTitle(line));
  const pricing::MeterRating& r = line.rating;
  h.Raw("<dl>");
  h.Cell("dt", "", "Unit").Cell("dd", "", line.unit);
  h.Cell("dt", "", "Quantity").Cell("dd", "num", r.quantity.ToString());
  h.Cell("dt", "", "Included").Cell("dd", "num", r.included_quantity.ToString());
  h.Cell("dt", "", "Billable").Cell("dd", "num", r.billable_quantity.ToString());
  if (!r.unpriced_quantity.is_zero()) {
    h.Cell("dt", "", "Unpriced (no rate in force)")
        .Cell("dd", "num", r.unpriced_quantity.ToString());
  }
  if (!r.start_position.is_zero()) {
    h.Cell("dt", "", "Already billed before").Cell("dd", "num", r.start_position.ToString());
  }
  h.Raw("</dl>");
  if (!r.tiers.empty()) {
    h.Raw("<table><thead><tr>");
    for (std::string_view c :
         {"Price from", "Tier", "Positions", "Quantity", "Unit price", "Amount"}) {
      h.Cell("th", "", c);
    }
    h.Raw("</tr></thead><tbody>");
    for (const pricing::TierCharge& t : r.tiers) {
      h.Raw("<tr>").Cell("td", "", FormatUtcTime(t.effective_date));
      h.Cell("td", "num", t.threshold.ToString());
      h.Cell("td", "num", t.from.ToString() + " to " + t.to.ToString());
      h.Cell("td", "num", t.quantity.ToString());
      h.Cell("td", "num", t.unit_price.ToString());
      h.Cell("td", "num", t.amount.ToString()).Raw("</tr>");
    }
    h.Raw("</tbody></table>");
  }
  h.Raw("<table><tbody>");
  const std::string cur(currency);
  h.Raw("<tr>").Cell("td", "", "Amount (exact " + line.unrounded_amount.ToString() + ")");
  h.Cell("td", "num", Amount(line.amount) + " " + cur).Raw("</tr>");
  h.Raw("<tr>").Cell("td", "", "Discount or markup share");
  h.Cell("td", "num", Amount(line.adjustment) + " " + cur).Raw("</tr>");
  h.Raw("<tr>").Cell(
      "td", "",
      line.commitment_eligible ? "Commitment discount share" : "Commitment discount (excluded)");
  h.Cell("td", "num", Amount(line.commitment_discount) + " " + cur).Raw("</tr>");
  h.Raw("<tr>").Cell(
      "td", "",
      line.credit_eligible ? "Net (payable by the credit)" : "Net (excluded from the credit)");
  h.Cell("td", "num", Amount(line.net) + " " + cur).Raw("</tr>");
  h.Raw("</tbody></table></section>");
}

}  // namespace

void AppendInvoiceHtml(std::string& out, const Invoice& invoice) {
  Html h(out);
  const std::string period = invoice.period.ToString();
  const std::string cur(invoice.currency.code());
  h.Raw("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
  h.Raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
  h.Cell("title", "", "Invoice " + invoice.subscription_id + " " + period);
  h.Raw("<style>").Raw(kStyle).Raw("</style></head><body>\n");
  h.Cell("h1", "", "Invoice for " + period);
  h.Raw("<dl>");
  h.Cell("dt", "", "Subscription").Cell("dd", "", invoice.subscription_id);
  h.Cell("dt", "", "Offer").Cell("dd", "", invoice.offer_durable_id);
  h.Cell("dt", "", "Billing period")
      .Cell("dd", "",
            FormatUtcTime(invoice.period.start()) + " to " + FormatUtcTime(invoice.period.end()) +
                " (" + invoice.period.zone().name() + ", end exclusive)");
  h.Cell("dt", "", "Currency").Cell("dd", "", cur);
  h.Raw("</dl>\n");
  if (invoice.HasUnpricedUsage()) {
    h.Cell("p", "note", "Some usage had no price in force and is charged 0.");
  }

  h.Cell("h2", "", "Summary");
  h.Raw("<table><thead><tr>").Cell("th", "", "Line").Cell("th", "num", "Amount");
  h.Raw("</tr></thead><tbody>\n");
  for (const InvoiceLine& line : invoice.lines) {
    h.Raw("<tr>").Cell("td", "", LineTitle(line));
    h.Cell("td", "num", Amount(line.amount) + " " + cur).Raw("</tr>\n");
  }
  h.Raw("<tr class=\"total\">").Cell("td", "", "Total");
  h.Cell("td", "num", Amount(invoice.total) + " " + cur).Raw("</tr>\n</tbody></table>\n");
  if (!invoice.credit_available.amount().is_zero()) {
    h.Cell("p", "note",
           "Credit available " + Amount(invoice.credit_available) + " " + cur + ", used " +
               Amount(invoice.credit_used) + " " + cur + ".");
  }

  bool details = false;
  for (const InvoiceLine& line : invoice.lines) {
    if (!IsMeterLine(line)) continue;
    if (!details) h.Cell("h2", "", "Details");
    details = true;
    AppendMeterSection(h, line, cur);
    h.Raw("\n");
  }
  h.Raw("</body></html>\n");
}

}  // namespace tally::exports
