#include "ingest/import_pipeline.h"

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "common/current_thread.h"

namespace tally::ingest {
namespace {

struct Prepared {
  ParsedRecords parsed;
  ValidatedBatch validated;
};

// A queue of one: the reader fills it while the appender works on the batch before.
class Handoff {
 public:
  // Blocks while the slot is full; false when the consumer has stopped.
  bool Put(std::optional<Prepared> item) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !full_ || stopped_; });
    if (stopped_) return false;
    item_ = std::move(item);
    full_ = true;
    cv_.notify_all();
    return true;
  }
  // nullopt at the end of the input (or after a read error).
  std::optional<Prepared> Take() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return full_; });
    std::optional<Prepared> item = std::move(item_);
    item_.reset();
    full_ = false;
    cv_.notify_all();
    return item;
  }
  void Stop() {
    std::lock_guard lock(mu_);
    stopped_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Prepared> item_;
  bool full_ = false;
  bool stopped_ = false;
};

}  // namespace

Status ImportPipelined(RecordReader& reader, IngestService& service, Sender sender,
                       const ImportBatchDone& done) {
  Handoff handoff;
  Status read_status;  // written by the reader thread before its last Put
  std::thread producer([&] {
    NameCurrentThread("tally-import-rd");
    while (true) {
      Prepared p;
      Result<bool> more = reader.Next(p.parsed);
      if (!more.ok()) read_status = more.status();
      if (!more.ok() || !*more) {
        handoff.Put(std::nullopt);
        return;
      }
      // The lines stay out of the reasons: `done` has them to say where each error is.
      std::vector<size_t> lines = std::move(p.parsed.lines);
      p.parsed.lines.clear();
      p.validated = service.ValidateParsed(std::move(p.parsed), sender);
      p.parsed.lines = std::move(lines);
      if (!handoff.Put(std::move(p))) return;
    }
  });
  bool stopped = false;
  while (true) {
    std::optional<Prepared> p = handoff.Take();
    if (!p) break;
    const IngestOutcome outcome = service.AppendValidated(std::move(p->validated));
    if (!done(p->parsed, outcome)) {
      stopped = true;
      break;
    }
  }
  handoff.Stop();
  producer.join();
  if (stopped) return Status::Ok();
  return read_status;
}

}  // namespace tally::ingest
