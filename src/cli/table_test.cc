#include "cli/table.h"

#include <gtest/gtest.h>

#include <sstream>

namespace tally::cli {
namespace {

TEST(TablePrinter, AlignsColumnsWithoutTrailingSpaces) {
  TablePrinter t({"ID", "NAME"});
  t.AddRow({"a", "first"});
  t.AddRow({"long-id", "x"});
  std::ostringstream out;
  t.Print(out);
  EXPECT_EQ(out.str(), "ID       NAME\na        first\nlong-id  x\n");
}

TEST(TablePrinter, RightAlignsNumbers) {
  TablePrinter t({"N", "Q"}, {false, true});
  t.AddRow({"a", "1.5"});
  t.AddRow({"b", "10"});
  std::ostringstream out;
  t.Print(out);
  EXPECT_EQ(out.str(), "N    Q\na  1.5\nb   10\n");
}

}  // namespace
}  // namespace tally::cli
