#include "store/record_block.h"

#include <zstd.h>

#include <cstring>
#include <memory>

#include "common/hash.h"
#include "store/properties_codec.h"

namespace tally::store {
namespace {

constexpr char kFormatPlain = 0x01;  // development builds only: read, never written
constexpr char kFormatCompressed = 0x02;
constexpr int kZstdLevel = 1;
// A batch's payload is at most 4 GiB (Encode refuses more); a larger frame is damage.
constexpr uint64_t kMaxPayload = uint64_t{1} << 32;
constexpr size_t kRecentSlots = 1024;  // a power of two

constexpr size_t kMaxVarintBytes = 10;

// Writes `v` as a varint at `p`, which has room for kMaxVarintBytes; returns the end.
char* EncodeVarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

// Writes `bytes` with their size in front at `p`, which has room for them.
char* EncodeBytes(char* p, std::string_view bytes) {
  p = EncodeVarint(p, bytes.size());
  std::memcpy(p, bytes.data(), bytes.size());
  return p + bytes.size();
}

void PutVarint(std::string& out, uint64_t v) {
  char buf[kMaxVarintBytes];
  out.append(buf, static_cast<size_t>(EncodeVarint(buf, v) - buf));
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

void PutBytes(std::string& out, std::string_view bytes) {
  PutVarint(out, bytes.size());
  out.append(bytes);
}

// Reads a varint at `pos` of `in`; false when it runs past the end or is longer than 64 bits.
bool GetVarint(std::string_view in, size_t& pos, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64 && pos < in.size(); shift += 7) {
    const auto byte = static_cast<unsigned char>(in[pos++]);
    v |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

bool GetBytes(std::string_view in, size_t& pos, std::string_view& bytes) {
  uint64_t size;
  if (!GetVarint(in, pos, size) || size > in.size() - pos) return false;
  bytes = in.substr(pos, size);
  pos += size;
  return true;
}

// The text stored at offset `ref` of a segment's strings.
bool GetString(std::string_view strings, uint64_t ref, std::string_view& text) {
  if (ref >= strings.size()) return false;
  size_t pos = ref;
  return GetBytes(strings, pos, text);
}

Status Damaged(std::string_view what) {
  return DataLoss("a stored usage record block is damaged: " + std::string(what));
}

}  // namespace

uint32_t BatchEncoding::Intern(std::string_view text) {
  uint32_t& slot = recent_[Hash64(text) & (kRecentSlots - 1)];
  if (slot != 0) {
    size_t pos = slot - 1;
    std::string_view stored;
    if (GetBytes(strings_, pos, stored) && stored == text) return slot - 1;
  }
  const auto offset = static_cast<uint32_t>(strings_.size());
  PutBytes(strings_, text);
  slot = offset + 1;
  return offset;
}

std::string_view BatchEncoding::Text(uint32_t offset) const {
  size_t pos = offset;
  std::string_view text;
  GetBytes(strings_, pos, text);
  return text;
}

std::optional<std::string_view> BatchEncoding::OptionalText(uint32_t ref) const {
  if (ref == 0) return std::nullopt;
  return Text(ref - 1);
}

Status BatchEncoding::Encode(std::span<const domain::UsageRecord> records, ReportedTime now) {
  now_us_ = now.micros();
  strings_.clear();
  entries_.clear();
  content_hashes_.clear();
  refs_.assign(records.size(), TextRefs{});
  recent_.assign(kRecentSlots, 0);
  content_hashes_.reserve(records.size());
  entries_.reserve(records.size() * 72);
  for (size_t i = 0; i < records.size(); ++i) {
    const domain::UsageRecord& r = records[i];
    TextRefs& refs = refs_[i];
    refs.subscription = Intern(r.subscription_id);
    const uint32_t meter = Intern(r.meter_id);
    refs.resource_uri = Intern(r.resource_uri);
    refs.location = Intern(r.location);
    if (r.tags) {
      scratch_.clear();
      AppendPropertiesText(scratch_, *r.tags);
      refs.tags = Intern(scratch_) + 1;
    }
    if (r.additional_info) {
      scratch_.clear();
      AppendPropertiesText(scratch_, *r.additional_info);
      refs.info = Intern(scratch_) + 1;
    }
    scratch_.clear();
    r.quantity.AppendTo(scratch_);
    const uint64_t hash = domain::ContentHash(r);
    content_hashes_.push_back(hash);

    // The entry is written through a pointer into room for its largest size, then trimmed:
    // appending field by field cost more than the encoding itself.
    const size_t at = entries_.size();
    constexpr size_t kVarints = 10;  // the two sizes and the eight numbers below
    entries_.resize(at + r.record_id.size() + scratch_.size() + kVarints * kMaxVarintBytes + 8);
    char* p = entries_.data() + at;
    p = EncodeBytes(p, r.record_id);
    p = EncodeVarint(p, refs.subscription);
    p = EncodeVarint(p, meter);
    p = EncodeVarint(p, refs.resource_uri);
    p = EncodeVarint(p, refs.location);
    p = EncodeVarint(p, refs.tags);
    p = EncodeVarint(p, refs.info);
    p = EncodeVarint(p, ZigZag(r.usage_start.hours()));
    p = EncodeBytes(p, scratch_);
    p = EncodeVarint(p, r.reported_time ? ZigZag(r.reported_time->micros()) + 1 : 0);
    for (int b = 0; b < 8; ++b) *p++ = static_cast<char>(hash >> (8 * b));
    entries_.resize(static_cast<size_t>(p - entries_.data()));
    if (entries_.size() >= UINT32_MAX || strings_.size() >= UINT32_MAX - 1) {
      return InvalidArgument("the batch is too large to store; split it into smaller batches");
    }
  }
  compressed_.clear();
  return Status::Ok();
}

size_t BatchEncoding::capacity_bytes() const {
  return strings_.capacity() + entries_.capacity() + payload_.capacity() + compressed_.capacity() +
         scratch_.capacity() + content_hashes_.capacity() * 8 +
         refs_.capacity() * sizeof(TextRefs) + recent_.capacity() * 4;
}

Status BatchEncoding::Compress() {
  payload_.clear();
  PutBytes(payload_, strings_);
  PutVarint(payload_, size());
  payload_.append(entries_);
  // One compression context per thread: creating one costs more than compressing a record.
  // The frame carries a checksum of its content, so that damage is found, not decoded.
  thread_local std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx = [] {
    std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> c(ZSTD_createCCtx(), &ZSTD_freeCCtx);
    if (c != nullptr &&
        (ZSTD_isError(ZSTD_CCtx_setParameter(c.get(), ZSTD_c_compressionLevel, kZstdLevel)) ||
         ZSTD_isError(ZSTD_CCtx_setParameter(c.get(), ZSTD_c_checksumFlag, 1)))) {
      c.reset();
    }
    return c;
  }();
  if (cctx == nullptr) return Internal("cannot create a zstd compression context");
  compressed_.resize(ZSTD_compressBound(payload_.size()));
  const size_t n = ZSTD_compress2(cctx.get(), compressed_.data(), compressed_.size(),
                                  payload_.data(), payload_.size());
  if (ZSTD_isError(n)) {
    return Internal(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
  }
  compressed_.resize(n);
  return Status::Ok();
}

void RecordBlockBuilder::Clear() {
  bytes_.clear();
  bytes_.push_back(kFormatCompressed);
}

void RecordBlockBuilder::AddBatch(const BatchEncoding& batch, std::span<const uint32_t> skipped) {
  if (bytes_.empty()) bytes_.push_back(kFormatCompressed);
  PutVarint(bytes_, static_cast<uint64_t>(batch.now_us_));
  PutVarint(bytes_, skipped.size());
  int64_t previous = -1;
  for (uint32_t index : skipped) {
    PutVarint(bytes_, static_cast<uint64_t>(index - previous));
    previous = index;
  }
  PutBytes(bytes_, batch.compressed_);
}

Result<RecordBlockReader> RecordBlockReader::Open(std::string_view block) {
  if (block.empty() || (block[0] != kFormatPlain && block[0] != kFormatCompressed)) {
    return Damaged("unknown format " +
                   (block.empty() ? std::string("(empty)")
                                  : std::to_string(static_cast<unsigned char>(block[0]))));
  }
  return RecordBlockReader(block, block[0]);
}

Status RecordBlockReader::StartSegment() {
  uint64_t now;
  if (!GetVarint(block_, pos_, now)) return Damaged("truncated segment header");
  now_us_ = static_cast<int64_t>(now);
  skipped_.clear();
  next_skip_ = 0;
  std::string_view payload;
  if (format_ == kFormatPlain) {
    payload = block_.substr(pos_);
  } else {
    uint64_t skips;
    if (!GetVarint(block_, pos_, skips) || skips > block_.size() - pos_) {
      return Damaged("truncated skip list");
    }
    int64_t index = -1;
    for (uint64_t i = 0; i < skips; ++i) {
      uint64_t delta;
      if (!GetVarint(block_, pos_, delta) || delta == 0 || delta > kMaxPayload) {
        return Damaged("bad skip list");
      }
      index += static_cast<int64_t>(delta);
      skipped_.push_back(static_cast<uint64_t>(index));
    }
    std::string_view frame;
    if (!GetBytes(block_, pos_, frame)) return Damaged("truncated compressed payload");
    const unsigned long long size = ZSTD_getFrameContentSize(frame.data(), frame.size());
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > kMaxPayload) {
      return Damaged("bad zstd frame header");
    }
    std::string& out = payloads_.emplace_back(size, '\0');
    const size_t n = ZSTD_decompress(out.data(), out.size(), frame.data(), frame.size());
    if (ZSTD_isError(n) || n != size) return Damaged("bad zstd frame");
    payload = out;
  }
  size_t at = 0;
  if (!GetBytes(payload, at, strings_) || !GetVarint(payload, at, entries_left_)) {
    return Damaged("truncated segment payload");
  }
  if (entries_left_ <= skipped_.size() || (!skipped_.empty() && skipped_.back() >= entries_left_)) {
    return Damaged("the skip list does not fit the segment's records");
  }
  entries_ = payload;
  entry_pos_ = at;
  entry_index_ = 0;
  return Status::Ok();
}

Status RecordBlockReader::DecodeEntry(BlockRecord& out) {
  const std::string_view in = entries_;
  size_t& pos = entry_pos_;
  uint64_t subscription, meter, uri, location, tags, info, hour, reported;
  bool ok = GetBytes(in, pos, out.record_id) && GetVarint(in, pos, subscription) &&
            GetVarint(in, pos, meter) && GetVarint(in, pos, uri) && GetVarint(in, pos, location) &&
            GetVarint(in, pos, tags) && GetVarint(in, pos, info) && GetVarint(in, pos, hour) &&
            GetBytes(in, pos, out.quantity_text) && GetVarint(in, pos, reported) &&
            in.size() - pos >= 8;
  ok = ok && GetString(strings_, subscription, out.subscription_id) &&
       GetString(strings_, meter, out.meter_id) && GetString(strings_, uri, out.resource_uri) &&
       GetString(strings_, location, out.location);
  if (!ok) return Damaged("truncated record or text offset out of bounds");
  auto optional_text = [&](uint64_t ref, std::optional<std::string_view>& text) {
    if (ref == 0) {
      text.reset();
      return true;
    }
    std::string_view t;
    if (!GetString(strings_, ref - 1, t)) return false;
    text = t;
    return true;
  };
  if (!optional_text(tags, out.tags_text) || !optional_text(info, out.additional_info_text)) {
    return Damaged("properties text offset out of bounds");
  }
  out.usage_start = UsageHour::FromHours(UnZigZag(hour));
  out.reported_time = ReportedTime::FromMicros(reported == 0 ? now_us_ : UnZigZag(reported - 1));
  uint64_t h = 0;
  for (int b = 0; b < 8; ++b) {
    h |= static_cast<uint64_t>(static_cast<unsigned char>(in[pos + b])) << (8 * b);
  }
  pos += 8;
  out.content_hash = h;
  return Status::Ok();
}

Result<bool> RecordBlockReader::Next(BlockRecord& out) {
  while (true) {
    if (entries_left_ == 0) {
      if (pos_ == block_.size()) return false;
      TALLY_RETURN_IF_ERROR(StartSegment());
    }
    TALLY_RETURN_IF_ERROR(DecodeEntry(out));
    const uint64_t index = entry_index_++;
    --entries_left_;
    if (entries_left_ == 0) {
      // A plain segment's entries run on in the block; a compressed payload must end here.
      if (format_ == kFormatPlain) {
        pos_ += entry_pos_;
      } else if (entry_pos_ != entries_.size()) {
        return Damaged("bytes after the segment's last record");
      }
    }
    if (next_skip_ < skipped_.size() && skipped_[next_skip_] == index) {
      ++next_skip_;
      continue;
    }
    return true;
  }
}

Result<domain::UsageRecord> ToUsageRecord(const BlockRecord& b) {
  domain::UsageRecord r;
  r.record_id = std::string(b.record_id);
  r.subscription_id = std::string(b.subscription_id);
  r.meter_id = std::string(b.meter_id);
  r.resource_uri = std::string(b.resource_uri);
  r.location = std::string(b.location);
  r.usage_start = b.usage_start;
  TALLY_ASSIGN_OR_RETURN(r.quantity, Decimal::Parse(b.quantity_text));
  if (b.tags_text) {
    TALLY_ASSIGN_OR_RETURN(r.tags, ParsePropertiesText(*b.tags_text));
  }
  if (b.additional_info_text) {
    TALLY_ASSIGN_OR_RETURN(r.additional_info, ParsePropertiesText(*b.additional_info_text));
  }
  return r;
}

}  // namespace tally::store
