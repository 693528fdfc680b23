// CSV record reading (RFC 4180) for spreadsheet exports and `tally import`.
//
// The scanner is resumable (kNeedMore) so that RecordReader can stream files of any size
// through a fixed buffer. Quoting is strict: a stray quote means the row boundaries cannot be
// trusted, so it refuses the whole input rather than guess.
#include <algorithm>

#include "common/strings.h"
#include "ingest/record_parser.h"
#include "ingest/wire_fields.h"

namespace tally::ingest {

using internal::Property;

CsvScan ScanCsvRow(std::string_view d, bool at_eof, CsvRow& row, size_t& consumed,
                   size_t& newlines, std::string& error) {
  row.size = 0;
  row.blank = false;
  newlines = 0;
  const size_t n = d.size();
  if (n == 0 && !at_eof) return CsvScan::kNeedMore;
  bool quoted_any = false;
  size_t pos = 0;
  auto next_cell = [&]() -> std::string& {
    if (row.size == row.cells.size()) row.cells.emplace_back();
    std::string& cell = row.cells[row.size++];
    cell.clear();
    return cell;
  };
  auto end_row = [&](size_t end) {
    consumed = end;
    row.blank = row.size == 1 && !quoted_any && row.cells[0].empty();
    return CsvScan::kRow;
  };
  while (true) {
    std::string& cell = next_cell();
    if (pos < n && d[pos] == '"') {
      quoted_any = true;
      ++pos;
      while (true) {
        size_t q = d.find('"', pos);
        if (q == std::string_view::npos) {
          if (!at_eof) return CsvScan::kNeedMore;
          error = "a quoted field is not closed";
          return CsvScan::kError;
        }
        newlines += static_cast<size_t>(std::count(d.begin() + pos, d.begin() + q, '\n'));
        cell.append(d, pos, q - pos);
        if (q + 1 == n && !at_eof) return CsvScan::kNeedMore;  // may be a doubled quote
        if (q + 1 < n && d[q + 1] == '"') {
          cell.push_back('"');
          pos = q + 2;
          continue;
        }
        pos = q + 1;
        break;
      }
      if (pos == n) return end_row(n);  // at_eof here, or kNeedMore was returned above
      const char c = d[pos];
      if (c == ',') {
        ++pos;
        continue;
      }
      if (c == '\n') {
        ++newlines;
        return end_row(pos + 1);
      }
      if (c == '\r') {
        if (pos + 1 == n) {
          if (!at_eof) return CsvScan::kNeedMore;
          return end_row(n);
        }
        if (d[pos + 1] == '\n') {
          ++newlines;
          return end_row(pos + 2);
        }
      }
      error = "unexpected character after a closing quote (a quote inside a field is written "
              "twice)";
      return CsvScan::kError;
    }
    const size_t e = d.find_first_of(",\n\"", pos);
    if (e == std::string_view::npos) {
      if (!at_eof) return CsvScan::kNeedMore;
      cell.append(d, pos, n - pos);
      if (!cell.empty() && cell.back() == '\r') cell.pop_back();
      return end_row(n);
    }
    if (d[e] == '"') {
      error = "a quote inside an unquoted field (quote the whole field and write the quote twice)";
      return CsvScan::kError;
    }
    cell.append(d, pos, e - pos);
    if (d[e] == ',') {
      pos = e + 1;
      continue;
    }
    if (!cell.empty() && cell.back() == '\r') cell.pop_back();
    ++newlines;
    return end_row(e + 1);
  }
}

struct CsvRecordParser::Impl {
  std::vector<Property> columns;
  simdjson::ondemand::parser json;
  std::string scratch;  // a cell's JSON text plus simdjson's padding

  // Parses a tags/additionalInfo cell; returns the reason it is refused, or "".
  std::string ParseProperties(std::string_view text, domain::OptionalProperties& out) {
    namespace od = simdjson::ondemand;
    scratch.assign(text);
    scratch.append(kJsonPadding, ' ');
    od::document doc;
    auto e = json.iterate(scratch.data(), text.size(), scratch.size()).get(doc);
    od::json_type type;
    if (!e) e = doc.type().get(type);
    if (!e && type != od::json_type::object) {
      return "must be JSON object text such as {\"team\":\"storage\"}";
    }
    od::object object;
    if (!e) e = doc.get_object().get(object);
    domain::Properties props;
    std::string type_error;
    if (!e) e = internal::ReadProperties(object, props, type_error);
    if (!e && !internal::AtEnd(doc)) e = simdjson::TRAILING_CONTENT;
    if (e) return "is not valid JSON object text: " + internal::JsonErrorMessage(e);
    if (!type_error.empty()) return type_error;
    out = std::move(props);
    return "";
  }
};

CsvRecordParser::CsvRecordParser() : impl_(std::make_unique<Impl>()) {}
CsvRecordParser::~CsvRecordParser() = default;

Status CsvRecordParser::SetHeader(const CsvRow& header) {
  impl_->columns.clear();
  std::string problems;
  auto add = [&](std::string p) {
    if (!problems.empty()) problems.append("; ");
    problems.append(p);
  };
  for (size_t i = 0; i < header.size; ++i) {
    std::string_view name = TrimSpace(header.cells[i]);
    const std::string column = "column " + std::to_string(i + 1);
    Property p = internal::PropertyFromNameIgnoreCase(name);
    if (name.empty()) {
      add(column + " has no name");
    } else if (p == Property::kUnknown) {
      add(column + " '" + std::string(name.substr(0, 64)) + "' is not a known property");
    } else {
      auto earlier = std::find(impl_->columns.begin(), impl_->columns.end(), p);
      if (earlier != impl_->columns.end()) {
        add(column + " '" + std::string(name) + "' repeats column " +
            std::to_string(earlier - impl_->columns.begin() + 1));
      }
    }
    impl_->columns.push_back(p);
  }
  if (problems.empty()) return Status::Ok();
  std::string known;
  for (size_t i = 0; i < internal::kPropertyCount; ++i) {
    if (i > 0) known.append(", ");
    known.append(internal::PropertyName(static_cast<Property>(i)));
  }
  impl_->columns.clear();
  return InvalidArgument("the CSV header row is invalid: " + problems + " (the properties are " +
                         known + ")");
}

void CsvRecordParser::ParseRow(const CsvRow& row, size_t line, ParsedRecords& out) {
  const size_t index = out.first_index + out.fields.size();
  out.lines.push_back(line);
  domain::UsageRecordFields& fields = out.fields.emplace_back();
  const auto& columns = impl_->columns;
  if (row.size != columns.size()) {
    out.errors.push_back({index, "",
                          "has " + std::to_string(row.size) + " cells but the header has " +
                              std::to_string(columns.size())});
    return;
  }
  for (size_t i = 0; i < row.size; ++i) {
    const std::string& cell = row.cells[i];
    if (cell.empty()) continue;  // CSV cannot tell empty from absent; absent is the safe reading
    const Property p = columns[i];
    if (p == Property::kQuantity) {
      fields.quantity.emplace(TrimSpace(cell));
    } else if (domain::OptionalProperties* props = internal::PropertiesField(fields, p)) {
      if (TrimSpace(cell) == "null") continue;
      std::string reason = impl_->ParseProperties(cell, *props);
      if (!reason.empty()) out.errors.push_back({index, internal::PropertyName(p), reason});
    } else if (std::optional<std::string>* text = internal::TextField(fields, p)) {
      text->emplace(cell);
    }
  }
}

namespace internal {

Status ParseCsvText(std::string_view text, const ParseOptions& options, ParsedRecords& out) {
  CsvRow row;
  CsvRecordParser parser;
  bool have_header = false;
  size_t line = 1;
  std::string error;
  while (!text.empty()) {
    size_t consumed = 0;
    size_t newlines = 0;
    if (ScanCsvRow(text, /*at_eof=*/true, row, consumed, newlines, error) != CsvScan::kRow) {
      return InvalidArgument("malformed CSV in the row starting on line " + std::to_string(line) +
                             ": " + error);
    }
    const size_t row_line = line;
    line += newlines;
    text.remove_prefix(consumed);
    if (row.blank) continue;
    if (!have_header) {
      TALLY_RETURN_IF_ERROR(parser.SetHeader(row));
      have_header = true;
      continue;
    }
    if (out.fields.size() >= options.max_records) return TooManyRecords(options.max_records);
    parser.ParseRow(row, row_line, out);
  }
  return Status::Ok();
}

}  // namespace internal
}  // namespace tally::ingest
