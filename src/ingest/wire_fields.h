// Internal to tally_ingest: the wire names of a usage record's properties and the JSON
// reading shared by the JSON, NDJSON and CSV parsers. Stateless; thread-safe.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "domain/usage_record.h"
#include "ingest/record_parser.h"

namespace tally::ingest::internal {

enum class Property : uint8_t {
  kRecordId,
  kSubscriptionId,
  kMeterId,
  kResourceUri,
  kLocation,
  kUsageStartTime,
  kUsageEndTime,
  kQuantity,
  kTags,
  kAdditionalInfo,
  kReportedTime,
  kUnknown,
};
inline constexpr size_t kPropertyCount = static_cast<size_t>(Property::kUnknown);

// The camelCase wire name, e.g. "usageStartTime".
const char* PropertyName(Property p);
// Exact match (JSON is case-sensitive); kUnknown otherwise.
Property PropertyFromName(std::string_view name);
// Case-insensitive match (CSV headers); kUnknown otherwise.
Property PropertyFromNameIgnoreCase(std::string_view name);

// The slot of a text property (everything but tags and additionalInfo), or nullptr.
std::optional<std::string>* TextField(domain::UsageRecordFields& f, Property p);
// The slot of tags or additionalInfo, or nullptr.
domain::OptionalProperties* PropertiesField(domain::UsageRecordFields& f, Property p);

// Reads a JSON object of strings into `out`. Returns a simdjson error only when the JSON is
// malformed; a wrong type sets `type_error` to the reason instead.
simdjson::error_code ReadProperties(simdjson::ondemand::object object, domain::Properties& out,
                                    std::string& type_error);

// Reads one record object. Returns a simdjson error only when the JSON is malformed; type
// problems are appended to `errors` under `index`.
simdjson::error_code ReadRecordObject(simdjson::ondemand::object object, size_t index,
                                      domain::UsageRecordFields& fields,
                                      std::vector<domain::FieldError>& errors);

// True when the document has no tokens left (simdjson 3.0 has no public at_end()).
inline bool AtEnd(simdjson::ondemand::document& doc) {
  const char* at = nullptr;
  return doc.current_location().get(at) != simdjson::SUCCESS;
}

// A short description of a simdjson error for people who sent the text.
std::string JsonErrorMessage(simdjson::error_code error);

// Parses a JSON body ({"records":[...]} or [...]) at `data` (readable for `capacity` >=
// len + kJsonPadding bytes), appending to `out`. InvalidArgument when malformed. Accepts zero
// records.
Status ParseJsonText(const char* data, size_t len, size_t capacity, const ParseOptions& options,
                     ParsedRecords& out);
// Parses a whole CSV text, appending to `out`. InvalidArgument when malformed. Accepts zero
// records.
Status ParseCsvText(std::string_view text, const ParseOptions& options, ParsedRecords& out);

// True for a line of only spaces, tabs and carriage returns (skipped in NDJSON).
inline bool IsBlankLine(std::string_view line) {
  for (char c : line) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

// "the batch has more than N records; ..." for options.max_records.
Status TooManyRecords(size_t max_records);

}  // namespace tally::ingest::internal
