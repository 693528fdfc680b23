#include "ingest/record_reader.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <istream>
#include <limits>

#include "common/strings.h"
#include "ingest/wire_fields.h"

namespace tally::ingest {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

RecordReader::ReadFn FdReader(int fd) {
  return [fd](char* buf, size_t len) -> Result<size_t> {
    while (true) {
      ssize_t n = ::read(fd, buf, len);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) {
        return Unavailable(std::string("cannot read the input: ") + std::strerror(errno));
      }
    }
  };
}

RecordReader::ReadFn StreamReader(std::istream& in) {
  return [&in](char* buf, size_t len) -> Result<size_t> {
    in.read(buf, static_cast<std::streamsize>(len));
    if (in.bad()) return Unavailable("cannot read the input stream");
    return static_cast<size_t>(in.gcount());
  };
}

}  // namespace

RecordReader::RecordReader(ReadFn read, BodyFormat format, RecordReaderOptions options)
    : read_(std::move(read)), format_(format), options_(options) {
  options_.batch_size = std::max<size_t>(options_.batch_size, 1);
  options_.chunk_size = std::max<size_t>(options_.chunk_size, 1);
}

RecordReader::RecordReader(int fd, BodyFormat format, RecordReaderOptions options)
    : RecordReader(FdReader(fd), format, options) {}

RecordReader::RecordReader(std::istream& in, BodyFormat format, RecordReaderOptions options)
    : RecordReader(StreamReader(in), format, options) {}

RecordReader::~RecordReader() = default;

Status RecordReader::Fail(Status status) {
  failed_ = status;
  return status;
}

Status RecordReader::Fill() {
  // Keep only the unconsumed tail: this is what bounds memory for NDJSON and CSV.
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  const size_t need = end_ + options_.chunk_size + kJsonPadding;
  if (buf_.size() < need) buf_.resize(need);
  Result<size_t> n = read_(buf_.data() + end_, options_.chunk_size);
  if (!n.ok()) return n.status();
  if (*n == 0) eof_ = true;
  end_ += *n;
  if (!started_ && (end_ - begin_ >= kUtf8Bom.size() || eof_)) {
    started_ = true;
    if (std::string_view(buf_.data() + begin_, end_ - begin_).starts_with(kUtf8Bom)) {
      begin_ += kUtf8Bom.size();
    }
  }
  return Status::Ok();
}

Result<bool> RecordReader::Next(ParsedRecords& batch) {
  batch.Clear();
  if (!failed_.ok()) return failed_;
  batch.first_index = next_index_;
  Result<bool> more = false;
  switch (format_) {
    case BodyFormat::kNdjson: more = NextNdjson(batch); break;
    case BodyFormat::kCsv: more = NextCsv(batch); break;
    case BodyFormat::kJson: more = NextJson(batch); break;
  }
  if (!more.ok()) {
    batch.Clear();
    return Fail(more.status());
  }
  next_index_ += batch.fields.size();
  return more;
}

Result<bool> RecordReader::NextNdjson(ParsedRecords& batch) {
  size_t scanned = 0;  // bytes after begin_ known to hold no line break
  while (batch.fields.size() < options_.batch_size) {
    if (!started_ || (begin_ == end_ && !eof_)) {
      TALLY_RETURN_IF_ERROR(Fill());
      continue;
    }
    const char* base = buf_.data();
    const void* nl = std::memchr(base + begin_ + scanned, '\n', end_ - begin_ - scanned);
    if (nl == nullptr && !eof_) {
      scanned = end_ - begin_;
      if (scanned > options_.max_row_bytes) {
        return InvalidArgument("line " + std::to_string(line_) + " is longer than " +
                               std::to_string(options_.max_row_bytes) + " bytes");
      }
      TALLY_RETURN_IF_ERROR(Fill());
      continue;
    }
    if (nl == nullptr && begin_ == end_) break;  // the end of the input
    const size_t end = nl ? static_cast<size_t>(static_cast<const char*>(nl) - base) : end_;
    if (!internal::IsBlankLine(std::string_view(base + begin_, end - begin_))) {
      json_line_.ParseLine(base + begin_, end - begin_, buf_.size() - begin_, line_, batch);
    }
    begin_ = nl ? end + 1 : end_;
    scanned = 0;
    ++line_;
  }
  return !batch.fields.empty();
}

Result<bool> RecordReader::NextCsv(ParsedRecords& batch) {
  std::string error;
  while (batch.fields.size() < options_.batch_size) {
    if (!started_ || (begin_ == end_ && !eof_)) {
      TALLY_RETURN_IF_ERROR(Fill());
      continue;
    }
    if (begin_ == end_) break;  // the end of the input
    size_t consumed = 0;
    size_t newlines = 0;
    CsvScan scan = ScanCsvRow(std::string_view(buf_.data() + begin_, end_ - begin_), eof_, row_,
                              consumed, newlines, error);
    if (scan == CsvScan::kNeedMore) {
      if (end_ - begin_ > options_.max_row_bytes) {
        return InvalidArgument("the CSV row starting on line " + std::to_string(line_) +
                               " is longer than " + std::to_string(options_.max_row_bytes) +
                               " bytes");
      }
      TALLY_RETURN_IF_ERROR(Fill());
      continue;
    }
    if (scan == CsvScan::kError) {
      return InvalidArgument("malformed CSV in the row starting on line " +
                             std::to_string(line_) + ": " + error);
    }
    const size_t row_line = line_;
    line_ += newlines;
    begin_ += consumed;
    if (row_.blank) continue;
    if (!have_header_) {
      TALLY_RETURN_IF_ERROR(csv_.SetHeader(row_));
      have_header_ = true;
      continue;
    }
    csv_.ParseRow(row_, row_line, batch);
  }
  return !batch.fields.empty();
}

Result<bool> RecordReader::NextJson(ParsedRecords& batch) {
  if (!json_all_) {
    // A JSON document cannot be split at record boundaries without parsing it; files of
    // history are read whole (NDJSON is the format for very large imports).
    while (!eof_) TALLY_RETURN_IF_ERROR(Fill());
    json_all_ = std::make_unique<ParsedRecords>();
    const std::string_view text(buf_.data() + begin_, end_ - begin_);
    if (!TrimSpace(text).empty()) {
      ParseOptions options;
      options.max_records = std::numeric_limits<size_t>::max();
      options.track_lines = true;
      TALLY_RETURN_IF_ERROR(internal::ParseJsonText(text.data(), text.size(),
                                                    buf_.size() - begin_, options, *json_all_));
    }
    std::vector<char>().swap(buf_);
    begin_ = end_ = 0;
  }
  ParsedRecords& all = *json_all_;
  const size_t n = std::min(options_.batch_size, all.fields.size() - json_pos_);
  batch.fields.assign(std::make_move_iterator(all.fields.begin() + json_pos_),
                      std::make_move_iterator(all.fields.begin() + json_pos_ + n));
  batch.lines.assign(all.lines.begin() + json_pos_, all.lines.begin() + json_pos_ + n);
  json_pos_ += n;
  while (json_error_pos_ < all.errors.size() && all.errors[json_error_pos_].index < json_pos_) {
    batch.errors.push_back(std::move(all.errors[json_error_pos_++]));
  }
  return n > 0;
}

}  // namespace tally::ingest
