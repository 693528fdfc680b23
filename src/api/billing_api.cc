// Invoices and billing exports over HTTP (docs/http-api.md), thin adapters over
// billing::BillingService and billing::ExportJob, the same calls `tally invoices` and
// `tally export` make:
//   GET  /v1/invoices[?period=YYYY-MM][&subscriptionId=][&status=draft|final]
//   GET  /v1/subscriptions/{subscriptionId}/invoices/{period}[?format=json|csv|html]
//   POST /v1/invoices/run?period=YYYY-MM[&time-zone=]      (Default Provider operator keys)
//   POST /v1/invoices/finalize?period=YYYY-MM              (Default Provider operator keys)
//   GET  /v1/exports/{usage-summary|focus|jsonl}?period=|from=&to=[&...]   streamed
// Who sees what: a tenant key its own subscriptions; an operator key the provider it acts for
// and that provider's direct tenants (as on the operator usage API); a reporter key nothing.
// A subscription the caller may not read gets the same 403 whether or not it exists.
#include <algorithm>
#include <memory>
#include <string>

#include "api/api_service.h"
#include "api/auth.h"
#include "api/body_stream.h"
#include "api/errors.h"
#include "api/query_string.h"
#include "billing/billing_export.h"
#include "billing/billing_service.h"
#include "billing/invoice_listing.h"
#include "common/json_writer.h"
#include "common/strings.h"

namespace tally::api {
namespace {

constexpr std::string_view kBadParameter = "InvalidQueryParameterValue";
constexpr std::string_view kCsvContentType = "text/csv; charset=utf-8";

HttpResponse Forbidden(std::string_view what, std::string_view subscription_id) {
  return ErrorResponse(PermissionDenied("the client is not authorized to read " +
                                        std::string(what) + " of subscription '" +
                                        std::string(subscription_id) + "'"));
}

HttpResponse BadParameter(const Status& status) { return ErrorResponse(status, kBadParameter); }

// The value of query parameter `name` ("" when absent); a repeated parameter is an error.
std::string Param(const QueryString& q, std::string_view name, std::string& problems) {
  if (q.IsRepeated(name)) {
    if (!problems.empty()) problems.append("; ");
    problems.append("the query parameter " + std::string(name) + " is given more than once");
  }
  return q.Find(name).value_or("");
}

bool Contains(const std::vector<std::string>& sorted, const std::string& id) {
  return std::binary_search(sorted.begin(), sorted.end(), id);
}

// The report lists name only subscriptions the key may read (`shown`); the others are counted.
struct Shown {
  const std::vector<std::string>& readable;
  size_t hidden = 0;
  bool operator()(const std::string& id) {
    if (std::binary_search(readable.begin(), readable.end(), id)) return true;
    ++hidden;
    return false;
  }
};

void AppendSummaries(JsonWriter& w, const std::vector<billing::InvoiceSummary>& invoices,
                     Shown& shown) {
  w.BeginArray();
  for (const billing::InvoiceSummary& s : invoices) {
    if (!shown(s.subscription_id)) continue;
    w.BeginObject();
    w.Key("subscriptionId").String(s.subscription_id);
    w.Key("period").String(s.period);
    w.Key("currency").String(s.currency);
    w.Key("total").Raw(s.total.empty() ? "null" : s.total);
    w.Key("adjustmentLines").Int(static_cast<int64_t>(s.adjustment_lines));
    w.Key("hasUnpricedUsage").Bool(s.has_unpriced_usage);
    w.EndObject();
  }
  w.EndArray();
}

void AppendStrings(JsonWriter& w, const std::vector<std::string>& values, Shown& shown) {
  w.BeginArray();
  for (const std::string& v : values) {
    if (shown(v)) w.String(v);
  }
  w.EndArray();
}

void AppendProblems(JsonWriter& w, const std::vector<billing::SubscriptionProblem>& problems,
                    Shown& shown) {
  w.BeginArray();
  for (const billing::SubscriptionProblem& p : problems) {
    if (!shown(p.subscription_id)) continue;
    w.BeginObject();
    w.Key("subscriptionId").String(p.subscription_id);
    w.Key("problem").String(p.problem);
    w.EndObject();
  }
  w.EndArray();
}

}  // namespace

void ApiService::AddBillingRoutes() {
  router_.Add(Method::kGet, "/v1/invoices",
              [this](const HttpRequest& r, const PathParams&) { return ListInvoices(r); });
  router_.Add(Method::kPost, "/v1/invoices/run",
              [this](const HttpRequest& r, const PathParams&) { return RunInvoices(r, false); });
  router_.Add(Method::kPost, "/v1/invoices/finalize",
              [this](const HttpRequest& r, const PathParams&) { return RunInvoices(r, true); });
  router_.Add(Method::kGet, "/v1/subscriptions/{subscriptionId}/invoices/{period}",
              [this](const HttpRequest& r, const PathParams& p) { return GetInvoice(r, p); });
  router_.Add(Method::kGet, "/v1/exports/{format}",
              [this](const HttpRequest& r, const PathParams& p) { return GetExport(r, p); });
}

HttpResponse ApiService::ListInvoices(const HttpRequest& request) const {
  Result<domain::ApiKey> key = AuthenticateBearer(store_, request);
  if (!key.ok()) return ErrorResponse(key.status());
  if (key->role == domain::Role::kReporter) {
    return ErrorResponse(PermissionDenied("reporter keys cannot read invoices"));
  }
  Result<QueryString> q = QueryString::Parse(request.RawQuery());
  if (!q.ok()) return BadParameter(q.status());
  std::string problems;
  billing::InvoiceFilterText text;
  text.period = Param(*q, "period", problems);
  text.subscription = Param(*q, "subscriptionId", problems);
  text.status = Param(*q, "status", problems);
  if (!problems.empty()) return BadParameter(InvalidArgument(problems));
  Result<store::InvoiceFilter> filter = billing::MakeInvoiceFilter(text, "", "subscriptionId");
  if (!filter.ok()) return BadParameter(filter.status());

  Result<std::vector<std::string>> readable = ReadableSubscriptions(store_, *key);
  if (!readable.ok()) return ErrorResponse(readable.status());
  if (!filter->subscription_id.empty() && !Contains(*readable, filter->subscription_id)) {
    return Forbidden("invoices", filter->subscription_id);
  }
  Result<billing::BillingService> billing = billing::BillingService::Make(store_, clock_);
  if (!billing.ok()) return ErrorResponse(Internal(billing.status().message()));
  Result<std::vector<store::StoredInvoice>> invoices = billing->ListInvoices(*filter);
  if (!invoices.ok()) return ErrorResponse(invoices.status());

  HttpResponse r;
  r.body = R"({"value":[)";
  bool first = true;
  for (const store::StoredInvoice& inv : *invoices) {
    if (!Contains(*readable, inv.subscription_id)) continue;
    if (!first) r.body.push_back(',');
    first = false;
    billing::AppendInvoiceHeaderJson(r.body, inv);
  }
  r.body.append("]}");
  return r;
}

HttpResponse ApiService::GetInvoice(const HttpRequest& request, const PathParams& params) const {
  Result<domain::ApiKey> key = AuthenticateBearer(store_, request);
  if (!key.ok()) return ErrorResponse(key.status());
  const std::string subscription_id = AsciiLower(params.Get("subscriptionId"));
  Result<bool> allowed = MayReadSubscription(store_, *key, subscription_id);
  if (!allowed.ok()) return ErrorResponse(allowed.status());
  if (!*allowed) return Forbidden("invoices", subscription_id);

  Result<QueryString> q = QueryString::Parse(request.RawQuery());
  if (!q.ok()) return BadParameter(q.status());
  std::string problems;
  std::string format = Param(*q, "format", problems);
  if (format.empty()) format = "json";
  if (format != "json" && format != "csv" && format != "html") {
    if (!problems.empty()) problems.append("; ");
    problems.append("format must be json, csv or html");
  }
  if (!IsGuid(subscription_id)) {
    if (!problems.empty()) problems.append("; ");
    problems.append("subscriptionId '" + subscription_id + "' is not a GUID");
  }
  Result<pricing::BillingMonth> month = billing::ParseBillingMonth(params.Get("period"), "");
  if (!month.ok()) {
    if (!problems.empty()) problems.append("; ");
    problems.append(month.status().message());
  }
  if (!problems.empty()) return BadParameter(InvalidArgument(problems));

  Result<billing::BillingService> billing = billing::BillingService::Make(store_, clock_);
  if (!billing.ok()) return ErrorResponse(Internal(billing.status().message()));
  Result<store::StoredInvoice> inv = billing->GetInvoice(subscription_id, month->ToString());
  if (!inv.ok()) {
    if (inv.status().code() == StatusCode::kNotFound) {
      return ErrorResponse(NotFound("subscription '" + subscription_id + "' has no invoice for " +
                                    month->ToString()),
                           "InvoiceNotFound");
    }
    return ErrorResponse(inv.status());
  }
  // The same bytes `tally invoices show --format F` prints.
  HttpResponse r;
  const std::string name = "invoice-" + subscription_id + "-" + month->ToString() + "." + format;
  if (format == "json") {
    r.body = std::move(inv->json);
    r.body.push_back('\n');
    r.AddHeader("Content-Disposition", "inline; filename=\"" + name + "\"");
  } else if (format == "csv") {
    r.body = std::move(inv->csv);
    r.content_type = kCsvContentType;
    r.AddHeader("Content-Disposition", "attachment; filename=\"" + name + "\"");
  } else {
    r.body = std::move(inv->html);
    r.content_type = "text/html; charset=utf-8";
    r.AddHeader("Content-Disposition", "inline; filename=\"" + name + "\"");
  }
  return r;
}

HttpResponse ApiService::RunInvoices(const HttpRequest& request, bool finalize) const {
  Result<domain::ApiKey> key = AuthenticateBearer(store_, request);
  if (!key.ok()) return ErrorResponse(key.status());
  // Runs and finalizations cover every subscription of the data directory, so only the
  // operator of the Default Provider Subscription may start them.
  if (key->role != domain::Role::kOperator || !key->subscriptions.empty()) {
    return ErrorResponse(PermissionDenied(
        std::string("only operator keys of the Default Provider Subscription may ") +
        (finalize ? "finalize" : "run") + " invoices"));
  }
  Result<QueryString> q = QueryString::Parse(request.RawQuery());
  if (!q.ok()) return BadParameter(q.status());
  std::string problems;
  const std::string period = Param(*q, "period", problems);
  const std::string zone_name = Param(*q, "time-zone", problems);
  if (period.empty()) {
    if (!problems.empty()) problems.append("; ");
    problems.append("the query parameter period (YYYY-MM) is required");
  }
  Result<pricing::BillingMonth> month = billing::ParseBillingMonth(period, "");
  if (!period.empty() && !month.ok()) {
    if (!problems.empty()) problems.append("; ");
    problems.append(month.status().message());
  }
  Result<pricing::TimeZone> zone = billing::LoadBillingTimeZone(zone_name, "");
  if (finalize && !zone_name.empty()) {
    if (!problems.empty()) problems.append("; ");
    problems.append("time-zone is for runs only: finalize keeps the zone of the drafts");
  } else if (!zone.ok()) {
    if (!problems.empty()) problems.append("; ");
    problems.append(zone.status().message());
  }
  if (!problems.empty()) return BadParameter(InvalidArgument(problems));

  // Even this operator reads only its provider and its direct tenants: the report does not
  // name the delegated providers' tenants (their invoices are made all the same).
  Result<std::vector<std::string>> readable = ReadableSubscriptions(store_, *key);
  if (!readable.ok()) return ErrorResponse(readable.status());
  Shown shown{*readable};
  Result<billing::BillingService> billing = billing::BillingService::Make(store_, clock_);
  if (!billing.ok()) return ErrorResponse(Internal(billing.status().message()));
  HttpResponse r;
  JsonWriter w(r.body);
  w.BeginObject();
  if (finalize) {
    Result<billing::FinalizeReport> report = billing->FinalizeInvoices(*month);
    if (!report.ok()) return ErrorResponse(report.status());
    w.Key("period").String(report->period);
    w.Key("finalized");
    AppendSummaries(w, report->finalized, shown);
    w.Key("alreadyFinal");
    AppendStrings(w, report->already_final, shown);
    w.Key("failed");
    AppendProblems(w, report->failed, shown);
  } else {
    Result<billing::RunReport> report = billing->RunInvoices(*month, *zone);
    if (!report.ok()) return ErrorResponse(report.status());
    w.Key("period").String(report->period);
    w.Key("timeZone").String(report->time_zone);
    w.Key("watermarkSeq").Int(static_cast<int64_t>(report->watermark_seq));
    w.Key("drafted");
    AppendSummaries(w, report->drafted, shown);
    w.Key("alreadyFinal");
    AppendStrings(w, report->already_final, shown);
    w.Key("withoutOffer");
    AppendStrings(w, report->without_offer, shown);
    w.Key("failed");
    AppendProblems(w, report->failed, shown);
  }
  w.Key("otherSubscriptions").Int(static_cast<int64_t>(shown.hidden));
  w.EndObject();
  return r;
}

HttpResponse ApiService::GetExport(const HttpRequest& request, const PathParams& params) const {
  Result<domain::ApiKey> key = AuthenticateBearer(store_, request);
  if (!key.ok()) return ErrorResponse(key.status());
  if (key->role == domain::Role::kReporter) {
    return ErrorResponse(PermissionDenied("reporter keys cannot read billing exports"));
  }
  Result<QueryString> q = QueryString::Parse(request.RawQuery());
  if (!q.ok()) return BadParameter(q.status());
  std::string problems;
  billing::ExportParameters p;
  p.format = std::string(params.Get("format"));
  p.period = Param(*q, "period", problems);
  p.from = Param(*q, "from", problems);
  p.to = Param(*q, "to", problems);
  p.time_zone = Param(*q, "time-zone", problems);
  p.granularity = Param(*q, "granularity", problems);
  if (p.granularity.empty()) p.granularity = "Daily";
  p.provider_name = Param(*q, "provider-name", problems);
  p.billing_account_id = Param(*q, "billing-account-id", problems);
  p.billing_account_name = Param(*q, "billing-account-name", problems);
  p.region_id = Param(*q, "region-id", problems);
  p.region_name = Param(*q, "region-name", problems);
  const std::string subscription = Param(*q, "subscriptionId", problems);
  if (!subscription.empty() && !IsGuid(subscription)) {
    if (!problems.empty()) problems.append("; ");
    problems.append("subscriptionId '" + subscription + "' is not a GUID");
  }
  Result<billing::ExportRequest> export_request = billing::MakeExportRequest(p, "");
  if (!export_request.ok()) {
    if (!problems.empty()) problems.append("; ");
    problems.append(export_request.status().message());
  }
  if (!problems.empty()) return BadParameter(InvalidArgument(problems));

  Result<std::vector<std::string>> readable = ReadableSubscriptions(store_, *key);
  if (!readable.ok()) return ErrorResponse(readable.status());
  if (!subscription.empty()) {
    const std::string id = AsciiLower(subscription);
    if (!Contains(*readable, id)) return Forbidden("billing exports", id);
    export_request->subscription_ids = std::vector<std::string>{id};
  } else {
    export_request->subscription_ids = std::move(*readable);
  }

  // An export is a long read: it holds a query slot until its last byte is sent.
  auto slot = std::make_shared<QuerySlot>(*this);
  if (!slot->acquired()) {
    return ErrorResponse(Unavailable("too many queries and exports are running; retry later"),
                         "ServiceUnavailable");
  }
  Result<billing::BillingService> billing = billing::BillingService::Make(store_, clock_);
  if (!billing.ok()) return ErrorResponse(Internal(billing.status().message()));
  const billing::ExportFormat format = export_request->format;
  const std::string span =
      export_request->month
          ? export_request->month->ToString()
          : FormatUtcTime(export_request->from) + "_" + FormatUtcTime(export_request->to);
  Result<billing::ExportJob> job =
      billing::ExportJob::Prepare(store_, *billing, std::move(*export_request));
  if (!job.ok()) return ErrorResponse(job.status());

  HttpResponse r;
  const bool jsonl = format == billing::ExportFormat::kJsonLines;
  r.content_type = jsonl ? "application/x-ndjson" : std::string(kCsvContentType);
  std::string file = "tally-" + std::string(billing::ExportFormatName(format)) + "-" + span +
                     (jsonl ? ".jsonl" : ".csv");
  // The window's times as a file name: no ':' (not allowed on Windows).
  std::replace(file.begin(), file.end(), ':', '-');
  r.AddHeader("Content-Disposition", "attachment; filename=\"" + file + "\"");
  if (job->drafts_skipped() > 0) {
    r.AddHeader("Tally-Draft-Invoices-Skipped", std::to_string(job->drafts_skipped()));
  }
  auto shared_job = std::make_shared<billing::ExportJob>(std::move(*job));
  r.stream = [shared_job, slot](const BodySink& sink) {
    BodyStream out(sink);
    return shared_job->Write(out);
  };
  return r;
}

}  // namespace tally::api
