// RecordReader: streams usage records out of a file or stream for `tally import`, in batches,
// through the same parsers as the HTTP body (record_parser.h).
//
// NDJSON and CSV are read in chunks in constant memory (the buffer grows only to hold the
// longest line or CSV row); a JSON file is read whole, then handed out in batches. The reader
// owns no file: the caller keeps the descriptor or stream open while reading. Not thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "ingest/record_parser.h"

namespace tally::ingest {

struct RecordReaderOptions {
  size_t batch_size = 10'000;            // records per batch, >= 1
  size_t chunk_size = 1 << 20;           // bytes per read
  size_t max_row_bytes = 64 << 20;       // a longer NDJSON line or CSV row is refused
};

class RecordReader {
 public:
  // Reads up to `len` bytes into `buf`; returns how many (0 at the end of the input).
  using ReadFn = std::function<Result<size_t>(char* buf, size_t len)>;

  RecordReader(ReadFn read, BodyFormat format, RecordReaderOptions options = {});
  // Reads from a file descriptor (retrying on EINTR). The descriptor stays the caller's.
  RecordReader(int fd, BodyFormat format, RecordReaderOptions options = {});
  // Reads from a stream, which must outlive the reader.
  RecordReader(std::istream& in, BodyFormat format, RecordReaderOptions options = {});
  ~RecordReader();
  RecordReader(const RecordReader&) = delete;
  RecordReader& operator=(const RecordReader&) = delete;

  // Replaces `batch` with the next up to options.batch_size records, their 1-based starting
  // lines and type problems (indices count from the start of the input; see ParsedRecords).
  // Returns false, with `batch` empty, at the end of the input. InvalidArgument when the input
  // is malformed (naming the line; JSON files are refused whole before any batch), Unavailable
  // when reading fails. After an error the reader stays failed.
  Result<bool> Next(ParsedRecords& batch);

  // Records handed out so far.
  size_t records_read() const { return next_index_; }

 private:
  Status Fill();  // reads one more chunk after the unconsumed bytes
  Result<bool> NextNdjson(ParsedRecords& batch);
  Result<bool> NextCsv(ParsedRecords& batch);
  Result<bool> NextJson(ParsedRecords& batch);
  Status Fail(Status status);

  ReadFn read_;
  BodyFormat format_;
  RecordReaderOptions options_;
  Status failed_;

  // Unconsumed input is buf_[begin_, end_); buf_ always has kJsonPadding bytes after end_.
  std::vector<char> buf_;
  size_t begin_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  bool started_ = false;  // the byte order mark check happened
  size_t line_ = 1;       // the line of buf_[begin_]
  size_t next_index_ = 0;

  JsonLineParser json_line_;
  CsvRecordParser csv_;
  CsvRow row_;
  bool have_header_ = false;

  // JSON: every record of the file, handed out batch by batch.
  std::unique_ptr<ParsedRecords> json_all_;
  size_t json_pos_ = 0;
  size_t json_error_pos_ = 0;
};

}  // namespace tally::ingest
