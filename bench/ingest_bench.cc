// Ingestion benchmark (docs/benchmarks.md, part a). Needs the data set of
// `tally_bench_aggregate build`.
//
//   tally_bench_ingest durable   4 threads post 1,000-record JSON batches through an
//                                IngestClient (in-process IngestService; durable acks) into a
//                                copy of the 10 M-record store, then send them all again
//                                (all duplicates)
//   tally_bench_ingest pg        the PostgreSQL baseline: a private cluster loaded with the
//                                same 10 M rows (COPY), then the same batches as INSERT … ON
//                                CONFLICT DO NOTHING from 4 connections, twice
//   tally_bench_ingest bulk      a 10 M-record NDJSON import into an empty store: RecordReader
//                                + IngestService in batches of 10k through
//                                ingest::ImportPipelined, as `tally import` does
//
// TALLY_BENCH_INGEST_RECORDS: records posted (default 2,000,000, at most a fifth of the store
// for small runs); TALLY_BENCH_PG_RECORDS: how many of those batches PostgreSQL gets (default
// 300,000: at its rate the rest would add minutes and not change the rate);
// TALLY_BENCH_CHECKPOINT_WAL_MIB: the durable runs' WAL checkpoint threshold (default: the
// store's, 16 MiB), to see what the checkpoints cost the ack latency;
// TALLY_BENCH_PUBLISHER_NICE: the store's publisher_nice (default 10);
// TALLY_BENCH_OFFERED_RPS: pace the durable run at this many records/s instead of sending each
// batch as soon as the connection's previous one is answered (latency at a given load; no
// duplicates pass; the first TALLY_BENCH_WARMUP_MS, default 1000, are reported apart);
// TALLY_BENCH_HEAP_COLLAPSE=0: no store::HeapCollapser beside the durable runs (`tally serve`
// starts one unless --no-heap-collapse);
// TALLY_BENCH_BODIES=plain: keep the request bodies whole in memory rather than packed
// (RequestBodies in dataset.h; to compare with figures measured before session 15);
// TALLY_BENCH_LATENCY_CSV: write every durable acknowledgement there; TALLY_BENCH_STALLS_CSV:
// the stall probe's late wake-ups and kdamond bursts, on the same time base;
// Beside the durable runs, a separate process (`tally_bench_ingest stall-probe`, stall_probe.h)
// counts the machine's stalls; TALLY_BENCH_SETTLE_S: seconds to wait between opening the store and
// the load (default 30 for a paced run, else 0), so that the machine has absorbed the set-up (the
// store's copy written, the request bodies built) before the latencies are measured.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <thread>

#include "api/api_service.h"
#include "api/http_server.h"
#include "bench_util.h"
#include "common/clock.h"
#include "common/current_thread.h"
#include "dataset.h"
#include "domain/api_key.h"
#include "ingest/import_pipeline.h"
#include "ingest/ingest_service.h"
#include "ingest/record_reader.h"
#include "ingest_client.h"
#include "pg_baseline.h"
#include "query/usage_query.h"
#include "simulate/simulator.h"
#include "stall_probe.h"
#include "store/anonymous_memory.h"
#include "store/sqlite/sqlite_store.h"

namespace tally::bench {
namespace {

constexpr size_t kBatch = 1000;
constexpr int kThreads = 4;

[[noreturn]] void Die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "tally_bench_ingest: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

int64_t IngestRecords(const Dataset& d) {
  return EnvInt("TALLY_BENCH_INGEST_RECORDS",
                std::clamp<int64_t>(d.records / 5, 10'000, 2'000'000));
}

// The batches to post, in order, each as its records; at most `limit` records in all.
std::vector<std::vector<domain::UsageRecord>> MakeBatches(const Dataset& d, int64_t limit) {
  std::vector<std::vector<domain::UsageRecord>> batches;
  int64_t n = 0;
  simulate::Simulate(IngestSimulation(d, IngestRecords(d)),
                     [&](const simulate::SimulatedRecord& r) {
                       if (n++ >= limit) return;
                       if (batches.empty() || batches.back().size() == kBatch) {
                         batches.emplace_back();
                         batches.back().reserve(kBatch);
                       }
                       batches.back().push_back(r.record);
                     });
  return batches;
}

// CPU seconds (user + system) the process has used so far: under a shared machine, CPU per
// record is steadier than wall-clock rates.
double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct LoadResult {
  double seconds = 0;
  double cpu_seconds = 0;
  uint64_t records = 0;
  uint64_t accepted = 0;
  uint64_t duplicates = 0;
  std::vector<double> latencies_ms;
  std::vector<double> starts_ms;  // when each batch was due (sent, unless paced), from the start
  std::chrono::steady_clock::time_point start;
};

// Runs send(thread, batch) for every batch from kThreads threads, each taking the next batch.
// With `interval_ms` > 0 the load is paced: batch b is due `b * interval_ms` after the start,
// and its latency counts from when it was due, so a batch that waits for a free connection
// is charged for the wait (no coordinated omission).
LoadResult RunLoad(size_t batches, const std::function<IngestAck(int, size_t)>& send,
                   const std::vector<size_t>& records_of, double interval_ms = 0) {
  std::atomic<size_t> next{0};
  std::vector<LoadResult> per(kThreads);
  std::vector<std::thread> threads;
  Stopwatch sw;
  const double cpu_start = CpuSeconds();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      NameCurrentThread("bench-client");
      for (size_t b; (b = next.fetch_add(1)) < batches;) {
        double due_ms = sw.Millis();
        if (interval_ms > 0) {
          due_ms = static_cast<double>(b) * interval_ms;
          std::this_thread::sleep_for(
              std::chrono::duration<double, std::milli>(due_ms - sw.Millis()));
        }
        per[t].starts_ms.push_back(due_ms);
        IngestAck ack = send(t, b);
        per[t].latencies_ms.push_back(sw.Millis() - due_ms);
        if (!ack.status.ok()) Die("batch " + std::to_string(b), ack.status);
        per[t].records += records_of[b];
        per[t].accepted += ack.accepted;
        per[t].duplicates += ack.duplicates;
      }
    });
  }
  for (auto& th : threads) th.join();
  LoadResult r;
  r.start = sw.started();
  r.seconds = sw.Seconds();
  r.cpu_seconds = CpuSeconds() - cpu_start;
  for (auto& p : per) {
    r.records += p.records;
    r.accepted += p.accepted;
    r.duplicates += p.duplicates;
    r.latencies_ms.insert(r.latencies_ms.end(), p.latencies_ms.begin(), p.latencies_ms.end());
    r.starts_ms.insert(r.starts_ms.end(), p.starts_ms.begin(), p.starts_ms.end());
  }
  return r;
}

// Whether the batch due `due_ms` after `start`, answered `latency_ms` later, was in flight
// during any of `windows` (each with `from` and `to`: the stall probe's late wake-ups, or the
// kernel memory monitor's bursts).
template <typename Window>
bool MetAny(std::chrono::steady_clock::time_point start, double due_ms, double latency_ms,
            const std::vector<Window>& windows) {
  using Ms = std::chrono::duration<double, std::milli>;
  const auto from = start + std::chrono::duration_cast<std::chrono::nanoseconds>(Ms(due_ms));
  const auto to = from + std::chrono::duration_cast<std::chrono::nanoseconds>(Ms(latency_ms));
  return std::any_of(windows.begin(), windows.end(),
                     [&](const Window& w) { return w.from < to && from < w.to; });
}

void ReportLoad(const std::string& prefix, const LoadResult& r, Goal goal, double target) {
  Note(prefix + ": " + std::to_string(r.records) + " records in " + std::to_string(r.seconds) +
       " s; accepted " + std::to_string(r.accepted) + ", duplicates " +
       std::to_string(r.duplicates));
  Report(prefix + "_rps", static_cast<double>(r.records) / r.seconds, "records/s", goal, target);
  Report(prefix + "_cpu_us_per_record", r.cpu_seconds * 1e6 / static_cast<double>(r.records), "us");
}

// Every acknowledgement of `r` as "due_ms,latency_ms", in the order the batches were due
// (TALLY_BENCH_LATENCY_CSV), to see where in the run the slow ones fall.
void WriteLatencyCsv(const LoadResult& r, const std::string& path) {
  std::vector<size_t> order(r.starts_ms.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return r.starts_ms[a] < r.starts_ms[b]; });
  std::ofstream out(path, std::ios::trunc);
  for (size_t i : order) out << r.starts_ms[i] << "," << r.latencies_ms[i] << "\n";
}

// The stall probe's windows of the run `r` as "from_ms,to_ms,late" (a late wake-up) or
// "from_ms,to_ms,kdamond" (a memory-monitor burst) on the latency CSV's time base
// (TALLY_BENCH_STALLS_CSV), to line the machine's stalls up with the slow acknowledgements.
void WriteStallsCsv(const LoadResult& r, const StallCount& stalls, const std::string& path) {
  using Ms = std::chrono::duration<double, std::milli>;
  std::ofstream out(path, std::ios::trunc);
  for (const StallWindow& w : stalls.windows) {
    out << Ms(w.from - r.start).count() << "," << Ms(w.to - r.start).count() << ",late\n";
  }
  for (const MonitorBurst& b : stalls.monitor_bursts) {
    out << Ms(b.from - r.start).count() << "," << Ms(b.to - r.start).count() << ",kdamond\n";
  }
}

std::string FiguresPath(const Dataset& d) { return d.dir + "/ingest-figures"; }

int Durable(const Dataset& d) {
  if (auto m = LoadMeta(d); !m.ok()) Die("data set", m.status());
  const std::string dir = d.dir + "/store-ingest";
  Stopwatch sw;
  // A copy, so that the data set stays as built and a rerun posts new records again. The copy
  // is flushed to disk first: otherwise the store's first fsyncs write out gigabytes of it.
  if (std::system(("rm -rf '" + dir + "' && cp -a '" + d.store_dir() + "' '" + dir +
                   "' && sync -f '" + dir + "/tally.db'")
                      .c_str()) != 0) {
    Die("copy store", Unavailable(dir));
  }
  Note("copied the store in " + std::to_string(sw.Seconds()) + " s");

  auto batches = MakeBatches(d, IngestRecords(d));
  // Packed unless TALLY_BENCH_BODIES=plain (RequestBodies, dataset.h).
  RequestBodies bodies(EnvString("TALLY_BENCH_BODIES", "packed") != "plain");
  std::vector<size_t> records_of;
  std::vector<std::string> sample;  // the first bodies, whole, for the parse-only rate
  for (const auto& b : batches) {
    std::string body = JsonBody(b);
    if (sample.size() < 200) sample.push_back(body);
    bodies.Add(std::move(body));
    records_of.push_back(b.size());
  }
  batches.clear();
  batches.shrink_to_fit();
  Note(std::to_string(bodies.size()) + " bodies of " + std::to_string(kBatch) +
       " records, about " +
       std::to_string(bodies.whole_bytes() / std::max<size_t>(bodies.size(), 1) / 1024) +
       " KiB each, held in " + std::to_string(bodies.held_bytes() >> 20) + " MiB (" +
       (bodies.packed() ? "packed" : "whole") + ")");

  // Parse-only rate on one thread, for the breakdown.
  sw.Restart();
  size_t parsed = 0;
  for (const std::string& body : sample) {
    auto p = ingest::ParseBody(body, ingest::BodyFormat::kJson);
    if (!p.ok()) Die("parse", p.status());
    parsed += p->fields.size();
  }
  Report("ingest.parse_only_rps_1thread", static_cast<double>(parsed) / sw.Seconds(), "records/s");
  sample.clear();

  SystemClock clock;
  store::SqliteStoreOptions so;
  so.data_dir = dir;
  so.clock = &clock;
  so.checkpoint_wal_bytes =
      static_cast<uint64_t>(EnvInt("TALLY_BENCH_CHECKPOINT_WAL_MIB",
                                   static_cast<int64_t>(so.checkpoint_wal_bytes >> 20)))
      << 20;
  so.publisher_nice = static_cast<int>(EnvInt("TALLY_BENCH_PUBLISHER_NICE", so.publisher_nice));
  sw.Restart();
  auto opened = store::OpenSqliteStore(so);
  if (!opened.ok()) Die("open store", opened.status());
  std::unique_ptr<store::UsageStore> store = std::move(*opened);
  Note("opened the store copy (" + std::to_string(store->GetStats().records) + " records) in " +
       std::to_string(sw.Seconds()) + " s");
  ingest::IngestService service(*store, clock);
  std::vector<std::unique_ptr<IngestClient>> clients;
  // TALLY_BENCH_TRANSPORT=http: through the real HTTP server (Beast, keep-alive, bearer
  // token) on loopback, one connection per client thread; default: IngestService directly.
  const bool over_http = EnvString("TALLY_BENCH_TRANSPORT", "inprocess") == "http";
  query::UsageQueryService query(*store, clock);
  api::ApiService api_service(*store, service, query, clock);
  std::unique_ptr<api::HttpServer> server;
  if (over_http) {
    auto token = domain::MakeToken();
    if (!token.ok()) Die("token", token.status());
    domain::ApiKey key;
    key.key_id = token->key_id;
    key.role = domain::Role::kReporter;
    key.secret_hash = token->secret_hash;
    key.label = "bench";
    key.created = clock.Now();
    if (Status s = store->SaveApiKey(key); !s.ok()) Die("save key", s);
    api::HttpServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    api::TuneAllocatorForServing();
    auto started = api::HttpServer::Start(
        options, [&api_service](const api::HttpRequest& r) { return api_service.Handle(r); });
    if (!started.ok()) Die("start server", started.status());
    server = std::move(started).value();
    const std::string url = "http://127.0.0.1:" + std::to_string(server->port());
    Note("posting over HTTP to " + url + " (" + std::to_string(kThreads) +
         " keep-alive connections)");
    for (int t = 0; t < kThreads; ++t) {
      auto c = MakeHttpIngestClient(url, token->token);
      if (!c.ok()) Die("client", c.status());
      clients.push_back(std::move(c).value());
    }
  } else {
    for (int t = 0; t < kThreads; ++t) clients.push_back(MakeInProcessIngestClient(service));
  }
  std::vector<std::string> unpacked(kThreads);  // each sending thread's buffer
  auto send = [&](int t, size_t b) { return clients[t]->Send(bodies.Get(b, unpacked[t])); };
  const std::string name = over_http ? "ingest.http." : "ingest.";

  // TALLY_BENCH_OFFERED_RPS=N: pace the batches at N records/s instead of sending as fast as
  // the acknowledgements come, and report the latency at that load (no duplicates pass).
  const double offered = static_cast<double>(EnvInt("TALLY_BENCH_OFFERED_RPS", 0));
  const double interval_ms = offered > 0 ? 1e3 * static_cast<double>(kBatch) / offered : 0;
  const std::string load =
      offered > 0 ? name + "offered_" + std::to_string(static_cast<int64_t>(offered / 1000)) + "k."
                  : name;
  if (offered > 0) Note("pacing: one batch every " + std::to_string(interval_ms) + " ms");

  // Measured here: for up to ~25 s after the bench's set-up (the 650 MB copy of the store,
  // gigabytes of request bodies built), commits that normally take 0.5 ms stalled for
  // 40-95 ms every ~2 s (docs/benchmarks.md, section (a''''''')); a running
  // service has no such copy behind it.
  // As `tally serve` does: the heap onto huge pages as it fills (its first pass, in the
  // settling time of a paced run, takes the store's index and the packed bodies).
  std::optional<store::HeapCollapser> collapser;
  if (EnvInt("TALLY_BENCH_HEAP_COLLAPSE", 1) != 0) {
    collapser.emplace(store::kHeapCollapseInterval);
    Note("collapsing the heap onto huge pages every " +
         std::to_string(store::kHeapCollapseInterval.count()) + " ms (TALLY_BENCH_HEAP_COLLAPSE)");
  }
  if (const int64_t settle = EnvInt("TALLY_BENCH_SETTLE_S", offered > 0 ? 30 : 0); settle > 0) {
    Note("settling for " + std::to_string(settle) + " s (TALLY_BENCH_SETTLE_S)");
    std::this_thread::sleep_for(std::chrono::seconds(settle));
  }
  // Late wake-ups of a separate process during the run: the machine's stalls (stall_probe.h).
  constexpr double kStallMs = 10;
  StallProbe probe("/proc/self/exe", kStallMs);
  LoadResult first = RunLoad(bodies.size(), send, records_of, interval_ms);
  const StallCount stalls = probe.Stop();
  if (collapser) {
    const store::HeapCollapser::Totals t = collapser->totals();
    Note("heap collapser: " + std::to_string(t.passes) + " passes, " +
         std::to_string(t.collapsed_bytes >> 20) + " MiB advised, " + std::to_string(t.refused) +
         " pieces refused" + (t.unsupported ? " (the kernel cannot collapse)" : ""));
  }
  ReportLoad(load + "durable", first, Goal::kAtLeast, offered > 0 ? offered * 0.99 : 150'000);
  if (const std::string csv = EnvString("TALLY_BENCH_LATENCY_CSV", ""); !csv.empty()) {
    WriteLatencyCsv(first, csv);
  }
  if (const std::string csv = EnvString("TALLY_BENCH_STALLS_CSV", ""); !csv.empty()) {
    WriteStallsCsv(first, stalls, csv);
  }
  // The CSVs' time base on CLOCK_MONOTONIC (steady_clock's), to line them up with a trace
  // (`perf record -k CLOCK_MONOTONIC`).
  Note("the load started at " +
       std::to_string(std::chrono::duration<double>(first.start.time_since_epoch()).count()) +
       " s on CLOCK_MONOTONIC");
  bool steady = offered > 0;
  std::vector<double> apart_from_stalls;  // the steady batches no machine stall overlapped
  std::vector<double> apart_from_monitor;  // the steady batches no kdamond burst overlapped
  if (offered > 0) {
    // The target is for a running service: the first TALLY_BENCH_WARMUP_MS of a paced run (a
    // store opened seconds before, whose handler threads first touch their memory) are
    // reported apart.
    const double warmup_ms = static_cast<double>(EnvInt("TALLY_BENCH_WARMUP_MS", 1000));
    std::vector<double> cold, warm;
    for (size_t i = 0; i < first.latencies_ms.size(); ++i) {
      (first.starts_ms[i] < warmup_ms ? cold : warm).push_back(first.latencies_ms[i]);
      if (first.starts_ms[i] >= warmup_ms &&
          !MetAny(first.start, first.starts_ms[i], first.latencies_ms[i], stalls.windows)) {
        apart_from_stalls.push_back(first.latencies_ms[i]);
      }
      if (first.starts_ms[i] >= warmup_ms &&
          !MetAny(first.start, first.starts_ms[i], first.latencies_ms[i],
                  stalls.monitor_bursts)) {
        apart_from_monitor.push_back(first.latencies_ms[i]);
      }
    }
    Note("latencies of the " + std::to_string(warm.size()) + " batches due after the first " +
         std::to_string(static_cast<int64_t>(warmup_ms)) + " ms; the " +
         std::to_string(cold.size()) + " before are the warm-up");
    if (!cold.empty()) {
      Report(load + "warmup_p50_ms", Percentile(cold, 50), "ms");
      Report(load + "warmup_max_ms", Percentile(cold, 100), "ms");
    }
    if (warm.empty()) {
      // A smoke run shorter than the warm-up: its figures describe the warm-up alone.
      Note("the run is shorter than the warm-up: its latencies get no verdict");
      steady = false;
    } else {
      first.latencies_ms = std::move(warm);
    }
  }
  Report(load + "durable_p50_ms", Percentile(first.latencies_ms, 50), "ms");
  // The target is for acknowledgements at the required rate. Sent as fast as they are answered,
  // 4 connections keep 4 batches in flight whatever the rate, so the mean latency there is
  // 4,000 records / throughput (Little's law) and its p99 describes saturation, not the target.
  Report(load + "durable_p99_ms", Percentile(first.latencies_ms, 99), "ms",
         steady ? Goal::kAtMost : Goal::kNone, 20);
  Report(load + "durable_max_ms", Percentile(first.latencies_ms, 100), "ms");
  if (steady && stalls.realtime && !apart_from_stalls.empty()) {
    // Attribution, not the verdict: the same p99 over the batches in flight at no moment when
    // the real-time probe could not run (a machine stall over the threshold).
    Note(std::to_string(first.latencies_ms.size() - apart_from_stalls.size()) +
         " steady batches were in flight during a machine stall");
    Report(load + "durable_p99_ms_apart_from_machine_stalls", Percentile(apart_from_stalls, 99),
           "ms");
  }
  // The store's commits during the run (it was opened for it): a commit is mostly the disk's
  // flush, so slow ones tell a stalling disk from a slow Tally.
  const store::StoreStats run_stats = store->GetStats();
  const store::DurationHistogram& commits = run_stats.usage_commits;
  uint64_t over_25ms = 0;
  for (size_t i = 0; i < commits.buckets.size(); ++i) {
    if (i >= store::DurationHistogram::kBucketsSeconds.size() ||
        store::DurationHistogram::kBucketsSeconds[i] > 0.025) {
      over_25ms += commits.buckets[i];
    }
  }
  Note(std::to_string(commits.count) + " commits, " + std::to_string(over_25ms) +
       " of them over 25 ms");
  Report(load + "commit_mean_ms",
         commits.count == 0 ? 0 : 1e3 * commits.sum_seconds / static_cast<double>(commits.count),
         "ms");
  Report(load + "commit_max_ms", 1e3 * commits.max_seconds, "ms");
  // Groups written by the caller that found the writer idle (no hand-off to the writer thread
  // and back); every group of this run has new records, so each has one commit.
  const uint64_t caller_led = run_stats.caller_led_groups;
  Note(std::to_string(caller_led) + " of the groups were written by their callers");
  Report(load + "caller_led_group_share",
         commits.count == 0 ? 0 : static_cast<double>(caller_led) / static_cast<double>(commits.count),
         "");
  // The checkpoint steps that held up the writer meanwhile: a batch that arrives during one
  // waits for it.
  const store::DurationHistogram& pauses = run_stats.checkpoint_pauses;
  Note(std::to_string(pauses.count) + " checkpoint steps held up the writer, " +
       std::to_string(1e3 * pauses.sum_seconds) + " ms in all");
  Report(load + "checkpoint_pause_mean_ms",
         pauses.count == 0 ? 0 : 1e3 * pauses.sum_seconds / static_cast<double>(pauses.count),
         "ms");
  Report(load + "checkpoint_pause_max_ms", 1e3 * pauses.max_seconds, "ms");
  Note(std::string("a separate process sleeping 1 ms at a time, at ") +
       (stalls.realtime ? "real-time priority (only the machine could make it late)"
                        : "normal priority (refused real-time: its lateness includes waiting "
                          "for a core)") +
       ", woke more than " + std::to_string(static_cast<int>(kStallMs)) + " ms late " +
       std::to_string(stalls.count) + " times during the run, " + std::to_string(stalls.total_ms) +
       " ms in all");
  Report(load + "machine_stalls_over_10ms", static_cast<double>(stalls.count), "");
  Report(load + "machine_stall_longest_ms", stalls.longest_ms, "ms");
  if (stalls.monitors > 0) {
    // The kernel's DAMON memory monitor (section (a''''''''''') of docs/benchmarks.md): how
    // often it ran during the run, and the same p99 over the batches none of its bursts met.
    double cpu_ms = 0, longest_ms = 0;
    for (const MonitorBurst& b : stalls.monitor_bursts) {
      cpu_ms += b.cpu_ms;
      longest_ms = std::max(
          longest_ms, std::chrono::duration<double, std::milli>(b.to - b.from).count());
    }
    Note("the kernel's DAMON memory monitor (" + std::to_string(stalls.monitors) +
         " kdamond thread(s)) ran in " + std::to_string(stalls.monitor_bursts.size()) +
         " bursts during the run, " + std::to_string(cpu_ms) + " ms of CPU in all");
    Report(load + "kdamond_bursts", static_cast<double>(stalls.monitor_bursts.size()), "");
    Report(load + "kdamond_cpu_ms", cpu_ms, "ms");
    Report(load + "kdamond_longest_burst_ms", longest_ms, "ms");
    if (steady && !apart_from_monitor.empty()) {
      Note(std::to_string(first.latencies_ms.size() - apart_from_monitor.size()) +
           " steady batches were in flight during a kdamond burst");
      Report(load + "durable_p99_ms_apart_from_kdamond", Percentile(apart_from_monitor, 99),
             "ms");
    }
  }
  if (first.accepted != first.records) Note("WARNING: not every record was accepted");
  auto close_and_remove_copy = [&] {
    clients.clear();
    if (server) server->Stop();
    server.reset();
    store.reset();
    if (EnvString("TALLY_BENCH_KEEP_COPY", "0") != "1")
      std::system(("rm -rf '" + dir + "'").c_str());
  };
  if (offered > 0) {
    close_and_remove_copy();
    return 0;
  }

  LoadResult again = RunLoad(bodies.size(), send, records_of);
  ReportLoad(name + "duplicates", again, Goal::kAtLeast, 500'000);
  Report(name + "duplicates_p99_ms", Percentile(again.latencies_ms, 99), "ms");
  if (again.duplicates != again.records) Note("WARNING: not every resent record was a duplicate");

  std::ofstream(FiguresPath(d), std::ios::trunc)
      << static_cast<double>(first.records) / first.seconds << " "
      << static_cast<double>(again.records) / again.seconds << "\n";
  close_and_remove_copy();
  return 0;
}

int Postgres(const Dataset& d) {
  if (auto m = LoadMeta(d); !m.ok()) Die("data set", m.status());
  const int64_t n = std::min(IngestRecords(d), EnvInt("TALLY_BENCH_PG_RECORDS", 300'000));
  auto batches = MakeBatches(d, n);
  std::vector<PgBatch> pg;
  std::vector<size_t> records_of;
  for (const auto& b : batches) {
    pg.push_back(MakePgBatch(b));
    records_of.push_back(b.size());
  }
  batches.clear();

  Stopwatch sw;
  auto cluster = PgCluster::Start(EnvString("TALLY_BENCH_PG_DIR", "/tmp/tally-bench-pg"));
  if (!cluster.ok()) Die("start PostgreSQL", cluster.status());
  Note("PostgreSQL started in " + std::to_string(sw.Seconds()) + " s");
  {
    auto conn = PgConnection::Connect((*cluster)->ConnectionString());
    if (!conn.ok()) Die("connect", conn.status());
    sw.Restart();
    Status s = (*conn)->CreateAndLoad(d.tsv_path());
    if (!s.ok()) Die("load", s);
    auto rows = (*conn)->CountRows();
    Note("PostgreSQL: COPY of " + std::to_string(rows.ok() ? *rows : 0) +
         " rows + primary key + 2 indexes + VACUUM ANALYZE in " + std::to_string(sw.Seconds()) +
         " s");
  }
  std::vector<std::unique_ptr<PgConnection>> conns;
  for (int t = 0; t < kThreads; ++t) {
    auto c = PgConnection::Connect((*cluster)->ConnectionString());
    if (!c.ok()) Die("connect", c.status());
    conns.push_back(std::move(*c));
  }
  auto send = [&](int t, size_t b) {
    auto rows = conns[t]->Insert(pg[b]);
    IngestAck ack;
    if (!rows.ok()) {
      ack.status = rows.status();
    } else {
      ack.accepted = *rows;
      ack.duplicates = pg[b].records - *rows;
    }
    return ack;
  };
  LoadResult first = RunLoad(pg.size(), send, records_of);
  ReportLoad("ingest.pg.durable", first, Goal::kNone, 0);
  Report("ingest.pg.durable_p50_ms", Percentile(first.latencies_ms, 50), "ms");
  Report("ingest.pg.durable_p99_ms", Percentile(first.latencies_ms, 99), "ms");
  LoadResult again = RunLoad(pg.size(), send, records_of);
  ReportLoad("ingest.pg.duplicates", again, Goal::kNone, 0);

  std::ifstream figures(FiguresPath(d));
  double tally_rps = 0, tally_dup_rps = 0;
  if (figures >> tally_rps >> tally_dup_rps) {
    Report("ingest.ratio.durable_vs_pg",
           tally_rps / (static_cast<double>(first.records) / first.seconds), "x", Goal::kAtLeast,
           10);
    Report("ingest.ratio.duplicates_vs_pg",
           tally_dup_rps / (static_cast<double>(again.records) / again.seconds), "x");
  } else {
    Note("no Tally figures at " + FiguresPath(d) + " (run `tally_bench_ingest durable` first)");
  }
  conns.clear();
  return 0;
}

int Bulk(const Dataset& d) {
  auto meta = LoadMeta(d);
  if (!meta.ok()) Die("data set", meta.status());
  const std::string dir = d.dir + "/store-bulk";
  std::system(("rm -rf '" + dir + "'").c_str());
  SystemClock clock;
  store::SqliteStoreOptions so;
  so.data_dir = dir;
  so.create_if_missing = true;
  so.clock = &clock;
  auto opened = store::OpenSqliteStore(so);
  if (!opened.ok()) Die("open store", opened.status());
  std::unique_ptr<store::UsageStore> store = std::move(*opened);
  ingest::IngestService service(*store, clock);

  int fd = open(d.ndjson_path().c_str(), O_RDONLY);
  if (fd < 0) Die("open", NotFound(d.ndjson_path()));
  ResetPeakRss();
  ingest::RecordReader reader(fd, ingest::BodyFormat::kNdjson, {.batch_size = 10'000});
  uint64_t accepted = 0;
  Stopwatch sw;
  const double cpu_start = CpuSeconds();
  // The same loop as `tally import`: the next batch is read and validated while this one is
  // appended (ingest::ImportPipelined).
  Status read =
      ingest::ImportPipelined(reader, service, ingest::Sender::kOperator,
                              [&](const ingest::ParsedRecords&, const ingest::IngestOutcome& out) {
                                if (!out.status.ok()) Die("import", out.status);
                                accepted += out.accepted;
                                return true;
                              });
  if (!read.ok()) Die("read", read);
  double seconds = sw.Seconds();
  const double cpu_seconds = CpuSeconds() - cpu_start;
  close(fd);
  MemInfo mem = ReadMemInfo();
  Note("bulk import: " + std::to_string(accepted) + " records accepted in " +
       std::to_string(seconds) + " s (read + parse + validate overlapped with the appends)");
  Report("ingest.bulk_rps", static_cast<double>(accepted) / seconds, "records/s", Goal::kAtLeast,
         300'000);
  Report("ingest.bulk_cpu_us_per_record", cpu_seconds * 1e6 / static_cast<double>(accepted), "us");
  Report("ingest.bulk_peak_rss_mib", static_cast<double>(mem.peak_rss_bytes) / (1 << 20), "MiB");
  store.reset();
  std::system(("rm -rf '" + dir + "'").c_str());
  return 0;
}

}  // namespace
}  // namespace tally::bench

int main(int argc, char** argv) {
  using namespace tally::bench;
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "stall-probe") return RunStallProbe(argc > 2 ? std::atof(argv[2]) : 10);
  Dataset d = LoadDataset();
  if (mode == "durable") return Durable(d);
  if (mode == "pg") return Postgres(d);
  if (mode == "bulk") return Bulk(d);
  std::fprintf(stderr, "usage: tally_bench_ingest durable|pg|bulk (see bench/run-all)\n");
  return 2;
}
