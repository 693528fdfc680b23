#include "ingest/record_reader.h"

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "ingest/ingest_test_util.h"

namespace tally::ingest {
namespace {

using ::testing::ElementsAre;
using ::testing::StartsWith;
using testing::RecordJson;

struct Collected {
  std::vector<domain::UsageRecordFields> fields;
  std::vector<size_t> lines;
  std::vector<domain::FieldError> errors;
  std::vector<size_t> batch_sizes;
  Status status;
};

Collected ReadAll(const std::string& text, BodyFormat format, size_t batch_size,
                  size_t chunk_size) {
  std::istringstream in(text);
  RecordReaderOptions options;
  options.batch_size = batch_size;
  options.chunk_size = chunk_size;
  RecordReader reader(in, format, options);
  Collected c;
  ParsedRecords batch;
  while (true) {
    Result<bool> more = reader.Next(batch);
    if (!more.ok()) {
      c.status = more.status();
      break;
    }
    if (!*more) break;
    EXPECT_EQ(batch.first_index, c.fields.size());
    c.batch_sizes.push_back(batch.fields.size());
    c.fields.insert(c.fields.end(), batch.fields.begin(), batch.fields.end());
    c.lines.insert(c.lines.end(), batch.lines.begin(), batch.lines.end());
    c.errors.insert(c.errors.end(), batch.errors.begin(), batch.errors.end());
  }
  return c;
}

std::string NdjsonText(int n) {
  std::string text;
  for (int i = 0; i < n; ++i) {
    text += RecordJson("r" + std::to_string(i)).Set("tags", "{\"i\":\"" + std::to_string(i) + "\"}")
                .ToJson();
    text += i % 7 == 3 ? "\r\n\n" : "\n";
  }
  return text;
}

std::string CsvText(int n) {
  std::string text = "recordId,quantity,tags,location\r\n";
  for (int i = 0; i < n; ++i) {
    text += "\"r," + std::to_string(i) + "\"," + std::to_string(i) +
            ",\"{\"\"k\"\":\"\"v\"\"}\",\"multi\nline\"\r\n";
    if (i % 5 == 0) text += "\r\n";
  }
  return text;
}

// Whatever the chunk size, streaming yields what parsing the whole text yields.
TEST(RecordReader, StreamingMatchesWholeParseAtEveryChunkSize) {
  for (BodyFormat format : {BodyFormat::kNdjson, BodyFormat::kCsv, BodyFormat::kJson}) {
    std::string text = format == BodyFormat::kCsv ? CsvText(40) : NdjsonText(40);
    if (format == BodyFormat::kJson) {
      text = "[\n";
      for (int i = 0; i < 40; ++i) text += (i ? ",\n" : "") + RecordJson("r" + std::to_string(i)).ToJson();
      text += "\n]";
    }
    ParseOptions options;
    options.track_lines = true;
    Result<ParsedRecords> whole = ParseBody(text, format, options);
    ASSERT_TRUE(whole.ok()) << whole.status().ToString();
    for (size_t chunk : {1, 2, 3, 7, 64, 1000, 1 << 20}) {
      Collected c = ReadAll(text, format, 16, chunk);
      ASSERT_TRUE(c.status.ok()) << c.status.ToString();
      ASSERT_EQ(c.fields.size(), 40u) << BodyFormatName(format) << " chunk " << chunk;
      EXPECT_THAT(c.batch_sizes, ElementsAre(16u, 16u, 8u));
      EXPECT_EQ(c.lines, whole->lines);
      for (size_t i = 0; i < c.fields.size(); ++i) {
        EXPECT_EQ(c.fields[i].record_id, whole->fields[i].record_id);
        EXPECT_EQ(c.fields[i].quantity, whole->fields[i].quantity);
        EXPECT_EQ(c.fields[i].tags, whole->fields[i].tags);
        EXPECT_EQ(c.fields[i].location, whole->fields[i].location);
      }
      EXPECT_TRUE(c.errors.empty());
    }
  }
}

TEST(RecordReader, CsvLinesCountQuotedLineBreaks) {
  Collected c = ReadAll(CsvText(3), BodyFormat::kCsv, 10, 5);
  ASSERT_TRUE(c.status.ok());
  EXPECT_THAT(c.lines, ElementsAre(2u, 5u, 7u));
  EXPECT_EQ(c.fields[0].record_id, std::string("r,0"));
  EXPECT_EQ(c.fields[0].location, std::string("multi\nline"));
}

TEST(RecordReader, ErrorsKeepGlobalIndices) {
  std::string text = NdjsonText(5) + "{oops\n" + RecordJson().Set("quantity", "\"1\"").ToJson();
  Collected c = ReadAll(text, BodyFormat::kNdjson, 2, 8);
  ASSERT_TRUE(c.status.ok());
  ASSERT_EQ(c.errors.size(), 2u);
  EXPECT_EQ(c.errors[0].index, 5u);
  EXPECT_EQ(c.errors[0].property, "");
  EXPECT_EQ(c.errors[1].index, 6u);
  EXPECT_EQ(c.errors[1].reason, "must be a JSON number");
  EXPECT_EQ(c.lines[5], 7u);
}

TEST(RecordReader, MalformedCsvStopsTheReader) {
  std::string text = CsvText(2) + "\"unterminated,1\n";
  std::istringstream in(text);
  RecordReader reader(in, BodyFormat::kCsv, RecordReaderOptions{1, 4});
  ParsedRecords batch;
  ASSERT_TRUE(reader.Next(batch).value());
  ASSERT_TRUE(reader.Next(batch).value());
  Result<bool> r = reader.Next(batch);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "malformed CSV in the row starting on line 7: a quoted field is not closed");
  EXPECT_FALSE(reader.Next(batch).ok());
}

TEST(RecordReader, MalformedJsonFileIsRefusedWhole) {
  Collected c = ReadAll("[" + RecordJson().ToJson() + ",\n{", BodyFormat::kJson, 1, 3);
  EXPECT_EQ(c.status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status.message(), StartsWith("malformed JSON"));
  EXPECT_TRUE(c.fields.empty());
}

TEST(RecordReader, OverlongLineIsRefused) {
  RecordReaderOptions options;
  options.chunk_size = 16;
  options.max_row_bytes = 100;
  std::istringstream in(std::string(500, ' ') + "{}\n");
  RecordReader reader(in, BodyFormat::kNdjson, options);
  ParsedRecords batch;
  Result<bool> r = reader.Next(batch);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "line 1 is longer than 100 bytes");
}

TEST(RecordReader, EmptyInputHasNoBatches) {
  for (BodyFormat format : {BodyFormat::kNdjson, BodyFormat::kCsv, BodyFormat::kJson}) {
    Collected c = ReadAll("", format, 10, 10);
    EXPECT_TRUE(c.status.ok());
    EXPECT_TRUE(c.fields.empty());
  }
}

TEST(RecordReader, ReadsFromAFileDescriptor) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::string text = "\xEF\xBB\xBF" + NdjsonText(3);
  ASSERT_EQ(write(fds[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fds[1]);
  RecordReader reader(fds[0], BodyFormat::kNdjson);
  ParsedRecords batch;
  ASSERT_TRUE(reader.Next(batch).value());
  EXPECT_EQ(batch.fields.size(), 3u);
  EXPECT_TRUE(batch.errors.empty());
  EXPECT_FALSE(reader.Next(batch).value());
  EXPECT_EQ(reader.records_read(), 3u);
  close(fds[0]);
}

}  // namespace
}  // namespace tally::ingest
