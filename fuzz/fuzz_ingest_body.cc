// Fuzzes the ingest parsers (JSON, NDJSON, CSV) and record validation on arbitrary bytes; they
// must never crash, leak or hit undefined behaviour. Also checks two properties: the streaming
// RecordReader (with a chunk size taken from the input) yields the same records as parsing the
// whole body, and every parse error points at a record of the batch.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>

#include "domain/usage_record.h"
#include "ingest/record_parser.h"
#include "ingest/record_reader.h"

namespace {

using tally::ingest::BodyFormat;
using tally::ingest::ParsedRecords;

void Check(bool ok) {
  if (!ok) std::abort();
}

void Validate(const ParsedRecords& parsed) {
  tally::domain::ValidationContext context{tally::UtcTime{1'790'000'000'000'000}, true};
  std::vector<tally::domain::FieldError> errors;
  for (size_t i = 0; i < parsed.fields.size(); ++i) {
    (void)tally::domain::MakeUsageRecord(parsed.fields[i], i, context, errors);
  }
  for (const auto& e : parsed.errors) Check(e.index < parsed.fields.size());
  Check(parsed.lines.empty() || parsed.lines.size() == parsed.fields.size());
}

void CompareWithReader(std::string_view body, BodyFormat format, const ParsedRecords& whole,
                       size_t chunk) {
  std::istringstream in{std::string(body)};
  tally::ingest::RecordReaderOptions options;
  options.batch_size = 3;
  options.chunk_size = chunk;
  tally::ingest::RecordReader reader(in, format, options);
  ParsedRecords batch;
  size_t n = 0;
  size_t errors = 0;
  while (true) {
    tally::Result<bool> more = reader.Next(batch);
    if (!more.ok()) std::abort();  // the whole body parsed, so the stream must too
    if (!*more) break;
    for (size_t i = 0; i < batch.fields.size(); ++i, ++n) {
      Check(n < whole.fields.size());
      const auto& a = batch.fields[i];
      const auto& b = whole.fields[n];
      Check(a.record_id == b.record_id && a.quantity == b.quantity && a.tags == b.tags &&
            a.location == b.location && a.additional_info == b.additional_info);
      Check(batch.lines[i] == whole.lines[n]);
    }
    errors += batch.errors.size();
  }
  Check(n == whole.fields.size());
  Check(errors == whole.errors.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  const size_t chunk = size > 0 ? 1 + data[0] % 17 : 1;
  tally::ingest::ParseOptions options;
  options.max_records = 1000;
  for (BodyFormat format : {BodyFormat::kJson, BodyFormat::kNdjson, BodyFormat::kCsv}) {
    tally::Result<ParsedRecords> parsed = tally::ingest::ParseBody(body, format, options);
    if (!parsed.ok()) continue;
    Validate(*parsed);
    // JSON bodies are streamed whole anyway; the chunked formats are the interesting ones.
    if (format != BodyFormat::kJson) {
      CompareWithReader(body, format, *parsed, chunk);
    }
  }
  return 0;
}
