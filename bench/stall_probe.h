// StallProbe: a separate process that sleeps 1 ms at a time and notes every wake-up that comes
// later than a threshold. Run beside a latency measurement, it tells the machine's stalls (a
// vCPU that does not run, a kernel that holds everything up) from the measured process's own:
// a slow acknowledgement at the same moment as a late wake-up here was not Tally's doing alone.
// Its own wake-ups also wait for a core, so on a saturated machine it reports that too.
//
// The probe is this program run again with the argument "stall-probe" (posix_spawn, which does
// not copy the caller's memory), writing one line per late wake-up to a pipe.
// Not thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace tally::bench {

struct StallCount {
  uint64_t count = 0;     // wake-ups later than the threshold
  double longest_ms = 0;  // the latest of them, in ms past the 1 ms sleep
  double total_ms = 0;    // their lateness, summed
};

class StallProbe {
 public:
  // Starts the probe; `self` is this program's path (/proc/self/exe). On failure the probe
  // stays off and Stop() returns nothing counted, with a note on stderr.
  StallProbe(const char* self, double threshold_ms);
  ~StallProbe();
  StallProbe(const StallProbe&) = delete;
  StallProbe& operator=(const StallProbe&) = delete;

  // Ends the probe and returns what it saw since it started.
  StallCount Stop();

 private:
  pid_t pid_ = -1;
  int read_fd_ = -1;
  StallCount seen_;
};

// The probe's own loop (the "stall-probe THRESHOLD_MS" mode): until killed, prints the lateness
// in ms of each wake-up past the threshold, one a line, to stdout.
int RunStallProbe(double threshold_ms);

}  // namespace tally::bench
