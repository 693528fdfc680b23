#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "cli/cli.h"
#include "cli/commands.h"
#include "ingest/import_pipeline.h"
#include "ingest/ingest_service.h"
#include "ingest/record_reader.h"

namespace tally::cli {
namespace {

struct FileTotals {
  size_t accepted = 0;
  size_t duplicates = 0;
  size_t refused = 0;  // records in refused batches
};

std::string Plural(size_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

}  // namespace

int RunImport(const ImportArgs& args, CliEnv& env) {
  if (args.files.empty()) return Fail(env, kExitUsage, "import needs at least one FILE");
  if (args.batch_size == 0) return Fail(env, kExitUsage, "--batch-size must be at least 1");

  // Every usage error before anything is stored.
  std::vector<ingest::BodyFormat> formats;
  for (const std::string& file : args.files) {
    Result<ingest::BodyFormat> format =
        !args.format.empty() ? ingest::BodyFormatFromName(args.format)
        : file == "-"        ? Result<ingest::BodyFormat>(ingest::BodyFormat::kNdjson)
                             : ingest::BodyFormatFromFileName(file);
    if (!format.ok()) {
      return Fail(env, kExitUsage,
                  file + ": " + format.status().message() + " (use --format ndjson|json|csv)");
    }
    formats.push_back(*format);
  }

  Result<std::unique_ptr<store::UsageStore>> store = OpenStore(args.data_dir, true, env.clock);
  if (!store.ok()) return Fail(env, kExitFailure, store.status().message());
  ingest::IngestService ingest(**store, env.clock);

  bool failed = false;
  for (size_t f = 0; f < args.files.size(); ++f) {
    const std::string& file = args.files[f];
    const std::string name = file == "-" ? "stdin" : file;
    int fd = 0;
    if (file != "-") {
      fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        Fail(env, kExitFailure, "cannot open " + file + ": " + std::strerror(errno));
        failed = true;
        continue;
      }
    }
    ingest::RecordReaderOptions reader_options;
    reader_options.batch_size = args.batch_size;
    ingest::RecordReader reader(fd, formats[f], reader_options);
    FileTotals totals;
    bool stop_all = false;
    // Reads and validates the next batch while this one is appended (ImportPipelined).
    Status read = ingest::ImportPipelined(
        reader, ingest, ingest::Sender::kOperator,
        [&](const ingest::ParsedRecords& batch, const ingest::IngestOutcome& outcome) {
          if (outcome.status.ok()) {
            totals.accepted += outcome.accepted;
            totals.duplicates += outcome.duplicates;
            return true;
          }
          // Errors are printed as FILE:LINE, so the lines are kept out of the reasons.
          const auto line_of = [&](size_t index) -> std::string {
            const size_t i = index - batch.first_index;
            return i < batch.lines.size() ? std::to_string(batch.lines[i]) : "?";
          };
          totals.refused += batch.fields.size();
          failed = true;
          switch (outcome.status.code()) {
            case StatusCode::kInvalidArgument:
              if (outcome.errors.empty()) {
                env.err << name << ": " << outcome.status.message() << '\n';
              }
              for (const domain::FieldError& e : outcome.errors) {
                env.err << name << ':' << line_of(e.index) << ": "
                        << (e.property.empty() ? "record" : e.property) << ": " << e.reason << '\n';
              }
              return true;
            case StatusCode::kAlreadyExists:
              for (const store::RecordConflict& c : outcome.conflicts) {
                env.err << name << ':' << line_of(c.index) << ": recordId: '" << c.record_id
                        << "' is already stored with different content\n";
              }
              return true;
            default:
              // The store refuses writes: later batches would fail the same way.
              Fail(env, kExitFailure, name + ": " + outcome.status.message());
              stop_all = true;
              return false;
          }
        });
    if (!read.ok()) {
      Fail(env, kExitFailure, name + ": " + read.message());
      failed = true;
    }
    if (fd > 0) ::close(fd);

    std::string summary = "imported " + Plural(totals.accepted, "record", "records") + " (" +
                          Plural(totals.duplicates, "duplicate", "duplicates") + ") from " + name;
    if (totals.refused > 0) {
      summary += "; " + Plural(totals.refused, "record", "records") + " in refused batches";
    }
    env.out << summary << std::endl;
    if (stop_all) return kExitFailure;
  }
  env.err.flush();
  return failed ? kExitFailure : kExitOk;
}

}  // namespace tally::cli
