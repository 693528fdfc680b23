// The `tally` command line: argument parsing (CLI11) and the subcommands serve, import, usage,
// meters, subscriptions, keys and simulate, each a thin adapter over the same services the
// HTTP API uses. Exit codes: 0 ok, 1 runtime failure, 2 usage error. Errors go to `err` as
// "tally: <message>". Thread-compatible: one call at a time per output stream.
#pragma once

#include <iosfwd>

#include "common/clock.h"

namespace tally::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Runs one command line. `clock` must outlive the call. Never throws.
int RunCli(int argc, const char* const* argv, std::ostream& out, std::ostream& err,
           const Clock& clock);

}  // namespace tally::cli
