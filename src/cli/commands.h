// Internal to tally_cli: the subcommands as plain functions of their parsed arguments, so that
// only cli.cc includes CLI11. Each returns an exit code (cli.h) and prints its own errors.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "store/usage_store.h"

namespace tally::webhook {
class BackgroundDelivery;
}  // namespace tally::webhook

namespace tally::cli {

struct CliEnv {
  std::ostream& out;
  std::ostream& err;
  const Clock& clock;
};

// Prints "tally: <message>" and returns `exit_code`.
int Fail(CliEnv& env, int exit_code, std::string_view message);
// Prints the status as "tally: <message>" and returns kExitUsage for InvalidArgument, else
// kExitFailure.
int FailStatus(CliEnv& env, const Status& status);
// The --format of list commands: table or jsonl; otherwise sets `exit_code` (usage error,
// reported) and returns false.
bool CheckListFormat(CliEnv& env, const std::string& format, int& exit_code);

// Opens the store of `data_dir`; with `create`, creates the directory (and parents) first.
Result<std::unique_ptr<store::UsageStore>> OpenStore(const std::string& data_dir, bool create,
                                                     const Clock& clock);

// How commands that send webhooks deliver them (webhook_commands.cc): the --webhook-* options.
// Durations are text with a unit: "250ms", "10s", "5m", "2h", "3d".
struct WebhookDeliveryArgs {
  std::string retry_base = "10s";  // delay after the first failed attempt of a round
  std::string retry_cap = "1h";    // longest delay between attempts
  int max_attempts = 15;           // attempts per round before a delivery fails
  std::string max_age = "72h";     // a round gives up this long after it started
  std::string timeout = "10s";     // per request
  std::string ca_cert;             // PEM CA for https endpoints ("" = the system's)
  std::string poll = "5s";         // serve: how often the worker looks for due deliveries
};

struct ServeArgs {
  std::string data_dir;
  std::string listen;
  std::string tls_cert;  // PEM certificate chain; with tls_key, serve https
  std::string tls_key;   // PEM private key
  bool access_log = true;  // one JSON line per request on stderr
  bool collapse_heap = true;  // store::HeapCollapser: the heap onto huge pages as it fills
  WebhookDeliveryArgs webhooks;
};
int RunServe(const ServeArgs& args, CliEnv& env);

struct ImportArgs {
  std::string data_dir;
  std::vector<std::string> files;
  std::string format;  // "" = from each file's extension
  size_t batch_size = 10'000;
};
int RunImport(const ImportArgs& args, CliEnv& env);

struct UsageArgs {
  std::string data_dir;
  std::string server;    // read a running server's API instead of the data directory
  std::string token;     // bearer token for --server
  std::string ca_cert;   // PEM CA to trust for https ("" = the system's)
  std::string provider;  // with --server: the operator API of this provider subscription
  std::string subscription;
  std::string from;
  std::string to;
  std::string granularity = "Daily";
  std::string format = "table";
};
int RunUsage(const UsageArgs& args, CliEnv& env);

struct MetersListArgs {
  std::string data_dir;
  std::string format = "table";
  bool unknown_only = false;
};
int RunMetersList(const MetersListArgs& args, CliEnv& env);

struct MetersAddArgs {
  std::string data_dir;
  std::string id;
  std::string name;
  std::string unit;
  std::string family;
  std::string notes;
};
int RunMetersAdd(const MetersAddArgs& args, CliEnv& env);

struct SubscriptionsAddArgs {
  std::string data_dir;
  std::string id;
  std::optional<std::string> owner;
  std::optional<std::string> display_name;
  std::optional<std::string> offer;
  std::optional<std::string> provider;
  std::optional<std::string> kind;   // "tenant" | "provider"; only for a new subscription
  std::optional<std::string> state;  // "active" | "disabled" | "deleted"
  // Pricing, with --offer (billing::BillingService::SetSubscriptionPricing).
  std::optional<std::string> region;
  std::optional<std::string> currency;
  std::optional<std::string> discount;    // percent, e.g. "10" = 10% off
  std::optional<std::string> markup;      // percent
  std::optional<std::string> commitment;  // amount in the card's currency
};
int RunSubscriptionsAdd(const SubscriptionsAddArgs& args, CliEnv& env);

struct ListArgs {
  std::string data_dir;
  std::string format = "table";
};
int RunSubscriptionsList(const ListArgs& args, CliEnv& env);

struct KeysCreateArgs {
  std::string data_dir;
  std::string role;
  std::vector<std::string> subscriptions;
  std::string label;
};
int RunKeysCreate(const KeysCreateArgs& args, CliEnv& env);
int RunKeysList(const ListArgs& args, CliEnv& env);
struct KeysRevokeArgs {
  std::string data_dir;
  std::string key_id;
};
int RunKeysRevoke(const KeysRevokeArgs& args, CliEnv& env);

struct CustomersAddArgs {
  std::string data_dir;
  std::string id;
  std::optional<std::string> name;
  std::vector<std::string> subscriptions;  // added to the customer
  std::vector<std::string> remove;         // taken from it
};
int RunCustomersAdd(const CustomersAddArgs& args, CliEnv& env);
int RunCustomersList(const ListArgs& args, CliEnv& env);

// billing_commands.cc: rate cards, invoices and exports.
struct RatecardsImportArgs {
  std::string data_dir;
  std::string offer;
  std::string region;
  std::string file;  // "-" = stdin
};
int RunRatecardsImport(const RatecardsImportArgs& args, CliEnv& env);

struct RatecardsExportArgs {
  std::string data_dir;
  std::string offer;
  std::optional<std::string> region;
  std::optional<std::string> currency;
  std::optional<std::string> locale;
  std::string output;  // "" = stdout
};
int RunRatecardsExport(const RatecardsExportArgs& args, CliEnv& env);
int RunRatecardsList(const ListArgs& args, CliEnv& env);

struct InvoicesRunArgs {
  std::string data_dir;
  std::string period;     // YYYY-MM
  std::string time_zone;  // IANA name or UTC
};
int RunInvoicesRun(const InvoicesRunArgs& args, CliEnv& env);

struct InvoicesFinalizeArgs {
  std::string data_dir;
  std::string period;
  WebhookDeliveryArgs webhooks;  // the invoice.finalized deliveries are attempted once at once
};
int RunInvoicesFinalize(const InvoicesFinalizeArgs& args, CliEnv& env);

struct InvoicesListArgs {
  std::string data_dir;
  std::string period;        // "" = all
  std::string subscription;  // "" = all
  std::string status;        // "", "draft" or "final"
  std::string format = "table";
};
int RunInvoicesList(const InvoicesListArgs& args, CliEnv& env);

struct InvoicesShowArgs {
  std::string data_dir;
  std::string period;
  std::string subscription;
  std::string format = "json";  // json, csv or html
  std::string output;           // "" = stdout
};
int RunInvoicesShow(const InvoicesShowArgs& args, CliEnv& env);

struct ExportArgs {
  std::string data_dir;
  std::string format;  // usage-summary, focus or jsonl
  std::string period;  // YYYY-MM, or --from/--to
  std::string from;
  std::string to;
  std::string time_zone;
  std::string granularity = "Daily";
  std::string output;  // "" = stdout
  // FOCUS: who runs the cloud.
  std::string provider_name;
  std::string billing_account_id;
  std::string billing_account_name;
  std::string region_id;
  std::string region_name;
};
int RunExport(const ExportArgs& args, CliEnv& env);

// webhook_commands.cc: webhook endpoints, the delivery log, replay and delivery.
struct WebhooksAddArgs {
  std::string data_dir;
  std::string url;
  std::string secret;       // "" with no secret_file: one is generated and printed once
  std::string secret_file;  // read the secret from FILE (first line)
  std::vector<std::string> events{"invoice.finalized"};
};
int RunWebhooksAdd(const WebhooksAddArgs& args, CliEnv& env);
int RunWebhooksList(const ListArgs& args, CliEnv& env);
struct WebhooksRemoveArgs {
  std::string data_dir;
  std::string id;
};
int RunWebhooksRemove(const WebhooksRemoveArgs& args, CliEnv& env);
struct WebhookDeliveriesArgs {
  std::string data_dir;
  std::string status;    // "", pending, delivered or failed
  std::string endpoint;  // "" = any
  size_t limit = 100;    // newest first; 0 = all
  std::string format = "table";
};
int RunWebhookDeliveries(const WebhookDeliveriesArgs& args, CliEnv& env);
struct WebhooksReplayArgs {
  std::string data_dir;
  std::vector<std::string> ids;
  bool deliver = true;  // attempt the replayed deliveries once right away
  WebhookDeliveryArgs webhooks;
};
int RunWebhooksReplay(const WebhooksReplayArgs& args, CliEnv& env);
struct WebhooksDeliverArgs {
  std::string data_dir;
  std::string deadline = "5m";  // stop waiting for retries after this long
  WebhookDeliveryArgs webhooks;
};
int RunWebhooksDeliver(const WebhooksDeliverArgs& args, CliEnv& env);
// InvalidArgument naming every bad --webhook-* option.
Status CheckWebhookDeliveryArgs(const WebhookDeliveryArgs& args);
// Attempts once the webhook deliveries due now (after a finalize) and prints what happened.
// Reports problems on env.err and returns false when the options are bad or the store failed.
bool DeliverDueWebhooks(store::UsageStore& store, const WebhookDeliveryArgs& args, CliEnv& env);
// Starts the background delivery of `tally serve` over `store`, logging each attempt as a JSON
// line on env.err. An error for bad options; stops and joins when destroyed.
Result<std::unique_ptr<webhook::BackgroundDelivery>> StartWebhookDelivery(
    store::UsageStore& store, const WebhookDeliveryArgs& args, CliEnv& env);

struct SimulateArgs {
  std::string data_dir;
  bool to_data_dir = false;  // --data-dir was given explicitly
  uint64_t seed = 1;
  int days = 30;
  std::string start;  // YYYY-MM-DD; "" = the last `days` complete days before today
  int tenants = 20;
  double scale = 1.0;
  std::string out;     // "-" = stdout
  std::string server;  // http(s)://host:port
  std::string token;
  std::string ca_cert;  // PEM CA to trust for https ("" = the system's)
  bool print_tenants = false;
};
int RunSimulate(const SimulateArgs& args, CliEnv& env);

}  // namespace tally::cli
