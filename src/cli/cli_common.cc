#include <filesystem>
#include <system_error>

#include "cli/cli.h"
#include "cli/commands.h"
#include "store/sqlite/sqlite_store.h"

namespace tally::cli {

int Fail(CliEnv& env, int exit_code, std::string_view message) {
  env.err << "tally: " << message << std::endl;
  return exit_code;
}

int FailStatus(CliEnv& env, const Status& status) {
  return Fail(env, status.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure,
              status.message());
}

bool CheckListFormat(CliEnv& env, const std::string& format, int& exit_code) {
  if (format == "table" || format == "jsonl") return true;
  exit_code = Fail(env, kExitUsage, "--format must be table or jsonl");
  return false;
}

Result<std::unique_ptr<store::UsageStore>> OpenStore(const std::string& data_dir, bool create,
                                                     const Clock& clock) {
  if (create) {
    std::error_code ec;
    std::filesystem::create_directories(data_dir, ec);
    if (ec) {
      return Unavailable("cannot create the data directory " + data_dir + ": " + ec.message());
    }
  }
  store::SqliteStoreOptions options;
  options.data_dir = data_dir;
  options.create_if_missing = create;
  options.clock = &clock;
  Result<std::unique_ptr<store::UsageStore>> store = store::OpenSqliteStore(options);
  if (!store.ok() && store.status().code() == StatusCode::kNotFound) {
    // Read-only commands never create a data directory: say how to get one.
    return NotFound(store.status().message() +
                    " (use --data-dir, set TALLY_DATA_DIR, or create one with `tally import` or "
                    "`tally simulate --data-dir`)");
  }
  return store;
}

}  // namespace tally::cli
