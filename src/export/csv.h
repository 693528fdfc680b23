// CSV text for the export formats: RFC 4180 fields and records. A field is enclosed in double
// quotes when the format asks for it always (Export-Csv's style) or when it holds a comma, a
// double quote, a CR or an LF; a double quote inside is doubled. Records end with CRLF. Bytes
// are copied unchanged (UTF-8 in, UTF-8 out, no BOM). Stateless functions; thread-safe.
#pragma once

#include <ostream>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tally::exports {

enum class CsvQuoting {
  kAlways,    // every field in double quotes, as PowerShell's Export-Csv writes
  kAsNeeded,  // only fields that need it, so an empty field stays distinguishable as null
};

// Appends `field` as one CSV field (without a separator).
void AppendCsvField(std::string& out, std::string_view field, CsvQuoting quoting);

// Builds one record in a reusable buffer: Field() adds a field (with the comma before it),
// End() terminates the record with CRLF. Clear() starts the next one.
class CsvRecord {
 public:
  explicit CsvRecord(CsvQuoting quoting) : quoting_(quoting) {}
  CsvRecord& Field(std::string_view field);
  CsvRecord& Null();  // an empty, unquoted field
  void End() { text_.append("\r\n"); }
  void Clear() {
    text_.clear();
    first_ = true;
  }
  const std::string& text() const { return text_; }

 private:
  CsvQuoting quoting_;
  std::string text_;
  bool first_ = true;
};

// Writes `text` to `out`; Unavailable when the stream has failed.
Status WriteText(std::ostream& out, std::string_view text);

}  // namespace tally::exports
