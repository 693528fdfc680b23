#include "export/csv.h"

#include <gtest/gtest.h>

#include <sstream>

namespace tally::exports {
namespace {

std::string Field(std::string_view s, CsvQuoting q) {
  std::string out;
  AppendCsvField(out, s, q);
  return out;
}

TEST(CsvField, AlwaysQuotingQuotesEveryFieldAndDoublesQuotes) {
  EXPECT_EQ(Field("", CsvQuoting::kAlways), "\"\"");
  EXPECT_EQ(Field("plain", CsvQuoting::kAlways), "\"plain\"");
  EXPECT_EQ(Field("say \"hi\"", CsvQuoting::kAlways), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(Field("\"", CsvQuoting::kAlways), "\"\"\"\"");
  EXPECT_EQ(Field("\"\"x\"", CsvQuoting::kAlways), "\"\"\"\"\"x\"\"\"");
  EXPECT_EQ(Field("{\"a\":\"b\"}", CsvQuoting::kAlways), "\"{\"\"a\"\":\"\"b\"\"}\"");
}

TEST(CsvField, AsNeededQuotesOnlyCommasQuotesAndLineBreaks) {
  EXPECT_EQ(Field("", CsvQuoting::kAsNeeded), "");
  EXPECT_EQ(Field("plain text", CsvQuoting::kAsNeeded), "plain text");
  EXPECT_EQ(Field("a,b", CsvQuoting::kAsNeeded), "\"a,b\"");
  EXPECT_EQ(Field("a\"b", CsvQuoting::kAsNeeded), "\"a\"\"b\"");
  EXPECT_EQ(Field("a\nb", CsvQuoting::kAsNeeded), "\"a\nb\"");
  EXPECT_EQ(Field("a\rb", CsvQuoting::kAsNeeded), "\"a\rb\"");
}

TEST(CsvField, NonAsciiBytesPassThroughUnchanged) {
  EXPECT_EQ(Field("Zürich, 東京 ✓", CsvQuoting::kAsNeeded), "\"Zürich, 東京 ✓\"");
  EXPECT_EQ(Field("Zürich", CsvQuoting::kAsNeeded), "Zürich");
}

TEST(CsvRecord, SeparatesWithCommasEndsWithCrLfAndWritesNullsEmpty) {
  CsvRecord rec(CsvQuoting::kAsNeeded);
  rec.Field("a").Null().Field("").Field("b,c");
  rec.End();
  EXPECT_EQ(rec.text(), "a,,,\"b,c\"\r\n");
  rec.Clear();
  rec.Field("x");
  rec.End();
  EXPECT_EQ(rec.text(), "x\r\n");
}

TEST(WriteText, AFailedStreamIsReported) {
  std::ostringstream out;
  out.setstate(std::ios::badbit);
  EXPECT_EQ(WriteText(out, "x").code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace tally::exports
