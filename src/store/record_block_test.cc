#include "store/record_block.h"

#include <gtest/gtest.h>

#include "store/properties_codec.h"

namespace tally::store {
namespace {

constexpr char kSub[] = "11111111-2222-3333-4444-555555555555";
constexpr char kMeter[] = "FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5";

domain::UsageRecord Record(const std::string& id, const std::string& resource,
                           std::string_view quantity) {
  domain::UsageRecord r;
  r.record_id = id;
  r.subscription_id = kSub;
  r.meter_id = kMeter;
  r.resource_uri = std::string("/subscriptions/") + kSub + "/resourceGroups/rg/providers/" +
                   "Microsoft.Compute/virtualMachines/" + resource;
  r.location = "local";
  r.usage_start = UsageHour::FromHours(490'000);
  r.quantity = *Decimal::Parse(quantity);
  return r;
}

// The records of a block, and the reader whose buffers they view.
struct Decoded {
  std::optional<RecordBlockReader> reader;
  std::vector<BlockRecord> records;
};

Decoded DecodeAll(std::string_view block) {
  Decoded d;
  auto reader = RecordBlockReader::Open(block);
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  if (!reader.ok()) return d;
  d.reader.emplace(std::move(*reader));
  BlockRecord r;
  while (true) {
    auto more = d.reader->Next(r);
    EXPECT_TRUE(more.ok()) << more.status().ToString();
    if (!more.ok() || !*more) break;
    d.records.push_back(r);
  }
  return d;
}

TEST(RecordBlock, RoundTripsEveryFieldOfTheAcceptedRecords) {
  std::vector<domain::UsageRecord> first = {Record("a", "vm1", "0.000000000000001"),
                                            Record("b", "vm1", "12345678901234567890.5"),
                                            Record("c", "vm2", "0")};
  first[1].tags = domain::Properties{{"env", "prod"}, {"quote", "\"\\\u00e9"}};
  first[1].additional_info = domain::Properties{{"ServiceType", "Standard_D2_v2"}};
  first[2].reported_time = ReportedTime::FromMicros(-5);  // explicit, before the epoch
  first[2].usage_start = UsageHour::FromHours(-3);
  std::vector<domain::UsageRecord> second = {Record("d", "vm3", "7")};
  second[0].meter_id = "fab6eb84-500b-4a09-a8ca-7358f8bbaea5";  // kept as sent

  BatchEncoding e1, e2;
  ASSERT_TRUE(e1.Encode(first, ReportedTime::FromMicros(1'000'000)).ok());
  ASSERT_TRUE(e1.Compress().ok());
  ASSERT_TRUE(e2.Encode(second, ReportedTime::FromMicros(2'000'000)).ok());
  ASSERT_TRUE(e2.Compress().ok());
  EXPECT_EQ(e1.content_hash(1), domain::ContentHash(first[1]));
  ASSERT_TRUE(e1.tags_text(1).has_value());
  EXPECT_FALSE(e1.tags_text(0).has_value());

  RecordBlockBuilder block;
  block.Clear();
  const uint32_t skip_first[] = {0};  // record "a" was, say, a duplicate
  block.AddBatch(e1, skip_first);
  block.AddBatch(e2, {});

  const Decoded decoded = DecodeAll(block.bytes());
  const std::vector<BlockRecord>& got = decoded.records;
  ASSERT_EQ(got.size(), 3u);
  const domain::UsageRecord* want[] = {&first[1], &first[2], &second[0]};
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(i);
    auto r = ToUsageRecord(got[i]);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(domain::SameContent(*r, *want[i]));
    EXPECT_EQ(r->meter_id, want[i]->meter_id);
    EXPECT_EQ(r->quantity.ToString(), want[i]->quantity.ToString());
    EXPECT_EQ(got[i].content_hash, domain::ContentHash(*want[i]));
  }
  EXPECT_EQ(got[0].reported_time, ReportedTime::FromMicros(1'000'000));
  EXPECT_EQ(got[1].reported_time, ReportedTime::FromMicros(-5));
  EXPECT_EQ(got[2].reported_time, ReportedTime::FromMicros(2'000'000));
  EXPECT_EQ(got[1].usage_start, UsageHour::FromHours(-3));
  EXPECT_EQ(*got[0].additional_info_text, *e1.additional_info_text(1));
}

TEST(RecordBlock, AnEncodingKeepsTheTextsTheIndexPublishesAndIsReusable) {
  std::vector<domain::UsageRecord> batch = {Record("a", "vm1", "1"), Record("b", "vm2", "2")};
  batch[1].subscription_id = "11111111-2222-3333-4444-555555555555";
  batch[1].location = "west";
  batch[1].additional_info = domain::Properties{{"k", "v"}};
  BatchEncoding e;
  ASSERT_TRUE(e.Encode(batch, ReportedTime::FromMicros(1)).ok());
  for (size_t i = 0; i < batch.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(e.subscription_id(i), batch[i].subscription_id);
    EXPECT_EQ(e.resource_uri(i), batch[i].resource_uri);
    EXPECT_EQ(e.location(i), batch[i].location);
  }
  EXPECT_FALSE(e.additional_info_text(0).has_value());
  EXPECT_TRUE(e.additional_info_text(1).has_value());

  // Encoding another batch replaces everything (the store reuses encodings).
  const std::vector<domain::UsageRecord> next = {Record("c", "vm3", "3")};
  ASSERT_TRUE(e.Encode(next, ReportedTime::FromMicros(2)).ok());
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e.resource_uri(0), next[0].resource_uri);
  EXPECT_EQ(e.subscription_id(0), next[0].subscription_id);
  EXPECT_FALSE(e.additional_info_text(0).has_value());
  EXPECT_EQ(e.content_hash(0), domain::ContentHash(next[0]));
  ASSERT_TRUE(e.Compress().ok());
  RecordBlockBuilder block;
  block.Clear();
  block.AddBatch(e, {});
  const Decoded decoded = DecodeAll(block.bytes());
  ASSERT_EQ(decoded.records.size(), 1u);
  EXPECT_EQ(decoded.records[0].record_id, "c");
  EXPECT_EQ(decoded.records[0].reported_time, ReportedTime::FromMicros(2));
}

// Records "id-0" .. "id-<n-1>" of the same resource, quantity 1.
std::vector<domain::UsageRecord> Numbered(int n) {
  std::vector<domain::UsageRecord> batch;
  for (int i = 0; i < n; ++i) batch.push_back(Record("id-" + std::to_string(i), "vm1", "1"));
  return batch;
}

TEST(RecordBlock, StoresARepeatedTextOnce) {
  const std::vector<domain::UsageRecord> batch = Numbered(1000);
  BatchEncoding e;
  ASSERT_TRUE(e.Encode(batch, ReportedTime::FromMicros(0)).ok());
  ASSERT_TRUE(e.Compress().ok());
  RecordBlockBuilder block;
  block.Clear();
  block.AddBatch(e, {});
  // Per record before compression: the recordId, four one-byte offsets, two absent
  // properties, the hour, the quantity, the reported time and the 8-byte hash; the texts once.
  EXPECT_LT(block.bytes().size(), 1000u * 32 + 300);
  EXPECT_EQ(DecodeAll(block.bytes()).records.size(), 1000u);
}

TEST(RecordBlock, SkipsTheRecordsLeftOut) {
  const std::vector<domain::UsageRecord> batch = Numbered(6);
  BatchEncoding e;
  ASSERT_TRUE(e.Encode(batch, ReportedTime::FromMicros(0)).ok());
  ASSERT_TRUE(e.Compress().ok());
  RecordBlockBuilder block;
  block.Clear();
  const uint32_t skipped[] = {0, 2, 3, 5};
  block.AddBatch(e, skipped);
  block.AddBatch(e, {});
  const Decoded decoded = DecodeAll(block.bytes());
  const std::vector<BlockRecord>& got = decoded.records;
  std::vector<std::string> ids;
  for (const BlockRecord& r : got) ids.emplace_back(r.record_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"id-1", "id-4", "id-0", "id-1", "id-2", "id-3", "id-4",
                                           "id-5"}));
}

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// A block of format 1 (no compression): one segment of one record whose subscription offset
// is `subscription_ref`.
std::string PlainBlock(uint64_t subscription_ref) {
  std::string strings;
  for (std::string_view t : {"sub", "meter", "/subscriptions/sub/r", "local"}) {
    PutVarint(strings, t.size());
    strings.append(t);
  }
  std::string b(1, '\x01');
  PutVarint(b, 7'000'000);  // now_us
  PutVarint(b, strings.size());
  b += strings;
  PutVarint(b, 1);  // one entry
  b += "\x02id";
  PutVarint(b, subscription_ref);
  PutVarint(b, 4);                  // meter
  PutVarint(b, 10);                 // resource URI
  PutVarint(b, 31);                 // location
  b += std::string("\x00\x00", 2);  // no tags, no additionalInfo
  PutVarint(b, 2 * 490'000);        // zigzag(hour)
  b += "\x03"
       "2.5";
  b += std::string("\x00", 1);  // reported: now
  b += std::string(8, '\x11');  // content hash
  return b;
}

TEST(RecordBlock, ReadsTheUncompressedFormat) {
  const std::string block = PlainBlock(0);
  const Decoded decoded = DecodeAll(block);
  const std::vector<BlockRecord>& got = decoded.records;
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].record_id, "id");
  EXPECT_EQ(got[0].subscription_id, "sub");
  EXPECT_EQ(got[0].meter_id, "meter");
  EXPECT_EQ(got[0].resource_uri, "/subscriptions/sub/r");
  EXPECT_EQ(got[0].location, "local");
  EXPECT_EQ(got[0].usage_start, UsageHour::FromHours(490'000));
  EXPECT_EQ(got[0].quantity_text, "2.5");
  EXPECT_EQ(got[0].reported_time, ReportedTime::FromMicros(7'000'000));
  EXPECT_EQ(got[0].content_hash, 0x1111111111111111u);
}

TEST(RecordBlock, RefusesDamagedBlocks) {
  std::vector<domain::UsageRecord> batch = {Record("a", "vm1", "1.5"), Record("b", "vm2", "2")};
  BatchEncoding e;
  ASSERT_TRUE(e.Encode(batch, ReportedTime::FromMicros(0)).ok());
  ASSERT_TRUE(e.Compress().ok());
  RecordBlockBuilder builder;
  builder.Clear();
  builder.AddBatch(e, {});
  const std::string good(builder.bytes());

  auto status_of = [](std::string_view block) -> Status {
    auto reader = RecordBlockReader::Open(block);
    if (!reader.ok()) return reader.status();
    BlockRecord r;
    while (true) {
      auto more = reader->Next(r);
      if (!more.ok()) return more.status();
      if (!*more) return Status::Ok();
    }
  };
  EXPECT_TRUE(status_of(good).ok());
  EXPECT_EQ(status_of("").code(), StatusCode::kDataLoss);
  EXPECT_EQ(status_of("\x03" + good.substr(1)).code(), StatusCode::kDataLoss);
  // Every truncation inside a segment is caught, never read past the end. (The format byte
  // alone is a block of no records; the store checks each block's record count.)
  for (size_t n = 2; n < good.size(); ++n) {
    SCOPED_TRACE(n);
    EXPECT_EQ(status_of(good.substr(0, n)).code(), StatusCode::kDataLoss);
  }
  // A flipped bit anywhere in the compressed payload fails its checksum or its decoding.
  for (size_t i = good.size() - 20; i < good.size(); ++i) {
    SCOPED_TRACE(i);
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x10);
    EXPECT_EQ(status_of(bad).code(), StatusCode::kDataLoss);
  }
  // Skip lists that do not fit the segment: every record skipped, an index past the end.
  for (const std::vector<uint32_t>& skipped : {std::vector<uint32_t>{0, 1}, {5}}) {
    RecordBlockBuilder b;
    b.Clear();
    b.AddBatch(e, skipped);
    EXPECT_EQ(status_of(b.bytes()).code(), StatusCode::kDataLoss);
  }
  // A text offset past the end of the segment's texts.
  EXPECT_TRUE(status_of(PlainBlock(0)).ok());
  EXPECT_EQ(status_of(PlainBlock(16'383)).code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace tally::store
