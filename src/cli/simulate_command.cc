#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <thread>

#include "api/http_client.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "common/json_writer.h"
#include "common/strings.h"
#include "simulate/simulator.h"

namespace tally::cli {
namespace {

constexpr size_t kStoreBatch = 10'000;
constexpr size_t kServerBatch = 1'000;
constexpr int kMaxUnavailableRetries = 20;

Result<simulate::SimulationOptions> MakeOptions(const SimulateArgs& args, UtcTime now) {
  simulate::SimulationOptions o = simulate::MakeDefaultSimulationOptions(now);
  o.seed = args.seed;
  o.days = args.days;
  o.tenants = args.tenants;
  if (args.scale <= 0 || !std::isfinite(args.scale)) {
    return InvalidArgument("--scale must be a positive number");
  }
  o.resources = std::max<int64_t>(args.tenants, std::llround(8.0 * args.tenants * args.scale));
  const int64_t today = UsageHour::FromHours(now.micros / kMicrosPerHour).DayStart().hours();
  if (args.start.empty()) {
    // The last `days` complete days before today.
    o.start = UsageHour::FromHours(today - int64_t{24} * args.days);
  } else {
    Result<UtcTime> start = ParseUtcTime(args.start);
    if (!start.ok() || !start->IsDayAligned()) {
      return InvalidArgument("--start '" + args.start + "' must be a date, YYYY-MM-DD");
    }
    o.start = UsageHour::FromHours(start->micros / kMicrosPerHour);
  }
  TALLY_RETURN_IF_ERROR(simulate::ValidateSimulationOptions(o));
  return o;
}

int PrintTenants(const simulate::SimulationOptions& o, CliEnv& env) {
  std::string line;
  for (const simulate::SimulatedTenant& t : simulate::MakeSimulatedTenants(o)) {
    line.clear();
    JsonWriter w(line);
    w.BeginObject();
    w.Key("subscriptionId").String(t.subscription_id);
    w.Key("owner").String(t.owner);
    w.Key("displayName").String(t.display_name);
    w.Key("resources").Int(t.resources);
    w.EndObject();
    env.out << line << '\n';
  }
  env.out.flush();
  return kExitOk;
}

int ToFile(const SimulateArgs& args, simulate::SimulationOptions o, CliEnv& env) {
  std::ofstream file;
  std::ostream* out = &env.out;
  if (args.out != "-") {
    file.open(args.out, std::ios::binary | std::ios::trunc);
    if (!file) return Fail(env, kExitFailure, "cannot write " + args.out);
    out = &file;
  }
  // History for `tally import`, which keeps each record's reportedTime.
  o.with_reported_time = true;
  std::string buffer;
  size_t records = 0;
  simulate::Simulate(o, [&](const simulate::SimulatedRecord& r) {
    simulate::AppendRecordNdjson(buffer, r.record, r.reported_time);
    ++records;
    if (buffer.size() > (1 << 20)) {
      out->write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      buffer.clear();
    }
  });
  out->write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  out->flush();
  if (!*out) return Fail(env, kExitFailure, "writing " + args.out + " failed");
  if (args.out != "-")
    env.out << "simulated " << records << " records into " << args.out << std::endl;
  return kExitOk;
}

int ToStore(const SimulateArgs& args, simulate::SimulationOptions o, CliEnv& env) {
  Result<std::unique_ptr<store::UsageStore>> opened = OpenStore(args.data_dir, true, env.clock);
  if (!opened.ok()) return Fail(env, kExitFailure, opened.status().message());
  store::UsageStore& store = **opened;

  const std::vector<simulate::SimulatedTenant> tenants = simulate::MakeSimulatedTenants(o);
  for (const simulate::SimulatedTenant& t : tenants) {
    Result<std::optional<domain::Subscription>> existing =
        store.FindSubscription(t.subscription_id);
    if (!existing.ok()) return Fail(env, kExitFailure, existing.status().message());
    domain::Subscription s = existing->value_or(domain::Subscription{});
    if (!*existing) {
      s.id = t.subscription_id;
      s.created = env.clock.Now();
    }
    s.kind = domain::SubscriptionKind::kTenant;
    s.state = domain::SubscriptionState::kActive;
    s.owner = t.owner;
    s.display_name = t.display_name;
    const Status saved = store.SaveSubscription(s);
    if (!saved.ok()) return Fail(env, kExitFailure, saved.message());
  }

  // The simulated reported times are kept, so the data reads like a month of real traffic.
  o.with_reported_time = true;
  std::vector<domain::UsageRecord> batch;
  batch.reserve(kStoreBatch);
  size_t accepted = 0;
  size_t duplicates = 0;
  Status failure;
  const auto flush = [&] {
    if (batch.empty() || !failure.ok()) return;
    Result<store::AppendOutcome> outcome = store.AppendUsage(batch, ReportedTime(env.clock.Now()));
    if (!outcome.ok()) {
      failure = outcome.status();
    } else if (!outcome->conflicts.empty()) {
      failure = AlreadyExists("record " + outcome->conflicts.front().record_id +
                              " is already stored with different content (another --seed?)");
    } else {
      accepted += outcome->accepted;
      duplicates += outcome->duplicates;
    }
    batch.clear();
  };
  simulate::Simulate(o, [&](const simulate::SimulatedRecord& r) {
    batch.push_back(r.record);
    if (batch.size() == kStoreBatch) flush();
  });
  flush();
  if (!failure.ok()) return Fail(env, kExitFailure, failure.message());
  env.out << "simulated " << accepted << " records (" << duplicates << " duplicates) for "
          << tenants.size() << " tenants into " << args.data_dir << std::endl;
  return kExitOk;
}

int ToServer(const SimulateArgs& args, const simulate::SimulationOptions& o, CliEnv& env) {
  if (args.token.empty()) return Fail(env, kExitUsage, "--server needs --token");
  api::HttpClientOptions client_options;
  client_options.ca_file = args.ca_cert;
  Result<std::unique_ptr<api::HttpClient>> client =
      api::HttpClient::Make(args.server, client_options);
  if (!client.ok()) return FailStatus(env, client.status());
  const api::HeaderList headers = {{"Authorization", "Bearer " + args.token},
                                   {"Content-Type", "application/x-ndjson"}};
  std::string body;
  size_t in_body = 0;
  size_t accepted = 0;
  size_t duplicates = 0;
  Status failure;
  const auto post = [&] {
    if (in_body == 0 || !failure.ok()) return;
    for (int attempt = 0;; ++attempt) {
      Result<api::ClientResponse> r =
          (*client)->Send(api::Method::kPost, "/v1/usage/records", headers, body);
      if (!r.ok()) {
        failure = r.status();
        break;
      }
      if (r->status == 200) {
        // {"accepted":N,"duplicates":M}: small and written by Tally, so a scan is enough.
        const auto number_after = [&](std::string_view key) -> size_t {
          const size_t at = r->body.find(key);
          return at == std::string::npos
                     ? 0
                     : std::strtoull(r->body.c_str() + at + key.size(), nullptr, 10);
        };
        accepted += number_after("\"accepted\":");
        duplicates += number_after("\"duplicates\":");
        break;
      }
      if (r->status == 503 && attempt < kMaxUnavailableRetries) {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        continue;
      }
      failure = Unavailable("the server answered " + std::to_string(r->status) + ": " + r->body);
      break;
    }
    body.clear();
    in_body = 0;
  };
  simulate::Simulate(o, [&](const simulate::SimulatedRecord& r) {
    if (!failure.ok()) return;
    // As a resource provider sends them: Tally assigns the reported time on arrival.
    simulate::AppendRecordNdjson(body, r.record);
    if (++in_body == kServerBatch) post();
  });
  post();
  if (!failure.ok()) return Fail(env, kExitFailure, failure.message());
  env.out << "posted " << accepted << " records (" << duplicates << " duplicates) to "
          << args.server << std::endl;
  return kExitOk;
}

}  // namespace

int RunSimulate(const SimulateArgs& args, CliEnv& env) {
  Result<simulate::SimulationOptions> options = MakeOptions(args, env.clock.Now());
  if (!options.ok()) return Fail(env, kExitUsage, options.status().message());
  if (args.print_tenants) return PrintTenants(*options, env);
  const int targets =
      (args.out.empty() ? 0 : 1) + (args.to_data_dir ? 1 : 0) + (args.server.empty() ? 0 : 1);
  if (targets != 1) {
    return Fail(env, kExitUsage,
                "choose exactly one of --out FILE|-, --data-dir DIR or --server URL --token T");
  }
  if (!args.out.empty()) return ToFile(args, *options, env);
  if (args.to_data_dir) return ToStore(args, *options, env);
  return ToServer(args, *options, env);
}

}  // namespace tally::cli
