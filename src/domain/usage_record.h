// UsageRecord: one hour of one meter of one resource, as a resource provider reports it, and
// the rules that make a record valid. Values only: no I/O. Thread-compatible.
//
// A record's *content* is everything the provider reported; the reported time Tally assigns is
// not part of it. Two records with the same recordId and the same content are duplicates (the
// second changes nothing); the same recordId with different content is a conflict.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/decimal.h"
#include "common/time.h"

namespace tally::domain {

// A JSON object of strings (tags, additionalInfo), kept sorted by key with unique keys so that
// equal objects compare equal whatever order they were sent in. nullopt = absent or null.
using Properties = std::vector<std::pair<std::string, std::string>>;
using OptionalProperties = std::optional<Properties>;

struct UsageRecord {
  std::string record_id;        // the idempotency key, as sent
  std::string subscription_id;  // lower-case GUID
  std::string meter_id;         // as sent; the store maps it to the catalog's spelling
  std::string resource_uri;
  std::string location;
  UsageHour usage_start;  // the usage hour; usageEndTime is usage_start + 1 h
  Decimal quantity;       // >= 0, at most 15 fractional digits
  OptionalProperties tags;
  OptionalProperties additional_info;
  // Set only when an operator imports history with an explicit reportedTime.
  std::optional<ReportedTime> reported_time;

  UsageHour usage_end() const { return usage_start.Next(); }
};

// Canonical text of a record's content (everything but the reported time), used to tell a
// duplicate from a conflict. Meter IDs compare case-insensitively.
std::string CanonicalContent(const UsageRecord& r);
// 64-bit digest of CanonicalContent.
uint64_t ContentHash(const UsageRecord& r);
bool SameContent(const UsageRecord& a, const UsageRecord& b);

// The fields of a record as received, before validation. Parsers fill what they find; a field
// that was present with the wrong JSON type is reported by the parser itself.
struct UsageRecordFields {
  std::optional<std::string> record_id;
  std::optional<std::string> subscription_id;
  std::optional<std::string> meter_id;
  std::optional<std::string> resource_uri;
  std::optional<std::string> location;
  std::optional<std::string> usage_start_time;
  std::optional<std::string> usage_end_time;
  std::optional<std::string> quantity;  // the number's exact text
  std::optional<std::string> reported_time;
  OptionalProperties tags;             // unsorted, as received
  OptionalProperties additional_info;  // unsorted, as received
};

// One problem with one record of a batch: which record (0-based), which property, and why.
struct FieldError {
  size_t index = 0;
  std::string property;  // the wire name, e.g. "usageStartTime"; "" for the record as a whole
  std::string reason;
};

struct ValidationContext {
  UtcTime now;
  bool allow_reported_time = false;  // true only for operators
};

// Builds a valid record from received fields, or appends every problem found to `errors` and
// returns nullopt. Rules (each error's reason says which was broken):
//   recordId       required, 1-256 bytes, no control characters
//   subscriptionId required GUID (normalised to lower case)
//   meterId        required, 1-64 characters of [A-Za-z0-9-_.]
//   resourceUri    required, 1-2048 bytes, "/subscriptions/{subscriptionId}/..." (same id)
//   location       required, 1-128 bytes, no control characters
//   usageStartTime required, on the hour (UTC); usageEndTime required, exactly one hour later;
//                  the hour must have ended by now (plus 5 minutes of clock skew)
//   quantity       required decimal >= 0 with at most 15 fractional digits, below 10^21
//   tags           at most 50 entries; keys 1-512 bytes, values at most 256 bytes; unique keys
//   additionalInfo at most 64 entries; keys 1-512 bytes, values at most 4096 bytes; unique keys
//   reportedTime   only when ctx.allow_reported_time; not after now
std::optional<UsageRecord> MakeUsageRecord(const UsageRecordFields& fields, size_t index,
                                           const ValidationContext& ctx,
                                           std::vector<FieldError>& errors);
// The same, moving the text out of `fields` instead of copying it (what is left in `fields`
// is unspecified).
std::optional<UsageRecord> MakeUsageRecord(UsageRecordFields&& fields, size_t index,
                                           const ValidationContext& ctx,
                                           std::vector<FieldError>& errors);

// The JSON object text {"k":"v",...} of properties, or "null".
void AppendPropertiesJson(std::string& out, const OptionalProperties& p);

}  // namespace tally::domain
