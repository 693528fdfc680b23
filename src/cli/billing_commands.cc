// `tally ratecards`, `tally invoices` and `tally export`: thin adapters over
// billing::BillingService and the export writers.
#include <fstream>
#include <iostream>
#include <sstream>

#include "billing/billing_export.h"
#include "billing/billing_service.h"
#include "billing/invoice_listing.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/table.h"
#include "common/json_writer.h"
#include "common/strings.h"

namespace tally::cli {
namespace {

// The store and the service over it, for one command.
struct Billing {
  std::unique_ptr<store::UsageStore> store;
  std::optional<billing::BillingService> service;
};

Result<Billing> OpenBilling(const std::string& data_dir, bool create, const Clock& clock) {
  Billing b;
  TALLY_ASSIGN_OR_RETURN(b.store, OpenStore(data_dir, create, clock));
  TALLY_ASSIGN_OR_RETURN(billing::BillingService s,
                         billing::BillingService::Make(*b.store, clock));
  b.service.emplace(std::move(s));
  return b;
}

int FailOpen(CliEnv& env, const Status& s) { return Fail(env, kExitFailure, s.message()); }

Result<std::string> ReadInput(const std::string& file) {
  std::ostringstream text;
  if (file == "-") {
    text << std::cin.rdbuf();
    if (std::cin.bad()) return Unavailable("cannot read stdin");
    return std::move(text).str();
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return NotFound("cannot open " + file);
  text << in.rdbuf();
  if (in.bad()) return Unavailable("cannot read " + file);
  return std::move(text).str();
}

// Writes `text` to `output` ("" = env.out). A failed write is reported.
int WriteOutput(CliEnv& env, const std::string& output, std::string_view text) {
  if (output.empty()) {
    env.out << text;
    env.out.flush();
    return env.out ? kExitOk : Fail(env, kExitFailure, "cannot write the output");
  }
  std::ofstream f(output, std::ios::binary | std::ios::trunc);
  if (!f) return Fail(env, kExitFailure, "cannot create " + output);
  f << text;
  f.close();
  if (!f) return Fail(env, kExitFailure, "cannot write " + output);
  return kExitOk;
}

Result<pricing::BillingMonth> ParsePeriod(const std::string& text) {
  return billing::ParseBillingMonth(text, "--");
}

// --time-zone, else $TALLY_TIME_ZONE, else UTC.
Result<pricing::TimeZone> LoadZone(const std::string& flag) {
  return billing::LoadBillingTimeZone(flag, "--");
}

void PrintProblems(CliEnv& env, const std::vector<billing::SubscriptionProblem>& problems) {
  for (const auto& p : problems) {
    env.err << "tally: subscription " << p.subscription_id << ": " << p.problem << '\n';
  }
}

}  // namespace

int RunRatecardsImport(const RatecardsImportArgs& args, CliEnv& env) {
  if (args.offer.empty()) return Fail(env, kExitUsage, "--offer must not be empty");
  Result<std::string> json = ReadInput(args.file);
  if (!json.ok()) return Fail(env, kExitFailure, json.status().message());
  Result<Billing> b = OpenBilling(args.data_dir, true, env.clock);
  if (!b.ok()) return FailOpen(env, b.status());
  auto imported = b->service->ImportRateCard(*json, args.offer, args.region);
  if (!imported.ok()) {
    return Fail(env, imported.status().code() == StatusCode::kInvalidArgument ? kExitUsage
                                                                               : kExitFailure,
                args.file + ": " + imported.status().message());
  }
  const store::StoredRateCard& c = imported->card;
  env.out << (imported->replaced ? "replaced" : "imported") << " rate card of offer "
          << c.offer_durable_id << " region " << (c.region.empty() ? "(none)" : c.region) << ' '
          << c.currency << ' ' << c.locale << ": " << imported->meter_entries
          << " meter entries, " << imported->offer_terms << " offer terms" << std::endl;
  return kExitOk;
}

int RunRatecardsExport(const RatecardsExportArgs& args, CliEnv& env) {
  Result<Billing> b = OpenBilling(args.data_dir, false, env.clock);
  if (!b.ok()) return FailOpen(env, b.status());
  auto card = b->service->FindRateCard(args.offer, args.region, args.currency, args.locale);
  if (!card.ok()) return FailStatus(env, card.status());
  return WriteOutput(env, args.output, card->document + "\n");
}

int RunRatecardsList(const ListArgs& args, CliEnv& env) {
  int code = kExitOk;
  if (!CheckListFormat(env, args.format, code)) return code;
  Result<Billing> b = OpenBilling(args.data_dir, false, env.clock);
  if (!b.ok()) return FailOpen(env, b.status());
  auto cards = b->service->ListRateCards();
  if (!cards.ok()) return FailStatus(env, cards.status());
  TablePrinter table({"OFFER", "REGION", "CURRENCY", "LOCALE", "IMPORTED", "BYTES"});
  std::string line;
  for (const store::StoredRateCard& c : *cards) {
    if (args.format == "table") {
      table.AddRow({c.offer_durable_id, c.region, c.currency, c.locale,
                    FormatUtcTime(c.imported), std::to_string(c.document.size())});
      continue;
    }
    line.clear();
    JsonWriter w(line);
    w.BeginObject();
    w.Key("offerDurableId").String(c.offer_durable_id);
    w.Key("region").String(c.region);
    w.Key("currency").String(c.currency);
    w.Key("locale").String(c.locale);
    w.Key("imported").Time(c.imported);
    w.EndObject();
    env.out << line << '\n';
  }
  if (args.format == "table") table.Print(env.out);
  env.out.flush();
  return kExitOk;
}

int RunInvoicesRun(const InvoicesRunArgs& args, CliEnv& env) {
  Result<pricing::BillingMonth> month = ParsePeriod(args.period);
  if (!month.ok()) return FailStatus(env, month.status());
  Result<pricing::TimeZone> zone = LoadZone(args.time_zone);
  if (!zone.ok()) return FailStatus(env, zone.status());
  Result<Billing> b = OpenBilling(args.data_dir, false, env.clock);
  if (!b.ok()) return FailOpen(env, b.status());
  auto report = b->service->RunInvoices(*month, *zone);
  if (!report.ok()) return FailStatus(env, report.status());

  TablePrinter table({"SUBSCRIPTION", "STATUS", "CURRENCY", "TOTAL", "ADJUSTMENTS"},
                     {false, false, false, true, true});
  for (const auto& d : report->drafted) {
    table.AddRow({d.subscription_id, d.has_unpriced_usage ? "draft (unpriced usage)" : "draft",
                  d.currency, d.total, std::to_string(d.adjustment_lines)});
  }
  for (const auto& s : report->already_final) table.AddRow({s, "final (unchanged)", "", "", ""});
  for (const auto& s : report->without_offer) table.AddRow({s, "no offer", "", "", ""});
  for (const auto& p : report->failed) table.AddRow({p.subscription_id, "failed", "", "", ""});
  table.Print(env.out);
  env.out << "period " << report->period << " (" << report->time_zone << "), usage up to seq "
          << report->watermark_seq << ": " << report->drafted.size() << " drafted, "
          << report->already_final.size() << " already final, " << report->without_offer.size()
          << " without an offer (not invoiced; put them on one with tally subscriptions add "
             "--offer), "
          << report->failed.size() << " failed" << std::endl;
  PrintProblems(env, report->failed);
  return report->failed.empty() ? kExitOk : kExitFailure;
}

int RunInvoicesFinalize(const InvoicesFinalizeArgs& args, CliEnv& env) {
  Result<pricing::BillingMonth> month = ParsePeriod(args.period);
  if (!month.ok()) return FailStatus(env, month.status());
  Status webhook_options = CheckWebhookDeliveryArgs(args.webhooks);
  if (!webhook_options.ok()) return FailStatus(env, webhook_options);
  Result<Billing> b = OpenBilling(args.data_dir, false, env.clock);
  if (!b.ok()) return FailOpen(env, b.status());
  auto report = b->service->FinalizeInvoices(*month);
  if (!report.ok()) return FailStatus(env, report.status());
  for (const auto& f : report->finalized) {
    env.out << "finalized " << f.subscription_id << ' ' << f.period << ' ' << f.total << ' '
            << f.currency << '\n';
  }
  env.out << "period " << report->period << ": " << report->finalized.size() << " finalized, "
          << report->already_final.size() << " already final, " << report->failed.size()
          << " failed" << std::endl;
  PrintProblems(env, report->failed);
  // The invoice.finalized deliveries were enqueued with the invoices; try them once now.
  const bool delivered = DeliverDueWebhooks(*b->store, args.webhooks, env);
  return report->failed.empty() && delivered ? kExitOk : kExitFailure;
}

int RunInvoicesList(const InvoicesListArgs& args, CliEnv& env) {
  int code = kExitOk;
  if (!CheckListFormat(env, args.format, code)) return code;
  Result<store::InvoiceFilter> filter =
      billing::MakeInvoiceFilter({args.period, args.subscription, args.status}, "--",
                                 "--subscription");
  if (!filter.ok()) return FailStatus(env, filter.status());
  Result<Billing> b = OpenBilling(args.data_dir, false, env.clock);
  if (!b.ok()) return FailOpen(env, b.status());
  auto invoices = b->service->ListInvoices(*filter);
  if (!invoices.ok()) return FailStatus(env, invoices.status());
  TablePrinter table({"SUBSCRIPTION", "PERIOD", "ZONE", "STATUS", "CURRENCY", "TOTAL", "SEQ"},
                     {false, false, false, false, false, true, true});
  std::string line;
  for (const store::StoredInvoice& inv : *invoices) {
    if (args.format == "table") {
      table.AddRow({inv.subscription_id, inv.period, inv.time_zone,
                    std::string(store::InvoiceStatusName(inv.status)), inv.currency, inv.total,
                    std::to_string(inv.watermark_seq)});
      continue;
    }
    line.clear();
    billing::AppendInvoiceHeaderJson(line, inv);
    env.out << line << '\n';
  }
  if (args.format == "table") table.Print(env.out);
  env.out.flush();
  return kExitOk;
}

int RunInvoicesShow(const InvoicesShowArgs& args, CliEnv& env) {
  std::string problems;
  auto problem = [&](std::string_view p) {
    if (!problems.empty()) problems.append("; ");
    problems.append(p);
  };
  Result<pricing::BillingMonth> month = ParsePeriod(args.period);
  if (!month.ok()) problem(month.status().message());
  if (!IsGuid(args.subscription)) {
    problem("--subscription '" + args.subscription + "' is not a GUID");
  }
  if (args.format != "json" && args.format != "csv" && args.format != "html") {
    problem("--format must be json, csv or html");
  }
  if (!problems.empty()) return Fail(env, kExitUsage, problems);
  Result<Billing> b = OpenBilling(args.data_dir, false, env.clock);
  if (!b.ok()) return FailOpen(env, b.status());
  auto inv = b->service->GetInvoice(args.subscription, month->ToString());
  if (!inv.ok()) return FailStatus(env, inv.status());
  if (args.format == "json") return WriteOutput(env, args.output, inv->json + "\n");
  if (args.format == "csv") return WriteOutput(env, args.output, inv->csv);
  return WriteOutput(env, args.output, inv->html);
}

int RunExport(const ExportArgs& args, CliEnv& env) {
  billing::ExportParameters parameters;
  parameters.format = args.format;
  parameters.period = args.period;
  parameters.from = args.from;
  parameters.to = args.to;
  parameters.time_zone = args.time_zone;
  parameters.granularity = args.granularity;
  parameters.provider_name = args.provider_name;
  parameters.billing_account_id = args.billing_account_id;
  parameters.billing_account_name = args.billing_account_name;
  parameters.region_id = args.region_id;
  parameters.region_name = args.region_name;
  Result<billing::ExportRequest> request = billing::MakeExportRequest(parameters, "--");
  if (!request.ok()) return Fail(env, kExitUsage, request.status().message());

  Result<Billing> b = OpenBilling(args.data_dir, false, env.clock);
  if (!b.ok()) return FailOpen(env, b.status());
  const std::string period = request->month ? request->month->ToString() : std::string();
  Result<billing::ExportJob> job =
      billing::ExportJob::Prepare(*b->store, *b->service, std::move(*request));
  if (!job.ok()) return FailStatus(env, job.status());

  std::ofstream file;
  if (!args.output.empty()) {
    file.open(args.output, std::ios::binary | std::ios::trunc);
    if (!file) return Fail(env, kExitFailure, "cannot create " + args.output);
  }
  std::ostream& out = args.output.empty() ? env.out : file;
  const Status status = job->Write(out);
  if (job->drafts_skipped() > 0) {
    env.err << "tally: " << job->drafts_skipped() << " draft invoices of " << period
            << " not exported (finalize them first)" << std::endl;
  }
  if (!status.ok()) return FailStatus(env, status);
  return kExitOk;
}

}  // namespace tally::cli
