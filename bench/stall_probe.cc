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
#include <string>
#include <thread>

extern char** environ;

namespace tally::bench {

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
      seen_.realtime = text.compare(start, end - start, "# realtime") == 0;
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
  std::printf("# %s\n", realtime ? "realtime" : "normal");
  std::fflush(stdout);
  auto before = Clock::now();
  while (true) {
    std::this_thread::sleep_for(kSleep);
    const auto now = Clock::now();
    const double late = std::chrono::duration<double, std::milli>(now - before - kSleep).count();
    if (late > threshold_ms) {
      const auto woke_ns =
          std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
      std::printf("%.3f %lld\n", late, static_cast<long long>(woke_ns));
      std::fflush(stdout);
    }
    before = now;
  }
}

}  // namespace tally::bench
