#include "dataset.h"

#include <zstd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "bench_util.h"

namespace tally::bench {
namespace {

constexpr int64_t kFullRecords = 10'000'000;
constexpr int64_t kFullResources = 200'000;

void AppendCopyText(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out.push_back(c);
    }
  }
}

[[noreturn]] void DieOfZstd(const char* what, size_t code) {
  std::fprintf(stderr, "tally bench: %s: %s\n", what, ZSTD_getErrorName(code));
  std::exit(1);
}

}  // namespace

void RequestBodies::Add(std::string body) {
  sizes_.push_back(body.size());
  whole_bytes_ += body.size();
  if (pack_) {
    std::string packed(ZSTD_compressBound(body.size()), '\0');
    // Level 1: ~8.5x smaller on these bodies, and unpacking (~0.3 ms a body here) costs the
    // sending threads about what copying a cold body did.
    const size_t n = ZSTD_compress(packed.data(), packed.size(), body.data(), body.size(), 1);
    if (ZSTD_isError(n)) DieOfZstd("packing a request body", n);
    packed.resize(n);
    packed.shrink_to_fit();
    body = std::move(packed);
  }
  held_bytes_ += body.size();
  bodies_.push_back(std::move(body));
}

std::string_view RequestBodies::Get(size_t b, std::string& buffer) const {
  if (!pack_) return bodies_[b];
  buffer.resize(sizes_[b]);
  const size_t n = ZSTD_decompress(buffer.data(), buffer.size(), bodies_[b].data(), bodies_[b].size());
  if (ZSTD_isError(n)) DieOfZstd("unpacking a request body", n);
  return buffer;
}

Dataset LoadDataset() {
  Dataset d;
  d.dir = EnvString("TALLY_BENCH_DIR", "build/bench/data");
  d.records = EnvInt("TALLY_BENCH_RECORDS", kFullRecords);
  d.period_start = *ParseUtcTime("2024-05-01T00:00:00Z");
  d.sim.seed = 1;
  d.sim.start = *UsageHour::FromUtc(d.period_start);
  d.sim.days = 30;
  d.sim.tenants = static_cast<int>(EnvInt("TALLY_BENCH_TENANTS", 2000));
  // Smaller runs keep the full set's records per resource.
  d.sim.resources = std::max<int64_t>(
      d.sim.tenants, EnvInt("TALLY_BENCH_RESOURCES", kFullResources * d.records / kFullRecords));
  d.sim.target_records = d.records;
  d.sim.with_reported_time = true;
  d.window_end = UtcTime{d.period_start.micros + (d.sim.days + 3) * kMicrosPerDay};
  return d;
}

Status SaveMeta(const Dataset& d, const DatasetMeta& m) {
  std::ofstream out(d.meta_path(), std::ios::trunc);
  out << "records " << m.records << "\nlargest_subscription " << m.largest_subscription
      << "\nlargest_records " << m.largest_records << "\nsubscriptions " << m.subscriptions
      << "\nrequested " << d.records << "\n";
  out.close();
  if (!out) return Unavailable("cannot write " + d.meta_path());
  return Status::Ok();
}

Result<DatasetMeta> LoadMeta(const Dataset& d) {
  std::ifstream in(d.meta_path());
  if (!in) return NotFound("no data set at " + d.dir + " (run tally_bench_aggregate build)");
  DatasetMeta m;
  int64_t requested = -1;
  std::string key;
  while (in >> key) {
    if (key == "records") in >> m.records;
    else if (key == "largest_subscription") in >> m.largest_subscription;
    else if (key == "largest_records") in >> m.largest_records;
    else if (key == "subscriptions") in >> m.subscriptions;
    else if (key == "requested") in >> requested;
  }
  if (requested != d.records) {
    return InvalidArgument("the data set at " + d.dir + " was built for " +
                           std::to_string(requested) + " records, not " +
                           std::to_string(d.records));
  }
  return m;
}

simulate::SimulationOptions IngestSimulation(const Dataset& d, int64_t records) {
  simulate::SimulationOptions o = d.sim;
  o.start = UsageHour::FromHours(d.sim.start.hours() + (d.sim.days + 3) * 24);
  o.days = 2;
  o.target_records = records;
  o.with_reported_time = false;
  return o;
}

std::string JsonBody(const std::vector<domain::UsageRecord>& records) {
  std::string body = "{\"records\":[";
  body.reserve(records.size() * 480 + 16);
  for (size_t i = 0; i < records.size(); ++i) {
    if (i > 0) body.push_back(',');
    simulate::AppendRecordNdjson(body, records[i]);
    body.pop_back();  // the line's '\n'
  }
  body += "]}";
  return body;
}

void AppendCopyRow(std::string& out, const domain::UsageRecord& r, ReportedTime reported) {
  AppendCopyText(out, r.record_id);
  out.push_back('\t');
  AppendCopyText(out, r.subscription_id);
  out.push_back('\t');
  AppendCopyText(out, r.meter_id);
  out.push_back('\t');
  AppendCopyText(out, r.resource_uri);
  out.push_back('\t');
  AppendCopyText(out, r.location);
  out.push_back('\t');
  AppendUtcTime(out, r.usage_start.utc());
  out.push_back('\t');
  r.quantity.AppendTo(out);
  out.push_back('\t');
  std::string json;
  for (const auto* p : {&r.tags, &r.additional_info}) {
    if (*p) {
      json.clear();
      domain::AppendPropertiesJson(json, *p);
      AppendCopyText(out, json);
    } else {
      out += "\\N";
    }
    out.push_back('\t');
  }
  AppendUtcTime(out, reported.utc());
  out.push_back('\n');
}

}  // namespace tally::bench
