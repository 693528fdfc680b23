// IngestService: turns a batch of usage records as received (JSON, NDJSON or CSV text) into
// durable, deduplicated records in the store: parse, validate every record, then append all
// or nothing. The HTTP endpoint and `tally import` are thin adapters over it.
// Thread-safe: one instance serves all connections.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "domain/usage_record.h"
#include "ingest/record_parser.h"
#include "store/usage_store.h"

namespace tally::ingest {

// BodyFormat is defined in ingest/record_parser.h.
// From a Content-Type value ("application/json; charset=utf-8" -> kJson,
// "application/x-ndjson" or "application/jsonl" -> kNdjson, "text/csv" -> kCsv; also
// "application/ndjson", "application/x-jsonlines", "application/jsonlines", "text/json";
// case-insensitive). InvalidArgument naming the supported types otherwise, and for a charset
// other than UTF-8 (or its subset US-ASCII).
Result<BodyFormat> BodyFormatFromContentType(std::string_view content_type);

struct IngestOptions {
  size_t max_records_per_batch = 100'000;
};

// Who sends the batch: only operators may set an explicit reportedTime.
enum class Sender { kReporter, kOperator };

struct IngestOutcome {
  // OK; InvalidArgument (malformed body: `message`, or invalid records: `errors`);
  // AlreadyExists (a recordId stored with other content: `conflicts`); Unavailable (the store
  // refuses writes); others from the store.
  Status status;
  size_t accepted = 0;
  size_t duplicates = 0;
  std::vector<domain::FieldError> errors;        // every problem of every record
  std::vector<store::RecordConflict> conflicts;  // every conflicting record
};

// A batch validated and not yet appended: what IngestService::ValidateParsed hands to
// AppendValidated, so that a pipeline can validate one batch while the previous one is appended.
struct ValidatedBatch {
  IngestOutcome outcome;  // status not OK: the batch was refused and there is nothing to append
  std::vector<domain::UsageRecord> records;
  UtcTime now;  // when it was validated; the reported time of its records without one
  size_t first_index = 0;
};

class IngestService {
 public:
  IngestService(store::UsageStore& store, const Clock& clock, IngestOptions options = {});

  // Parses `body`, validates every record and, only if all are valid, appends them to the
  // store. Returns once the batch is durable (or refused). Never partially applies a batch.
  IngestOutcome Ingest(std::string_view body, BodyFormat format, Sender sender);

  // Validates and appends records already parsed (used by `tally import`, which streams large
  // files through RecordReader and appends them batch by batch). `first_index` offsets the
  // indices reported in errors and conflicts.
  IngestOutcome IngestFields(const std::vector<domain::UsageRecordFields>& fields, Sender sender,
                             size_t first_index = 0);
  // The same for a batch from a parser or RecordReader: its type problems (`records.errors`)
  // count as invalid records too, and when `records.lines` is filled every error's reason ends
  // with " (line N)".
  IngestOutcome IngestParsed(const ParsedRecords& records, Sender sender);
  // The same, moving the records' text into the store's records instead of copying it; what
  // is left in `records` is unspecified (Clear() it before reusing it).
  IngestOutcome IngestParsed(ParsedRecords&& records, Sender sender);

  // IngestParsed in two steps: validation (moving the text out of `records`), then the durable
  // append. IngestParsed(records) == AppendValidated(ValidateParsed(records)).
  ValidatedBatch ValidateParsed(ParsedRecords&& records, Sender sender);
  IngestOutcome AppendValidated(ValidatedBatch&& batch);

 private:
  // `owned` is empty, or `fields` again, whose text may then be moved out.
  ValidatedBatch Validate(std::span<const domain::UsageRecordFields> fields,
                          std::span<domain::UsageRecordFields> owned,
                          std::span<const domain::FieldError> parse_errors,
                          std::span<const size_t> lines, size_t first_index, Sender sender);
  IngestOutcome ValidateAndAppend(std::span<const domain::UsageRecordFields> fields,
                                  std::span<domain::UsageRecordFields> owned,
                                  std::span<const domain::FieldError> parse_errors,
                                  std::span<const size_t> lines, size_t first_index,
                                  Sender sender);

  store::UsageStore& store_;
  const Clock& clock_;
  IngestOptions options_;
};

}  // namespace tally::ingest
