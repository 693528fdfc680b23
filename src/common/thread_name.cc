#include "common/thread_name.h"

#include <pthread.h>

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

}  // namespace tally
