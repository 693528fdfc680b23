#include "store/record_block.h"

#include <cstring>

#include "common/hash.h"
#include "store/properties_codec.h"

namespace tally::store {
namespace {

constexpr char kFormat = 0x01;
constexpr size_t kRecentSlots = 1024;  // a power of two

void PutVarint(std::string& out, uint64_t v) {
  char buf[10];
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out.append(buf, n);
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

std::optional<std::string_view> BatchEncoding::TextAt(uint32_t ref) const {
  if (ref == 0) return std::nullopt;
  size_t pos = ref - 1;
  std::string_view text;
  GetBytes(strings_, pos, text);
  return text;
}

Status BatchEncoding::Encode(std::span<const domain::UsageRecord> records, ReportedTime now) {
  now_us_ = now.micros();
  strings_.clear();
  entries_.clear();
  entry_ends_.clear();
  content_hashes_.clear();
  tags_.assign(records.size(), 0);
  infos_.assign(records.size(), 0);
  recent_.assign(kRecentSlots, 0);
  entry_ends_.reserve(records.size());
  entries_.reserve(records.size() * 72);
  for (size_t i = 0; i < records.size(); ++i) {
    const domain::UsageRecord& r = records[i];
    PutBytes(entries_, r.record_id);
    PutVarint(entries_, Intern(r.subscription_id));
    PutVarint(entries_, Intern(r.meter_id));
    PutVarint(entries_, Intern(r.resource_uri));
    PutVarint(entries_, Intern(r.location));
    if (r.tags) {
      scratch_.clear();
      AppendPropertiesText(scratch_, *r.tags);
      tags_[i] = Intern(scratch_) + 1;
    }
    PutVarint(entries_, tags_[i]);
    if (r.additional_info) {
      scratch_.clear();
      AppendPropertiesText(scratch_, *r.additional_info);
      infos_[i] = Intern(scratch_) + 1;
    }
    PutVarint(entries_, infos_[i]);
    PutVarint(entries_, ZigZag(r.usage_start.hours()));
    scratch_.clear();
    r.quantity.AppendTo(scratch_);
    PutBytes(entries_, scratch_);
    PutVarint(entries_, r.reported_time ? ZigZag(r.reported_time->micros()) + 1 : 0);
    const uint64_t hash = domain::ContentHash(r);
    content_hashes_.push_back(hash);
    char le[8];
    for (int b = 0; b < 8; ++b) le[b] = static_cast<char>(hash >> (8 * b));
    entries_.append(le, 8);
    if (entries_.size() >= UINT32_MAX || strings_.size() >= UINT32_MAX - 1) {
      return InvalidArgument("the batch is too large to store; split it into smaller batches");
    }
    entry_ends_.push_back(static_cast<uint32_t>(entries_.size()));
  }
  return Status::Ok();
}

void RecordBlockBuilder::Clear() {
  bytes_.clear();
  bytes_.push_back(kFormat);
}

void RecordBlockBuilder::BeginBatch(const BatchEncoding& batch, size_t count) {
  if (bytes_.empty()) bytes_.push_back(kFormat);
  PutVarint(bytes_, static_cast<uint64_t>(batch.now_us_));
  PutBytes(bytes_, batch.strings_);
  PutVarint(bytes_, count);
}

Result<RecordBlockReader> RecordBlockReader::Open(std::string_view block) {
  if (block.empty() || block[0] != kFormat) {
    return Damaged("unknown format " +
                   (block.empty() ? std::string("(empty)")
                                  : std::to_string(static_cast<unsigned char>(block[0]))));
  }
  return RecordBlockReader(block);
}

Status RecordBlockReader::StartSegment() {
  uint64_t now;
  if (!GetVarint(block_, pos_, now) || !GetBytes(block_, pos_, strings_) ||
      !GetVarint(block_, pos_, left_in_segment_) || left_in_segment_ == 0) {
    return Damaged("truncated segment header");
  }
  now_us_ = static_cast<int64_t>(now);
  return Status::Ok();
}

Result<bool> RecordBlockReader::Next(BlockRecord& out) {
  if (left_in_segment_ == 0) {
    if (pos_ == block_.size()) return false;
    TALLY_RETURN_IF_ERROR(StartSegment());
  }
  uint64_t subscription, meter, uri, location, tags, info, hour, reported;
  bool ok = GetBytes(block_, pos_, out.record_id) && GetVarint(block_, pos_, subscription) &&
            GetVarint(block_, pos_, meter) && GetVarint(block_, pos_, uri) &&
            GetVarint(block_, pos_, location) && GetVarint(block_, pos_, tags) &&
            GetVarint(block_, pos_, info) && GetVarint(block_, pos_, hour) &&
            GetBytes(block_, pos_, out.quantity_text) && GetVarint(block_, pos_, reported) &&
            block_.size() - pos_ >= 8;
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
    h |= static_cast<uint64_t>(static_cast<unsigned char>(block_[pos_ + b])) << (8 * b);
  }
  pos_ += 8;
  out.content_hash = h;
  --left_in_segment_;
  return true;
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
