#include "api/metrics.h"

#include <cstdio>

namespace tally::api {
namespace {

// A label value with \, " and newline escaped as the exposition format asks.
std::string LabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// One series of a histogram: its cumulative `_bucket` lines (one a bound, then +Inf), `_sum`
// and `_count`. `labels` is "" or `k="v",...`; `buckets` holds one non-cumulative count a bound,
// and what exceeded every bound is the rest of `count`.
void AppendHistogramSeries(std::string& out, const std::string& name, const std::string& labels,
                           std::span<const double> bounds, std::span<const uint64_t> buckets,
                           uint64_t count, double sum) {
  const std::string before_le = name + "_bucket{" + (labels.empty() ? "" : labels + ",");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += buckets[i];
    out.append(before_le + "le=\"" + Number(bounds[i]) + "\"} " + std::to_string(cumulative) +
               "\n");
  }
  out.append(before_le + "le=\"+Inf\"} " + std::to_string(count) + "\n");
  const std::string braced = labels.empty() ? "" : "{" + labels + "}";
  out.append(name + "_sum" + braced + " " + Number(sum) + "\n");
  out.append(name + "_count" + braced + " " + std::to_string(count) + "\n");
}

}  // namespace

std::string RenderHistogram(std::string_view name, std::string_view help,
                            std::span<const double> bounds, std::span<const uint64_t> buckets,
                            double sum) {
  const std::string n(name);
  std::string out = "# HELP " + n + " " + std::string(help) + "\n# TYPE " + n + " histogram\n";
  uint64_t count = 0;
  for (uint64_t b : buckets) count += b;
  AppendHistogramSeries(out, n, "", bounds, buckets.first(bounds.size()), count, sum);
  return out;
}

void ApiMetrics::RecordRequest(std::string_view route, std::string_view method, int status,
                               std::string_view error_code, std::chrono::microseconds elapsed) {
  const std::string r = route.empty() ? "unmatched" : std::string(route);
  const double seconds = static_cast<double>(elapsed.count()) / 1e6;
  std::lock_guard lock(mu_);
  ++requests_[RequestKey(r, std::string(method), status)];
  Histogram& h = latency_[LatencyKey(r, std::string(method))];
  size_t i = 0;
  while (i < kLatencyBuckets.size() && seconds > kLatencyBuckets[i]) ++i;
  if (i < kLatencyBuckets.size()) ++h.buckets[i];
  ++h.count;
  h.sum_seconds += seconds;
  if (!error_code.empty()) ++errors_[std::string(error_code)];
}

void ApiMetrics::RecordIngest(uint64_t accepted, uint64_t duplicates, uint64_t conflicts) {
  std::lock_guard lock(mu_);
  if (conflicts == 0) ++batches_;
  records_accepted_ += accepted;
  records_duplicate_ += duplicates;
  records_conflict_ += conflicts;
}

std::string ApiMetrics::Render(std::string_view extra) const {
  std::string out;
  std::lock_guard lock(mu_);
  out.append(
      "# HELP tally_http_requests_total HTTP requests answered, by route, method and status.\n"
      "# TYPE tally_http_requests_total counter\n");
  for (const auto& [key, n] : requests_) {
    const auto& [route, method, status] = key;
    out.append("tally_http_requests_total{route=\"" + LabelValue(route) + "\",method=\"" +
               LabelValue(method) + "\",status=\"" + std::to_string(status) + "\"} " +
               std::to_string(n) + "\n");
  }
  out.append(
      "# HELP tally_http_request_duration_seconds Time from a complete request to its answer.\n"
      "# TYPE tally_http_request_duration_seconds histogram\n");
  for (const auto& [key, h] : latency_) {
    const std::string labels =
        "route=\"" + LabelValue(key.first) + "\",method=\"" + LabelValue(key.second) + "\"";
    AppendHistogramSeries(out, "tally_http_request_duration_seconds", labels, kLatencyBuckets,
                          h.buckets, h.count, h.sum_seconds);
  }
  out.append(
      "# HELP tally_api_errors_total Error answers, by API error code.\n"
      "# TYPE tally_api_errors_total counter\n");
  for (const auto& [code, n] : errors_) {
    out.append("tally_api_errors_total{code=\"" + LabelValue(code) + "\"} " + std::to_string(n) +
               "\n");
  }
  out.append(
      "# HELP tally_ingest_records_total Usage records received over HTTP, by outcome.\n"
      "# TYPE tally_ingest_records_total counter\n");
  out.append("tally_ingest_records_total{outcome=\"accepted\"} " +
             std::to_string(records_accepted_) + "\n");
  out.append("tally_ingest_records_total{outcome=\"duplicate\"} " +
             std::to_string(records_duplicate_) + "\n");
  out.append("tally_ingest_records_total{outcome=\"conflict\"} " +
             std::to_string(records_conflict_) + "\n");
  out.append(
      "# HELP tally_ingest_batches_total Ingest batches answered 200.\n"
      "# TYPE tally_ingest_batches_total counter\n"
      "tally_ingest_batches_total " +
      std::to_string(batches_) + "\n");
  out.append(extra);
  return out;
}

}  // namespace tally::api
