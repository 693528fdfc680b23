// StallProbe: a separate process that sleeps 1 ms at a time and notes every wake-up that comes
// later than a threshold. Run beside a latency measurement, it tells the machine's stalls (a
// vCPU that does not run, a kernel that holds everything up) from the measured process's own:
// a slow acknowledgement at the same moment as a late wake-up here was not Tally's doing alone.
// It asks for real-time priority (SCHED_FIFO, which root gets), so that it runs the moment it
// wakes and only the machine can make it late; refused, it runs at normal priority, and its
// wake-ups then also wait for a core on a busy machine (StallCount::realtime says which).
//
// It also watches the kernel's DAMON memory monitors (kdamond threads, when the kernel runs
// any): on a machine whose kernel samples memory access with DAMON, each sampling round clears
// the accessed bits of pages across physical memory, the measured process's included. Under a
// hypervisor that shadows page tables, a round measured here held up the whole guest for tens
// of ms every ~0.54 s (docs/benchmarks.md, section (a''''''''''')). Their activity is reported
// as bursts: when a kdamond was on a CPU, from its CPU time (/proc/PID/schedstat) read at every
// wake-up.
//
// The probe is this program run again with the argument "stall-probe" (posix_spawn, which does
// not copy the caller's memory), writing one line per late wake-up to a pipe.
// Not thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <vector>

namespace tally::bench {

// When the probe could not run: from the end of its 1 ms sleep that was due to the late
// wake-up, on the steady clock (CLOCK_MONOTONIC, the same in every process).
struct StallWindow {
  std::chrono::steady_clock::time_point from;
  std::chrono::steady_clock::time_point to;
};

// A burst of kernel memory-monitor (kdamond) activity: from the wake-up before its CPU time
// first grew to the wake-up after it last grew (no growth for 5 ms ends a burst).
struct MonitorBurst {
  std::chrono::steady_clock::time_point from;
  std::chrono::steady_clock::time_point to;
  double cpu_ms = 0;  // the CPU time the monitors used in it
};

struct StallCount {
  uint64_t count = 0;                // wake-ups later than the threshold
  double longest_ms = 0;             // the latest of them, in ms past the 1 ms sleep
  double total_ms = 0;               // their lateness, summed
  bool realtime = false;             // the probe ran at real-time priority
  std::vector<StallWindow> windows;  // one per late wake-up, in order
  int monitors = 0;                  // kdamond threads watched (0: the kernel ran none)
  std::vector<MonitorBurst> monitor_bursts;  // in order
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

// The probe's own loop (the "stall-probe THRESHOLD_MS" mode): prints "# realtime" or "# normal"
// (its priority) and "# monitors N" (the kdamond threads it watches), then, until killed, one
// line per wake-up later than the threshold: its lateness in ms and when it woke (steady clock,
// ns); and one line per monitor burst: "k FROM_NS TO_NS CPU_NS". To stdout.
int RunStallProbe(double threshold_ms);

}  // namespace tally::bench
