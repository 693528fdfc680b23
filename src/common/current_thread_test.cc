#include "common/current_thread.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <thread>

namespace tally {
namespace {

TEST(NameCurrentThread, NamesOnlyTheCallingThread) {
  const std::string before = CurrentThreadName();
  std::string inside;
  std::thread t([&] {
    NameCurrentThread("tally-test");
    inside = CurrentThreadName();
  });
  t.join();
  EXPECT_EQ(inside, "tally-test");
  EXPECT_EQ(CurrentThreadName(), before);
}

TEST(NameCurrentThread, CutsNamesLinuxCannotHold) {
  std::string inside;
  std::thread t([&] {
    NameCurrentThread("tally-a-name-longer-than-fifteen");
    inside = CurrentThreadName();
  });
  t.join();
  EXPECT_EQ(inside, "tally-a-name-lo");
}

TEST(NiceCurrentThread, ChangesOnlyTheCallingThread) {
  const int before = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  int inside = 0;
  std::thread t([&] {
    NiceCurrentThread(before + 5);
    inside = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  });
  t.join();
  EXPECT_EQ(inside, std::min(before + 5, 19));
  EXPECT_EQ(getpriority(PRIO_PROCESS, static_cast<id_t>(gettid())), before);
}

}  // namespace
}  // namespace tally
