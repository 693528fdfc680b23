// Paging benchmark (docs/benchmarks.md, issue 4): reading a large operator usage query page by
// page over TLS with keep-alive, against PostgreSQL keyset pagination over the raw records.
// Needs the data set of `tally_bench_aggregate build` (bench/run-paging builds a 1.1 M-record
// one, whose whole window is about a million Hourly aggregates).
//
//   tally_bench_paging tally   the real HttpServer (TLS, self-signed certificate made with the
//                              openssl command) + ApiService over the data set's store, in this
//                              process; C++ clients (TlsPageClient: blocking OpenSSL with
//                              read-ahead, one keep-alive connection each; see
//                              tls_page_client.h for why not api::HttpClient):
//                              1. one client follows nextLink through the whole operator query
//                                 (Default Provider, every tenant, Hourly): aggregates/s end to
//                                 end, server RSS at the first page, its peak and at the end;
//                              2. one client reads random pages of that query: p50/p99;
//                              3. 16 clients read random pages at once: p50/p99; and again
//                                 with api::HttpClient (Beast) clients, for comparison.
//   tally_bench_paging pg      a private PostgreSQL 15 with the same records (COPY), the same
//                              query as keyset pagination: GROUP BY the aggregate key,
//                              HAVING key > last, ORDER BY key LIMIT 1000, for the first
//                              TALLY_BENCH_PG_PAGES pages (default 8): aggregates/s.
//
// Knobs: TALLY_BENCH_PAGING_REPS (full passes, default 3, median reported),
// TALLY_BENCH_PAGE_SAMPLES (random pages per client count, default 400).
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

#include "api/api_service.h"
#include "api/http_client.h"
#include "api/http_server.h"
#include "bench_util.h"
#include "common/clock.h"
#include "dataset.h"
#include "domain/api_key.h"
#include "ingest/ingest_service.h"
#include "pg_baseline.h"
#include "query/usage_query.h"
#include "store/sqlite/sqlite_store.h"
#include "tls_page_client.h"

namespace tally::bench {
namespace {

constexpr int kConcurrentClients = 16;

[[noreturn]] void Die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "tally_bench_paging: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

std::string FiguresPath(const Dataset& d) { return d.dir + "/paging.figures"; }

// The nextLink of a page ("" on the last page). Tally writes URLs without JSON escapes.
std::string NextLink(const std::string& body) {
  constexpr std::string_view kKey = "\"nextLink\":\"";
  const size_t at = body.rfind(kKey);
  if (at == std::string::npos) return {};
  const size_t start = at + kKey.size();
  return body.substr(start, body.find('"', start) - start);
}

size_t CountAggregates(const std::string& body) {
  size_t n = 0;
  for (size_t at = body.find("\"properties\":"); at != std::string::npos;
       at = body.find("\"properties\":", at + 13)) {
    ++n;
  }
  return n;
}

// The path and query of an absolute URL.
std::string TargetOf(const std::string& url) {
  const size_t scheme = url.find("://");
  return url.substr(url.find('/', scheme + 3));
}

struct Server {
  std::string base_url;
  std::string token;
  std::string ca_file;
  std::string first_target;
};

Result<std::string> MakeCertificate(const std::string& dir) {
  const std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                          "-nodes -days 2 -keyout '" + dir + "/key.pem' -out '" + dir +
                          "/cert.pem' -subj /CN=localhost -addext "
                          "subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) return Unavailable("openssl could not make a certificate");
  return dir;
}

int Tally(const Dataset& d) {
  if (auto m = LoadMeta(d); !m.ok()) Die("data set", m.status());
  SystemClock clock;
  store::SqliteStoreOptions so;
  so.data_dir = d.store_dir();
  so.clock = &clock;
  Stopwatch sw;
  auto opened = store::OpenSqliteStore(so);
  if (!opened.ok()) Die("open store", opened.status());
  std::unique_ptr<store::UsageStore> store = std::move(*opened);
  Note("opened the store (" + std::to_string(store->GetStats().records) + " records) in " +
       std::to_string(sw.Seconds()) + " s");
  ingest::IngestService ingest(*store, clock);
  query::UsageQueryService query(*store, clock);
  api::ApiService service(*store, ingest, query, clock);

  auto token = domain::MakeToken();
  if (!token.ok()) Die("token", token.status());
  domain::ApiKey key;
  key.key_id = token->key_id;
  key.role = domain::Role::kOperator;
  key.secret_hash = token->secret_hash;
  key.label = "bench";
  key.created = clock.Now();
  if (Status s = store->SaveApiKey(key); !s.ok()) Die("save key", s);
  auto provider = store->DefaultProvider();
  if (!provider.ok()) Die("default provider", provider.status());

  char tmpl[] = "/tmp/tally-bench-tls-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) Die("mkdtemp", Unavailable("mkdtemp failed"));
  const std::string tls_dir = tmpl;
  if (auto c = MakeCertificate(tls_dir); !c.ok()) Die("certificate", c.status());

  api::HttpServerOptions options;
  options.address = "127.0.0.1";
  options.port = 0;
  options.tls_cert_file = tls_dir + "/cert.pem";
  options.tls_key_file = tls_dir + "/key.pem";
  api::TuneAllocatorForServing();
  auto started = api::HttpServer::Start(
      options, [&service](const api::HttpRequest& r) { return service.Handle(r); });
  if (!started.ok()) Die("start server", started.status());
  std::unique_ptr<api::HttpServer> server = std::move(started).value();

  Server s;
  s.base_url = "https://127.0.0.1:" + std::to_string(server->port());
  s.token = token->token;
  s.ca_file = tls_dir + "/cert.pem";
  s.first_target = "/subscriptions/" + provider->id +
                   "/providers/Microsoft.Commerce.Admin/subscriberUsageAggregates"
                   "?api-version=2015-06-01-preview&reportedStartTime=" +
                   FormatUtcTime(d.period_start) + "&reportedEndTime=" +
                   FormatUtcTime(d.window_end) + "&aggregationGranularity=Hourly";
  const api::HeaderList headers = {{"Authorization", "Bearer " + s.token}};
  api::HttpClientOptions client_options;
  client_options.ca_file = s.ca_file;
  const int port = server->port();
  const std::vector<std::string> header_lines = {"Authorization: Bearer " + s.token};
  // A connected client as a function that GETs one target.
  using Getter = std::function<Result<PageResponse>(const std::string&)>;
  auto make_client = [&](bool beast = false) -> Getter {
    if (beast) {
      auto c = api::HttpClient::Make(s.base_url, client_options);
      if (!c.ok()) Die("client", c.status());
      std::shared_ptr<api::HttpClient> client = std::move(c).value();
      return [client, &headers](const std::string& target) -> Result<PageResponse> {
        TALLY_ASSIGN_OR_RETURN(auto answer, client->Send(api::Method::kGet, target, headers, {}));
        return PageResponse{answer.status, std::move(answer.body)};
      };
    }
    auto c = TlsPageClient::Connect(port, s.ca_file);
    if (!c.ok()) Die("client", c.status());
    std::shared_ptr<TlsPageClient> client = std::move(c).value();
    return [client, &header_lines](const std::string& target) {
      return client->Get(target, header_lines);
    };
  };
  Note("server " + s.base_url + " (TLS), operator query of provider " + provider->id +
       " over the whole window, Hourly");

  // 1. Full passes, following nextLink.
  std::vector<std::string> targets;
  std::vector<double> rates;
  std::vector<double> page_ms;
  double rss_first = 0;
  double rss_peak = 0;
  double rss_last = 0;
  size_t aggregates = 0;
  const int reps = static_cast<int>(EnvInt("TALLY_BENCH_PAGING_REPS", 3));
  for (int rep = 0; rep < reps; ++rep) {
    Getter get = make_client();
    std::string target = s.first_target;
    size_t count = 0;
    size_t pages = 0;
    Stopwatch pass;
    while (!target.empty()) {
      if (rep == 0) targets.push_back(target);
      Stopwatch one;
      auto answer = get(target);
      if (!answer.ok()) Die("page", answer.status());
      if (answer->status != 200) Die("page", Internal("HTTP " + std::to_string(answer->status) +
                                                      ": " + answer->body.substr(0, 300)));
      page_ms.push_back(one.Millis());
      count += CountAggregates(answer->body);
      ++pages;
      const std::string next = NextLink(answer->body);
      target = next.empty() ? std::string() : TargetOf(next);
      const double rss = static_cast<double>(ReadMemInfo().rss_bytes) / (1 << 20);
      if (rep == 0 && pages == 1) rss_first = rss;
      rss_peak = std::max(rss_peak, rss);
      rss_last = rss;
    }
    const double seconds = pass.Seconds();
    rates.push_back(static_cast<double>(count) / seconds);
    aggregates = count;
    Note("pass " + std::to_string(rep + 1) + ": " + std::to_string(count) + " aggregates in " +
         std::to_string(pages) + " pages, " + std::to_string(seconds) + " s");
  }
  Report("paging.aggregates", static_cast<double>(aggregates), "aggregates");
  Report("paging.tls_aggregates_per_s", Median(rates), "aggregates/s", Goal::kAtLeast, 200'000);
  Report("paging.full_pass_page_p50_ms", Percentile(page_ms, 50), "ms");
  Report("paging.full_pass_page_p99_ms", Percentile(page_ms, 99), "ms");
  Report("paging.server_rss_first_page_mib", rss_first, "MiB");
  Report("paging.server_rss_peak_mib", rss_peak, "MiB");
  Report("paging.server_rss_end_mib", rss_last, "MiB");
  Report("paging.server_rss_growth_mib", rss_peak - rss_first, "MiB");

  // 2 and 3. Random pages of that query, by 1 and 16 clients.
  const int samples = static_cast<int>(EnvInt("TALLY_BENCH_PAGE_SAMPLES", 400));
  auto random_pages = [&](int clients, bool beast = false) {
    std::vector<double> latencies;
    std::mutex mu;
    std::vector<std::thread> threads;
    const int per_client = std::max(1, samples / clients);
    Stopwatch wall;
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        Getter get = make_client(beast);
        std::mt19937_64 rng(static_cast<uint64_t>(c) * 7919 + 1);
        std::uniform_int_distribution<size_t> pick(0, targets.size() - 1);
        // One warm-up request opens the connection (the TLS handshake is not a page).
        (void)get(targets[0]);
        std::vector<double> mine;
        for (int i = 0; i < per_client; ++i) {
          Stopwatch one;
          auto answer = get(targets[pick(rng)]);
          if (!answer.ok() || answer->status != 200) {
            Die("random page", answer.ok() ? Internal("HTTP " + std::to_string(answer->status))
                                           : answer.status());
          }
          mine.push_back(one.Millis());
        }
        std::lock_guard lock(mu);
        latencies.insert(latencies.end(), mine.begin(), mine.end());
      });
    }
    for (auto& t : threads) t.join();
    Note(std::to_string(latencies.size()) + " random pages by " + std::to_string(clients) +
         " clients in " + std::to_string(wall.Seconds()) + " s");
    return latencies;
  };
  std::vector<double> one = random_pages(1);
  Report("paging.page_1client_p50_ms", Percentile(one, 50), "ms", Goal::kAtMost, 5);
  Report("paging.page_1client_p99_ms", Percentile(one, 99), "ms", Goal::kAtMost, 20);
  std::vector<double> many = random_pages(kConcurrentClients);
  Report("paging.page_16clients_p50_ms", Percentile(many, 50), "ms", Goal::kAtMost, 25);
  Report("paging.page_16clients_p99_ms", Percentile(many, 99), "ms", Goal::kAtMost, 100);
  std::vector<double> many_beast = random_pages(kConcurrentClients, /*beast=*/true);
  Report("paging.page_16clients_beast_client_p50_ms", Percentile(many_beast, 50), "ms");
  Report("paging.page_16clients_beast_client_p99_ms", Percentile(many_beast, 99), "ms");

  std::ofstream(FiguresPath(d), std::ios::trunc) << Median(rates) << "\n";
  server->Stop();
  server.reset();
  std::system(("rm -rf '" + tls_dir + "'").c_str());
  return 0;
}

int Postgres(const Dataset& d) {
  if (auto m = LoadMeta(d); !m.ok()) Die("data set", m.status());
  Stopwatch sw;
  auto cluster = PgCluster::Start(EnvString("TALLY_BENCH_PG_DIR", "/tmp/tally-bench-pg-paging"));
  if (!cluster.ok()) Die("start PostgreSQL", cluster.status());
  auto conn = PgConnection::Connect((*cluster)->ConnectionString());
  if (!conn.ok()) Die("connect", conn.status());
  sw.Restart();
  if (Status s = (*conn)->CreateAndLoad(d.tsv_path()); !s.ok()) Die("load", s);
  Note("PostgreSQL: COPY + indexes + VACUUM ANALYZE in " + std::to_string(sw.Seconds()) + " s");

  // The aggregate key as text columns, in Tally's order (subscription, usage hour, meter,
  // instance); keyset pagination re-aggregates the window for every page.
  const std::string select =
      "SELECT subscription_id::text, usage_start, upper(meter_id), resource_uri, location, "
      "coalesce(tags::text, ''), coalesce(additional_info::text, ''), sum(quantity)::text "
      "FROM usage WHERE reported_time >= $1 AND reported_time < $2 "
      "GROUP BY 1, 2, 3, 4, 5, 6, 7 ";
  const std::string order = "ORDER BY 1, 2, 3, 4, 5, 6, 7 LIMIT 1000";
  const std::string first_sql = select + order;
  const std::string next_sql =
      select + "HAVING (subscription_id::text, usage_start, upper(meter_id), resource_uri, "
               "location, coalesce(tags::text, ''), coalesce(additional_info::text, '')) > "
               "($3, $4::timestamptz, $5, $6, $7, $8, $9) " +
      order;
  const std::string from = FormatUtcTime(d.period_start);
  const std::string to = FormatUtcTime(d.window_end);
  const int pages = static_cast<int>(EnvInt("TALLY_BENCH_PG_PAGES", 8));
  std::vector<double> page_ms;
  std::vector<std::string> last;
  size_t rows = 0;
  Stopwatch total;
  for (int p = 0; p < pages; ++p) {
    Stopwatch one;
    Result<std::vector<std::vector<std::string>>> page =
        p == 0 ? (*conn)->Query(first_sql, {from, to})
               : (*conn)->Query(next_sql, {from, to, last[0], last[1], last[2], last[3], last[4],
                                           last[5], last[6]});
    if (!page.ok()) Die("page", page.status());
    page_ms.push_back(one.Millis());
    rows += page->size();
    if (page->empty()) break;
    last = page->back();
    last.resize(7);
  }
  const double rate = static_cast<double>(rows) / total.Seconds();
  Report("paging.pg_page_p50_ms", Percentile(page_ms, 50), "ms");
  Report("paging.pg_aggregates_per_s", rate, "aggregates/s");
  std::ifstream in(FiguresPath(d));
  double tally_rate = 0;
  if (in >> tally_rate && rate > 0) {
    Report("paging.tls_vs_pg_ratio", tally_rate / rate, "x", Goal::kAtLeast, 20);
  } else {
    Note("run `tally_bench_paging tally` first for the ratio");
  }
  return 0;
}

}  // namespace
}  // namespace tally::bench

int main(int argc, char** argv) {
  using namespace tally::bench;
  const std::string mode = argc > 1 ? argv[1] : "";
  // A connection the server closed is an error the clients report, not a reason to die.
  std::signal(SIGPIPE, SIG_IGN);
  const Dataset d = LoadDataset();
  if (mode == "tally") return Tally(d);
  if (mode == "pg") return Postgres(d);
  std::fprintf(stderr, "usage: tally_bench_paging tally|pg   (see the top of paging_bench.cc)\n");
  return 2;
}
