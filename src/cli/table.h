// TablePrinter: prints rows as left-aligned columns separated by two spaces (numbers may be
// right-aligned), for the CLI's `--format table`. Buffers the rows to size the columns, so use
// it for lists that fit in memory. Not thread-safe.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace tally::cli {

class TablePrinter {
 public:
  explicit TablePrinter(std::vector<std::string> header, std::vector<bool> right_align = {});
  void AddRow(std::vector<std::string> row);
  void Print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;
  std::vector<bool> right_align_;
};

// Pads `text` to `width` columns on the right (or the left with `right`).
void AppendPadded(std::string& out, std::string_view text, size_t width, bool right = false);

}  // namespace tally::cli
