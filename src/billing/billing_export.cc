#include "billing/billing_export.h"

#include <simdjson.h>

#include <algorithm>
#include <cstdlib>
#include <map>

#include "domain/meter.h"
#include "export/invoice_json.h"
#include "export/usage_summary_csv.h"

namespace tally::billing {
namespace {

// Aggregates read per store page: large enough to amortize the read, small enough that a
// page's memory does not matter.
constexpr size_t kExportPageSize = 1000;

// Splits an aggregate's instanceData into the fields of a Usagesummary row. Reuses its
// buffer, so a row costs no allocation once the buffer has grown.
class InstanceDataReader {
 public:
  Status Read(std::string_view instance_data, exports::UsageSummaryRow& row) {
    buffer_.assign(instance_data);
    buffer_.append(simdjson::SIMDJSON_PADDING, '\0');
    simdjson::ondemand::document doc;
    auto bad = [&] { return DataLoss("damaged instanceData: " + std::string(instance_data)); };
    if (parser_.iterate(buffer_.data(), instance_data.size(), buffer_.size()).get(doc) !=
        simdjson::SUCCESS) {
      return bad();
    }
    simdjson::ondemand::object resources;
    if (doc["Microsoft.Resources"].get_object().get(resources) != simdjson::SUCCESS) return bad();
    row.resource_uri = {};
    row.location = {};
    row.tags_json = {};
    row.additional_info_json = {};
    for (auto field : resources) {
      std::string_view key;
      if (field.unescaped_key().get(key) != simdjson::SUCCESS) return bad();
      simdjson::ondemand::value v;
      if (field.value().get(v) != simdjson::SUCCESS) return bad();
      if (key == "resourceUri" || key == "location") {
        std::string_view text;
        if (v.get_string().get(text) != simdjson::SUCCESS) return bad();
        // Unescaped text lives in the parser's buffer until the next document.
        (key == "resourceUri" ? row.resource_uri : row.location) = text;
      } else if (key == "tags" || key == "additionalInfo") {
        simdjson::ondemand::object obj;
        if (v.get_object().get(obj) != simdjson::SUCCESS) continue;  // null: absent
        std::string_view raw;
        if (obj.raw_json().get(raw) != simdjson::SUCCESS) return bad();
        (key == "tags" ? row.tags_json : row.additional_info_json) = raw;
      }
    }
    return Status::Ok();
  }

 private:
  simdjson::ondemand::parser parser_;
  std::string buffer_;
};

}  // namespace

std::string_view ExportFormatName(ExportFormat format) {
  switch (format) {
    case ExportFormat::kUsageSummary:
      return "usage-summary";
    case ExportFormat::kFocus:
      return "focus";
    case ExportFormat::kJsonLines:
      return "jsonl";
  }
  return "jsonl";
}

std::string DefaultTimeZoneName() {
  const char* env = std::getenv("TALLY_TIME_ZONE");
  return env != nullptr && *env != '\0' ? env : "UTC";
}

Result<pricing::TimeZone> LoadBillingTimeZone(std::string_view name, std::string_view flag_prefix) {
  const std::string chosen = name.empty() ? DefaultTimeZoneName() : std::string(name);
  auto zone = pricing::TimeZone::Load(chosen);
  if (!zone.ok()) {
    return InvalidArgument(std::string(flag_prefix) + "time-zone: " + zone.status().message());
  }
  return *zone;
}

Result<pricing::BillingMonth> ParseBillingMonth(std::string_view text,
                                                std::string_view flag_prefix) {
  auto m = pricing::BillingMonth::Parse(text);
  if (!m.ok()) {
    return InvalidArgument(std::string(flag_prefix) + "period '" + std::string(text) +
                           "' is not a month YYYY-MM");
  }
  return *m;
}

Result<ExportRequest> MakeExportRequest(const ExportParameters& p, std::string_view flag_prefix) {
  const std::string f(flag_prefix);
  std::string problems;
  auto problem = [&](std::string_view text) {
    if (!problems.empty()) problems.append("; ");
    problems.append(text);
  };
  ExportRequest out;
  if (p.format == "usage-summary") {
    out.format = ExportFormat::kUsageSummary;
  } else if (p.format == "focus") {
    out.format = ExportFormat::kFocus;
  } else if (p.format == "jsonl") {
    out.format = ExportFormat::kJsonLines;
  } else {
    problem(f + "format must be usage-summary, focus or jsonl");
  }
  const bool focus = p.format == "focus";
  const bool by_period = !p.period.empty();
  const bool by_window = !p.from.empty() || !p.to.empty();
  if (by_period == by_window) {
    problem("give either " + f + "period or both " + f + "from and " + f + "to");
  }
  if (by_window && (p.from.empty() || p.to.empty())) {
    problem(f + "from and " + f + "to go together");
  }
  if (focus && !by_period) problem(f + "format focus exports invoices: it needs " + f + "period");
  if (focus && p.provider_name.empty()) problem(f + "format focus needs " + f + "provider-name");
  if (focus && p.billing_account_id.empty()) {
    problem(f + "format focus needs " + f + "billing-account-id");
  }
  Result<domain::Granularity> granularity = domain::ParseGranularity(p.granularity);
  if (granularity.ok()) {
    out.granularity = *granularity;
  } else {
    problem(f + "granularity must be Hourly or Daily");
  }
  if (by_period) {
    auto m = ParseBillingMonth(p.period, flag_prefix);
    auto zone = LoadBillingTimeZone(p.time_zone, flag_prefix);
    if (!m.ok()) problem(m.status().message());
    if (!zone.ok()) problem(zone.status().message());
    if (m.ok() && zone.ok()) {
      auto period = pricing::BillingPeriod::Make(*m, *zone);
      if (!period.ok()) {
        problem(period.status().message());
      } else {
        out.month = *m;
        out.from = period->start();
        out.to = period->end();
      }
    }
  } else if (by_window && !p.from.empty() && !p.to.empty()) {
    auto from = ParseUtcTime(p.from);
    auto to = ParseUtcTime(p.to);
    if (!from.ok()) problem(f + "from: " + from.status().message());
    if (!to.ok()) problem(f + "to: " + to.status().message());
    if (from.ok() && to.ok()) {
      out.from = *from;
      out.to = *to;
      if (!(out.from < out.to)) problem(f + "to must be after " + f + "from");
    }
  }
  if (!problems.empty()) return InvalidArgument(problems);
  out.focus = exports::FocusOptions{p.provider_name, p.billing_account_id, p.billing_account_name,
                                    p.region_id, p.region_name};
  return out;
}

Result<ExportJob> ExportJob::Prepare(store::UsageStore& store, const BillingService& billing,
                                     ExportRequest request) {
  ExportJob job(store, billing, std::move(request));
  if (job.request_.subscription_ids) {
    std::sort(job.request_.subscription_ids->begin(), job.request_.subscription_ids->end());
  }
  const auto exported = [&](const std::string& id) {
    const auto& ids = job.request_.subscription_ids;
    return !ids || std::binary_search(ids->begin(), ids->end(), id);
  };
  TALLY_ASSIGN_OR_RETURN(std::vector<domain::Subscription> subs, store.ListSubscriptions());
  for (domain::Subscription& s : subs) {
    if (exported(s.id)) job.subscriptions_.push_back(std::move(s));
  }
  std::sort(job.subscriptions_.begin(), job.subscriptions_.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  if (job.request_.format == ExportFormat::kFocus) {
    // The period's final invoices: the export reconciles to what was finalized, not to a
    // recomputation.
    store::InvoiceFilter filter;
    filter.period = job.request_.month->ToString();
    TALLY_ASSIGN_OR_RETURN(std::vector<store::StoredInvoice> invoices,
                           job.billing_.ListInvoices(filter));
    for (store::StoredInvoice& header : invoices) {
      if (!exported(header.subscription_id)) continue;
      if (header.status != store::InvoiceStatus::kFinal) {
        ++job.drafts_skipped_;
        continue;
      }
      header.json.clear();  // read again, one at a time, while writing
      header.csv.clear();
      header.html.clear();
      job.final_invoices_.push_back(std::move(header));
    }
  }
  return job;
}

Status ExportJob::Write(std::ostream& out) {
  Status status = request_.format == ExportFormat::kFocus ? WriteFocus(out) : WriteUsage(out);
  if (status.ok()) {
    out.flush();
    if (!out) status = Unavailable("cannot write the export");
  }
  return status;
}

Status ExportJob::WriteFocus(std::ostream& out) {
  std::map<std::string, std::string, std::less<>> names;
  for (const domain::Subscription& s : subscriptions_) names[s.id] = s.display_name;
  exports::FocusCsvWriter writer(out, request_.focus, domain::MeterCatalog::Builtin());
  for (const store::StoredInvoice& header : final_invoices_) {
    TALLY_ASSIGN_OR_RETURN(store::StoredInvoice stored,
                           billing_.GetInvoice(header.subscription_id, header.period));
    auto invoice = exports::ParseInvoiceJson(stored.json);
    if (!invoice.ok()) {
      return DataLoss("invoice " + header.subscription_id + " " + header.period +
                      " is damaged: " + invoice.status().message());
    }
    TALLY_RETURN_IF_ERROR(writer.WriteInvoice(*invoice, {"", names[header.subscription_id]}));
    ++rows_written_;
  }
  return writer.Finish();
}

Status ExportJob::WriteUsage(std::ostream& out) {
  std::map<std::string, std::string, std::less<>> owners;
  store::AggregateQuery q;
  for (const domain::Subscription& s : subscriptions_) {
    owners[s.id] = s.owner;
    q.subscription_ids.push_back(s.id);
  }
  q.reported_from = ReportedTime(request_.from);
  q.reported_to = ReportedTime(request_.to);
  q.granularity = request_.granularity;
  q.limit = kExportPageSize;

  const bool jsonl = request_.format == ExportFormat::kJsonLines;
  exports::UsageSummaryCsvWriter summary(out, domain::MeterCatalog::Builtin());
  InstanceDataReader reader;
  std::string line;
  std::string_view owner_of, owner;  // the last row's subscription and its owner
  // An export of no subscription reads nothing (an empty query selects nothing anyway).
  while (!q.subscription_ids.empty()) {
    TALLY_ASSIGN_OR_RETURN(store::AggregatePage page, store_->AggregateUsage(q));
    for (const domain::UsageAggregate& a : page.rows) {
      ++rows_written_;
      if (jsonl) {
        line.clear();
        domain::AppendAggregatePropertiesJson(line, a);
        line.push_back('\n');
        out << line;
        continue;
      }
      exports::UsageSummaryRow row;
      TALLY_RETURN_IF_ERROR(reader.Read(a.instance_data, row));
      row.subscription_id = a.subscription_id;
      if (a.subscription_id != owner_of) {  // pages come subscription by subscription
        auto it = owners.find(a.subscription_id);
        owner_of = it == owners.end() ? std::string_view() : std::string_view(it->first);
        owner = it == owners.end() ? std::string_view() : std::string_view(it->second);
      }
      row.subscription_owner = owner;
      row.usage_start = a.usage_start;
      row.usage_end = a.usage_end;
      row.meter_id = a.meter_id;
      row.quantity = a.quantity;
      TALLY_RETURN_IF_ERROR(summary.WriteRow(row));
    }
    if (!out) return Unavailable("cannot write the export");
    if (!page.has_more || page.rows.empty()) break;
    q.after = page.rows.back().key.ToKey();
    q.as_of_seq = page.as_of_seq;
  }
  if (!jsonl) return summary.Finish();
  return Status::Ok();
}

}  // namespace tally::billing
