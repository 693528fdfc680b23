#include "ingest/ingest_service.h"

#include <algorithm>

#include "common/strings.h"

namespace tally::ingest {
namespace {

constexpr std::string_view kSupportedTypes =
    "application/json, application/x-ndjson (or application/jsonl) and text/csv";

}  // namespace

Result<BodyFormat> BodyFormatFromContentType(std::string_view content_type) {
  const size_t semicolon = content_type.find(';');
  const std::string media = AsciiLower(TrimSpace(content_type.substr(0, semicolon)));
  std::optional<BodyFormat> format;
  if (media == "application/json" || media == "text/json") {
    format = BodyFormat::kJson;
  } else if (media == "application/x-ndjson" || media == "application/ndjson" ||
             media == "application/jsonl" || media == "application/x-jsonlines" ||
             media == "application/jsonlines") {
    format = BodyFormat::kNdjson;
  } else if (media == "text/csv") {
    format = BodyFormat::kCsv;
  }
  if (!format) {
    return InvalidArgument("unsupported Content-Type '" + std::string(content_type.substr(0, 128)) +
                           "'; use " + std::string(kSupportedTypes));
  }
  // Parameters: only the charset matters, and the parsers read UTF-8.
  std::string_view params =
      semicolon == std::string_view::npos ? std::string_view() : content_type.substr(semicolon);
  for (std::string_view param : Split(params, ';')) {
    param = TrimSpace(param);
    const size_t eq = param.find('=');
    if (eq == std::string_view::npos) continue;
    if (!EqualsIgnoreCase(TrimSpace(param.substr(0, eq)), "charset")) continue;
    std::string_view charset = TrimSpace(param.substr(eq + 1));
    if (charset.size() >= 2 && charset.front() == '"' && charset.back() == '"') {
      charset = charset.substr(1, charset.size() - 2);
    }
    if (!EqualsIgnoreCase(charset, "utf-8") && !EqualsIgnoreCase(charset, "utf8") &&
        !EqualsIgnoreCase(charset, "us-ascii")) {
      return InvalidArgument("unsupported charset '" + std::string(charset.substr(0, 64)) +
                             "'; send UTF-8");
    }
  }
  return *format;
}

IngestService::IngestService(store::UsageStore& store, const Clock& clock, IngestOptions options)
    : store_(store), clock_(clock), options_(options) {}

IngestOutcome IngestService::Ingest(std::string_view body, BodyFormat format, Sender sender) {
  ParseOptions parse_options;
  parse_options.max_records = options_.max_records_per_batch;
  Result<ParsedRecords> parsed = ParseBody(body, format, parse_options);
  if (!parsed.ok()) {
    IngestOutcome outcome;
    outcome.status = parsed.status();
    return outcome;
  }
  return IngestParsed(std::move(*parsed), sender);
}

IngestOutcome IngestService::IngestFields(const std::vector<domain::UsageRecordFields>& fields,
                                          Sender sender, size_t first_index) {
  return ValidateAndAppend(fields, {}, {}, {}, first_index, sender);
}

IngestOutcome IngestService::IngestParsed(const ParsedRecords& records, Sender sender) {
  return ValidateAndAppend(records.fields, {}, records.errors, records.lines, records.first_index,
                           sender);
}

IngestOutcome IngestService::IngestParsed(ParsedRecords&& records, Sender sender) {
  return ValidateAndAppend(records.fields, records.fields, records.errors, records.lines,
                           records.first_index, sender);
}

ValidatedBatch IngestService::ValidateParsed(ParsedRecords&& records, Sender sender) {
  return Validate(records.fields, records.fields, records.errors, records.lines,
                  records.first_index, sender);
}

IngestOutcome IngestService::ValidateAndAppend(
    std::span<const domain::UsageRecordFields> fields, std::span<domain::UsageRecordFields> owned,
    std::span<const domain::FieldError> parse_errors, std::span<const size_t> lines,
    size_t first_index, Sender sender) {
  return AppendValidated(Validate(fields, owned, parse_errors, lines, first_index, sender));
}

ValidatedBatch IngestService::Validate(std::span<const domain::UsageRecordFields> fields,
                                       std::span<domain::UsageRecordFields> owned,
                                       std::span<const domain::FieldError> parse_errors,
                                       std::span<const size_t> lines, size_t first_index,
                                       Sender sender) {
  ValidatedBatch batch;
  batch.first_index = first_index;
  IngestOutcome& outcome = batch.outcome;
  if (fields.empty()) {
    outcome.status = InvalidArgument("the batch has no records");
    return batch;
  }
  if (fields.size() > options_.max_records_per_batch) {
    outcome.status = InvalidArgument("the batch has " + std::to_string(fields.size()) +
                                     " records; at most " +
                                     std::to_string(options_.max_records_per_batch) +
                                     " are allowed, split it into smaller batches");
    return batch;
  }

  // One `now` for the whole batch: validation ("has the hour ended?") and the reported time
  // the store assigns must agree.
  const UtcTime now = clock_.Now();
  batch.now = now;
  const domain::ValidationContext context{now, sender == Sender::kOperator};
  std::vector<domain::UsageRecord>& records = batch.records;
  records.reserve(fields.size());
  std::vector<domain::FieldError>& errors = outcome.errors;
  std::vector<domain::FieldError> record_errors;
  size_t invalid_records = 0;
  size_t next_parse_error = 0;

  for (size_t i = 0; i < fields.size(); ++i) {
    const size_t index = first_index + i;
    const size_t errors_before = errors.size();
    // Parse errors arrive in record order: take this record's.
    const size_t parse_begin = next_parse_error;
    while (next_parse_error < parse_errors.size() &&
           parse_errors[next_parse_error].index <= index) {
      errors.push_back(parse_errors[next_parse_error++]);
    }
    const auto own_parse_errors = parse_errors.subspan(parse_begin, next_parse_error - parse_begin);
    const bool whole_record_broken = std::any_of(
        own_parse_errors.begin(), own_parse_errors.end(),
        [](const domain::FieldError& e) { return e.property.empty(); });

    if (!whole_record_broken) {
      record_errors.clear();
      std::optional<domain::UsageRecord> record =
          owned.empty() ? domain::MakeUsageRecord(fields[i], index, context, record_errors)
                        : domain::MakeUsageRecord(std::move(owned[i]), index, context,
                                                  record_errors);
      for (domain::FieldError& e : record_errors) {
        // A property the parser refused was left unset; "is required" would only repeat that.
        const bool already_reported =
            std::any_of(own_parse_errors.begin(), own_parse_errors.end(),
                        [&](const domain::FieldError& p) { return p.property == e.property; });
        if (!already_reported) errors.push_back(std::move(e));
      }
      // Once any record is invalid nothing is stored, so stop collecting valid ones.
      if (record && errors.empty()) records.push_back(std::move(*record));
    }

    if (errors.size() != errors_before) {
      ++invalid_records;
      if (i < lines.size()) {
        const std::string suffix = " (line " + std::to_string(lines[i]) + ")";
        for (size_t k = errors_before; k < errors.size(); ++k) errors[k].reason.append(suffix);
      }
    }
  }
  // Parse errors whose index matches no record would be a parser bug; report, never drop.
  while (next_parse_error < parse_errors.size()) errors.push_back(parse_errors[next_parse_error++]);

  if (!errors.empty()) {
    const size_t n = std::max<size_t>(invalid_records, 1);
    outcome.status = InvalidArgument(std::to_string(n) + (n == 1 ? " record" : " records") +
                                     " of " + std::to_string(fields.size()) +
                                     (n == 1 ? " is" : " are") + " invalid; nothing was stored");
    records.clear();
  }
  return batch;
}

IngestOutcome IngestService::AppendValidated(ValidatedBatch&& batch) {
  IngestOutcome outcome = std::move(batch.outcome);
  if (!outcome.status.ok()) return outcome;
  const size_t first_index = batch.first_index;
  Result<store::AppendOutcome> appended =
      store_.AppendUsage(batch.records, ReportedTime(batch.now));
  if (!appended.ok()) {
    outcome.status = appended.status();
    return outcome;
  }
  if (!appended->conflicts.empty()) {
    outcome.conflicts = std::move(appended->conflicts);
    for (store::RecordConflict& c : outcome.conflicts) c.index += first_index;
    const size_t n = outcome.conflicts.size();
    outcome.status = AlreadyExists(
        std::to_string(n) + (n == 1 ? " record has a recordId" : " records have recordIds") +
        " already stored with different content; nothing was stored");
    return outcome;
  }
  outcome.accepted = appended->accepted;
  outcome.duplicates = appended->duplicates;
  return outcome;
}

}  // namespace tally::ingest
