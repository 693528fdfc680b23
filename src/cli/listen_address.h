// Parsing of `tally serve --listen` values ("127.0.0.1:8080", "[::1]:8080", "localhost:8080")
// and the loopback rule for plain http. Stateless; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tally::cli {

struct ListenAddress {
  std::string host;  // an IP literal ("localhost" becomes 127.0.0.1), without brackets
  uint16_t port = 0;
  bool loopback = false;  // 127.0.0.0/8 or ::1
};

// InvalidArgument naming the problem for anything but HOST:PORT with an IP literal (or
// localhost) and a port 0-65535.
Result<ListenAddress> ParseListenAddress(std::string_view text);

}  // namespace tally::cli
