// `tally meters`, `tally subscriptions` and `tally keys`: metadata commands over the store.
#include <algorithm>
#include <string>

#include "billing/billing_service.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/table.h"
#include "common/json_writer.h"
#include "common/strings.h"
#include "domain/api_key.h"
#include "domain/meter.h"
#include "domain/subscription.h"

namespace tally::cli {
namespace {

std::string JoinComma(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out.push_back(',');
    out.append(s);
  }
  return out;
}

}  // namespace

int RunMetersList(const MetersListArgs& args, CliEnv& env) {
  int code = kExitOk;
  if (!CheckListFormat(env, args.format, code)) return code;
  Result<std::unique_ptr<store::UsageStore>> store = OpenStore(args.data_dir, false, env.clock);
  if (!store.ok()) return Fail(env, kExitFailure, store.status().message());
  Result<std::vector<domain::Meter>> meters = (*store)->ListMeters();
  if (!meters.ok()) return Fail(env, kExitFailure, meters.status().message());

  TablePrinter table({"ID", "NAME", "UNIT", "FAMILY", "SOURCE", "DEPRECATED"});
  std::string line;
  for (const domain::Meter& m : *meters) {
    if (args.unknown_only && m.source != domain::MeterSource::kUnknown) continue;
    if (args.format == "table") {
      table.AddRow({m.id, m.name, m.unit, m.family, std::string(domain::MeterSourceName(m.source)),
                    m.deprecated ? "yes" : ""});
      continue;
    }
    line.clear();
    JsonWriter w(line);
    w.BeginObject();
    w.Key("id").String(m.id);
    w.Key("name").String(m.name);
    w.Key("unit").String(m.unit);
    w.Key("family").String(m.family);
    w.Key("notes").String(m.notes);
    w.Key("deprecated").Bool(m.deprecated);
    w.Key("hourlyLevel").Bool(m.hourly_level);
    w.Key("source").String(domain::MeterSourceName(m.source));
    w.EndObject();
    env.out << line << '\n';
  }
  if (args.format == "table") table.Print(env.out);
  env.out.flush();
  return kExitOk;
}

int RunMetersAdd(const MetersAddArgs& args, CliEnv& env) {
  Result<std::unique_ptr<store::UsageStore>> store = OpenStore(args.data_dir, true, env.clock);
  if (!store.ok()) return Fail(env, kExitFailure, store.status().message());
  domain::Meter meter;
  meter.id = args.id;
  meter.name = args.name;
  meter.unit = args.unit;
  meter.family = args.family;
  meter.notes = args.notes;
  meter.source = domain::MeterSource::kCustom;
  const Status saved = (*store)->SaveMeter(meter);
  if (!saved.ok()) return FailStatus(env, saved);
  env.out << "saved meter " << meter.id << " (" << meter.name << ")" << std::endl;
  return kExitOk;
}

int RunSubscriptionsAdd(const SubscriptionsAddArgs& args, CliEnv& env) {
  if (!IsGuid(args.id)) return Fail(env, kExitUsage, "--id '" + args.id + "' is not a GUID");
  if (args.provider && !IsGuid(*args.provider)) {
    return Fail(env, kExitUsage, "--provider '" + *args.provider + "' is not a GUID");
  }
  std::optional<domain::SubscriptionKind> kind;
  if (args.kind) {
    Result<domain::SubscriptionKind> k = domain::ParseSubscriptionKind(*args.kind);
    if (!k.ok()) return Fail(env, kExitUsage, "--kind must be tenant or provider");
    kind = *k;
  }
  std::optional<domain::SubscriptionState> state;
  if (args.state) {
    Result<domain::SubscriptionState> st = domain::ParseSubscriptionState(*args.state);
    if (!st.ok() || *st == domain::SubscriptionState::kUnregistered) {
      return Fail(env, kExitUsage, "--state must be active, disabled or deleted");
    }
    state = *st;
  }
  // Pricing options: all checked before anything is written.
  std::string problems;
  auto problem = [&](std::string_view p) {
    if (!problems.empty()) problems.append("; ");
    problems.append(p);
  };
  if (!args.offer && (args.region || args.currency || args.discount || args.markup ||
                      args.commitment)) {
    problem("--region, --currency, --discount, --markup and --commitment need --offer");
  }
  if (args.offer && args.offer->empty()) problem("--offer must not be empty");
  auto percent = [&](const std::optional<std::string>& text, std::string_view flag,
                     bool negate) -> Decimal {
    if (!text) return Decimal();
    auto d = Decimal::Parse(*text);
    if (!d.ok() || d->is_negative()) {
      problem(std::string(flag) + " '" + *text + "' is not a non-negative number");
      return Decimal();
    }
    return negate ? Decimal() - *d : *d;
  };
  Decimal adjustment = args.discount ? percent(args.discount, "--discount", true)
                                     : percent(args.markup, "--markup", false);
  std::optional<Decimal> commitment;
  if (args.commitment) {
    auto d = Decimal::Parse(*args.commitment);
    if (!d.ok() || d->is_negative()) {
      problem("--commitment '" + *args.commitment + "' is not a non-negative amount");
    } else {
      commitment = *d;
    }
  }
  if (!problems.empty()) return Fail(env, kExitUsage, problems);

  Result<std::unique_ptr<store::UsageStore>> store = OpenStore(args.data_dir, true, env.clock);
  if (!store.ok()) return Fail(env, kExitFailure, store.status().message());
  const std::string id = AsciiLower(args.id);
  Result<domain::Subscription> default_provider = (*store)->DefaultProvider();
  if (!default_provider.ok()) return FailStatus(env, default_provider.status());

  if (args.provider) {
    const std::string provider_id = AsciiLower(*args.provider);
    if (provider_id == id) return Fail(env, kExitUsage, "a subscription cannot be its own provider");
    Result<std::optional<domain::Subscription>> provider = (*store)->FindSubscription(provider_id);
    if (!provider.ok()) return Fail(env, kExitFailure, provider.status().message());
    if (!*provider || (*provider)->kind != domain::SubscriptionKind::kProvider) {
      return Fail(env, kExitFailure,
                  "--provider " + *args.provider + " is not a provider subscription");
    }
    // A delegated provider must not end up (indirectly) under itself.
    std::string up = provider_id;
    for (int depth = 0; !up.empty() && up != default_provider->id && depth < 64; ++depth) {
      Result<std::optional<domain::Subscription>> p = (*store)->FindSubscription(up);
      if (!p.ok()) return Fail(env, kExitFailure, p.status().message());
      if (!*p) break;
      up = (*p)->provider_id;
      if (up == id) {
        return Fail(env, kExitUsage,
                    "--provider " + *args.provider + " is itself under " + id +
                        "; providers cannot form a cycle");
      }
    }
  }
  Result<std::optional<domain::Subscription>> existing = (*store)->FindSubscription(id);
  if (!existing.ok()) return Fail(env, kExitFailure, existing.status().message());

  domain::Subscription s;
  if (*existing) {
    s = **existing;
    if (kind && *kind != s.kind) {
      return Fail(env, kExitUsage,
                  "subscription " + id + " is a " + std::string(domain::SubscriptionKindName(s.kind)) +
                      "; the kind of an existing subscription cannot change");
    }
    if (s.id == default_provider->id && (args.provider || state)) {
      return Fail(env, kExitUsage,
                  "the Default Provider Subscription has no provider and cannot be disabled or "
                  "deleted");
    }
  } else {
    s.id = id;
    s.kind = kind.value_or(domain::SubscriptionKind::kTenant);
    s.created = env.clock.Now();
    // A delegated provider names its parent explicitly, so that the Default Provider
    // Subscription stays the only provider without one.
    if (s.kind == domain::SubscriptionKind::kProvider) s.provider_id = default_provider->id;
  }
  // Registering is what turns a subscription first seen in usage into an active one.
  if (s.state == domain::SubscriptionState::kUnregistered) {
    s.state = domain::SubscriptionState::kActive;
  }
  if (args.owner) s.owner = *args.owner;
  if (args.display_name) s.display_name = *args.display_name;
  if (args.provider) s.provider_id = AsciiLower(*args.provider);
  if (state) s.state = *state;
  const Status saved = (*store)->SaveSubscription(s);
  if (!saved.ok()) return FailStatus(env, saved);
  env.out << (*existing ? "updated" : "registered") << " subscription " << s.id << std::endl;
  if (!args.offer) return kExitOk;

  // The offer is set by the billing service, only once its rate card is settled.
  Result<billing::BillingService> service = billing::BillingService::Make(**store, env.clock);
  if (!service.ok()) return FailStatus(env, service.status());
  billing::SubscriptionPricingRequest request;
  request.subscription_id = s.id;
  request.offer_durable_id = *args.offer;
  request.region = args.region;
  request.currency = args.currency;
  request.adjustment_percent = adjustment;
  request.commitment = commitment;
  auto pricing = service->SetSubscriptionPricing(request);
  if (!pricing.ok()) {
    return FailStatus(env, Status(pricing.status().code(),
                                  "subscription " + s.id + " is not on offer " + *args.offer +
                                      ": " + pricing.status().message()));
  }
  env.out << "subscription " << s.id << " is on offer " << pricing->offer_durable_id
          << " region " << (pricing->region.empty() ? "(none)" : pricing->region) << " in "
          << pricing->currency << ", adjustment " << pricing->adjustment_percent.ToString()
          << "%, commitment " << (pricing->commitment ? pricing->commitment->ToString() : "none")
          << std::endl;
  return kExitOk;
}

int RunSubscriptionsList(const ListArgs& args, CliEnv& env) {
  int code = kExitOk;
  if (!CheckListFormat(env, args.format, code)) return code;
  Result<std::unique_ptr<store::UsageStore>> store = OpenStore(args.data_dir, false, env.clock);
  if (!store.ok()) return Fail(env, kExitFailure, store.status().message());
  Result<std::vector<domain::Subscription>> subs = (*store)->ListSubscriptions();
  if (!subs.ok()) return Fail(env, kExitFailure, subs.status().message());

  TablePrinter table({"ID", "KIND", "STATE", "PROVIDER", "OWNER", "DISPLAY NAME", "OFFER"});
  std::string line;
  for (const domain::Subscription& s : *subs) {
    if (args.format == "table") {
      table.AddRow({s.id, std::string(domain::SubscriptionKindName(s.kind)),
                    std::string(domain::SubscriptionStateName(s.state)), s.provider_id, s.owner,
                    s.display_name, s.offer});
      continue;
    }
    line.clear();
    JsonWriter w(line);
    w.BeginObject();
    w.Key("id").String(s.id);
    w.Key("kind").String(domain::SubscriptionKindName(s.kind));
    w.Key("provider").String(s.provider_id);
    w.Key("owner").String(s.owner);
    w.Key("displayName").String(s.display_name);
    w.Key("offer").String(s.offer);
    w.Key("state").String(domain::SubscriptionStateName(s.state));
    w.EndObject();
    env.out << line << '\n';
  }
  if (args.format == "table") table.Print(env.out);
  env.out.flush();
  return kExitOk;
}

int RunKeysCreate(const KeysCreateArgs& args, CliEnv& env) {
  Result<domain::Role> role = domain::ParseRole(args.role);
  if (!role.ok()) return Fail(env, kExitUsage, "--role must be operator, tenant or reporter");
  std::vector<std::string> subscriptions;
  for (const std::string& s : args.subscriptions) {
    if (!IsGuid(s)) return Fail(env, kExitUsage, "--subscription '" + s + "' is not a GUID");
    subscriptions.push_back(AsciiLower(s));
  }
  if (*role == domain::Role::kTenant && subscriptions.empty()) {
    return Fail(env, kExitUsage, "a tenant key needs at least one --subscription");
  }
  if (*role == domain::Role::kReporter && !subscriptions.empty()) {
    return Fail(env, kExitUsage, "a reporter key takes no --subscription");
  }
  if (*role == domain::Role::kOperator && subscriptions.size() > 1) {
    return Fail(env, kExitUsage, "an operator key acts for at most one provider --subscription");
  }
  Result<std::unique_ptr<store::UsageStore>> store = OpenStore(args.data_dir, true, env.clock);
  if (!store.ok()) return Fail(env, kExitFailure, store.status().message());
  if (*role == domain::Role::kOperator && !subscriptions.empty()) {
    // An operator key for a delegated provider: it must be one.
    Result<std::optional<domain::Subscription>> p = (*store)->FindSubscription(subscriptions[0]);
    if (!p.ok()) return FailStatus(env, p.status());
    if (!*p || (*p)->kind != domain::SubscriptionKind::kProvider) {
      return Fail(env, kExitUsage,
                  "--subscription " + subscriptions[0] +
                      " is not a provider subscription (add it with `tally subscriptions add "
                      "--kind provider`)");
    }
  }

  Result<domain::NewToken> token = domain::MakeToken();
  if (!token.ok()) return Fail(env, kExitFailure, token.status().message());
  domain::ApiKey key;
  key.key_id = token->key_id;
  key.role = *role;
  key.subscriptions = std::move(subscriptions);
  key.label = args.label;
  key.secret_hash = token->secret_hash;
  key.created = env.clock.Now();
  const Status saved = (*store)->SaveApiKey(key);
  if (!saved.ok()) return FailStatus(env, saved);
  env.out << "created " << domain::RoleName(key.role) << " key " << key.key_id;
  if (!key.subscriptions.empty()) env.out << " for " << JoinComma(key.subscriptions);
  env.out << "; the token is shown only now:\n" << token->token << std::endl;
  return kExitOk;
}

int RunKeysList(const ListArgs& args, CliEnv& env) {
  int code = kExitOk;
  if (!CheckListFormat(env, args.format, code)) return code;
  Result<std::unique_ptr<store::UsageStore>> store = OpenStore(args.data_dir, false, env.clock);
  if (!store.ok()) return Fail(env, kExitFailure, store.status().message());
  Result<std::vector<domain::ApiKey>> keys = (*store)->ListApiKeys();
  if (!keys.ok()) return Fail(env, kExitFailure, keys.status().message());

  TablePrinter table({"KEY ID", "ROLE", "SUBSCRIPTIONS", "LABEL", "CREATED", "REVOKED"});
  std::string line;
  for (const domain::ApiKey& k : *keys) {
    const std::string revoked = k.revoked ? FormatUtcTime(*k.revoked) : "";
    if (args.format == "table") {
      table.AddRow({k.key_id, std::string(domain::RoleName(k.role)), JoinComma(k.subscriptions),
                    k.label, FormatUtcTime(k.created), revoked});
      continue;
    }
    line.clear();
    JsonWriter w(line);
    w.BeginObject();
    w.Key("keyId").String(k.key_id);
    w.Key("role").String(domain::RoleName(k.role));
    w.Key("subscriptions").BeginArray();
    for (const std::string& s : k.subscriptions) w.String(s);
    w.EndArray();
    w.Key("label").String(k.label);
    w.Key("created").Time(k.created);
    w.Key("revoked");
    if (k.revoked) {
      w.Time(*k.revoked);
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

int RunKeysRevoke(const KeysRevokeArgs& args, CliEnv& env) {
  Result<std::unique_ptr<store::UsageStore>> store = OpenStore(args.data_dir, false, env.clock);
  if (!store.ok()) return Fail(env, kExitFailure, store.status().message());
  const Status revoked = (*store)->RevokeApiKey(args.key_id, env.clock.Now());
  if (!revoked.ok()) return Fail(env, kExitFailure, revoked.message());
  env.out << "revoked key " << args.key_id << std::endl;
  return kExitOk;
}

}  // namespace tally::cli
