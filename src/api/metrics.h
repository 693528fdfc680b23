// ApiMetrics: the counters and latency histograms behind GET /metrics, rendered in the
// Prometheus text exposition format (version 0.0.4). Requests and latencies are labelled by
// route pattern (not the raw path, which would give one series per subscription), method and
// status; errors by API error code; ingestion by outcome. Thread-safe: a mutex guards the maps
// (one short critical section per request).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <tuple>

namespace tally::api {

// One Prometheus histogram without labels, with its HELP and TYPE lines. `buckets` holds
// non-cumulative counts, one for each of `bounds` (upper bounds) and a last one for +Inf.
std::string RenderHistogram(std::string_view name, std::string_view help,
                            std::span<const double> bounds, std::span<const uint64_t> buckets,
                            double sum);

class ApiMetrics {
 public:
  // Upper bounds (seconds) of the latency histogram buckets; +Inf is implicit.
  static constexpr std::array<double, 12> kLatencyBuckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};

  // One answered request. `route` is the route pattern, "" when no route matched.
  void RecordRequest(std::string_view route, std::string_view method, int status,
                     std::string_view error_code, std::chrono::microseconds elapsed);
  // The outcome of one ingested batch.
  void RecordIngest(uint64_t accepted, uint64_t duplicates, uint64_t conflicts);

  // The Prometheus text of every series, plus `extra` (already formatted lines, e.g. store
  // gauges) appended at the end.
  std::string Render(std::string_view extra = {}) const;

 private:
  struct Histogram {
    std::array<uint64_t, kLatencyBuckets.size()> buckets{};  // non-cumulative counts
    uint64_t count = 0;
    double sum_seconds = 0;
  };
  using RequestKey = std::tuple<std::string, std::string, int>;  // route, method, status
  using LatencyKey = std::pair<std::string, std::string>;        // route, method

  mutable std::mutex mu_;
  std::map<RequestKey, uint64_t> requests_;
  std::map<LatencyKey, Histogram> latency_;
  std::map<std::string, uint64_t> errors_;
  uint64_t records_accepted_ = 0;
  uint64_t records_duplicate_ = 0;
  uint64_t records_conflict_ = 0;
  uint64_t batches_ = 0;
};

}  // namespace tally::api
