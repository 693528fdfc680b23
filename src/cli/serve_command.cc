#include <chrono>
#include <memory>
#include <mutex>
#include <optional>

#include "api/access_log.h"
#include "api/api_service.h"
#include "api/http_server.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/listen_address.h"
#include "ingest/ingest_service.h"
#include "query/usage_query.h"
#include "store/anonymous_memory.h"
#include "webhook/delivery_worker.h"

namespace tally::cli {

int RunServe(const ServeArgs& args, CliEnv& env) {
  Result<ListenAddress> listen = ParseListenAddress(args.listen);
  if (!listen.ok()) return FailStatus(env, listen.status());
  if (args.tls_cert.empty() != args.tls_key.empty()) {
    return Fail(env, kExitUsage, "--tls-cert and --tls-key go together");
  }
  const bool tls = !args.tls_cert.empty();
  // Bearer tokens must not cross a network in clear text.
  if (!tls && !listen->loopback) {
    return Fail(env, kExitUsage,
                "refusing to serve plain http on " + args.listen +
                    ": without TLS only loopback addresses (127.0.0.1, ::1, localhost) are "
                    "allowed; give --tls-cert and --tls-key to serve https");
  }

  Result<std::unique_ptr<store::UsageStore>> store = OpenStore(args.data_dir, true, env.clock);
  if (!store.ok()) return Fail(env, kExitFailure, store.status().message());
  ingest::IngestService ingest(**store, env.clock);
  query::UsageQueryService query(**store, env.clock);
  api::ApiService service(**store, ingest, query, env.clock);
  // Webhook deliveries go out in the background while the server runs.
  auto webhooks = StartWebhookDelivery(**store, args.webhooks, env);
  if (!webhooks.ok()) return FailStatus(env, webhooks.status());

  api::HttpServerOptions options;
  options.address = listen->host;
  options.port = listen->port;
  options.tls_cert_file = args.tls_cert;
  options.tls_key_file = args.tls_key;
  std::mutex log_mu;
  if (args.access_log) {
    options.on_answered = [&env, &log_mu, &clock = env.clock](
                              const api::HttpRequest& request, const api::HttpResponse& response,
                              std::chrono::microseconds elapsed) {
      const std::string line = api::FormatAccessLogLine(clock.Now(), request, response, elapsed);
      std::lock_guard lock(log_mu);
      env.err << line << '\n' << std::flush;
    };
  }
  api::TuneAllocatorForServing();
  std::optional<store::HeapCollapser> collapser;
  if (args.collapse_heap) collapser.emplace(store::kHeapCollapseInterval);
  Result<std::unique_ptr<api::HttpServer>> server = api::HttpServer::Start(
      options, [&service](const api::HttpRequest& request) { return service.Handle(request); });
  if (!server.ok()) return FailStatus(env, server.status());
  (*server)->StopOnSignals();

  const bool v6 = listen->host.find(':') != std::string::npos;
  env.out << "listening on " << (tls ? "https" : "http") << "://"
          << (v6 ? "[" + listen->host + "]" : listen->host) << ':' << (*server)->port()
          << std::endl;
  (*server)->Wait();
  if (*webhooks) (*webhooks)->Stop();
  env.err << "tally: stopped" << std::endl;
  return kExitOk;
}

}  // namespace tally::cli
