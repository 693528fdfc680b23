// The `tally` binary: wiring only. Every command lives in tally_cli; this file picks the real
// clock and streams and holds the program's last catch-all.
#include <exception>
#include <iostream>

#include "cli/cli.h"
#include "common/clock.h"

int main(int argc, char** argv) {
  try {
    const tally::SystemClock clock;
    return tally::cli::RunCli(argc, argv, std::cout, std::cerr, clock);
  } catch (const std::exception& e) {
    std::cerr << "tally: internal error: " << e.what() << std::endl;
  } catch (...) {
    std::cerr << "tally: internal error" << std::endl;
  }
  return 1;
}
