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

std::vector<BlockRecord> DecodeAll(std::string_view block) {
  auto reader = RecordBlockReader::Open(block);
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  std::vector<BlockRecord> out;
  BlockRecord r;
  while (true) {
    auto more = reader->Next(r);
    EXPECT_TRUE(more.ok()) << more.status().ToString();
    if (!more.ok() || !*more) break;
    out.push_back(r);
  }
  return out;
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
  ASSERT_TRUE(e2.Encode(second, ReportedTime::FromMicros(2'000'000)).ok());
  EXPECT_EQ(e1.content_hash(1), domain::ContentHash(first[1]));
  ASSERT_TRUE(e1.tags_text(1).has_value());
  EXPECT_FALSE(e1.tags_text(0).has_value());

  RecordBlockBuilder block;
  block.Clear();
  block.BeginBatch(e1, 2);  // record "a" was, say, a duplicate
  block.Add(e1, 1);
  block.Add(e1, 2);
  block.BeginBatch(e2, 1);
  block.AddAll(e2);

  std::vector<BlockRecord> got = DecodeAll(block.bytes());
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

TEST(RecordBlock, StoresARepeatedTextOnce) {
  std::vector<domain::UsageRecord> batch;
  for (int i = 0; i < 1000; ++i) batch.push_back(Record("id-" + std::to_string(i), "vm1", "1"));
  BatchEncoding e;
  ASSERT_TRUE(e.Encode(batch, ReportedTime::FromMicros(0)).ok());
  RecordBlockBuilder block;
  block.Clear();
  block.BeginBatch(e, batch.size());
  block.AddAll(e);
  // Per record: the recordId, four one-byte offsets, two absent properties, the hour, the
  // quantity, the reported time and the 8-byte hash; the texts once.
  EXPECT_LT(block.bytes().size(), 1000u * 32 + 300);
  EXPECT_EQ(DecodeAll(block.bytes()).size(), 1000u);
}

TEST(RecordBlock, RefusesDamagedBlocks) {
  std::vector<domain::UsageRecord> batch = {Record("a", "vm1", "1.5"), Record("b", "vm2", "2")};
  BatchEncoding e;
  ASSERT_TRUE(e.Encode(batch, ReportedTime::FromMicros(0)).ok());
  RecordBlockBuilder builder;
  builder.Clear();
  builder.BeginBatch(e, 2);
  builder.AddAll(e);
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
  EXPECT_EQ(status_of("\x02" + good.substr(1)).code(), StatusCode::kDataLoss);
  // Every truncation inside a segment is caught, never read past the end. (The format byte
  // alone is a block of no records; the store checks each block's record count.)
  for (size_t n = 2; n < good.size(); ++n) {
    SCOPED_TRACE(n);
    EXPECT_EQ(status_of(good.substr(0, n)).code(), StatusCode::kDataLoss);
  }
  // A text offset past the end of the batch's texts: the first entry starts with its recordId
  // (size 1, 'a') and the subscription's offset (0).
  std::string bad = good;
  const size_t entry =
      bad.find(std::string("\x01"
                           "a\x00",
                           3));
  ASSERT_NE(entry, std::string::npos);
  bad.replace(entry + 2, 1, "\xFF\x7F");  // offset 16383

  EXPECT_EQ(status_of(bad).code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace tally::store
