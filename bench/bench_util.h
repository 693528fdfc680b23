// Small helpers shared by the benchmark programs: sizes from the environment, wall-clock
// timing, process memory from /proc, and the one output format run-all summarises:
//   RESULT <name> <value> <unit> [target <op> <value>: MET|MISSED]
// Not thread-safe unless stated.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tally::bench {

// An integer from the environment ("10000000", "10M", "200k" and "10'000'000" work), or
// `fallback` when unset or empty. Exits with a message when the value does not parse.
int64_t EnvInt(const char* name, int64_t fallback);
std::string EnvString(const char* name, const std::string& fallback);

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  void Restart() { start_ = std::chrono::steady_clock::now(); }
  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  double Millis() const { return Seconds() * 1e3; }
  std::chrono::steady_clock::time_point started() const { return start_; }

 private:
  std::chrono::steady_clock::time_point start_;
};

struct MemInfo {
  uint64_t rss_bytes = 0;       // VmRSS
  uint64_t peak_rss_bytes = 0;  // VmHWM
};
// This process's memory from /proc/self/status.
MemInfo ReadMemInfo();
// Resets VmHWM to the current RSS (writes "5" to /proc/self/clear_refs). False if refused.
bool ResetPeakRss();

// Prints "RESULT name value unit" (and the verdict when a target is given). Thread-safe.
enum class Goal { kNone, kAtMost, kAtLeast };
void Report(std::string_view name, double value, std::string_view unit, Goal goal = Goal::kNone,
            double target = 0);
// Prints a free-form line prefixed with "# " (context for the log). Thread-safe.
void Note(const std::string& text);

// The p-th percentile (0-100) of `values` by nearest rank; sorts a copy.
double Percentile(std::vector<double> values, double p);
double Median(std::vector<double> values);

std::string HumanBytes(uint64_t bytes);

}  // namespace tally::bench
