#include "common/current_thread.h"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

namespace tally {

namespace {
constexpr size_t kMaxName = 15;  // TASK_COMM_LEN less the terminating NUL
}  // namespace

void NameCurrentThread(std::string_view name) {
  const std::string cut(name.substr(0, std::min(name.size(), kMaxName)));
  // Only fails for a name that is too long, which the cut rules out.
  (void)pthread_setname_np(pthread_self(), cut.c_str());
}

std::string CurrentThreadName() {
  char name[kMaxName + 1] = {};
  if (pthread_getname_np(pthread_self(), name, sizeof name) != 0) return "";
  return name;
}

void NiceCurrentThread(int nice) {
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), nice);
}

}  // namespace tally
