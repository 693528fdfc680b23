#include "ingest/import_pipeline.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "ingest/ingest_test_util.h"

namespace tally::ingest {
namespace {

using ::testing::ElementsAre;
using testing::FakeUsageStore;
using testing::RecordJson;

std::string Ndjson(size_t n, size_t bad_at = SIZE_MAX) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    RecordJson r("r" + std::to_string(i));
    if (i == bad_at) r.Set("quantity", "-1");
    out += r.ToJson() + "\n";
  }
  return out;
}

struct ImportRun {
  std::vector<size_t> batch_sizes;     // records per batch, as reported to `done`
  std::vector<std::string> statuses;   // per batch
  std::vector<std::string> first_ids;  // first recordId of each append, in order
  Status result;
};

ImportRun Import(const std::string& text, size_t batch_size, FakeUsageStore& store,
                 size_t stop_after = SIZE_MAX) {
  FakeClockForTesting clock(ParseUtcTime("2026-10-02T00:00:00Z").value());
  IngestService service(store, clock);
  std::istringstream in(text);
  RecordReaderOptions options;
  options.batch_size = batch_size;
  RecordReader reader(in, BodyFormat::kNdjson, options);
  ImportRun run;
  run.result = ImportPipelined(reader, service, Sender::kOperator,
                               [&](const ParsedRecords& batch, const IngestOutcome& outcome) {
                                 run.batch_sizes.push_back(batch.fields.size());
                                 run.statuses.push_back(outcome.status.ToString());
                                 return run.batch_sizes.size() < stop_after;
                               });
  for (const auto& call : store.calls) run.first_ids.push_back(call.records.front().record_id);
  return run;
}

TEST(ImportPipelined, AppendsEveryBatchInInputOrder) {
  FakeUsageStore store;
  ImportRun run = Import(Ndjson(10), 3, store);
  EXPECT_TRUE(run.result.ok()) << run.result.ToString();
  EXPECT_THAT(run.batch_sizes, ElementsAre(3, 3, 3, 1));
  EXPECT_THAT(run.first_ids, ElementsAre("r0", "r3", "r6", "r9"));
  ASSERT_EQ(store.calls.size(), 4u);
  EXPECT_EQ(store.calls[3].records.front().quantity.ToString(), "2.5");
}

TEST(ImportPipelined, InvalidBatchIsReportedAndTheOthersGoOn) {
  FakeUsageStore store;
  ImportRun run = Import(Ndjson(6, /*bad_at=*/4), 2, store);
  EXPECT_TRUE(run.result.ok());
  ASSERT_EQ(run.statuses.size(), 3u);
  EXPECT_EQ(run.statuses[0], "OK");
  EXPECT_NE(run.statuses[2], "OK");
  EXPECT_THAT(run.first_ids, ElementsAre("r0", "r2"));
}

TEST(ImportPipelined, StopsWhenAskedTo) {
  FakeUsageStore store;
  ImportRun run = Import(Ndjson(10), 2, store, /*stop_after=*/2);
  EXPECT_TRUE(run.result.ok());
  EXPECT_EQ(run.batch_sizes.size(), 2u);
  EXPECT_EQ(store.calls.size(), 2u);
}

TEST(ImportPipelined, MalformedLineRefusesOnlyItsBatch) {
  FakeUsageStore store;
  ImportRun run = Import(Ndjson(4) + "{\"recordId\": \n", 2, store);
  EXPECT_TRUE(run.result.ok());
  ASSERT_EQ(run.statuses.size(), 3u);
  EXPECT_NE(run.statuses[2], "OK");
  EXPECT_THAT(run.first_ids, ElementsAre("r0", "r2"));
}

}  // namespace
}  // namespace tally::ingest
