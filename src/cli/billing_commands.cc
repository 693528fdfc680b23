// `tally ratecards`, `tally invoices` and `tally export`: thin adapters over
// billing::BillingService and the export writers.
#include <simdjson.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>

#include "billing/billing_service.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/table.h"
#include "common/json_writer.h"
#include "common/strings.h"
#include "domain/aggregate.h"
#include "domain/meter.h"
#include "export/focus_csv.h"
#include "export/invoice_json.h"
#include "export/usage_summary_csv.h"

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
  auto m = pricing::BillingMonth::Parse(text);
  if (!m.ok()) return InvalidArgument("--period '" + text + "' is not a month YYYY-MM");
  return *m;
}

// --time-zone, else $TALLY_TIME_ZONE, else UTC.
Result<pricing::TimeZone> LoadZone(const std::string& flag) {
  std::string name = flag;
  if (name.empty()) {
    const char* env = std::getenv("TALLY_TIME_ZONE");
    name = env != nullptr && *env != '\0' ? env : "UTC";
  }
  auto zone = pricing::TimeZone::Load(name);
  if (!zone.ok()) return InvalidArgument("--time-zone: " + zone.status().message());
  return *zone;
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
  store::InvoiceFilter filter;
  if (!args.period.empty()) {
    Result<pricing::BillingMonth> month = ParsePeriod(args.period);
    if (!month.ok()) return FailStatus(env, month.status());
    filter.period = month->ToString();
  }
  if (!args.subscription.empty()) {
    if (!IsGuid(args.subscription)) {
      return Fail(env, kExitUsage, "--subscription '" + args.subscription + "' is not a GUID");
    }
    filter.subscription_id = AsciiLower(args.subscription);
  }
  if (args.status == "draft") {
    filter.status = store::InvoiceStatus::kDraft;
  } else if (args.status == "final") {
    filter.status = store::InvoiceStatus::kFinal;
  } else if (!args.status.empty()) {
    return Fail(env, kExitUsage, "--status must be draft or final");
  }
  Result<Billing> b = OpenBilling(args.data_dir, false, env.clock);
  if (!b.ok()) return FailOpen(env, b.status());
  auto invoices = b->service->ListInvoices(filter);
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
    JsonWriter w(line);
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

namespace {

// Splits an aggregate's instanceData into the fields of a Usagesummary row. Reuses its
// buffer, so a row costs no allocation once the buffer has grown.
class InstanceDataReader {
 public:
  Status Read(std::string_view instance_data, exports::UsageSummaryRow& row) {
    buffer_.assign(instance_data);
    buffer_.append(simdjson::SIMDJSON_PADDING, '\0');
    simdjson::ondemand::document doc;
    auto bad = [&] {
      return DataLoss("damaged instanceData: " + std::string(instance_data));
    };
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

int RunExport(const ExportArgs& args, CliEnv& env) {
  std::string problems;
  auto problem = [&](std::string_view p) {
    if (!problems.empty()) problems.append("; ");
    problems.append(p);
  };
  const bool focus = args.format == "focus";
  if (args.format != "usage-summary" && args.format != "jsonl" && !focus) {
    problem("--format must be usage-summary, focus or jsonl");
  }
  const bool by_period = !args.period.empty();
  const bool by_window = !args.from.empty() || !args.to.empty();
  if (by_period == by_window) problem("give either --period or both --from and --to");
  if (by_window && (args.from.empty() || args.to.empty())) {
    problem("--from and --to go together");
  }
  if (focus && !by_period) problem("--format focus exports invoices: it needs --period");
  if (focus && args.provider_name.empty()) problem("--format focus needs --provider-name");
  if (focus && args.billing_account_id.empty()) {
    problem("--format focus needs --billing-account-id");
  }
  Result<domain::Granularity> granularity = domain::ParseGranularity(args.granularity);
  if (!granularity.ok()) problem("--granularity must be Hourly or Daily");
  UtcTime from, to;
  std::optional<pricing::BillingMonth> month;
  if (by_period) {
    auto m = ParsePeriod(args.period);
    auto zone = LoadZone(args.time_zone);
    if (!m.ok()) problem(m.status().message());
    if (!zone.ok()) problem(zone.status().message());
    if (m.ok() && zone.ok()) {
      auto period = pricing::BillingPeriod::Make(*m, *zone);
      if (!period.ok()) {
        problem(period.status().message());
      } else {
        month = *m;
        from = period->start();
        to = period->end();
      }
    }
  } else if (by_window && !args.from.empty() && !args.to.empty()) {
    auto f = ParseUtcTime(args.from);
    auto t = ParseUtcTime(args.to);
    if (!f.ok()) problem("--from: " + f.status().message());
    if (!t.ok()) problem("--to: " + t.status().message());
    if (f.ok() && t.ok()) {
      from = *f;
      to = *t;
      if (!(from < to)) problem("--to must be after --from");
    }
  }
  if (!problems.empty()) return Fail(env, kExitUsage, problems);

  Result<Billing> b = OpenBilling(args.data_dir, false, env.clock);
  if (!b.ok()) return FailOpen(env, b.status());

  std::ofstream file;
  if (!args.output.empty()) {
    file.open(args.output, std::ios::binary | std::ios::trunc);
    if (!file) return Fail(env, kExitFailure, "cannot create " + args.output);
  }
  std::ostream& out = args.output.empty() ? env.out : file;
  auto finish = [&](Status s) {
    if (s.ok()) {
      out.flush();
      if (!out) s = Unavailable("cannot write the export");
    }
    if (!s.ok()) return FailStatus(env, s);
    return kExitOk;
  };

  if (focus) {
    // The period's final invoices, one at a time, read back from their stored JSON: the
    // export reconciles to what was finalized, not to a recomputation.
    store::InvoiceFilter filter;
    filter.period = month->ToString();
    auto invoices = b->service->ListInvoices(filter);
    if (!invoices.ok()) return FailStatus(env, invoices.status());
    auto subs = b->store->ListSubscriptions();
    if (!subs.ok()) return FailStatus(env, subs.status());
    std::map<std::string, std::string> names;
    for (const domain::Subscription& s : *subs) names[s.id] = s.display_name;
    exports::FocusOptions options{args.provider_name, args.billing_account_id,
                                  args.billing_account_name, args.region_id, args.region_name};
    exports::FocusCsvWriter writer(out, options, domain::MeterCatalog::Builtin());
    size_t drafts = 0;
    Status status;
    for (const store::StoredInvoice& header : *invoices) {
      if (header.status != store::InvoiceStatus::kFinal) {
        ++drafts;
        continue;
      }
      auto stored = b->service->GetInvoice(header.subscription_id, header.period);
      if (!stored.ok()) {
        status = stored.status();
        break;
      }
      auto invoice = exports::ParseInvoiceJson(stored->json);
      if (!invoice.ok()) {
        status = DataLoss("invoice " + header.subscription_id + " " + header.period +
                          " is damaged: " + invoice.status().message());
        break;
      }
      status = writer.WriteInvoice(*invoice, {"", names[header.subscription_id]});
      if (!status.ok()) break;
    }
    if (status.ok()) status = writer.Finish();
    if (drafts > 0) {
      env.err << "tally: " << drafts << " draft invoices of " << filter.period
              << " not exported (finalize them first)" << std::endl;
    }
    return finish(status);
  }

  auto subs = b->store->ListSubscriptions();
  if (!subs.ok()) return FailStatus(env, subs.status());
  std::map<std::string, std::string> owners;
  store::AggregateQuery q;
  for (const domain::Subscription& s : *subs) {
    owners[s.id] = s.owner;
    q.subscription_ids.push_back(s.id);
  }
  q.reported_from = ReportedTime(from);
  q.reported_to = ReportedTime(to);
  q.granularity = *granularity;
  q.limit = 1000;

  exports::UsageSummaryCsvWriter summary(out, domain::MeterCatalog::Builtin());
  InstanceDataReader reader;
  std::string line;
  Status status;
  while (status.ok()) {
    auto page = b->store->AggregateUsage(q);
    if (!page.ok()) {
      status = page.status();
      break;
    }
    for (const domain::UsageAggregate& a : page->rows) {
      if (args.format == "jsonl") {
        line.clear();
        domain::AppendAggregatePropertiesJson(line, a);
        line.push_back('\n');
        out << line;
        continue;
      }
      exports::UsageSummaryRow row;
      status = reader.Read(a.instance_data, row);
      if (!status.ok()) break;
      row.subscription_id = a.subscription_id;
      row.subscription_owner = owners[std::string(a.subscription_id)];
      row.usage_start = a.usage_start;
      row.usage_end = a.usage_end;
      row.meter_id = a.meter_id;
      row.quantity = a.quantity;
      status = summary.WriteRow(row);
      if (!status.ok()) break;
    }
    if (!status.ok() || !page->has_more) break;
    q.after = page->rows.back().key.ToKey();
    q.as_of_seq = page->as_of_seq;
    if (!out) status = Unavailable("cannot write the export");
  }
  if (status.ok() && args.format == "usage-summary") status = summary.Finish();
  return finish(status);
}

}  // namespace tally::cli
