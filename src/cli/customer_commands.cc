// `tally customers`: the organisations a cloud solution provider bills, each grouping tenant
// subscriptions; the Partner Center utilization API reads usage by customer and subscription.
#include <string>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/table.h"
#include "common/json_writer.h"
#include "common/strings.h"
#include "domain/customer.h"

namespace tally::cli {

int RunCustomersAdd(const CustomersAddArgs& args, CliEnv& env) {
  Result<std::unique_ptr<store::UsageStore>> store = OpenStore(args.data_dir, true, env.clock);
  if (!store.ok()) return Fail(env, kExitFailure, store.status().message());
  Result<std::optional<domain::Customer>> existing = (*store)->FindCustomer(args.id);
  if (!existing.ok()) return Fail(env, kExitFailure, existing.status().message());
  domain::Customer c;
  if (*existing) {
    c = **existing;  // an update keeps what is not given and adds the subscriptions given
  } else {
    c.id = args.id;
    c.created = env.clock.Now();
  }
  if (args.name) c.name = *args.name;
  for (const std::string& s : args.subscriptions) {
    Result<std::optional<domain::Subscription>> sub = (*store)->FindSubscription(s);
    if (!sub.ok()) return Fail(env, kExitFailure, sub.status().message());
    if (*sub && (*sub)->kind != domain::SubscriptionKind::kTenant) {
      return Fail(env, kExitUsage,
                  "--subscription " + s + " is a provider subscription; customers group tenants");
    }
    c.subscription_ids.push_back(s);
  }
  for (const std::string& s : args.remove) {
    const std::string id = AsciiLower(s);
    std::erase_if(c.subscription_ids, [&](const std::string& x) { return AsciiLower(x) == id; });
  }
  Status saved = (*store)->SaveCustomer(c);
  if (!saved.ok()) return FailStatus(env, saved);
  Result<std::optional<domain::Customer>> now = (*store)->FindCustomer(args.id);
  if (!now.ok() || !*now) return Fail(env, kExitFailure, "the customer was not saved");
  env.out << ((*existing) ? "updated" : "added") << " customer " << (*now)->id << " with "
          << (*now)->subscription_ids.size() << " subscription(s)\n";
  env.out.flush();
  return kExitOk;
}

int RunCustomersList(const ListArgs& args, CliEnv& env) {
  int code = kExitOk;
  if (!CheckListFormat(env, args.format, code)) return code;
  Result<std::unique_ptr<store::UsageStore>> store = OpenStore(args.data_dir, false, env.clock);
  if (!store.ok()) return Fail(env, kExitFailure, store.status().message());
  Result<std::vector<domain::Customer>> customers = (*store)->ListCustomers();
  if (!customers.ok()) return Fail(env, kExitFailure, customers.status().message());
  TablePrinter table({"ID", "NAME", "SUBSCRIPTIONS"});
  std::string line;
  for (const domain::Customer& c : *customers) {
    if (args.format == "table") {
      std::string subs;
      for (const std::string& s : c.subscription_ids) {
        if (!subs.empty()) subs.push_back(',');
        subs.append(s);
      }
      table.AddRow({c.id, c.name, subs});
      continue;
    }
    line.clear();
    JsonWriter w(line);
    w.BeginObject();
    w.Key("id").String(c.id);
    w.Key("name").String(c.name);
    w.Key("subscriptions").BeginArray();
    for (const std::string& s : c.subscription_ids) w.String(s);
    w.EndArray();
    w.Key("created").Time(c.created);
    w.EndObject();
    env.out << line << '\n';
  }
  if (args.format == "table") table.Print(env.out);
  env.out.flush();
  return kExitOk;
}

}  // namespace tally::cli
