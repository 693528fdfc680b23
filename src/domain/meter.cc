#include "domain/meter.h"

#include <cstdio>
#include <cstdlib>

#include "common/strings.h"

namespace tally::domain {

// Defined in the file CMake generates from data/meters.tsv.
extern const char* const kBuiltinMetersTsv;

std::string_view MeterSourceName(MeterSource s) {
  switch (s) {
    case MeterSource::kBuiltin: return "builtin";
    case MeterSource::kCustom: return "custom";
    case MeterSource::kUnknown: return "unknown";
  }
  return "unknown";
}

Result<MeterSource> ParseMeterSource(std::string_view s) {
  if (s == "builtin") return MeterSource::kBuiltin;
  if (s == "custom") return MeterSource::kCustom;
  if (s == "unknown") return MeterSource::kUnknown;
  return InvalidArgument("unknown meter source '" + std::string(s) + "'");
}

std::string MeterKey(std::string_view meter_id) { return AsciiUpper(meter_id); }

Result<MeterCatalog> MeterCatalog::Parse(std::string_view tsv) {
  // Columns: id, name, unit, family, deprecated (yes|no), hourly_level (yes|no), notes.
  // Lines starting with '#' and blank lines are ignored.
  MeterCatalog catalog;
  size_t line_no = 0;
  for (std::string_view line : Split(tsv, '\n')) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (TrimSpace(line).empty() || line.front() == '#') continue;
    auto cols = Split(line, '\t');
    auto bad = [&](std::string why) {
      return InvalidArgument("meter catalog line " + std::to_string(line_no) + ": " + why);
    };
    if (cols.size() != 7) return bad("expected 7 tab-separated columns");
    auto yes_no = [&](std::string_view v, bool& out) {
      if (v == "yes") out = true;
      else if (v == "no") out = false;
      else return false;
      return true;
    };
    Meter m;
    m.id = std::string(cols[0]);
    m.name = std::string(cols[1]);
    m.unit = std::string(cols[2]);
    m.family = std::string(cols[3]);
    if (!yes_no(cols[4], m.deprecated)) return bad("deprecated must be yes or no");
    if (!yes_no(cols[5], m.hourly_level)) return bad("hourly_level must be yes or no");
    m.notes = std::string(cols[6]);
    m.source = MeterSource::kBuiltin;
    if (m.id.empty() || m.name.empty()) return bad("id and name are required");
    auto [it, inserted] = catalog.by_key_.emplace(MeterKey(m.id), catalog.meters_.size());
    if (!inserted) return bad("meter " + m.id + " appears twice");
    catalog.meters_.push_back(std::move(m));
  }
  return catalog;
}

const MeterCatalog& MeterCatalog::Builtin() {
  static const MeterCatalog* catalog = [] {
    auto parsed = Parse(kBuiltinMetersTsv);
    // The file is part of the build and covered by tests; a broken one is a programmer error.
    if (!parsed.ok()) {
      std::fprintf(stderr, "built-in meter catalog: %s\n", parsed.status().ToString().c_str());
      std::abort();
    }
    return new MeterCatalog(std::move(parsed).value());
  }();
  return *catalog;
}

const Meter* MeterCatalog::Find(std::string_view meter_id) const {
  auto it = by_key_.find(MeterKey(meter_id));
  return it == by_key_.end() ? nullptr : &meters_[it->second];
}

}  // namespace tally::domain
