#include "ingest/record_parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ingest/ingest_test_util.h"

namespace tally::ingest {
namespace {

using ::testing::ElementsAre;
using ::testing::StartsWith;
using testing::Batch;
using testing::RecordJson;

TEST(ParseBody, JsonKeepsNumberTextExactly) {
  for (const char* q : {"0.1", "2.50", "1e-3", "-0", "12345678901234567890123", "7E+2"}) {
    Result<ParsedRecords> r = ParseBody(Batch({RecordJson().Set("quantity", q)}),
                                        BodyFormat::kJson);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->fields.size(), 1u);
    EXPECT_EQ(r->fields[0].quantity, std::string(q));
  }
  Result<ParsedRecords> spaced =
      ParseBody("{\"records\":[{\"quantity\" :\n 0.5 \n, \"recordId\":\"a\"}]}", BodyFormat::kJson);
  ASSERT_TRUE(spaced.ok());
  EXPECT_EQ(spaced->fields[0].quantity, std::string("0.5"));
}

TEST(ParseBody, JsonUnescapesStringsAndKeys) {
  Result<ParsedRecords> r = ParseBody(
      "[{\"record\\u0049d\":\"a\\\"b\\u00e9\",\"tags\":{\"k\\n\":\"v\"}}]", BodyFormat::kJson);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->fields[0].record_id, std::string("a\"b\xc3\xa9"));
  EXPECT_EQ(r->fields[0].tags, (domain::Properties{{"k\n", "v"}}));
  EXPECT_TRUE(r->errors.empty());
}

TEST(ParseBody, JsonTracksLinesWhenAsked) {
  std::string body = "[\n" + RecordJson("a").ToJson() + ",\n\n" + RecordJson("b").ToJson() + "\n]";
  ParseOptions options;
  options.track_lines = true;
  Result<ParsedRecords> r = ParseBody(body, BodyFormat::kJson, options);
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(r->lines, ElementsAre(2u, 4u));
  EXPECT_TRUE(ParseBody(body, BodyFormat::kJson)->lines.empty());
}

TEST(ParseBody, ByteOrderMarkIsIgnored) {
  EXPECT_TRUE(ParseBody("\xEF\xBB\xBF" + Batch({RecordJson()}), BodyFormat::kJson).ok());
  EXPECT_TRUE(ParseBody("\xEF\xBB\xBF" "recordId\nx\n", BodyFormat::kCsv).ok());
}

TEST(ParseBody, MalformedJsonNamesTheSpot) {
  Result<ParsedRecords> r = ParseBody("{\"records\":[\n  {\"recordId\":\"a\" \"b\"}]}",
                                      BodyFormat::kJson);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), StartsWith("malformed JSON at line 2, column "));
}

TEST(ParseBody, NdjsonRecordsCarryTheirLines) {
  std::string body = "\n" + RecordJson("a").ToJson() + "\n \n" + RecordJson("b").ToJson();
  Result<ParsedRecords> r = ParseBody(body, BodyFormat::kNdjson);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->fields.size(), 2u);
  EXPECT_THAT(r->lines, ElementsAre(2u, 4u));
  EXPECT_EQ(r->fields[1].record_id, std::string("b"));
}

TEST(ParseBody, NdjsonTrailingContentOnALine) {
  Result<ParsedRecords> r = ParseBody(RecordJson().ToJson() + " {}", BodyFormat::kNdjson);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_EQ(r->errors[0].property, "");
  EXPECT_THAT(r->errors[0].reason, StartsWith("is not valid JSON"));
}

TEST(ParseBody, NdjsonTooManyRecords) {
  ParseOptions options;
  options.max_records = 1;
  Result<ParsedRecords> r =
      ParseBody(RecordJson().ToJson() + "\n" + RecordJson().ToJson(), BodyFormat::kNdjson, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "the batch has more than 1 records; split it into smaller batches");
}

TEST(ParseBody, CsvEmptyCellsAreAbsent) {
  Result<ParsedRecords> r =
      ParseBody("recordId,location,tags,reportedTime\na,,null,\n", BodyFormat::kCsv);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->fields[0].record_id, std::string("a"));
  EXPECT_FALSE(r->fields[0].location.has_value());
  EXPECT_FALSE(r->fields[0].tags.has_value());
  EXPECT_FALSE(r->fields[0].reported_time.has_value());
}

TEST(ScanCsvRow, HandlesQuotingAndLineEnds) {
  CsvRow row;
  size_t consumed = 0;
  size_t newlines = 0;
  std::string error;
  std::string_view data = "\"a,\"\"b\"\"\nc\",,x\r\nnext";
  ASSERT_EQ(ScanCsvRow(data, false, row, consumed, newlines, error), CsvScan::kRow);
  ASSERT_EQ(row.size, 3u);
  EXPECT_EQ(row.cells[0], "a,\"b\"\nc");
  EXPECT_EQ(row.cells[1], "");
  EXPECT_EQ(row.cells[2], "x");
  EXPECT_EQ(newlines, 2u);
  EXPECT_EQ(data.substr(consumed), "next");
  // The last row without a line end needs the end of input to be known.
  EXPECT_EQ(ScanCsvRow("next", false, row, consumed, newlines, error), CsvScan::kNeedMore);
  ASSERT_EQ(ScanCsvRow("next", true, row, consumed, newlines, error), CsvScan::kRow);
  EXPECT_EQ(row.cells[0], "next");
  EXPECT_EQ(consumed, 4u);
}

TEST(ScanCsvRow, NeedsMoreAtEveryAmbiguousEnd) {
  CsvRow row;
  size_t consumed = 0;
  size_t newlines = 0;
  std::string error;
  // A quote at the end may be the first half of a doubled quote; a CR may precede an LF.
  for (const char* partial : {"\"abc\"", "\"ab", "abc\r", "\"abc\"\r", "a,b", ""}) {
    EXPECT_EQ(ScanCsvRow(partial, false, row, consumed, newlines, error), CsvScan::kNeedMore)
        << partial;
  }
  ASSERT_EQ(ScanCsvRow("\r\n", true, row, consumed, newlines, error), CsvScan::kRow);
  EXPECT_TRUE(row.blank);
  ASSERT_EQ(ScanCsvRow("\"\"\n", true, row, consumed, newlines, error), CsvScan::kRow);
  EXPECT_FALSE(row.blank);
}

TEST(BodyFormatFromFileName, UsesTheExtension) {
  EXPECT_EQ(BodyFormatFromFileName("/tmp/usage.json").value(), BodyFormat::kJson);
  EXPECT_EQ(BodyFormatFromFileName("usage.NDJSON").value(), BodyFormat::kNdjson);
  EXPECT_EQ(BodyFormatFromFileName("a.b/usage.jsonl").value(), BodyFormat::kNdjson);
  EXPECT_EQ(BodyFormatFromFileName("usage.csv").value(), BodyFormat::kCsv);
  EXPECT_FALSE(BodyFormatFromFileName("usage.txt").ok());
  EXPECT_FALSE(BodyFormatFromFileName("a.json/usage").ok());
  EXPECT_FALSE(BodyFormatFromFileName(".json").ok());
  EXPECT_EQ(BodyFormatFromName("JSONL").value(), BodyFormat::kNdjson);
  EXPECT_FALSE(BodyFormatFromName("xml").ok());
}

}  // namespace
}  // namespace tally::ingest
