#include "simulate/simulator.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/strings.h"
#include "domain/meter.h"

namespace tally::simulate {
namespace {

constexpr int64_t kHour = kMicrosPerHour;

UsageHour Day(const char* date) {
  auto t = ParseUtcTime(date);
  EXPECT_TRUE(t.ok()) << date;
  return UsageHour::FromHours(t->micros / kHour);
}

// Five days across the end of a leap February; `now` cuts the last day at 13:30.
SimulationOptions SmallOptions() {
  SimulationOptions o;
  o.seed = 7;
  o.start = Day("2024-02-26");
  o.days = 5;
  o.tenants = 6;
  o.resources = 80;
  o.now = UtcTime{o.start.utc().micros + 4 * kMicrosPerDay + 13 * kHour + kHour / 2};
  return o;
}

std::vector<SimulatedRecord> Collect(const SimulationOptions& o) {
  std::vector<SimulatedRecord> out;
  Simulate(o, [&](const SimulatedRecord& r) { out.push_back(r); });
  return out;
}

std::string AsNdjson(const std::vector<SimulatedRecord>& records) {
  std::string out;
  for (const auto& r : records) AppendRecordNdjson(out, r.record, r.reported_time);
  return out;
}

std::optional<std::string> OptionalString(simdjson::ondemand::object& o, const char* key) {
  std::string_view v;
  if (o[key].get_string().get(v) != simdjson::SUCCESS) return std::nullopt;
  return std::string(v);
}

domain::OptionalProperties OptionalObject(simdjson::ondemand::object& o, const char* key) {
  simdjson::ondemand::object obj;
  if (o[key].get_object().get(obj) != simdjson::SUCCESS) return std::nullopt;
  domain::Properties p;
  for (auto field : obj) {
    std::string_view k = field.unescaped_key().value();
    std::string_view v = field.value().get_string().value();
    p.emplace_back(std::string(k), std::string(v));
  }
  return p;
}

// Reads one NDJSON line back into the fields the ingest path validates.
domain::UsageRecordFields ParseLine(simdjson::ondemand::parser& parser, const std::string& line) {
  simdjson::padded_string padded(line);
  simdjson::ondemand::document doc = parser.iterate(padded);
  simdjson::ondemand::object o = doc.get_object();
  domain::UsageRecordFields f;
  f.record_id = OptionalString(o, "recordId");
  f.subscription_id = OptionalString(o, "subscriptionId");
  f.meter_id = OptionalString(o, "meterId");
  f.resource_uri = OptionalString(o, "resourceUri");
  f.location = OptionalString(o, "location");
  f.usage_start_time = OptionalString(o, "usageStartTime");
  f.usage_end_time = OptionalString(o, "usageEndTime");
  std::string_view raw = o["quantity"].raw_json_token().value();
  f.quantity = std::string(TrimSpace(raw));
  f.tags = OptionalObject(o, "tags");
  f.additional_info = OptionalObject(o, "additionalInfo");
  f.reported_time = OptionalString(o, "reportedTime");
  return f;
}

TEST(Simulate, SameSeedSameRecordsOtherSeedOtherRecords) {
  SimulationOptions o = SmallOptions();
  auto a = Collect(o);
  ASSERT_GT(a.size(), 1000u);
  EXPECT_EQ(AsNdjson(a), AsNdjson(Collect(o)));
  o.seed = 8;
  auto b = Collect(o);
  ASSERT_FALSE(b.empty());
  EXPECT_NE(AsNdjson(a), AsNdjson(b));
  std::set<std::string> ids_a;
  for (const auto& r : a) ids_a.insert(r.record.record_id);
  for (const auto& r : b) EXPECT_EQ(ids_a.count(r.record.record_id), 0u);
}

TEST(Simulate, EveryMeterIsACurrentBuiltinMeter) {
  std::map<std::string, int> per_meter;
  for (const auto& r : Collect(SmallOptions())) ++per_meter[r.record.meter_id];
  for (const auto& [id, n] : per_meter) {
    const domain::Meter* m = domain::MeterCatalog::Builtin().Find(id);
    ASSERT_NE(m, nullptr) << id;
    EXPECT_EQ(m->id, id) << "spelled as the catalog spells it";
    EXPECT_FALSE(m->deprecated) << id;
  }
  // Every family of the catalog shows up even in a small cloud.
  std::set<std::string> families;
  for (const auto& [id, n] : per_meter)
    families.insert(domain::MeterCatalog::Builtin().Find(id)->family);
  EXPECT_GE(families.size(), 6u);
  EXPECT_GE(per_meter.size(), 20u);
}

TEST(Simulate, RecordsAreValidAndSurviveTheNdjsonRoundTrip) {
  SimulationOptions o = SmallOptions();
  auto records = Collect(o);
  simdjson::ondemand::parser parser;
  for (const auto& sim : records) {
    std::string line;
    AppendRecordNdjson(line, sim.record, sim.reported_time);
    ASSERT_EQ(line.back(), '\n');
    line.pop_back();
    ASSERT_EQ(line.find('\n'), std::string::npos);
    domain::UsageRecordFields fields = ParseLine(parser, line);
    std::vector<domain::FieldError> errors;
    auto made = domain::MakeUsageRecord(
        fields, 0, {.now = sim.reported_time.utc(), .allow_reported_time = true}, errors);
    ASSERT_TRUE(made.has_value()) << line << "\n"
                                  << (errors.empty()
                                          ? ""
                                          : errors[0].property + ": " + errors[0].reason);
    EXPECT_TRUE(domain::SameContent(*made, sim.record)) << line;
    EXPECT_EQ(made->reported_time, sim.reported_time);
    // Quantities have at most 10 fractional digits and are never negative.
    EXPECT_EQ(sim.record.quantity.raw() % 100'000, 0) << line;
    EXPECT_FALSE(sim.record.quantity.is_negative());
  }
}

TEST(Simulate, RespectsNowAndReportsAfterUsageInOrder) {
  SimulationOptions o = SmallOptions();
  auto records = Collect(o);
  ReportedTime previous;
  for (const auto& r : records) {
    EXPECT_LE(r.record.usage_end().utc().micros, o.now->micros);
    EXPECT_LE(r.reported_time.micros(), o.now->micros);
    int64_t delay = r.reported_time.micros() - r.record.usage_end().utc().micros;
    EXPECT_GE(delay, 5 * 60 * kMicrosPerSecond);
    EXPECT_LE(delay, 48 * kHour);
    EXPECT_GE(r.reported_time, previous);
    previous = r.reported_time;
    EXPECT_FALSE(r.record.reported_time.has_value());
    EXPECT_GE(r.record.usage_start.hours(), o.start.hours());
  }
}

TEST(Simulate, RecordIdsAreUnique) {
  std::set<std::string> ids;
  auto records = Collect(SmallOptions());
  for (const auto& r : records) {
    EXPECT_EQ(r.record.record_id.rfind("sim-", 0), 0u);
    EXPECT_TRUE(ids.insert(r.record.record_id).second) << r.record.record_id;
  }
}

TEST(Simulate, ALaterNowOnlyAddsRecords) {
  SimulationOptions early = SmallOptions();
  early.now = UtcTime{early.now->micros - 30 * kHour};
  std::map<std::string, SimulatedRecord> later;
  for (auto& r : Collect(SmallOptions())) later.emplace(r.record.record_id, r);
  auto first = Collect(early);
  ASSERT_LT(first.size(), later.size());
  for (const auto& r : first) {
    auto it = later.find(r.record.record_id);
    ASSERT_NE(it, later.end()) << r.record.record_id;
    EXPECT_TRUE(domain::SameContent(it->second.record, r.record));
    EXPECT_EQ(it->second.reported_time, r.reported_time);
  }
}

TEST(Simulate, SetsReportedTimeOnlyWhenAsked) {
  SimulationOptions o = SmallOptions();
  o.with_reported_time = true;
  o.days = 1;
  auto records = Collect(o);
  ASSERT_FALSE(records.empty());
  for (const auto& r : records) EXPECT_EQ(r.record.reported_time, r.reported_time);
}

TEST(Simulate, VmRecordsCarryTheirSizeAndWindowsImpliesBase) {
  std::map<std::pair<std::string, int64_t>, std::map<std::string, Decimal>> vm_hours;
  SimulationOptions o = SmallOptions();
  o.now.reset();  // so that no record of an hour is still on its way
  for (const auto& r : Collect(o)) {
    if (r.record.resource_uri.find("/virtualMachines/") == std::string::npos) continue;
    ASSERT_TRUE(r.record.additional_info.has_value());
    EXPECT_EQ((*r.record.additional_info)[1].first, "ServiceType");
    vm_hours[{r.record.resource_uri, r.record.usage_start.hours()}][r.record.meter_id] =
        r.record.quantity;
  }
  ASSERT_FALSE(vm_hours.empty());
  const std::string base = "FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5";
  const std::string windows = "9CD92D4C-BAFD-4492-B278-BEDC2DE8232A";
  const std::string hours = "6DAB500F-A4FD-49C4-956D-229BB9C8C793";
  for (const auto& [key, meters] : vm_hours) {
    ASSERT_EQ(meters.count(base), 1u);
    ASSERT_EQ(meters.count(hours), 1u);
    EXPECT_EQ(meters.at(hours), Decimal::FromInt(1));
    if (meters.count(windows)) {
      EXPECT_EQ(meters.at(windows), meters.at(base));
    }
  }
}

TEST(Simulate, DiskMonthsAddUpToAboutOneDiskPerMonth) {
  SimulationOptions o = SmallOptions();
  o.start = Day("2024-04-01");
  o.days = 30;
  o.now.reset();
  // S4..P30 count meters: a disk alive all April reports 720 x 1/720 (rounded) disk-months.
  std::map<std::string, std::pair<int, Decimal>> per_disk;
  for (const auto& r : Collect(o)) {
    const domain::Meter* m = domain::MeterCatalog::Builtin().Find(r.record.meter_id);
    if (m->unit != "Count of Disks*month") continue;
    auto& [n, sum] = per_disk[r.record.resource_uri];
    ++n;
    sum += r.record.quantity;
  }
  ASSERT_FALSE(per_disk.empty());
  int full = 0;
  for (const auto& [uri, v] : per_disk) {
    if (v.first != 720) continue;
    ++full;
    EXPECT_EQ(v.second.ToString(), "1.000000008") << uri;  // 720 x 0.0013888889
  }
  EXPECT_GT(full, 0);
}

TEST(Simulate, TargetRecordsShrinksTheVolume) {
  SimulationOptions o;
  o.seed = 3;
  o.start = Day("2024-01-01");
  o.days = 30;
  o.tenants = 20;
  o.resources = 3000;
  o.target_records = 60'000;
  int64_t n = 0;
  std::set<int64_t> days;
  Simulate(o, [&](const SimulatedRecord& r) {
    ++n;
    days.insert(r.record.usage_start.DayStart().hours());
  });
  EXPECT_GT(n, 45'000);
  EXPECT_LT(n, 75'000);
  EXPECT_EQ(days.size(), 30u) << "usage stays spread over the whole period";
}

TEST(SimulatedTenants, AreSkewedAndMatchTheRecords) {
  SimulationOptions o = SmallOptions();
  auto tenants = MakeSimulatedTenants(o);
  ASSERT_EQ(tenants.size(), 6u);
  std::set<std::string> ids;
  int64_t resources = 0;
  for (const auto& t : tenants) {
    EXPECT_TRUE(IsGuid(t.subscription_id)) << t.subscription_id;
    EXPECT_EQ(t.subscription_id, AsciiLower(t.subscription_id));
    EXPECT_NE(t.owner.find('@'), std::string::npos);
    EXPECT_FALSE(t.display_name.empty());
    EXPECT_GE(t.resources, 1);
    ids.insert(t.subscription_id);
    resources += t.resources;
  }
  EXPECT_EQ(ids.size(), tenants.size());
  EXPECT_EQ(resources, o.resources);
  EXPECT_GT(tenants.front().resources, tenants.back().resources);
  for (const auto& r : Collect(o)) EXPECT_EQ(ids.count(r.record.subscription_id), 1u);
  // Adding resources does not change who the tenants are.
  o.resources = 500;
  auto more = MakeSimulatedTenants(o);
  for (size_t i = 0; i < tenants.size(); ++i) {
    EXPECT_EQ(more[i].subscription_id, tenants[i].subscription_id);
  }
}

TEST(SimulationOptions, DefaultsProduceADemoSizedCloud) {
  auto now = ParseUtcTime("2025-03-15T10:20:00Z");
  ASSERT_TRUE(now.ok());
  SimulationOptions o = MakeDefaultSimulationOptions(*now);
  ASSERT_TRUE(ValidateSimulationOptions(o).ok());
  EXPECT_EQ(o.start.utc().micros, ParseUtcTime("2025-02-14T00:00:00Z")->micros);
  int64_t n = 0;
  Simulate(o, [&](const SimulatedRecord&) { ++n; });
  EXPECT_GE(n, 100'000);
  EXPECT_LE(n, 300'000);
}

TEST(SimulationOptions, ValidationNamesEveryProblem) {
  SimulationOptions o;
  o.days = 0;
  o.tenants = 0;
  o.location = "";
  Status s = ValidateSimulationOptions(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("days"), std::string::npos);
  EXPECT_NE(s.message().find("tenants"), std::string::npos);
  EXPECT_NE(s.message().find("start"), std::string::npos);
  EXPECT_NE(s.message().find("location"), std::string::npos);
  int64_t n = 0;
  Simulate(o, [&](const SimulatedRecord&) { ++n; });
  EXPECT_EQ(n, 0);
}

}  // namespace
}  // namespace tally::simulate
