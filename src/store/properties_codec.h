// Stored text of a record's tags / additionalInfo: the JSON object text domain writes
// (AppendPropertiesJson, keys sorted), and the parser that reads it back. Backend-agnostic:
// any store that keeps properties as text uses this pair. Stateless and thread-safe.
//
// The parser accepts exactly what the writer produces plus any standard JSON string escapes,
// and passes non-ASCII bytes through unchanged (record validation does not require UTF-8, so
// a general JSON parser could refuse text we wrote ourselves).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "domain/usage_record.h"

namespace tally::store {

// Appends the stored text of `p` ({"k":"v",...}); nothing is appended for nullopt (stored as
// SQL NULL / absent).
void AppendPropertiesText(std::string& out, const domain::Properties& p);

// Parses text written by AppendPropertiesText. DataLoss when the text is not a JSON object of
// strings (the stored data is damaged).
Result<domain::Properties> ParsePropertiesText(std::string_view text);

}  // namespace tally::store
