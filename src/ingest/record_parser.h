// Record parsers: turn usage records as received (JSON, NDJSON or CSV text) into
// domain::UsageRecordFields, the unvalidated fields of each record, plus the type problems
// found on the way (a quantity sent as a string, an unknown property...). Validation proper is
// domain::MakeUsageRecord's job; IngestService runs both.
//
// Free functions are stateless and thread-safe. JsonLineParser and CsvRecordParser hold
// scratch state: one instance per thread. RecordReader (record_reader.h) streams large files
// through the same code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "domain/usage_record.h"

namespace tally::ingest {

enum class BodyFormat {
  kJson,    // {"records":[{...},...]} (a bare top-level array is accepted too)
  kNdjson,  // one record object per line; blank lines ignored
  kCsv,     // header row naming the properties; tags/additionalInfo as JSON object text
};

// "json", "ndjson" or "csv".
std::string_view BodyFormatName(BodyFormat format);

// From a file name's extension: ".json" -> kJson; ".ndjson" or ".jsonl" -> kNdjson;
// ".csv" -> kCsv (any case). InvalidArgument otherwise.
Result<BodyFormat> BodyFormatFromFileName(std::string_view path);
// From a format name as a user types it ("json", "ndjson", "jsonl", "csv"; any case).
Result<BodyFormat> BodyFormatFromName(std::string_view name);

// Records parsed from one body or one batch of a stream.
struct ParsedRecords {
  std::vector<domain::UsageRecordFields> fields;
  // Type problems, in record order. Indices count from first_index. An error with an empty
  // property concerns the record as a whole (not an object, a malformed NDJSON line, a CSV row
  // with the wrong number of cells): such a record is not worth validating further.
  std::vector<domain::FieldError> errors;
  // The 1-based line where each record starts (parallel to `fields`). Always filled for NDJSON
  // and CSV; for JSON only when ParseOptions::track_lines.
  std::vector<size_t> lines;
  size_t first_index = 0;  // the index of fields[0] within the whole input

  void Clear();
};

struct ParseOptions {
  // More records than this refuse the whole body (InvalidArgument).
  size_t max_records = 100'000;
  // For JSON: fill ParsedRecords::lines (costs a pass over the text).
  bool track_lines = false;
};

// Parses a whole body. InvalidArgument (and no records) when the body itself is malformed:
// not JSON or truncated (the message names the line, column and byte offset), not
// {"records":[...]} or an array, a CSV header that names unknown or repeated properties,
// broken CSV quoting, no records at all ("the batch has no records"), or more records than
// options.max_records. Problems of single records are returned in ParsedRecords::errors
// instead, so that every problem of the batch can be reported at once. A leading UTF-8 byte
// order mark is ignored.
Result<ParsedRecords> ParseBody(std::string_view body, BodyFormat format,
                                const ParseOptions& options = {});

// The bytes simdjson may read beyond the end of a JSON text (they must be readable).
inline constexpr size_t kJsonPadding = 64;

// Parses one NDJSON line at a time, reusing its buffers. Not thread-safe.
class JsonLineParser {
 public:
  JsonLineParser();
  ~JsonLineParser();
  JsonLineParser(const JsonLineParser&) = delete;
  JsonLineParser& operator=(const JsonLineParser&) = delete;

  // Appends the record on `line` (1-based) to `out`, with index first_index + size. `data`
  // must stay readable for `capacity` >= len + kJsonPadding bytes. A line that is not a JSON
  // object becomes a whole-record error (property "").
  void ParseLine(const char* data, size_t len, size_t capacity, size_t line, ParsedRecords& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// CSV per RFC 4180: comma-separated, fields optionally quoted with '"' (a quote inside is
// doubled), quoted fields may hold commas and line breaks; rows end with LF or CRLF.
enum class CsvScan { kRow, kNeedMore, kError };
struct CsvRow {
  std::vector<std::string> cells;  // only the first `size` are this row's; reused across rows
  size_t size = 0;
  bool blank = false;  // an empty line (no cells, no quotes)
};
// Scans one row from the start of `data`. kRow: `consumed` bytes (the row and its line end)
// and `newlines` line breaks (including quoted ones) were read. kNeedMore: the row may continue
// beyond `data` (never when `at_eof`). kError: `error` says what is wrong.
CsvScan ScanCsvRow(std::string_view data, bool at_eof, CsvRow& row, size_t& consumed,
                   size_t& newlines, std::string& error);

// Maps CSV rows to record fields, given the header row. Not thread-safe.
class CsvRecordParser {
 public:
  CsvRecordParser();
  ~CsvRecordParser();
  CsvRecordParser(const CsvRecordParser&) = delete;
  CsvRecordParser& operator=(const CsvRecordParser&) = delete;

  // Reads the header: property names in any order and any case. InvalidArgument naming the
  // column for an unknown, empty or repeated name.
  Status SetHeader(const CsvRow& header);
  // Appends the record of `row` (starting on `line`) to `out`. An empty cell is an absent
  // property; tags and additionalInfo cells hold JSON object text.
  void ParseRow(const CsvRow& row, size_t line, ParsedRecords& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tally::ingest
