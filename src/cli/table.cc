#include "cli/table.h"

#include <algorithm>

namespace tally::cli {

TablePrinter::TablePrinter(std::vector<std::string> header, std::vector<bool> right_align)
    : right_align_(std::move(right_align)) {
  right_align_.resize(header.size(), false);
  rows_.push_back(std::move(header));
}

void TablePrinter::AddRow(std::vector<std::string> row) {
  row.resize(rows_.front().size());
  rows_.push_back(std::move(row));
}

void AppendPadded(std::string& out, std::string_view text, size_t width, bool right) {
  const size_t pad = width > text.size() ? width - text.size() : 0;
  if (right) out.append(pad, ' ');
  out.append(text);
  if (!right) out.append(pad, ' ');
}

void TablePrinter::Print(std::ostream& out) const {
  std::vector<size_t> widths(rows_.front().size(), 0);
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string line;
  for (const auto& row : rows_) {
    line.clear();
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) line.append("  ");
      // The last column is not padded: no trailing spaces.
      AppendPadded(line, row[i], i + 1 == row.size() && !right_align_[i] ? 0 : widths[i],
                   right_align_[i]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  }
}

}  // namespace tally::cli
