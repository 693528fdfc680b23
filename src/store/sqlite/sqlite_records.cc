// Reading stored usage back (SqliteStore, see sqlite_store_impl.h): the rebuild of the index
// on open, ListRecords and the writer's conflict look-ups. Records live in record blocks
// (usage_blocks, schema 5 on) and, when written by versions 1-4, in usage_records rows, whose
// seqs all precede the blocks'.
#include <malloc.h>

#include <algorithm>
#include <map>

#include "store/properties_codec.h"
#include "store/sqlite/sqlite_store_impl.h"

namespace tally::store::sqlite {

Result<domain::UsageRecord> ReadRecordColumns(Statement& q, int first) {
  domain::UsageRecord r;
  r.record_id = std::string(q.ColumnText(first));
  r.subscription_id = std::string(q.ColumnText(first + 1));
  r.meter_id = std::string(q.ColumnText(first + 2));
  r.resource_uri = std::string(q.ColumnText(first + 3));
  r.location = std::string(q.ColumnText(first + 4));
  r.usage_start = UsageHour::FromHours(q.ColumnInt64(first + 5));
  TALLY_ASSIGN_OR_RETURN(r.quantity, Decimal::Parse(q.ColumnText(first + 6)));
  if (!q.ColumnIsNull(first + 7)) {
    TALLY_ASSIGN_OR_RETURN(r.tags, ParsePropertiesText(q.ColumnText(first + 7)));
  }
  if (!q.ColumnIsNull(first + 8)) {
    TALLY_ASSIGN_OR_RETURN(r.additional_info, ParsePropertiesText(q.ColumnText(first + 8)));
  }
  return r;
}

Result<domain::UsageRecord> SqliteStore::LoadRecordForWriter(uint64_t seq) {
  std::optional<domain::UsageRecord> found;
  Statement& block = select_block_;
  block.BindInt64(1, static_cast<int64_t>(seq));
  auto from_block = [&]() -> Status {
    TALLY_ASSIGN_OR_RETURN(bool row, block.Step());
    if (!row) return Status::Ok();
    TALLY_ASSIGN_OR_RETURN(RecordBlockReader reader, RecordBlockReader::Open(block.ColumnBlob(2)));
    return VisitBlockRecords(block, reader, seq,
                             [&](uint64_t, const BlockRecord& b) -> Result<bool> {
                               TALLY_ASSIGN_OR_RETURN(found, ToUsageRecord(b));
                               return false;
                             });
  };
  Status s = from_block();
  block.Reset();
  TALLY_RETURN_IF_ERROR(s);
  if (found) return *std::move(found);

  // Not in a block: a row written by versions 1-4.
  Statement& q = select_record_;
  q.BindInt64(1, static_cast<int64_t>(seq));
  auto body = [&]() -> Result<domain::UsageRecord> {
    TALLY_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row)
      return DataLoss("usage record seq " + std::to_string(seq) + " is indexed but missing");
    return ReadRecordColumns(q, 0);
  };
  auto r = body();
  q.Reset();
  return r;
}

Status SqliteStore::RebuildIndex() {
  // Whatever SQLite has committed is the truth: the index is re-derived from it, in seq order.
  TALLY_ASSIGN_OR_RETURN(
      int64_t max_seq,
      writer_db_.QueryInt64("SELECT max((SELECT coalesce(max(seq), 0) FROM usage_records), "
                            "coalesce((SELECT first_seq + record_count - 1 FROM usage_blocks "
                            "ORDER BY first_seq DESC LIMIT 1), 0))"));
  index_.Reserve(static_cast<uint64_t>(max_seq) + static_cast<uint64_t>(max_seq) / 4);
  // Sort each subscription's rows once at the end instead of merging as they arrive.
  index_.StartLoading();
  TALLY_ASSIGN_OR_RETURN(Statement scan,
                         writer_db_.Prepare("SELECT seq, record_id, subscription_id, meter_id, "
                                            "resource_uri, location, usage_start_hour, quantity, "
                                            "tags, additional_info, reported_time_us, "
                                            "content_hash FROM usage_records ORDER BY seq"));
  // Rows are copied into reusable buffers (SQLite's column text dies at the next step) and
  // published in chunks.
  struct Row {
    std::string subscription_id, meter_key, meter_id, resource_uri, location, tags, info;
    bool has_tags = false, has_info = false;
  };
  constexpr size_t kChunk = 4096;
  std::vector<Row> rows(kChunk);
  std::vector<IndexedRecord> chunk;
  chunk.reserve(kChunk);
  auto flush = [&]() -> Status {
    for (size_t i = 0; i < chunk.size(); ++i) {
      Row& row = rows[i];
      IndexedRecord& r = chunk[i];
      r.subscription_id = row.subscription_id;
      r.meter_key = row.meter_key;
      r.meter_id = row.meter_id;
      r.resource_uri = row.resource_uri;
      r.location = row.location;
      r.tags_text = row.has_tags ? std::optional<std::string_view>(row.tags) : std::nullopt;
      r.additional_info_text =
          row.has_info ? std::optional<std::string_view>(row.info) : std::nullopt;
    }
    Status s = index_.Publish(chunk);
    chunk.clear();
    return s;
  };
  while (true) {
    TALLY_ASSIGN_OR_RETURN(bool has_row, scan.Step());
    if (!has_row) break;
    Row& row = rows[chunk.size()];
    IndexedRecord r;
    r.seq = static_cast<uint64_t>(scan.ColumnInt64(0));
    r.id_hash = RecordIdHash(scan.ColumnText(1));
    row.subscription_id.assign(scan.ColumnText(2));
    row.meter_key.assign(scan.ColumnText(3));
    for (char& c : row.meter_key) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    row.meter_id = SpellingOf(std::string(scan.ColumnText(3)));
    row.resource_uri.assign(scan.ColumnText(4));
    row.location.assign(scan.ColumnText(5));
    r.usage_start = UsageHour::FromHours(scan.ColumnInt64(6));
    auto quantity = Decimal::Parse(scan.ColumnText(7));
    if (!quantity.ok()) {
      return DataLoss("usage record seq " + std::to_string(r.seq) +
                      " has a damaged quantity: " + quantity.status().message());
    }
    r.quantity = *quantity;
    row.has_tags = !scan.ColumnIsNull(8);
    if (row.has_tags) row.tags.assign(scan.ColumnText(8));
    row.has_info = !scan.ColumnIsNull(9);
    if (row.has_info) row.info.assign(scan.ColumnText(9));
    r.reported_time = ReportedTime::FromMicros(scan.ColumnInt64(10));
    r.content_hash = static_cast<uint64_t>(scan.ColumnInt64(11));
    chunk.push_back(r);
    if (chunk.size() == kChunk) TALLY_RETURN_IF_ERROR(flush());
  }
  if (!chunk.empty()) TALLY_RETURN_IF_ERROR(flush());

  // Then the blocks, each published straight from its bytes.
  TALLY_ASSIGN_OR_RETURN(Statement blocks,
                         writer_db_.Prepare("SELECT first_seq, record_count, data FROM "
                                            "usage_blocks ORDER BY first_seq"));
  std::map<std::string, MeterRef, std::less<>> meters;  // by the meter ID as stored
  const MeterRef* meter = nullptr;
  std::string_view meter_as_stored;
  Status loaded = ForEachRow(blocks, [&]() -> Status {
    meter = nullptr;  // the views of the last block are gone
    // The records view the reader's buffers: they are published before it goes.
    TALLY_ASSIGN_OR_RETURN(RecordBlockReader reader, RecordBlockReader::Open(blocks.ColumnBlob(2)));
    TALLY_RETURN_IF_ERROR(VisitBlockRecords(
        blocks, reader, 0, [&](uint64_t seq, const BlockRecord& b) -> Result<bool> {
          if (meter == nullptr || b.meter_id != meter_as_stored) {
            auto it = meters.find(b.meter_id);
            if (it == meters.end()) {
              MeterRef ref{domain::MeterKey(b.meter_id), SpellingOf(std::string(b.meter_id))};
              it = meters.emplace(std::string(b.meter_id), std::move(ref)).first;
            }
            meter = &it->second;
            meter_as_stored = b.meter_id;
          }
          IndexedRecord r;
          r.seq = seq;
          r.reported_time = b.reported_time;
          r.usage_start = b.usage_start;
          r.id_hash = RecordIdHash(b.record_id);
          r.content_hash = b.content_hash;
          r.subscription_id = b.subscription_id;
          r.meter_key = meter->key;
          r.meter_id = meter->spelling;
          r.resource_uri = b.resource_uri;
          r.location = b.location;
          r.tags_text = b.tags_text;
          r.additional_info_text = b.additional_info_text;
          auto quantity = Decimal::Parse(b.quantity_text);
          if (!quantity.ok()) {
            return DataLoss("usage record seq " + std::to_string(seq) +
                            " has a damaged quantity: " + quantity.status().message());
          }
          r.quantity = *quantity;
          chunk.push_back(r);
          return true;
        }));
    Status s = index_.Publish(chunk);
    chunk.clear();
    return s;
  });
  TALLY_RETURN_IF_ERROR(loaded);
  index_.FinishLoading();
#ifdef __GLIBC__
  // The rebuild freed much of the heap it used (the unsorted rows, read buffers); glibc keeps
  // freed heap mapped unless asked, and about 90 MB would stay resident for a 10 M store.
  malloc_trim(0);
#endif
  last_seq_ = index_.last_seq();
  if (static_cast<uint64_t>(max_seq) != last_seq_) {
    return Internal("index rebuilt up to seq " + std::to_string(last_seq_) +
                    " but the database ends at seq " + std::to_string(max_seq));
  }
  return Status::Ok();
}

Result<std::vector<StoredRecord>> SqliteStore::ListRecords(uint64_t after_seq, size_t limit) {
  std::vector<StoredRecord> out;
  if (limit == 0) return out;
  AwaitVisible();  // the meter spellings come from the caches
  std::lock_guard lock(reader_mu_);
  // Rows written by versions 1-4 first: their seqs precede every block's.
  Statement& rows = list_records_;
  rows.BindInt64(1, static_cast<int64_t>(std::min<uint64_t>(after_seq, INT64_MAX)));
  rows.BindInt64(2, static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX)));
  TALLY_RETURN_IF_ERROR(ForEachRow(rows, [&]() -> Status {
    StoredRecord s;
    s.seq = static_cast<uint64_t>(rows.ColumnInt64(0));
    TALLY_ASSIGN_OR_RETURN(s.record, ReadRecordColumns(rows, 1));
    s.reported_time = ReportedTime::FromMicros(rows.ColumnInt64(10));
    out.push_back(std::move(s));
    return Status::Ok();
  }));
  if (out.size() < limit) {
    const uint64_t from = out.empty() ? after_seq + 1 : out.back().seq + 1;
    Statement& blocks = list_blocks_;
    blocks.BindInt64(1, static_cast<int64_t>(std::min<uint64_t>(from, INT64_MAX)));
    auto body = [&]() -> Status {
      while (out.size() < limit) {
        TALLY_ASSIGN_OR_RETURN(bool row, blocks.Step());
        if (!row) break;
        TALLY_ASSIGN_OR_RETURN(RecordBlockReader reader,
                               RecordBlockReader::Open(blocks.ColumnBlob(2)));
        TALLY_RETURN_IF_ERROR(VisitBlockRecords(
            blocks, reader, from, [&](uint64_t seq, const BlockRecord& b) -> Result<bool> {
              StoredRecord s;
              s.seq = seq;
              TALLY_ASSIGN_OR_RETURN(s.record, ToUsageRecord(b));
              s.reported_time = b.reported_time;
              out.push_back(std::move(s));
              return out.size() < limit;
            }));
      }
      return Status::Ok();
    };
    Status st = body();
    blocks.Reset();
    TALLY_RETURN_IF_ERROR(st);
  }
  std::shared_lock meta(meta_mu_);
  for (StoredRecord& s : out) s.record.meter_id = SpellingOf(s.record.meter_id);
  return out;
}

}  // namespace tally::store::sqlite
