// The durable encoding of committed usage records: a *record block* holds the records of one
// commit group, in seq order, as one byte string (a BLOB row in SQLite; see docs/storage.md).
// One row per group instead of one per record is what lets the single writer keep up: SQLite
// spends microseconds on every row it inserts, and nothing on the bytes of a blob.
//
// Backend-agnostic and thread-compatible. Three parts:
//   - BatchEncoding: one caller's batch, encoded on the caller's thread before the writer sees
//     it (so concurrent callers encode in parallel);
//   - RecordBlockBuilder: the writer concatenates the accepted records of its group's batches;
//   - RecordBlockReader: decodes a block back into views of its bytes.
//
// Layout (all integers unsigned LEB128 varints unless said otherwise):
//   block   := 0x01 (format) segment*
//   segment := now_us  strings_size  strings  entry_count  entry*        -- one batch's records
//   strings := (size bytes)*              -- the batch's distinct texts, each referred to by
//                                         --   its offset in `strings`
//   entry   := id_size id  subscription meter resource_uri location      -- string offsets
//              tags info                  -- 0 = absent, else string offset + 1
//              zigzag(usage_start_hour)  quantity_size quantity          -- exact decimal text
//              reported                   -- 0 = the segment's now_us, else zigzag(µs) + 1
//              content_hash               -- 8 bytes, little-endian
// The meter ID is kept as sent (readers map it to the catalog's spelling); tags and
// additionalInfo are properties text (store/properties_codec.h).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/time.h"
#include "domain/usage_record.h"

namespace tally::store {

// One batch's records, encoded. A text repeated within the batch (the subscription, the meter,
// a resource's URI and location, the same tags) is stored once.
class BatchEncoding {
 public:
  // Encodes `records`; records without an explicit reported time get `now` when decoded.
  // InvalidArgument when the batch's encoding would exceed 4 GiB.
  Status Encode(std::span<const domain::UsageRecord> records, ReportedTime now);

  size_t size() const { return entry_ends_.size(); }
  // domain::ContentHash of record i.
  uint64_t content_hash(size_t i) const { return content_hashes_[i]; }
  // The properties text of record i's tags / additionalInfo; nullopt when absent.
  std::optional<std::string_view> tags_text(size_t i) const { return TextAt(tags_[i]); }
  std::optional<std::string_view> additional_info_text(size_t i) const { return TextAt(infos_[i]); }

 private:
  friend class RecordBlockBuilder;
  // Appends `text` to strings_ unless an equal text is remembered; returns its offset.
  uint32_t Intern(std::string_view text);
  std::optional<std::string_view> TextAt(uint32_t ref) const;  // ref: offset + 1, 0 = absent
  std::string_view entry(size_t i) const {
    const uint32_t begin = i == 0 ? 0 : entry_ends_[i - 1];
    return std::string_view(entries_).substr(begin, entry_ends_[i] - begin);
  }

  int64_t now_us_ = 0;
  std::string strings_;
  std::string entries_;
  std::vector<uint32_t> entry_ends_;
  std::vector<uint64_t> content_hashes_;
  std::vector<uint32_t> tags_, infos_;  // string offset + 1, 0 = absent
  std::vector<uint32_t> recent_;        // a small cache of interned texts: offset + 1
  std::string scratch_;
};

// Builds one block from the accepted records of a group's batches, in seq order.
class RecordBlockBuilder {
 public:
  void Clear();
  // Starts the records of `batch`; exactly `count` (> 0) calls of Add must follow.
  void BeginBatch(const BatchEncoding& batch, size_t count);
  // Adds record i of the batch begun last.
  void Add(const BatchEncoding& batch, size_t i) { bytes_.append(batch.entry(i)); }
  // Adds every record of `batch`, begun with count == batch.size().
  void AddAll(const BatchEncoding& batch) { bytes_.append(batch.entries_); }
  std::string_view bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

// One decoded record; the views point into the block.
struct BlockRecord {
  std::string_view record_id;
  std::string_view subscription_id;
  std::string_view meter_id;  // as sent
  std::string_view resource_uri;
  std::string_view location;
  std::optional<std::string_view> tags_text;
  std::optional<std::string_view> additional_info_text;
  UsageHour usage_start;
  std::string_view quantity_text;
  ReportedTime reported_time;
  uint64_t content_hash = 0;
};

// Reads a block's records in order. The block's bytes must outlive the reader and the views.
class RecordBlockReader {
 public:
  // DataLoss when the block is not in a known format.
  static Result<RecordBlockReader> Open(std::string_view block);

  // Decodes the next record into `out`: false after the last one; DataLoss when the block is
  // damaged (a length or offset out of bounds, a truncated field).
  Result<bool> Next(BlockRecord& out);

 private:
  explicit RecordBlockReader(std::string_view block) : block_(block), pos_(1) {}
  Status StartSegment();

  std::string_view block_;
  size_t pos_;
  std::string_view strings_;
  int64_t now_us_ = 0;
  uint64_t left_in_segment_ = 0;
};

// Converts a decoded record (its meter as stored) into a UsageRecord: parses the quantity and
// the properties. DataLoss when either is damaged.
Result<domain::UsageRecord> ToUsageRecord(const BlockRecord& b);

}  // namespace tally::store
