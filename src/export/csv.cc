#include "export/csv.h"

namespace tally::exports {

void AppendCsvField(std::string& out, std::string_view field, CsvQuoting quoting) {
  const bool quote =
      quoting == CsvQuoting::kAlways || field.find_first_of(",\"\r\n") != std::string_view::npos;
  if (!quote) {
    out.append(field);
    return;
  }
  // Copies the runs between double quotes whole: a character at a time was most of the
  // export's time (docs/benchmarks.md, "Billing").
  out.push_back('"');
  for (;;) {
    const size_t q = field.find('"');
    if (q == std::string_view::npos) break;
    out.append(field.data(), q + 1);
    out.push_back('"');
    field.remove_prefix(q + 1);
  }
  out.append(field);
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
