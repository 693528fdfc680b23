// Query strings and percent-encoding for the HTTP API. Parameter names are matched
// case-insensitively (Azure clients and Azure's own nextLinks vary the case, e.g.
// "reportedstartTime"); values are percent-decoded, with '+' read as a space as HTML forms
// send it. Values only; thread-compatible.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "common/time.h"

namespace tally::api {

// Decodes %XX escapes (either hex case); with `plus_is_space`, '+' becomes ' '.
// InvalidArgument for a '%' not followed by two hex digits.
Result<std::string> PercentDecode(std::string_view text, bool plus_is_space);

// Percent-encodes everything but the RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~),
// with upper-case hex.
std::string PercentEncode(std::string_view text);

class QueryString {
 public:
  struct Param {
    std::string raw;    // "name=value" exactly as received, for echoing into a nextLink
    std::string name;   // decoded
    std::string value;  // decoded
  };

  // Parses "a=1&b=2". Empty pieces ("a=1&&b=2") are skipped; "a" alone has an empty value.
  // InvalidArgument naming the parameter when an escape is malformed.
  static Result<QueryString> Parse(std::string_view raw);

  // The value of the first parameter named `name` (case-insensitive), or nullopt.
  std::optional<std::string> Find(std::string_view name) const;
  // True when `name` appears more than once (case-insensitive).
  bool IsRepeated(std::string_view name) const;
  const std::vector<Param>& params() const { return params_; }

  // The raw query without any parameter named `name` (case-insensitive), in received order,
  // joined with '&'.
  std::string RawWithout(std::string_view name) const;

 private:
  std::vector<Param> params_;
};

// The date-time value of the parameter `name` (any form ParseUtcTime accepts, surrounding
// spaces ignored). InvalidArgument naming the parameter when it is missing, empty or not a
// date-time.
Result<UtcTime> RequiredTimeParameter(const QueryString& query, std::string_view name);

}  // namespace tally::api
