#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <exception>
#include <ostream>

#include "cli/commands.h"

namespace tally::cli {
namespace {

std::string DefaultDataDir() {
  const char* env = std::getenv("TALLY_DATA_DIR");
  return env != nullptr && *env != '\0' ? env : "tally-data";
}

void AddDataDir(CLI::App* cmd, std::string& data_dir) {
  data_dir = DefaultDataDir();
  cmd->add_option("--data-dir", data_dir,
                  "data directory (default: $TALLY_DATA_DIR, else ./tally-data)");
}

// The --webhook-* options of the commands that deliver webhooks (`poll`: serve only).
void AddWebhookDeliveryOptions(CLI::App* cmd, WebhookDeliveryArgs& args, bool poll = false) {
  cmd->add_option("--webhook-retry-base", args.retry_base,
                  "webhooks: delay after the first failed attempt, doubling per attempt")
      ->capture_default_str();
  cmd->add_option("--webhook-retry-cap", args.retry_cap,
                  "webhooks: longest delay between attempts")
      ->capture_default_str();
  cmd->add_option("--webhook-max-attempts", args.max_attempts,
                  "webhooks: attempts before a delivery fails (until replayed)")
      ->capture_default_str();
  cmd->add_option("--webhook-max-age", args.max_age,
                  "webhooks: a delivery fails when still unacknowledged this long after it "
                  "was enqueued or replayed")
      ->capture_default_str();
  cmd->add_option("--webhook-timeout", args.timeout, "webhooks: timeout of one request")
      ->capture_default_str();
  cmd->add_option("--webhook-ca-cert", args.ca_cert,
                  "webhooks: PEM certificate authority to trust for https endpoints (default: "
                  "the system's)");
  if (poll) {
    cmd->add_option("--webhook-poll", args.poll,
                    "webhooks: how often to look for deliveries due (e.g. after a finalize)")
        ->capture_default_str();
  }
}

int Run(int argc, const char* const* argv, CliEnv& env) {
  CLI::App app{"Tally: on-premises usage metering (Azure Stack Hub usage API compatible)", "tally"};
  app.set_version_flag("--version", "tally 0.1.0");
  app.require_subcommand(1);
  app.fallthrough(false);

  ServeArgs serve_args;
  CLI::App* serve = app.add_subcommand("serve", "serve the HTTP API");
  AddDataDir(serve, serve_args.data_dir);
  serve
      ->add_option("--listen", serve_args.listen,
                   "HOST:PORT to listen on; without --tls-cert/--tls-key plain http, and then "
                   "only on loopback addresses")
      ->required();
  serve->add_option("--tls-cert", serve_args.tls_cert,
                    "PEM file of the server certificate (chain): serve https (TLS 1.2+)");
  serve->add_option("--tls-key", serve_args.tls_key, "PEM file of the certificate's private key");
  serve->add_flag("!--no-access-log", serve_args.access_log,
                  "do not print the access log (one JSON line per request) on stderr");
  serve->add_flag("!--no-heap-collapse", serve_args.collapse_heap,
                  "leave the heap on 4 KiB pages (by default a background thread moves its "
                  "fully used 2 MiB pieces onto transparent huge pages, Linux 6.1+)");
  AddWebhookDeliveryOptions(serve, serve_args.webhooks, true);

  ImportArgs import_args;
  CLI::App* import = app.add_subcommand(
      "import",
      "import usage records (NDJSON, JSON or CSV; '-' reads stdin) with operator rights, in "
      "all-or-nothing batches. A refused batch is reported as FILE:LINE: property: reason and "
      "the other batches still go in; re-running the same import is safe because records are "
      "idempotent (already stored ones count as duplicates).");
  AddDataDir(import, import_args.data_dir);
  import->add_option("files", import_args.files, "files to import ('-' = stdin)")->required();
  import->add_option("--format", import_args.format,
                     "ndjson, json or csv (default: from each file's extension; ndjson for "
                     "stdin)");
  import->add_option("--batch-size", import_args.batch_size, "records per batch")
      ->capture_default_str();

  UsageArgs usage_args;
  CLI::App* usage = app.add_subcommand(
      "usage", "print the usage aggregates of a reported-time window [from, to)");
  AddDataDir(usage, usage_args.data_dir);
  usage->add_option("--subscription", usage_args.subscription,
                    "subscription ID (with --provider: the subscriberId, optional)");
  usage->add_option("--server", usage_args.server,
                    "read a running Tally (https://HOST:PORT) through the Azure usage API, "
                    "following nextLink, instead of --data-dir");
  usage->add_option("--token", usage_args.token, "bearer token for --server");
  usage->add_option("--ca-cert", usage_args.ca_cert,
                    "PEM certificate authority to trust for --server (default: the system's)");
  usage->add_option("--provider", usage_args.provider,
                    "with --server and an operator token: read the operator API "
                    "(subscriberUsageAggregates) of this provider subscription");
  usage->add_option("--from", usage_args.from, "reported start (inclusive), UTC")->required();
  usage->add_option("--to", usage_args.to, "reported end (exclusive), UTC")->required();
  usage->add_option("--granularity", usage_args.granularity, "Hourly or Daily")
      ->capture_default_str();
  usage->add_option("--format", usage_args.format, "table, csv or jsonl")->capture_default_str();

  CLI::App* meters = app.add_subcommand("meters", "list and add meters");
  meters->require_subcommand(1);
  MetersListArgs meters_list_args;
  CLI::App* meters_list = meters->add_subcommand("list", "list the meters");
  AddDataDir(meters_list, meters_list_args.data_dir);
  meters_list->add_option("--format", meters_list_args.format, "table or jsonl")
      ->capture_default_str();
  meters_list->add_flag("--unknown", meters_list_args.unknown_only,
                        "only meters first seen in usage and not yet named");
  MetersAddArgs meters_add_args;
  CLI::App* meters_add =
      meters->add_subcommand("add", "add a custom meter, or name an unknown one");
  AddDataDir(meters_add, meters_add_args.data_dir);
  meters_add->add_option("--id", meters_add_args.id, "meter ID")->required();
  meters_add->add_option("--name", meters_add_args.name, "meter name")->required();
  meters_add->add_option("--unit", meters_add_args.unit, "unit")->required();
  meters_add->add_option("--family", meters_add_args.family, "resource-provider family");
  meters_add->add_option("--notes", meters_add_args.notes, "notes");

  CLI::App* subs = app.add_subcommand("subscriptions", "register and list subscriptions");
  subs->require_subcommand(1);
  SubscriptionsAddArgs subs_add_args;
  std::string owner, display_name, offer, provider, kind, state;
  CLI::App* subs_add = subs->add_subcommand(
      "add",
      "register a subscription or update it (an unregistered one becomes active). A tenant "
      "is a direct tenant of --provider, else of the Default Provider Subscription; a "
      "delegated provider (--kind provider) is placed under --provider the same way.");
  AddDataDir(subs_add, subs_add_args.data_dir);
  subs_add->add_option("--id", subs_add_args.id, "subscription ID (GUID)")->required();
  CLI::Option* owner_opt = subs_add->add_option("--owner", owner, "owner");
  CLI::Option* name_opt = subs_add->add_option("--display-name", display_name, "display name");
  CLI::Option* offer_opt = subs_add->add_option("--offer", offer, "offer (OfferDurableId)");
  CLI::Option* provider_opt =
      subs_add->add_option("--provider", provider, "provider subscription ID");
  CLI::Option* kind_opt = subs_add->add_option(
      "--kind", kind, "tenant (default) or provider (a delegated provider); new subscriptions only");
  CLI::Option* state_opt =
      subs_add->add_option("--state", state, "active, disabled or deleted (usage is kept)");
  std::string region, currency, discount, markup, commitment;
  CLI::Option* region_opt = subs_add->add_option(
      "--region", region, "with --offer: the region of the offer's rate card (RegionInfo)");
  CLI::Option* currency_opt =
      subs_add->add_option("--currency", currency, "with --offer: the rate card's currency");
  CLI::Option* discount_opt =
      subs_add->add_option("--discount", discount, "with --offer: percent off every usage line");
  CLI::Option* markup_opt =
      subs_add->add_option("--markup", markup, "with --offer: percent added to every usage line");
  discount_opt->excludes(markup_opt);
  CLI::Option* commitment_opt = subs_add->add_option(
      "--commitment", commitment,
      "with --offer: monetary commitment in the card's currency (selects the commitment "
      "discount level)");
  ListArgs subs_list_args;
  CLI::App* subs_list = subs->add_subcommand("list", "list subscriptions");
  AddDataDir(subs_list, subs_list_args.data_dir);
  subs_list->add_option("--format", subs_list_args.format, "table or jsonl")->capture_default_str();

  CLI::App* ratecards = app.add_subcommand("ratecards", "import, export and list rate cards");
  ratecards->require_subcommand(1);
  RatecardsImportArgs rc_import_args;
  CLI::App* rc_import = ratecards->add_subcommand(
      "import",
      "import a rate card (the Azure RateCard JSON: Meters, OfferTerms, Currency, Locale, "
      "IsTaxIncluded) for an offer; it replaces the card of the same offer, region, currency "
      "and locale");
  AddDataDir(rc_import, rc_import_args.data_dir);
  rc_import->add_option("--offer", rc_import_args.offer, "offer (OfferDurableId)")->required();
  rc_import->add_option("--region", rc_import_args.region, "region (RegionInfo), e.g. US");
  rc_import->add_option("file", rc_import_args.file, "RateCard JSON file ('-' = stdin)")
      ->required();
  RatecardsExportArgs rc_export_args;
  std::string rc_region, rc_currency, rc_locale;
  CLI::App* rc_export =
      ratecards->add_subcommand("export", "print an offer's rate card as RateCard JSON");
  AddDataDir(rc_export, rc_export_args.data_dir);
  rc_export->add_option("--offer", rc_export_args.offer, "offer (OfferDurableId)")->required();
  CLI::Option* rc_region_opt = rc_export->add_option(
      "--region", rc_region, "region, when the offer has cards for several");
  CLI::Option* rc_currency_opt = rc_export->add_option(
      "--currency", rc_currency, "currency, when the offer has cards in several");
  CLI::Option* rc_locale_opt =
      rc_export->add_option("--locale", rc_locale, "locale, when the offer has cards in several");
  rc_export->add_option("--output", rc_export_args.output, "write to FILE instead of stdout");
  ListArgs rc_list_args;
  CLI::App* rc_list = ratecards->add_subcommand("list", "list the imported rate cards");
  AddDataDir(rc_list, rc_list_args.data_dir);
  rc_list->add_option("--format", rc_list_args.format, "table or jsonl")->capture_default_str();

  CLI::App* invoices = app.add_subcommand("invoices", "run, finalize, list and show invoices");
  invoices->require_subcommand(1);
  InvoicesRunArgs inv_run_args;
  CLI::App* inv_run = invoices->add_subcommand(
      "run",
      "draft the invoices of a billing period for every subscription on an offer (replacing "
      "earlier drafts; final invoices stay as they are); usage of earlier final periods that "
      "arrived since becomes adjustment lines");
  AddDataDir(inv_run, inv_run_args.data_dir);
  inv_run->add_option("--period", inv_run_args.period, "billing month, YYYY-MM")->required();
  inv_run->add_option("--time-zone", inv_run_args.time_zone,
                      "IANA time zone of the billing month (default: $TALLY_TIME_ZONE, else UTC)");
  InvoicesFinalizeArgs inv_final_args;
  CLI::App* inv_final = invoices->add_subcommand(
      "finalize", "make the drafts of a billing period final: they never change again");
  AddDataDir(inv_final, inv_final_args.data_dir);
  inv_final->add_option("--period", inv_final_args.period, "billing month, YYYY-MM")->required();
  AddWebhookDeliveryOptions(inv_final, inv_final_args.webhooks);
  InvoicesListArgs inv_list_args;
  CLI::App* inv_list = invoices->add_subcommand("list", "list invoices");
  AddDataDir(inv_list, inv_list_args.data_dir);
  inv_list->add_option("--period", inv_list_args.period, "only this billing month");
  inv_list->add_option("--subscription", inv_list_args.subscription, "only this subscription");
  inv_list->add_option("--status", inv_list_args.status, "only draft or final invoices");
  inv_list->add_option("--format", inv_list_args.format, "table or jsonl")->capture_default_str();
  InvoicesShowArgs inv_show_args;
  CLI::App* inv_show = invoices->add_subcommand("show", "print one invoice");
  AddDataDir(inv_show, inv_show_args.data_dir);
  inv_show->add_option("--period", inv_show_args.period, "billing month, YYYY-MM")->required();
  inv_show->add_option("--subscription", inv_show_args.subscription, "subscription ID")
      ->required();
  inv_show->add_option("--format", inv_show_args.format, "json, csv or html")
      ->capture_default_str();
  inv_show->add_option("--output", inv_show_args.output, "write to FILE instead of stdout");

  ExportArgs export_args;
  CLI::App* exp = app.add_subcommand(
      "export",
      "stream usage (usage-summary: the Usagesummary.ps1 CSV; jsonl: one usage aggregate per "
      "line) of a reported-time window, or the FOCUS 1.2 CSV of a period's invoices, in "
      "constant memory");
  AddDataDir(exp, export_args.data_dir);
  exp->add_option("--format", export_args.format, "usage-summary, focus or jsonl")->required();
  exp->add_option("--period", export_args.period,
                  "billing month YYYY-MM (usage: the reported window of the month)");
  exp->add_option("--from", export_args.from, "reported start (inclusive), UTC");
  exp->add_option("--to", export_args.to, "reported end (exclusive), UTC");
  exp->add_option("--time-zone", export_args.time_zone,
                  "time zone of --period (default: $TALLY_TIME_ZONE, else UTC)");
  exp->add_option("--granularity", export_args.granularity, "usage: Hourly or Daily")
      ->capture_default_str();
  exp->add_option("--output", export_args.output, "write to FILE instead of stdout");
  exp->add_option("--provider-name", export_args.provider_name,
                  "focus: the operator (ProviderName, PublisherName, InvoiceIssuerName)");
  exp->add_option("--billing-account-id", export_args.billing_account_id,
                  "focus: the operator's billing account (BillingAccountId)");
  exp->add_option("--billing-account-name", export_args.billing_account_name,
                  "focus: BillingAccountName");
  exp->add_option("--region-id", export_args.region_id, "focus: RegionId");
  exp->add_option("--region-name", export_args.region_name, "focus: RegionName");

  CLI::App* keys = app.add_subcommand("keys", "manage API keys");
  keys->require_subcommand(1);
  KeysCreateArgs keys_create_args;
  CLI::App* keys_create = keys->add_subcommand(
      "create", "create an API key; its token is printed once, as the last line");
  AddDataDir(keys_create, keys_create_args.data_dir);
  keys_create->add_option("--role", keys_create_args.role, "operator, tenant or reporter")
      ->required();
  keys_create->add_option("--subscription", keys_create_args.subscriptions,
                          "subscription the key may read (tenant: at least one)");
  keys_create->add_option("--label", keys_create_args.label, "a label for people");
  ListArgs keys_list_args;
  CLI::App* keys_list = keys->add_subcommand("list", "list API keys (never their tokens)");
  AddDataDir(keys_list, keys_list_args.data_dir);
  keys_list->add_option("--format", keys_list_args.format, "table or jsonl")->capture_default_str();
  KeysRevokeArgs keys_revoke_args;
  CLI::App* keys_revoke = keys->add_subcommand("revoke", "revoke an API key");
  AddDataDir(keys_revoke, keys_revoke_args.data_dir);
  keys_revoke->add_option("keyid", keys_revoke_args.key_id, "key ID")->required();

  CLI::App* customers = app.add_subcommand(
      "customers", "group tenant subscriptions by customer (the Partner Center utilization API)");
  customers->require_subcommand(1);
  CustomersAddArgs customers_add_args;
  std::string customer_name;
  CLI::App* customers_add = customers->add_subcommand(
      "add", "add a customer, or update one: --subscription adds to its subscriptions, --remove "
             "takes from them; a subscription belongs to at most one customer");
  AddDataDir(customers_add, customers_add_args.data_dir);
  customers_add->add_option("--id", customers_add_args.id, "customer ID (GUID: its tenant ID)")
      ->required();
  CLI::Option* customer_name_opt = customers_add->add_option("--name", customer_name, "name");
  customers_add->add_option("--subscription", customers_add_args.subscriptions,
                            "tenant subscription to add (repeatable)");
  customers_add->add_option("--remove", customers_add_args.remove,
                            "subscription to remove (repeatable)");
  ListArgs customers_list_args;
  CLI::App* customers_list = customers->add_subcommand("list", "list customers");
  AddDataDir(customers_list, customers_list_args.data_dir);
  customers_list->add_option("--format", customers_list_args.format, "table or jsonl")
      ->capture_default_str();

  CLI::App* webhooks = app.add_subcommand(
      "webhooks",
      "POST finalized invoices to endpoints, signed (HMAC-SHA256), retried until acknowledged; "
      "see the delivery log and replay deliveries");
  webhooks->require_subcommand(1);
  WebhooksAddArgs wh_add_args;
  CLI::App* wh_add = webhooks->add_subcommand(
      "add", "add an endpoint; without --secret or --secret-file a secret is generated and "
             "printed once");
  AddDataDir(wh_add, wh_add_args.data_dir);
  wh_add->add_option("--url", wh_add_args.url, "http(s)://HOST[:PORT]/PATH to POST to")
      ->required();
  CLI::Option* wh_secret =
      wh_add->add_option("--secret", wh_add_args.secret, "signing secret (16+ characters)");
  wh_add->add_option("--secret-file", wh_add_args.secret_file, "read the secret from FILE")
      ->excludes(wh_secret);
  wh_add->add_option("--events", wh_add_args.events, "events to send (invoice.finalized)")
      ->delimiter(',')
      ->capture_default_str();
  ListArgs wh_list_args;
  CLI::App* wh_list = webhooks->add_subcommand("list", "list endpoints (never their secrets)");
  AddDataDir(wh_list, wh_list_args.data_dir);
  wh_list->add_option("--format", wh_list_args.format, "table or jsonl")->capture_default_str();
  WebhooksRemoveArgs wh_remove_args;
  CLI::App* wh_remove = webhooks->add_subcommand(
      "remove", "remove an endpoint; its pending deliveries fail, its log stays");
  AddDataDir(wh_remove, wh_remove_args.data_dir);
  wh_remove->add_option("id", wh_remove_args.id, "endpoint ID")->required();
  WebhookDeliveriesArgs wh_deliveries_args;
  CLI::App* wh_deliveries = webhooks->add_subcommand(
      "deliveries", "the delivery log, newest first (jsonl: with every attempt)");
  AddDataDir(wh_deliveries, wh_deliveries_args.data_dir);
  wh_deliveries->add_option("--status", wh_deliveries_args.status,
                            "only pending, delivered or failed deliveries");
  wh_deliveries->add_option("--endpoint", wh_deliveries_args.endpoint, "only this endpoint");
  wh_deliveries->add_option("--limit", wh_deliveries_args.limit, "at most N (0 = all)")
      ->capture_default_str();
  wh_deliveries->add_option("--format", wh_deliveries_args.format, "table or jsonl")
      ->capture_default_str();
  WebhooksReplayArgs wh_replay_args;
  CLI::App* wh_replay = webhooks->add_subcommand(
      "replay", "send deliveries again (any status): pending, due now, with a new round of "
                "attempts; tried once right away");
  AddDataDir(wh_replay, wh_replay_args.data_dir);
  wh_replay->add_option("ids", wh_replay_args.ids, "delivery IDs")->required();
  wh_replay->add_flag("!--no-deliver", wh_replay_args.deliver,
                      "only mark them pending (the server or `webhooks deliver` sends them)");
  AddWebhookDeliveryOptions(wh_replay, wh_replay_args.webhooks);
  WebhooksDeliverArgs wh_deliver_args;
  CLI::App* wh_deliver = webhooks->add_subcommand(
      "deliver", "send pending deliveries, waiting for their retries, until none is pending or "
                 "the next is due after --deadline");
  AddDataDir(wh_deliver, wh_deliver_args.data_dir);
  wh_deliver->add_option("--deadline", wh_deliver_args.deadline, "stop waiting after this long")
      ->capture_default_str();
  AddWebhookDeliveryOptions(wh_deliver, wh_deliver_args.webhooks);

  SimulateArgs sim_args;
  CLI::App* sim = app.add_subcommand(
      "simulate",
      "simulate a private cloud's usage, deterministically for a seed: as NDJSON (--out), "
      "straight into a data directory (--data-dir, registering the tenants), or posted to a "
      "running server (--server, --token)");
  CLI::Option* sim_dir = sim->add_option("--data-dir", sim_args.data_dir,
                                         "write into this data directory (created if missing)");
  sim->add_option("--seed", sim_args.seed, "random seed")->capture_default_str();
  sim->add_option("--days", sim_args.days, "days to simulate")->capture_default_str();
  sim->add_option("--start", sim_args.start,
                  "first day, YYYY-MM-DD (default: the last --days complete days before today)");
  sim->add_option("--tenants", sim_args.tenants, "tenant subscriptions")->capture_default_str();
  sim->add_option("--scale", sim_args.scale, "resources per tenant, relative to 8")
      ->capture_default_str();
  sim->add_option("--out", sim_args.out, "write NDJSON (with reportedTime) to FILE, '-' = stdout");
  sim->add_option("--server", sim_args.server,
                  "post batches of 1,000 to a running Tally (https://HOST:PORT or http://)");
  sim->add_option("--token", sim_args.token, "bearer token for --server (reporter or operator)");
  sim->add_option("--ca-cert", sim_args.ca_cert,
                  "PEM certificate authority to trust for --server (default: the system's)");
  sim->add_flag("--print-tenants", sim_args.print_tenants,
                "print the simulated tenants (largest first) as JSON lines and exit");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    app.exit(e, env.out, env.err);
    return kExitOk;
  } catch (const CLI::CallForAllHelp& e) {
    app.exit(e, env.out, env.err);
    return kExitOk;
  } catch (const CLI::CallForVersion& e) {
    app.exit(e, env.out, env.err);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    return Fail(env, kExitUsage, std::string(e.what()) + " (see tally --help)");
  }

  if (*serve) return RunServe(serve_args, env);
  if (*import) return RunImport(import_args, env);
  if (*usage) return RunUsage(usage_args, env);
  if (*meters_list) return RunMetersList(meters_list_args, env);
  if (*meters_add) return RunMetersAdd(meters_add_args, env);
  if (*subs_add) {
    if (owner_opt->count() > 0) subs_add_args.owner = owner;
    if (name_opt->count() > 0) subs_add_args.display_name = display_name;
    if (offer_opt->count() > 0) subs_add_args.offer = offer;
    if (provider_opt->count() > 0) subs_add_args.provider = provider;
    if (kind_opt->count() > 0) subs_add_args.kind = kind;
    if (state_opt->count() > 0) subs_add_args.state = state;
    if (region_opt->count() > 0) subs_add_args.region = region;
    if (currency_opt->count() > 0) subs_add_args.currency = currency;
    if (discount_opt->count() > 0) subs_add_args.discount = discount;
    if (markup_opt->count() > 0) subs_add_args.markup = markup;
    if (commitment_opt->count() > 0) subs_add_args.commitment = commitment;
    return RunSubscriptionsAdd(subs_add_args, env);
  }
  if (*subs_list) return RunSubscriptionsList(subs_list_args, env);
  if (*rc_import) return RunRatecardsImport(rc_import_args, env);
  if (*rc_export) {
    if (rc_region_opt->count() > 0) rc_export_args.region = rc_region;
    if (rc_currency_opt->count() > 0) rc_export_args.currency = rc_currency;
    if (rc_locale_opt->count() > 0) rc_export_args.locale = rc_locale;
    return RunRatecardsExport(rc_export_args, env);
  }
  if (*rc_list) return RunRatecardsList(rc_list_args, env);
  if (*inv_run) return RunInvoicesRun(inv_run_args, env);
  if (*inv_final) return RunInvoicesFinalize(inv_final_args, env);
  if (*inv_list) return RunInvoicesList(inv_list_args, env);
  if (*inv_show) return RunInvoicesShow(inv_show_args, env);
  if (*exp) return RunExport(export_args, env);
  if (*keys_create) return RunKeysCreate(keys_create_args, env);
  if (*keys_list) return RunKeysList(keys_list_args, env);
  if (*keys_revoke) return RunKeysRevoke(keys_revoke_args, env);
  if (*customers_add) {
    if (customer_name_opt->count() > 0) customers_add_args.name = customer_name;
    return RunCustomersAdd(customers_add_args, env);
  }
  if (*customers_list) return RunCustomersList(customers_list_args, env);
  if (*wh_add) return RunWebhooksAdd(wh_add_args, env);
  if (*wh_list) return RunWebhooksList(wh_list_args, env);
  if (*wh_remove) return RunWebhooksRemove(wh_remove_args, env);
  if (*wh_deliveries) return RunWebhookDeliveries(wh_deliveries_args, env);
  if (*wh_replay) return RunWebhooksReplay(wh_replay_args, env);
  if (*wh_deliver) return RunWebhooksDeliver(wh_deliver_args, env);
  if (*sim) {
    sim_args.to_data_dir = sim_dir->count() > 0;
    return RunSimulate(sim_args, env);
  }
  return Fail(env, kExitUsage, "no command given (see tally --help)");
}

}  // namespace

int RunCli(int argc, const char* const* argv, std::ostream& out, std::ostream& err,
           const Clock& clock) {
  CliEnv env{out, err, clock};
  // Nothing may escape a command: the services return Status, and a throwing library call is
  // a bug reported here.
  try {
    return Run(argc, argv, env);
  } catch (const std::exception& e) {
    return Fail(env, kExitFailure, std::string("internal error: ") + e.what());
  }
}

}  // namespace tally::cli
