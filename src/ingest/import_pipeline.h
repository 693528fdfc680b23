// ImportPipelined: `tally import`'s loop (and the bulk benchmark's) with two batches in flight.
// One thread reads, parses and validates batch N+1 while the caller's thread appends batch N
// and the store commits it, so reading and validation no longer wait for the commit (and the
// other way round). Batches are still appended one at a time and in input order, so the outcome
// is the same as ingesting them one after another: a later batch that conflicts with an earlier
// one is the one refused. At most two batches are held in memory at once.
// Thread-safety: one call per RecordReader; the service is thread-safe.
#pragma once

#include <functional>

#include "common/status.h"
#include "ingest/ingest_service.h"
#include "ingest/record_reader.h"

namespace tally::ingest {

// Called on the caller's thread, in input order, for every batch: its parse results (the
// records' text has been moved out; `fields.size()`, `lines`, `first_index` and `errors` are
// intact) and its outcome. Error reasons do not name lines (unlike IngestParsed's): use
// `batch.lines[index - batch.first_index]`. Returning false stops the import after this batch.
using ImportBatchDone =
    std::function<bool(const ParsedRecords& batch, const IngestOutcome& outcome)>;

// Ingests every batch of `reader` as `sender`. Returns the reader's error (InvalidArgument or
// Unavailable, as RecordReader::Next) if reading stopped early, else OK; batches read before
// the error have been ingested and reported.
Status ImportPipelined(RecordReader& reader, IngestService& service, Sender sender,
                       const ImportBatchDone& done);

}  // namespace tally::ingest
