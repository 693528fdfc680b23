// `tally webhooks` (endpoints, the delivery log, replay, delivery) and the webhook delivery of
// `tally invoices finalize` and `tally serve`: thin adapters over store::WebhookStore and the
// deliverer of src/webhook/. Secrets are never printed, except a generated one, once.
#include <charconv>
#include <chrono>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/table.h"
#include "common/json_writer.h"
#include "common/strings.h"
#include "webhook/deliverer.h"
#include "webhook/delivery_worker.h"
#include "webhook/http_poster.h"
#include "webhook/signature.h"

namespace tally::cli {
namespace {

using store::DeliveryStatus;

// "250ms", "10s", "5m", "2h", "3d" -> microseconds.
Result<int64_t> ParseDuration(std::string_view option, std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  const std::string_view unit = text.substr(digits);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + digits, value);
  int64_t scale = 0;
  if (unit == "ms") scale = 1000;
  if (unit == "s") scale = kMicrosPerSecond;
  if (unit == "m") scale = 60 * kMicrosPerSecond;
  if (unit == "h") scale = kMicrosPerHour;
  if (unit == "d") scale = kMicrosPerDay;
  if (digits == 0 || ec != std::errc() || scale == 0 || value > INT64_MAX / scale / 2) {
    return InvalidArgument(std::string(option) + " '" + std::string(text) +
                           "' is not a duration like 250ms, 10s, 5m, 2h or 3d");
  }
  return value * scale;
}

struct DeliverySettings {
  webhook::RetryPolicy retry;
  webhook::HttpPosterOptions post;
  int64_t poll_us = 0;
};

// Every bad --webhook-* option in one error.
Result<DeliverySettings> ParseDeliveryArgs(const WebhookDeliveryArgs& args) {
  DeliverySettings s;
  std::string problems;
  auto take = [&](std::string_view option, const std::string& text, int64_t& out) {
    Result<int64_t> d = ParseDuration(option, text);
    if (d.ok()) {
      out = *d;
      return;
    }
    if (!problems.empty()) problems.append("; ");
    problems.append(d.status().message());
  };
  int64_t timeout_us = 0;
  take("--webhook-retry-base", args.retry_base, s.retry.base_us);
  take("--webhook-retry-cap", args.retry_cap, s.retry.cap_us);
  take("--webhook-max-age", args.max_age, s.retry.max_age_us);
  take("--webhook-timeout", args.timeout, timeout_us);
  take("--webhook-poll", args.poll, s.poll_us);
  s.retry.max_attempts = args.max_attempts;
  if (problems.empty()) {
    Status policy = webhook::ValidateRetryPolicy(s.retry);
    if (!policy.ok()) problems = policy.message();
    if (timeout_us < kMicrosPerSecond) {
      if (!problems.empty()) problems.append("; ");
      problems.append("--webhook-timeout must be at least 1s");
    }
  }
  if (!problems.empty()) return InvalidArgument(problems);
  s.post.timeout = std::chrono::seconds(timeout_us / kMicrosPerSecond);
  s.post.ca_file = args.ca_cert;
  return s;
}

Result<std::unique_ptr<store::UsageStore>> OpenWebhookStore(const std::string& data_dir,
                                                           const Clock& clock) {
  TALLY_ASSIGN_OR_RETURN(std::unique_ptr<store::UsageStore> s, OpenStore(data_dir, false, clock));
  if (s->Webhooks() == nullptr) return InvalidArgument("this store keeps no webhooks");
  return s;
}

Result<int64_t> ParseId(std::string_view what, std::string_view text) {
  int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || id <= 0) {
    return InvalidArgument(std::string(what) + " '" + std::string(text) +
                           "' is not an ID (a positive number)");
  }
  return id;
}

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const std::string& i : items) {
    if (!out.empty()) out.append(sep);
    out.append(i);
  }
  return out;
}

std::string TimeOrDash(const std::optional<UtcTime>& t) {
  return t ? FormatUtcTime(*t) : std::string("-");
}

void AppendAttemptJson(JsonWriter& w, const store::DeliveryAttempt& a) {
  w.BeginObject();
  w.Key("attempt").Int(a.attempt);
  w.Key("at").Time(a.at);
  w.Key("statusCode").Int(a.status_code);
  w.Key("error").String(a.error);
  w.Key("durationMs").Int(a.duration_us / 1000);
  w.EndObject();
}

// One JSON line per attempt, for the server's log (stderr, beside the access log).
std::string AttemptLogLine(const webhook::AttemptReport& r) {
  std::string line;
  JsonWriter w(line);
  w.BeginObject();
  w.Key("webhookDelivery").Int(r.delivery_id);
  w.Key("url").String(r.url);
  w.Key("attempt").Int(r.attempt.attempt);
  w.Key("statusCode").Int(r.attempt.status_code);
  w.Key("error").String(r.attempt.error);
  w.Key("status").String(store::DeliveryStatusName(r.status));
  if (r.next_attempt) w.Key("nextAttempt").Time(*r.next_attempt);
  w.EndObject();
  return line;
}

// "delivery 3 attempt 2: HTTP 500 -> pending, next attempt 2026-11-23T19:00:05Z"
void PrintAttempt(CliEnv& env, const webhook::AttemptReport& r) {
  env.out << "delivery " << r.delivery_id << " attempt " << r.attempt.attempt << ": "
          << (r.attempt.status_code != 0 ? "HTTP " + std::to_string(r.attempt.status_code)
                                         : r.attempt.error)
          << " -> " << store::DeliveryStatusName(r.status);
  if (r.next_attempt) env.out << ", next attempt " << FormatUtcTime(*r.next_attempt);
  env.out << std::endl;
}

void PrintPass(CliEnv& env, const webhook::PassReport& pass) {
  env.out << "webhooks: " << pass.attempted << " attempted, " << pass.delivered << " delivered, "
          << pass.retrying << " to retry, " << pass.failed << " failed" << std::endl;
}

Result<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open the secret file " + path);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  if (line.empty()) return InvalidArgument("the secret file " + path + " is empty");
  return line;
}

}  // namespace

Status CheckWebhookDeliveryArgs(const WebhookDeliveryArgs& args) {
  return ParseDeliveryArgs(args).status();
}

bool DeliverDueWebhooks(store::UsageStore& store, const WebhookDeliveryArgs& args, CliEnv& env) {
  if (store.Webhooks() == nullptr) return true;
  Result<DeliverySettings> settings = ParseDeliveryArgs(args);
  if (!settings.ok()) {
    Fail(env, kExitUsage, settings.status().message());
    return false;
  }
  webhook::HttpPoster poster(settings->post);
  webhook::DelivererOptions options;
  options.retry = settings->retry;
  options.on_attempt = [&env](const webhook::AttemptReport& r) { PrintAttempt(env, r); };
  webhook::Deliverer deliverer(*store.Webhooks(), poster, env.clock, options);
  Result<webhook::PassReport> pass = deliverer.DeliverDue();
  if (!pass.ok()) {
    Fail(env, kExitFailure, "webhook delivery: " + pass.status().message());
    return false;
  }
  if (pass->attempted > 0) {
    PrintPass(env, *pass);
    if (pass->retrying > 0) {
      env.out << "webhooks: deliveries to retry go out with `tally serve` or `tally webhooks "
                 "deliver`"
              << std::endl;
    }
  }
  return true;
}

Result<std::unique_ptr<webhook::BackgroundDelivery>> StartWebhookDelivery(
    store::UsageStore& store, const WebhookDeliveryArgs& args, CliEnv& env) {
  if (store.Webhooks() == nullptr) return std::unique_ptr<webhook::BackgroundDelivery>();
  TALLY_ASSIGN_OR_RETURN(DeliverySettings settings, ParseDeliveryArgs(args));
  webhook::DelivererOptions options;
  options.retry = settings.retry;
  auto log_mu = std::make_shared<std::mutex>();
  options.on_attempt = [&env, log_mu](const webhook::AttemptReport& r) {
    const std::string line = AttemptLogLine(r);
    std::lock_guard lock(*log_mu);
    env.err << line << '\n' << std::flush;
  };
  auto on_error = [&env, log_mu](const Status& s) {
    std::lock_guard lock(*log_mu);
    env.err << "tally: webhook delivery: " << s.message() << std::endl;
  };
  return std::make_unique<webhook::BackgroundDelivery>(*store.Webhooks(), env.clock,
                                                       settings.post, std::move(options),
                                                       settings.poll_us, std::move(on_error));
}

int RunWebhooksAdd(const WebhooksAddArgs& args, CliEnv& env) {
  Status url = webhook::ValidateEndpointUrl(args.url);
  if (!url.ok()) return FailStatus(env, url);
  if (!args.secret.empty() && !args.secret_file.empty()) {
    return Fail(env, kExitUsage, "give --secret or --secret-file, not both");
  }
  for (const std::string& e : args.events) {
    if (e != store::kInvoiceFinalizedEvent) {
      return Fail(env, kExitUsage,
                  "unknown event '" + e + "' (known: " +
                      std::string(store::kInvoiceFinalizedEvent) + ")");
    }
  }
  std::string secret = args.secret;
  bool generated = false;
  if (!args.secret_file.empty()) {
    Result<std::string> s = ReadSecretFile(args.secret_file);
    if (!s.ok()) return FailStatus(env, s.status());
    secret = *s;
  } else if (secret.empty()) {
    Result<std::string> s = webhook::GenerateSecret();
    if (!s.ok()) return FailStatus(env, s.status());
    secret = *s;
    generated = true;
  }
  if (secret.size() < 16) {
    return Fail(env, kExitUsage, "the webhook secret must have at least 16 characters");
  }
  auto store = OpenWebhookStore(args.data_dir, env.clock);
  if (!store.ok()) return FailStatus(env, store.status());
  store::WebhookEndpoint endpoint;
  endpoint.url = args.url;
  endpoint.secret = secret;
  endpoint.events = args.events;
  endpoint.created = env.clock.Now();
  auto saved = (*store)->Webhooks()->AddWebhookEndpoint(endpoint);
  if (!saved.ok()) return FailStatus(env, saved.status());
  env.out << "added webhook endpoint " << saved->id << " " << saved->url << " for "
          << Join(saved->events, ",") << std::endl;
  if (generated) {
    env.out << "its signing secret (shown only now; the receiver verifies with it):\n"
            << secret << std::endl;
  }
  return kExitOk;
}

int RunWebhooksList(const ListArgs& args, CliEnv& env) {
  int code = kExitOk;
  if (!CheckListFormat(env, args.format, code)) return code;
  auto store = OpenWebhookStore(args.data_dir, env.clock);
  if (!store.ok()) return FailStatus(env, store.status());
  auto endpoints = (*store)->Webhooks()->ListWebhookEndpoints();
  if (!endpoints.ok()) return FailStatus(env, endpoints.status());
  TablePrinter table({"ID", "URL", "EVENTS", "CREATED"}, {true, false, false, false});
  std::string line;
  for (const store::WebhookEndpoint& e : *endpoints) {
    if (args.format == "table") {
      table.AddRow({std::to_string(e.id), e.url, Join(e.events, ","), FormatUtcTime(e.created)});
      continue;
    }
    line.clear();
    JsonWriter w(line);
    w.BeginObject();
    w.Key("id").Int(e.id);
    w.Key("url").String(e.url);
    w.Key("events").BeginArray();
    for (const std::string& ev : e.events) w.String(ev);
    w.EndArray();
    w.Key("created").Time(e.created);
    w.EndObject();
    env.out << line << '\n';
  }
  if (args.format == "table") table.Print(env.out);
  env.out.flush();
  return kExitOk;
}

int RunWebhooksRemove(const WebhooksRemoveArgs& args, CliEnv& env) {
  Result<int64_t> id = ParseId("endpoint", args.id);
  if (!id.ok()) return FailStatus(env, id.status());
  auto store = OpenWebhookStore(args.data_dir, env.clock);
  if (!store.ok()) return FailStatus(env, store.status());
  Status s = (*store)->Webhooks()->RemoveWebhookEndpoint(*id, env.clock.Now());
  if (!s.ok()) return FailStatus(env, s);
  env.out << "removed webhook endpoint " << *id << " (its pending deliveries failed)"
          << std::endl;
  return kExitOk;
}

int RunWebhookDeliveries(const WebhookDeliveriesArgs& args, CliEnv& env) {
  int code = kExitOk;
  if (!CheckListFormat(env, args.format, code)) return code;
  store::DeliveryFilter filter;
  filter.limit = args.limit;
  if (!args.status.empty()) {
    filter.status = store::ParseDeliveryStatus(args.status);
    if (!filter.status) {
      return Fail(env, kExitUsage, "--status must be pending, delivered or failed");
    }
  }
  if (!args.endpoint.empty()) {
    Result<int64_t> id = ParseId("--endpoint", args.endpoint);
    if (!id.ok()) return FailStatus(env, id.status());
    filter.endpoint_id = *id;
  }
  auto store = OpenWebhookStore(args.data_dir, env.clock);
  if (!store.ok()) return FailStatus(env, store.status());
  store::WebhookStore& webhooks = *(*store)->Webhooks();
  auto deliveries = webhooks.ListWebhookDeliveries(filter);
  if (!deliveries.ok()) return FailStatus(env, deliveries.status());
  TablePrinter table({"ID", "ENDPOINT", "EVENT", "SUBJECT", "STATUS", "ATTEMPTS", "LAST RESULT",
                      "LAST ATTEMPT", "NEXT ATTEMPT"},
                     {true, true, false, false, false, true, false, false, false});
  std::string line;
  for (const store::WebhookDelivery& d : *deliveries) {
    if (args.format == "table") {
      table.AddRow({std::to_string(d.id), std::to_string(d.endpoint_id), d.event_type, d.subject,
                    std::string(store::DeliveryStatusName(d.status)), std::to_string(d.attempts),
                    d.last_result.empty() ? "-" : d.last_result, TimeOrDash(d.last_attempt),
                    TimeOrDash(d.next_attempt)});
      continue;
    }
    auto attempts = webhooks.ListDeliveryAttempts(d.id);
    if (!attempts.ok()) return FailStatus(env, attempts.status());
    line.clear();
    JsonWriter w(line);
    w.BeginObject();
    w.Key("id").Int(d.id);
    w.Key("endpoint").Int(d.endpoint_id);
    w.Key("url").String(d.url);
    w.Key("event").String(d.event_type);
    w.Key("subject").String(d.subject);
    w.Key("status").String(store::DeliveryStatusName(d.status));
    w.Key("created").Time(d.created);
    w.Key("roundStarted").Time(d.round_started);
    w.Key("nextAttempt");
    d.next_attempt ? w.Time(*d.next_attempt) : w.Null();
    w.Key("delivered");
    d.delivered ? w.Time(*d.delivered) : w.Null();
    w.Key("lastResult").String(d.last_result);
    w.Key("attempts").BeginArray();
    for (const store::DeliveryAttempt& a : *attempts) AppendAttemptJson(w, a);
    w.EndArray();
    w.EndObject();
    env.out << line << '\n';
  }
  if (args.format == "table") table.Print(env.out);
  env.out.flush();
  return kExitOk;
}

int RunWebhooksReplay(const WebhooksReplayArgs& args, CliEnv& env) {
  std::vector<int64_t> ids;
  for (const std::string& text : args.ids) {
    Result<int64_t> id = ParseId("delivery", text);
    if (!id.ok()) return FailStatus(env, id.status());
    ids.push_back(*id);
  }
  if (args.deliver) {
    Result<DeliverySettings> settings = ParseDeliveryArgs(args.webhooks);
    if (!settings.ok()) return FailStatus(env, settings.status());
  }
  auto store = OpenWebhookStore(args.data_dir, env.clock);
  if (!store.ok()) return FailStatus(env, store.status());
  for (int64_t id : ids) {
    Status s = (*store)->Webhooks()->ReplayWebhookDelivery(id, env.clock.Now());
    if (!s.ok()) return FailStatus(env, s);
    env.out << "webhook delivery " << id << " is pending again" << std::endl;
  }
  if (args.deliver && !DeliverDueWebhooks(**store, args.webhooks, env)) return kExitFailure;
  return kExitOk;
}

int RunWebhooksDeliver(const WebhooksDeliverArgs& args, CliEnv& env) {
  Result<int64_t> deadline_us = ParseDuration("--deadline", args.deadline);
  if (!deadline_us.ok()) return FailStatus(env, deadline_us.status());
  Result<DeliverySettings> settings = ParseDeliveryArgs(args.webhooks);
  if (!settings.ok()) return FailStatus(env, settings.status());
  auto store = OpenWebhookStore(args.data_dir, env.clock);
  if (!store.ok()) return FailStatus(env, store.status());
  webhook::HttpPoster poster(settings->post);
  webhook::DelivererOptions options;
  options.retry = settings->retry;
  options.on_attempt = [&env](const webhook::AttemptReport& r) { PrintAttempt(env, r); };
  webhook::Deliverer deliverer(*(*store)->Webhooks(), poster, env.clock, options);
  const UtcTime deadline{env.clock.Now().micros + *deadline_us};
  auto pass = deliverer.DeliverUntilIdle(deadline, [](int64_t micros) {
    std::this_thread::sleep_for(std::chrono::microseconds(micros));
  });
  if (!pass.ok()) return FailStatus(env, pass.status());
  PrintPass(env, *pass);
  auto pending = (*store)->Webhooks()->NextDueTime();
  if (!pending.ok()) return FailStatus(env, pending.status());
  if (pending->has_value()) {
    env.out << "webhooks: deliveries are still pending (next attempt "
            << FormatUtcTime(**pending) << ")" << std::endl;
  }
  return pass->failed > 0 ? kExitFailure : kExitOk;
}

}  // namespace tally::cli
