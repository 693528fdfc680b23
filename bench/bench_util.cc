#include "bench_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>

namespace tally::bench {
namespace {

std::mutex& OutputMutex() {
  static std::mutex mu;
  return mu;
}

}  // namespace

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  std::string digits;
  int64_t scale = 1;
  for (const char* p = v; *p; ++p) {
    if (*p >= '0' && *p <= '9') {
      digits.push_back(*p);
    } else if (*p == '\'' || *p == '_' || *p == ',') {
      continue;
    } else if ((*p == 'k' || *p == 'K') && p[1] == '\0') {
      scale = 1000;
    } else if ((*p == 'm' || *p == 'M') && p[1] == '\0') {
      scale = 1000000;
    } else {
      digits.clear();
      break;
    }
  }
  if (digits.empty()) {
    std::fprintf(stderr, "%s=%s is not a count\n", name, v);
    std::exit(2);
  }
  return std::stoll(digits) * scale;
}

std::string EnvString(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v == nullptr || *v == '\0' ? fallback : std::string(v);
}

MemInfo ReadMemInfo() {
  MemInfo m;
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    auto kb = [&](std::string_view prefix) -> uint64_t {
      return std::strtoull(line.c_str() + prefix.size(), nullptr, 10) * 1024;
    };
    if (line.rfind("VmRSS:", 0) == 0) m.rss_bytes = kb("VmRSS:");
    if (line.rfind("VmHWM:", 0) == 0) m.peak_rss_bytes = kb("VmHWM:");
  }
  return m;
}

bool ResetPeakRss() {
  int fd = open("/proc/self/clear_refs", O_WRONLY);
  if (fd < 0) return false;
  bool ok = write(fd, "5", 1) == 1;
  close(fd);
  return ok;
}

void Report(std::string_view name, double value, std::string_view unit, Goal goal,
            double target) {
  std::lock_guard lock(OutputMutex());
  std::string line = "RESULT " + std::string(name) + " ";
  char buf[64];
  double mag = std::fabs(value);
  std::snprintf(buf, sizeof buf, mag >= 100 || value == std::floor(value) ? "%.0f"
                                 : mag >= 1                               ? "%.2f"
                                                                          : "%.3f",
                value);
  line += buf;
  line += " ";
  line += unit;
  if (goal != Goal::kNone) {
    bool met = goal == Goal::kAtMost ? value <= target : value >= target;
    std::snprintf(buf, sizeof buf, "%g", target);
    line += std::string("  target ") + (goal == Goal::kAtMost ? "<= " : ">= ") + buf + ": " +
            (met ? "MET" : "MISSED");
  }
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

void Note(const std::string& text) {
  std::lock_guard lock(OutputMutex());
  std::printf("# %s\n", text.c_str());
  std::fflush(stdout);
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  if (rank == 0) rank = 1;
  return values[std::min(rank, values.size()) - 1];
}

double Median(std::vector<double> values) { return Percentile(std::move(values), 50); }

std::string HumanBytes(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

}  // namespace tally::bench
