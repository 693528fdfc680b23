#include "ingest/record_parser.h"

#include <algorithm>
#include <cstring>

#include "common/strings.h"
#include "ingest/wire_fields.h"

namespace tally::ingest {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

Status ParseNdjsonText(std::string_view body, const ParseOptions& options, ParsedRecords& out) {
  // One padded copy for the whole body: each line is then followed by readable bytes, which
  // is all simdjson needs, so lines are parsed in place.
  simdjson::padded_string padded(body);
  const char* data = padded.data();
  const size_t n = padded.size();
  JsonLineParser parser;
  size_t pos = 0;
  size_t line = 1;
  while (pos < n) {
    const void* nl = std::memchr(data + pos, '\n', n - pos);
    const size_t end = nl ? static_cast<size_t>(static_cast<const char*>(nl) - data) : n;
    if (!internal::IsBlankLine(std::string_view(data + pos, end - pos))) {
      if (out.fields.size() >= options.max_records) {
        return internal::TooManyRecords(options.max_records);
      }
      parser.ParseLine(data + pos, end - pos, n + kJsonPadding - pos, line, out);
    }
    pos = end + 1;
    ++line;
  }
  return Status::Ok();
}

}  // namespace

void ParsedRecords::Clear() {
  fields.clear();
  errors.clear();
  lines.clear();
  first_index = 0;
}

std::string_view BodyFormatName(BodyFormat format) {
  switch (format) {
    case BodyFormat::kJson: return "json";
    case BodyFormat::kNdjson: return "ndjson";
    case BodyFormat::kCsv: return "csv";
  }
  return "json";
}

Result<BodyFormat> BodyFormatFromName(std::string_view name) {
  std::string n = AsciiLower(TrimSpace(name));
  if (n == "json") return BodyFormat::kJson;
  if (n == "ndjson" || n == "jsonl") return BodyFormat::kNdjson;
  if (n == "csv") return BodyFormat::kCsv;
  return InvalidArgument("unknown format '" + std::string(name.substr(0, 64)) +
                         "'; use json, ndjson (or jsonl) or csv");
}

Result<BodyFormat> BodyFormatFromFileName(std::string_view path) {
  const size_t slash = path.find_last_of('/');
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const size_t dot = base.find_last_of('.');
  if (dot != std::string_view::npos && dot > 0) {
    std::string ext = AsciiLower(base.substr(dot + 1));
    if (ext == "json") return BodyFormat::kJson;
    if (ext == "ndjson" || ext == "jsonl") return BodyFormat::kNdjson;
    if (ext == "csv") return BodyFormat::kCsv;
  }
  return InvalidArgument("cannot tell the format of '" + std::string(path) +
                         "' from its extension (.json, .ndjson, .jsonl or .csv); name the format "
                         "explicitly");
}

Result<ParsedRecords> ParseBody(std::string_view body, BodyFormat format,
                                const ParseOptions& options) {
  if (body.starts_with(kUtf8Bom)) body.remove_prefix(kUtf8Bom.size());
  ParsedRecords out;
  if (TrimSpace(body).empty()) return InvalidArgument("the batch has no records");
  // Growing the vector of ~0.5 KB records by doubling costs more than parsing them; an upper
  // bound on the record count ('{' per JSON record, a line per NDJSON or CSV record) is one
  // fast pass over the text.
  const char marker = format == BodyFormat::kJson ? '{' : '\n';
  const size_t bound = CountByte(body, marker) + 1;
  out.fields.reserve(std::min(bound, options.max_records));
  if (format != BodyFormat::kJson || options.track_lines) {
    out.lines.reserve(std::min(bound, options.max_records));
  }
  switch (format) {
    case BodyFormat::kJson: {
      // simdjson reads up to kJsonPadding bytes past the text: parse a padded copy, kept per
      // thread (a fresh one per body cost fresh zeroed pages) unless a huge body grew it.
      thread_local std::string padded;
      padded.reserve(body.size() + kJsonPadding);
      padded.assign(body);
      padded.append(kJsonPadding, '\0');
      Status s = internal::ParseJsonText(padded.data(), body.size(), padded.size(), options, out);
      if (padded.capacity() > (size_t{1} << 20) + kJsonPadding) std::string().swap(padded);
      TALLY_RETURN_IF_ERROR(s);
      break;
    }
    case BodyFormat::kNdjson:
      TALLY_RETURN_IF_ERROR(ParseNdjsonText(body, options, out));
      break;
    case BodyFormat::kCsv:
      TALLY_RETURN_IF_ERROR(internal::ParseCsvText(body, options, out));
      break;
  }
  if (out.fields.empty()) return InvalidArgument("the batch has no records");
  return out;
}

namespace internal {

Status TooManyRecords(size_t max_records) {
  return InvalidArgument("the batch has more than " + std::to_string(max_records) +
                         " records; split it into smaller batches");
}

}  // namespace internal
}  // namespace tally::ingest
