#include "export/csv.h"

namespace tally::exports {

void AppendCsvField(std::string& out, std::string_view field, CsvQuoting quoting) {
  const bool quote =
      quoting == CsvQuoting::kAlways || field.find_first_of(",\"\r\n") != std::string_view::npos;
  if (!quote) {
    out.append(field);
    return;
  }
  out.push_back('"');
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

CsvRecord& CsvRecord::Field(std::string_view field) {
  if (!first_) text_.push_back(',');
  first_ = false;
  AppendCsvField(text_, field, quoting_);
  return *this;
}

CsvRecord& CsvRecord::Null() {
  if (!first_) text_.push_back(',');
  first_ = false;
  return *this;
}

Status WriteText(std::ostream& out, std::string_view text) {
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out) return Unavailable("writing the export failed (the output stream reported an error)");
  return Status::Ok();
}

}  // namespace tally::exports
