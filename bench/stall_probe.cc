#include "stall_probe.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace tally::bench {
namespace {

// The /proc/PID/schedstat files of the kernel's DAMON monitor threads (comm "kdamond.N"),
// opened once; their first field is the thread's time on a CPU, in ns.
std::vector<int> OpenMonitorStats() {
  std::vector<int> fds;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string pid = entry.path().filename().string();
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream comm(entry.path() / "comm");
    std::string name;
    if (!std::getline(comm, name) || name.rfind("kdamond", 0) != 0) continue;
    const int fd = open((entry.path() / "schedstat").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) fds.push_back(fd);
  }
  return fds;
}

// The monitors' CPU time so far, in ns.
uint64_t MonitorCpuNs(const std::vector<int>& fds) {
  uint64_t sum = 0;
  char buf[128];
  for (int fd : fds) {
    const ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) continue;
    buf[n] = '\0';
    sum += std::strtoull(buf, nullptr, 10);
  }
  return sum;
}

long long Ns(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

StallProbe::StallProbe(const char* self, double threshold_ms) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    std::perror("stall probe: pipe");
    return;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  const std::string threshold = std::to_string(threshold_ms);
  char* argv[] = {const_cast<char*>(self), const_cast<char*>("stall-probe"),
                  const_cast<char*>(threshold.c_str()), nullptr};
  const int err = posix_spawn(&pid_, self, &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (err != 0) {
    std::fprintf(stderr, "stall probe: cannot start %s: error %d\n", self, err);
    close(fds[0]);
    pid_ = -1;
    return;
  }
  read_fd_ = fds[0];
}

StallProbe::~StallProbe() { (void)Stop(); }

StallCount StallProbe::Stop() {
  if (pid_ < 0) return seen_;
  kill(pid_, SIGTERM);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  // The pipe holds every line the probe wrote (a few bytes a stall); read them all.
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = read(read_fd_, buf, sizeof buf)) > 0;) {
    text.append(buf, static_cast<size_t>(n));
  }
  close(read_fd_);
  read_fd_ = -1;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) break;  // a line cut by the kill
    if (text[start] == '#') {
      if (text.compare(start, 10, "# monitors") == 0) {
        seen_.monitors = std::atoi(text.c_str() + start + 10);
      } else if (text.compare(start, end - start, "# realtime") == 0) {
        seen_.realtime = true;
      }
      start = end + 1;
      continue;
    }
    if (text[start] == 'k') {
      char* rest = nullptr;
      const long long from_ns = std::strtoll(text.c_str() + start + 1, &rest, 10);
      const long long to_ns = std::strtoll(rest, &rest, 10);
      const long long cpu_ns = std::strtoll(rest, nullptr, 10);
      using std::chrono::nanoseconds;
      seen_.monitor_bursts.push_back({std::chrono::steady_clock::time_point(nanoseconds(from_ns)),
                                      std::chrono::steady_clock::time_point(nanoseconds(to_ns)),
                                      static_cast<double>(cpu_ns) / 1e6});
      start = end + 1;
      continue;
    }
    char* rest = nullptr;
    const double late = std::strtod(text.c_str() + start, &rest);
    const long long woke_ns = std::strtoll(rest, nullptr, 10);
    const std::chrono::steady_clock::time_point woke{std::chrono::nanoseconds(woke_ns)};
    seen_.windows.push_back({woke - std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::duration<double, std::milli>(late)),
                             woke});
    ++seen_.count;
    seen_.total_ms += late;
    if (late > seen_.longest_ms) seen_.longest_ms = late;
    start = end + 1;
  }
  return seen_;
}

int RunStallProbe(double threshold_ms) {
  using Clock = std::chrono::steady_clock;
  constexpr auto kSleep = std::chrono::milliseconds(1);
  sched_param param{};
  param.sched_priority = 1;
  const bool realtime = sched_setscheduler(0, SCHED_FIFO, &param) == 0;
  constexpr auto kBurstGap = std::chrono::milliseconds(5);
  std::printf("# %s\n", realtime ? "realtime" : "normal");
  const std::vector<int> monitors = OpenMonitorStats();
  std::printf("# monitors %zu\n", monitors.size());
  std::fflush(stdout);
  auto before = Clock::now();
  uint64_t monitor_ns = MonitorCpuNs(monitors);
  bool in_burst = false;
  Clock::time_point burst_from, burst_to;
  uint64_t burst_ns = 0;
  while (true) {
    std::this_thread::sleep_for(kSleep);
    const auto now = Clock::now();
    const double late = std::chrono::duration<double, std::milli>(now - before - kSleep).count();
    if (late > threshold_ms) {
      std::printf("%.3f %lld\n", late, Ns(now));
      std::fflush(stdout);
    }
    if (!monitors.empty()) {
      const uint64_t ns = MonitorCpuNs(monitors);
      if (ns > monitor_ns) {
        if (!in_burst) burst_from = before;
        in_burst = true;
        burst_to = now;
        burst_ns += ns - monitor_ns;
        monitor_ns = ns;
      } else if (in_burst && now - burst_to > kBurstGap) {
        std::printf("k %lld %lld %llu\n", Ns(burst_from), Ns(burst_to),
                    static_cast<unsigned long long>(burst_ns));
        std::fflush(stdout);
        in_burst = false;
        burst_ns = 0;
      }
    }
    before = now;
  }
}

}  // namespace tally::bench
