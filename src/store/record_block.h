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
//   block   := 0x02 (format) segment*
//   segment := now_us  skip_count  skip_delta*  size  zstd_frame      -- one batch's records
//     the zstd frame (with a content checksum) holds the batch's payload; skip_delta: the indices
//     of the batch's records that are not in the block (duplicates), ascending, each as the
//     distance from the previous index + 1 (the first from -1)
//   payload := strings_size  strings  entry_count  entry*
//   strings := (size bytes)*              -- the batch's distinct texts, each referred to by
//                                         --   its offset in `strings`
//   entry   := id_size id  subscription meter resource_uri location      -- string offsets
//              tags info                  -- 0 = absent, else string offset + 1
//              zigzag(usage_start_hour)  quantity_size quantity          -- exact decimal text
//              reported                   -- 0 = the segment's now_us, else zigzag(µs) + 1
//              content_hash               -- 8 bytes, little-endian
// Format 0x01 (written only by a development build) has no compression and no skips:
//   segment := now_us  payload.
// The meter ID is kept as sent (readers map it to the catalog's spelling); tags and
// additionalInfo are properties text (store/properties_codec.h). Compression (zstd level 1,
// about 4x on usage records) is done by the caller with the encoding, so the writer only
// concatenates, and the WAL, the checkpoints and the database carry a quarter of the bytes.
#pragma once

#include <cstdint>
#include <deque>
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
  // Compresses the encoded batch, as RecordBlockBuilder::AddBatch needs it (a separate step, so
  // that a batch of duplicates is never compressed). Internal when the compressor fails.
  Status Compress();

  size_t size() const { return content_hashes_.size(); }
  // The heap the encoding holds, which encoding another batch reuses.
  size_t capacity_bytes() const;
  // domain::ContentHash of record i.
  uint64_t content_hash(size_t i) const { return content_hashes_[i]; }
  // Record i's texts, as stored: views into the encoding, valid until it is encoded again or
  // destroyed (not across a move). Tags and additionalInfo are properties text, nullopt when
  // absent.
  std::string_view subscription_id(size_t i) const { return Text(refs_[i].subscription); }
  std::string_view resource_uri(size_t i) const { return Text(refs_[i].resource_uri); }
  std::string_view location(size_t i) const { return Text(refs_[i].location); }
  std::optional<std::string_view> tags_text(size_t i) const { return OptionalText(refs_[i].tags); }
  std::optional<std::string_view> additional_info_text(size_t i) const {
    return OptionalText(refs_[i].info);
  }

 private:
  friend class RecordBlockBuilder;
  // Where a record's texts are in strings_: offsets; for tags and info offset + 1, 0 = absent.
  struct TextRefs {
    uint32_t subscription, resource_uri, location, tags, info;
  };
  // Appends `text` to strings_ unless an equal text is remembered; returns its offset.
  uint32_t Intern(std::string_view text);
  std::string_view Text(uint32_t offset) const;
  std::optional<std::string_view> OptionalText(uint32_t ref) const;

  int64_t now_us_ = 0;
  std::string strings_;
  std::string entries_;
  std::string payload_;     // strings_ and entries_ as the payload, before compression
  std::string compressed_;  // the payload's zstd frame
  std::vector<uint64_t> content_hashes_;
  std::vector<TextRefs> refs_;
  std::vector<uint32_t> recent_;  // a small cache of interned texts: offset + 1
  std::string scratch_;
};

// Builds one block from the accepted records of a group's batches, in seq order.
class RecordBlockBuilder {
 public:
  void Clear();
  // Adds the records of `batch` except those at the indices `skipped` (ascending; fewer than
  // batch.size()).
  void AddBatch(const BatchEncoding& batch, std::span<const uint32_t> skipped);
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

// Reads a block's records in order. The views point into the block's bytes, which must
// outlive the reader, or into the reader's own buffers: they stay valid while the reader lives.
class RecordBlockReader {
 public:
  // DataLoss when the block is not in a known format.
  static Result<RecordBlockReader> Open(std::string_view block);

  // Decodes the next record into `out`: false after the last one; DataLoss when the block is
  // damaged (a length or offset out of bounds, a truncated field, a bad zstd frame).
  Result<bool> Next(BlockRecord& out);

 private:
  RecordBlockReader(std::string_view block, char format)
      : block_(block), format_(format), pos_(1) {}
  Status StartSegment();
  Status DecodeEntry(BlockRecord& out);

  std::string_view block_;
  char format_;
  size_t pos_;  // in block_
  // The current segment: its texts, and its entries (in block_ or in a decompressed payload).
  std::deque<std::string> payloads_;
  std::string_view strings_;
  std::string_view entries_;
  size_t entry_pos_ = 0;
  uint64_t entries_left_ = 0;
  uint64_t entry_index_ = 0;
  std::vector<uint64_t> skipped_;
  size_t next_skip_ = 0;
  int64_t now_us_ = 0;
};

// Converts a decoded record (its meter as stored) into a UsageRecord: parses the quantity and
// the properties. DataLoss when either is damaged.
Result<domain::UsageRecord> ToUsageRecord(const BlockRecord& b);

}  // namespace tally::store
