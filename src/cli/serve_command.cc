#include <memory>

#include "api/api_service.h"
#include "api/http_server.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/listen_address.h"
#include "ingest/ingest_service.h"
#include "query/usage_query.h"

namespace tally::cli {

int RunServe(const ServeArgs& args, CliEnv& env) {
  Result<ListenAddress> listen = ParseListenAddress(args.listen);
  if (!listen.ok()) return FailStatus(env, listen.status());
  // Bearer tokens must not cross a network in clear text.
  if (!listen->loopback) {
    return Fail(env, kExitUsage,
                "refusing to serve plain http on " + args.listen +
                    ": without TLS only loopback addresses (127.0.0.1, ::1, localhost) are "
                    "allowed. TLS comes with --tls-cert/--tls-key, which is not implemented "
                    "yet.");
  }

  Result<std::unique_ptr<store::UsageStore>> store = OpenStore(args.data_dir, true, env.clock);
  if (!store.ok()) return Fail(env, kExitFailure, store.status().message());
  ingest::IngestService ingest(**store, env.clock);
  query::UsageQueryService query(**store, env.clock);
  api::ApiService service(**store, ingest, query, env.clock);

  api::HttpServerOptions options;
  options.address = listen->host;
  options.port = listen->port;
  Result<std::unique_ptr<api::HttpServer>> server = api::HttpServer::Start(
      options, [&service](const api::HttpRequest& request) { return service.Handle(request); });
  if (!server.ok()) return Fail(env, kExitFailure, server.status().message());
  (*server)->StopOnSignals();

  const bool v6 = listen->host.find(':') != std::string::npos;
  env.out << "listening on http://" << (v6 ? "[" + listen->host + "]" : listen->host) << ':'
          << (*server)->port() << std::endl;
  (*server)->Wait();
  env.err << "tally: stopped" << std::endl;
  return kExitOk;
}

}  // namespace tally::cli
